//! Every STS call rolesh makes, and the only module that touches aws-sdk-sts. Errors come
//! back as one line that names the role, the profile and what to check.

use std::time::Duration;

use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{BehaviorVersion, ConfigBag, Intercept, Region, RuntimeComponents};
use aws_sdk_sts::error::{BoxError, ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};

use crate::credentials::{Credentials, Secret};
use crate::env::Env;
use crate::error::{Error, StsFailure, StsKind};
use crate::profile::{Hop, Source};

/// Where STS is: `AWS_ENDPOINT_URL_STS` or `AWS_ENDPOINT_URL` (the SDKs' own settings),
/// else AWS's regional endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: Option<String>,
    pub region: String,
}

impl Endpoint {
    pub fn from_env(env: &Env, region: Option<&str>) -> Self {
        let region = region
            .or_else(|| env.get("AWS_REGION"))
            .or_else(|| env.get("AWS_DEFAULT_REGION"))
            .unwrap_or("us-east-1")
            .to_string();
        Endpoint { url: configured_url(env, "STS"), region }
    }
}

/// A service's endpoint as the SDKs' own settings give it: `AWS_ENDPOINT_URL_<SERVICE>`, else
/// `AWS_ENDPOINT_URL`, unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` says not to.
pub fn configured_url(env: &Env, service: &str) -> Option<String> {
    if env.is_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
        return None;
    }
    env.get(&format!("AWS_ENDPOINT_URL_{service}")).or_else(|| env.get("AWS_ENDPOINT_URL")).map(String::from)
}

impl Endpoint {
    fn shown(&self) -> String {
        self.url.clone().unwrap_or_else(|| format!("https://sts.{}.amazonaws.com", self.region))
    }
}

pub struct Assumed {
    pub credentials: Credentials,
    pub assumed_arn: Option<String>,
}

pub struct Identity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

/// The context of a call, for building the client and for error messages.
pub struct Call<'a> {
    pub endpoint: &'a Endpoint,
    pub source: &'a Source,
    /// The profile the call is made for.
    pub profile: &'a str,
}

