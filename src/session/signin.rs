//! The AWS web console, signed in as a session: a sign-in token from the federation endpoint
//! (`Action=getSigninToken`, the session's keys as the `Session` JSON), then the
//! `Action=login` URL. The URL is console access: it is handed back as a [`Secret`], and the
//! caller decides where it goes (never a log, never the ledger).

use http_body_util::BodyExt;

use crate::credentials::{Credentials, Secret};
use crate::env::Env;
use crate::error::{Error, StsFailure, StsKind};

/// The federation endpoint for a partition; `ROLESH_SIGNIN_URL` (its base URL) overrides it,
/// for partitions rolesh does not know and for tests.
pub fn endpoint(env: &Env, partition: &str) -> String {
    if let Some(url) = env.get("ROLESH_SIGNIN_URL") {
        return url.to_string();
    }
    match partition {
        "aws-us-gov" => "https://signin.amazonaws-us-gov.com/federation",
        "aws-cn" => "https://signin.amazonaws.cn/federation",
        _ => "https://signin.aws.amazon.com/federation",
    }
    .to_string()
}

/// The console's home page in `region`, for a partition.
pub fn console_home(partition: &str, region: Option<&str>) -> String {
    let host = match partition {
        "aws-us-gov" => "console.amazonaws-us-gov.com",
        "aws-cn" => "console.amazonaws.cn",
        _ => "console.aws.amazon.com",
    };
    match region {
        Some(r) => format!("https://{host}/console/home?region={}", encode(r)),
        None => format!("https://{host}/console/home"),
    }
}

/// The partition of a session: from its role ARN (`arn:aws-us-gov:…`), else from its region
/// (`cn-…`, `us-gov-…`), else `aws`.
pub fn partition_of<'a>(arn: Option<&'a str>, region: Option<&str>) -> &'a str {
    if let Some(p) = arn.and_then(|a| a.split(':').nth(1)).filter(|p| p.starts_with("aws")) {
        return p;
    }
    match region {
        Some(r) if r.starts_with("cn-") => "aws-cn",
        Some(r) if r.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    }
}

/// The sign-in URL for `creds` (temporary credentials from AssumeRole, GetFederationToken or
/// the SSO portal), landing on `destination`. `duration`: the console session's length, only
/// where AWS allows it (not for role-chained sessions, which keep their one hour).
pub async fn login_url(
    creds: &Credentials,
    federation: &str,
    destination: &str,
    duration: Option<u32>,
) -> Result<Secret, Error> {
    let Some(token) = &creds.session_token else {
        return Err(Error::config(
            "the console needs temporary credentials and these are long-term keys; sign in with a profile that has a role_arn or SSO settings",
        ));
    };
    let session = serde_json::json!({
        "sessionId": creds.access_key_id,
        "sessionKey": creds.secret_access_key.expose(),
        "sessionToken": token.expose(),
    })
    .to_string();
    let mut query = format!("Action=getSigninToken&Session={}", encode(&session));
    if let Some(d) = duration {
        query.push_str(&format!("&SessionDuration={d}"));
    }
    let body = get(&format!("{federation}?{query}"), federation).await?;
    // Only a wrong ROLESH_SIGNIN_URL (or something between rolesh and AWS) answers like this.
    let not_aws = |what: &str| {
        Error::Local(format!(
            "the sign-in endpoint {federation} answered {what}; check ROLESH_SIGNIN_URL if you set it, or any proxy on the way"
        ))
    };
    let answer: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| not_aws("something other than a sign-in token"))?;
    let signin =
        answer["SigninToken"].as_str().filter(|t| !t.is_empty()).ok_or_else(|| not_aws("without a sign-in token"))?;
    Ok(Secret::new(format!(
        "{federation}?Action=login&Issuer=rolesh&Destination={}&SigninToken={}",
        encode(destination),
        encode(signin)
    )))
}

/// The most of an answer the sign-in endpoint may send.
const MAX_ANSWER: usize = 64 * 1024;

/// One GET; the body of a 200 answer. The request holds keys: its URL is never shown in
/// an error, only the endpoint's. No answer is a network error (exit 6), a refusal an
/// STS-like one (exit 5).
async fn get(url: &str, shown: &str) -> Result<Vec<u8>, Error> {
    let failed = |kind: StsKind, why: String| {
        Error::Sts(Box::new(StsFailure {
            kind,
            profile: String::new(),
            doing: "getting a console sign-in token".into(),
            code: String::new(),
            message: why.clone(),
            detail: format!("could not get a console sign-in token from {shown}: {why}"),
        }))
    };
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| Error::Local(format!("no trusted root certificates for {shown} ({e})")))?
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, http_body_util::Empty<hyper::body::Bytes>>(https);
    let uri: http::Uri =
        url.parse().map_err(|_| Error::config(format!("{shown} is not a URL; check ROLESH_SIGNIN_URL")))?;
    // The query holds the session's keys: plain HTTP only to this machine (a test stand-in).
    let loopback = matches!(uri.host(), Some("127.0.0.1" | "localhost" | "[::1]" | "::1"));
    if uri.scheme_str() != Some("https") && !loopback {
        return Err(Error::config(format!("{shown} is not https; set ROLESH_SIGNIN_URL to an https:// address")));
    }
    let call = async {
        let response =
            client.get(uri).await.map_err(|e| failed(StsKind::Unreachable, format!("{e}; check the network")))?;
        let status = response.status();
        // A sign-in token is a few hundred bytes; a body without end is refused, not read.
        let body = http_body_util::Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| failed(StsKind::Malformed, e.to_string()))?
            .to_bytes();
        Ok::<_, Error>((status, body))
    };
    let (status, body) = tokio::time::timeout(std::time::Duration::from_secs(30), call)
        .await
        .map_err(|_| failed(StsKind::Unreachable, "no answer in 30 s; check the network".into()))??;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).replace(['\n', '\r'], " ");
        // AWS refuses credentials that were revoked or have expired with a 400.
        let kind = if status.is_server_error() { StsKind::ServerFault } else { StsKind::Refused };
        return Err(failed(kind, format!("HTTP {status}: {text}; try again with --refresh for new credentials")));
    }
    Ok(body.to_vec())
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_follow_the_partition_and_the_override() {
        let none = Env::default();
        assert_eq!(endpoint(&none, "aws"), "https://signin.aws.amazon.com/federation");
        assert_eq!(endpoint(&none, "aws-us-gov"), "https://signin.amazonaws-us-gov.com/federation");
        assert_eq!(endpoint(&none, "aws-cn"), "https://signin.amazonaws.cn/federation");
        let over = Env::from_pairs([("ROLESH_SIGNIN_URL", "http://127.0.0.1:9/federation")]);
        assert_eq!(endpoint(&over, "aws"), "http://127.0.0.1:9/federation");
        assert_eq!(
            console_home("aws", Some("eu-west-1")),
            "https://console.aws.amazon.com/console/home?region=eu-west-1"
        );
        assert_eq!(partition_of(Some("arn:aws-cn:iam::1:role/x"), None), "aws-cn");
        assert_eq!(partition_of(None, Some("cn-north-1")), "aws-cn");
        assert_eq!(partition_of(None, Some("us-gov-west-1")), "aws-us-gov");
        assert_eq!(partition_of(None, Some("eu-west-1")), "aws");
        assert_eq!(partition_of(None, None), "aws");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode(r#"{"a":"b/c+d e"}"#), "%7B%22a%22%3A%22b%2Fc%2Bd%20e%22%7D");
        assert_eq!(encode("AZaz09-_.~"), "AZaz09-_.~");
    }
}