impl Call<'_> {
    fn client(&self, creds: &Credentials) -> aws_sdk_sts::Client {
        let sdk_creds = aws_sdk_sts::config::Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.expose().to_string(),
            creds.session_token.as_ref().map(|t| t.expose().to_string()),
            None,
            "rolesh",
        );
        let timeouts = timeouts();
        let mut conf = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.endpoint.region.clone()))
            .credentials_provider(sdk_creds)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(timeouts);
        if let Some(url) = &self.endpoint.url {
            conf = conf.endpoint_url(url);
        }
        aws_sdk_sts::Client::from_conf(conf.build())
    }

    /// AssumeRole for `hop`, asking for `seconds` (the hop's duration, or less after STS
    /// refused it for role chaining). `asked` is the profile (or ARN) the user named, which a
    /// refusal tells him to run `rolesh doctor` on: for a chain it is not the hop's own.
    pub async fn assume_role(
        &self,
        creds: &Credentials,
        hop: &Hop,
        seconds: u32,
        mfa: Option<(&str, String)>,
        asked: &str,
    ) -> Result<Assumed, Error> {
        let (serial, code) = mfa.map(|(s, c)| (s.to_string(), c)).unzip();
        let out = self
            .client(creds)
            .assume_role()
            .role_arn(&hop.role_arn)
            .role_session_name(&hop.session_name)
            .duration_seconds(seconds_param(seconds))
            .set_external_id(hop.external_id.clone())
            .set_serial_number(serial)
            .set_token_code(code)
            .send()
            .await
            .map_err(|e| self.explain_for(e, &format!("assuming {}", hop.role_arn), creds, seconds, Some(asked)))?;
        let c = out.credentials().ok_or_else(|| self.malformed("AssumeRole"))?;
        Ok(Assumed { credentials: convert(c), assumed_arn: out.assumed_role_user().map(|u| u.arn().to_string()) })
    }

    pub async fn get_session_token(
        &self,
        creds: &Credentials,
        seconds: u32,
        mfa: Option<(&str, String)>,
    ) -> Result<Credentials, Error> {
        let (serial, code) = mfa.map(|(s, c)| (s.to_string(), c)).unzip();
        let out = self
            .client(creds)
            .get_session_token()
            .duration_seconds(seconds_param(seconds))
            .set_serial_number(serial)
            .set_token_code(code)
            .send()
            .await
            .map_err(|e| self.explain(e, "getting a session token", creds, seconds))?;
        out.credentials().map(convert).ok_or_else(|| self.malformed("GetSessionToken"))
    }

    /// GetFederationToken for an IAM user's long-term keys, with `policy` (the console of a
    /// user: what the user may do is the intersection of its own policies and this one).
    pub async fn get_federation_token(
        &self,
        creds: &Credentials,
        name: &str,
        seconds: u32,
        policy: &str,
    ) -> Result<Credentials, Error> {
        let out = self
            .client(creds)
            .get_federation_token()
            .name(name)
            .duration_seconds(seconds_param(seconds))
            .policy(policy)
            .send()
            .await
            .map_err(|e| self.explain(e, "getting a federation token", creds, seconds))?;
        out.credentials().map(convert).ok_or_else(|| self.malformed("GetFederationToken"))
    }

    pub async fn get_caller_identity(&self, creds: &Credentials) -> Result<Identity, Error> {
        self.get_caller_identity_dated(creds).await.0
    }

    /// GetCallerIdentity (which needs no permission), and STS's clock: the HTTP `Date` of its
    /// answer, success or error, beside the local time it arrived, for measuring clock skew.
    pub async fn get_caller_identity_dated(
        &self,
        creds: &Credentials,
    ) -> (Result<Identity, Error>, Option<ServerDate>) {
        let recorder = DateRecorder::default();
        let out = self.client(creds).get_caller_identity().customize().interceptor(recorder.clone()).send().await;
        let date = recorder.take();
        let out = match out {
            Ok(out) => out,
            Err(e) => return (Err(self.explain(e, "calling GetCallerIdentity", creds, 0)), date),
        };
        let identity = Identity {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
            user_id: out.user_id().unwrap_or_default().to_string(),
        };
        (Ok(identity), date)
    }

    fn failure(&self, kind: StsKind, doing: &str, code: &str, message: &str, detail: String) -> Error {
        Error::Sts(Box::new(StsFailure {
            kind,
            profile: self.profile.to_string(),
            doing: doing.to_string(),
            code: code.to_string(),
            message: message.to_string(),
            detail,
        }))
    }

    fn malformed(&self, op: &str) -> Error {
        let detail = format!(
            "STS at {} answered {op} without credentials (profile `{}`); check the endpoint",
            self.endpoint.shown(),
            self.profile
        );
        self.failure(StsKind::Malformed, op, "", "", detail)
    }

    /// One line saying what failed, for which profile, and what to check.
    fn explain<E>(&self, e: SdkError<E, HttpResponse>, doing: &str, creds: &Credentials, seconds: u32) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.explain_for(e, doing, creds, seconds, None)
    }

    /// [`Call::explain`], with the profile the user asked for (`asked`, else the call's) for
    /// the `rolesh doctor` hint of an AccessDenied.
    fn explain_for<E>(
        &self,
        e: SdkError<E, HttpResponse>,
        doing: &str,
        creds: &Credentials,
        seconds: u32,
        asked: Option<&str>,
    ) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let profile = self.profile;
        let asked = asked.unwrap_or(profile);
        let endpoint = self.endpoint.shown();
        if !matches!(e, SdkError::ServiceError(_)) {
            let why = match &e {
                SdkError::TimeoutError(_) => "no answer in time".to_string(),
                _ => crate::error::one_line(&e),
            };
            let detail = format!(
                "could not reach STS at {endpoint} while {doing} (profile `{profile}`): {why}; check the endpoint and the network"
            );
            return self.failure(StsKind::Unreachable, doing, "", &why, detail);
        }
        let code = e.code().unwrap_or("Unknown").to_string();
        let message = e.message().unwrap_or_default().replace(['\n', '\r'], " ");
        let source = match self.source.profile() {
            Some(p) => format!("profile `{p}`"),
            None => self.source.describe(),
        };
        let key = creds.masked_id();
        let (kind, detail) = match code.as_str() {
            "AccessDenied" if message.contains("MultiFactorAuthentication") => (
                StsKind::MfaRejected,
                format!(
                    "STS rejected the MFA code while {doing} (profile `{profile}`): {message}; wait for the next code and try again"
                ),
            ),
            "AccessDenied" if doing.starts_with("assuming") => (
                StsKind::AccessDenied,
                format!(
                    "access denied {doing} (profile `{profile}`, as {key}): {message}; check the role's trust policy (principal, MFA and ExternalId conditions) and that the caller may call sts:AssumeRole, or run `rolesh doctor {asked}`"
                ),
            ),
            "InvalidClientTokenId" | "SignatureDoesNotMatch" | "UnrecognizedClientException" | "InvalidAccessKeyId" => {
                (
                    StsKind::BadKeys,
                    format!(
                        "STS does not accept the keys of {source} ({key}) while {doing}: {message}; check that {source} has a current access key pair"
                    ),
                )
            }
            "ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired" => (
                StsKind::Expired,
                format!(
                    "the credentials of {source} ({key}) have expired while {doing}: {message}; refresh the session token of {source}"
                ),
            ),
            "ValidationError" if message.contains("DurationSeconds") || message.contains("MaxSessionDuration") => (
                StsKind::DurationTooLong,
                format!(
                    "STS refused a {seconds}s session while {doing} (profile `{profile}`): {message}; lower --duration or duration_seconds to the role's maximum session duration"
                ),
            ),
            "Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "TooManyRequestsException" => (
                StsKind::Throttled,
                format!(
                    "STS at {endpoint} is throttling requests while {doing} (profile `{profile}`, still after 3 tries); wait a moment and try again"
                ),
            ),
            "RegionDisabledException" => (
                StsKind::RegionDisabled,
                format!(
                    "STS is not activated in region {} while {doing} (profile `{profile}`): {message}; activate it in IAM account settings or pass --region",
                    self.endpoint.region
                ),
            ),
            _ if is_server_fault(&e) => (
                StsKind::ServerFault,
                format!(
                    "STS at {endpoint} failed while {doing} (profile `{profile}`; {code}: {message}) after 3 tries; try again later"
                ),
            ),
            _ => (
                StsKind::Refused,
                format!(
                    "STS refused {doing} (profile `{profile}`, as {key}): {code}: {message}; check the settings of profile `{profile}` and the permissions of {source}"
                ),
            ),
        };
        self.failure(kind, doing, &code, &message, detail)
    }
}

/// STS's clock as its answer's `Date` header gave it, and the local clock when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerDate {
    pub server: DateTime<Utc>,
    pub local: DateTime<Utc>,
}

impl ServerDate {
    /// How far the local clock is ahead of STS's (negative: behind), in seconds. `Date` has
    /// whole seconds, so this is good to a second or two.
    pub fn skew_seconds(&self) -> i64 {
        (self.local - self.server).num_seconds()
    }
}

/// Notes the `Date` of the last response an operation received (after any retries).
#[derive(Debug, Clone, Default)]
struct DateRecorder(std::sync::Arc<std::sync::Mutex<Option<ServerDate>>>);

impl DateRecorder {
    fn take(&self) -> Option<ServerDate> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Intercept for DateRecorder {
    fn name(&self) -> &'static str {
        "rolesh-server-date"
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let local = Utc::now();
        let server = context
            .response()
            .headers()
            .get("date")
            .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
            .map(|d| d.with_timezone(&Utc));
        if let Some(server) = server {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(ServerDate { server, local });
        }
        Ok(())
    }
}

/// STS takes DurationSeconds as a 32-bit integer; every duration rolesh plans is within
/// 900..=43200 (see `values`), and this never wraps whatever it is given.
fn seconds_param(seconds: u32) -> i32 {
    i32::try_from(seconds).unwrap_or(i32::MAX)
}

/// How long any AWS call may take: a dead endpoint fails in seconds, never hangs rolesh.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(15))
        .operation_timeout(Duration::from_secs(40))
        .build()
}

/// A 5xx answer: STS's fault, not the caller's.
fn is_server_fault<E>(e: &SdkError<E, HttpResponse>) -> bool {
    e.raw_response().is_some_and(|r| r.status().is_server_error())
}

fn convert(c: &aws_sdk_sts::types::Credentials) -> Credentials {
    Credentials {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: Secret::new(c.secret_access_key()),
        session_token: Some(Secret::new(c.session_token())),
        expiration: DateTime::<Utc>::from_timestamp(c.expiration().secs(), 0),
    }
}
