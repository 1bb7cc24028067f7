use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::cli::WhoamiArgs;
use crate::credentials::{Credentials, Secret, rfc3339};
use crate::display::escape;
use crate::env::Env;
use crate::error::Error;
use crate::profile::Source;
use crate::session::{self, sts};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Out {
    account: String,
    arn: String,
    user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<String>,
}

pub fn run(args: WhoamiArgs, env: &Env) -> Result<i32, Error> {
    let served = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some();
    let label = env.get("ROLESH_PROFILE").map(String::from);
    let (creds, region, label, source) = match (&args.profile, env.get("AWS_ACCESS_KEY_ID")) {
        (None, Some(_)) => (from_env(env)?, None, label, Source::Environment),
        // Inside `exec --server` / `shell --server`: what the server hands the shell's commands.
        (None, None) if served => {
            let getting = session::source::Getting { interactive: true, warnings: None };
            let creds = session::runtime()?.block_on(session::source::base(&Source::Ecs, None, env, getting))?;
            (creds, None, label, Source::Ecs)
        }
        (profile, _) => {
            let name = profile
                .clone()
                .or_else(|| env.get("AWS_PROFILE").map(String::from))
                .unwrap_or_else(|| "default".into());
            let resolved = super::plan_for(&name, &args.session, env)?;
            let s = super::obtain(&resolved, &args.session, env)?.session;
            (s.credentials, s.region, Some(name), resolved.plan.source)
        }
    };
    let endpoint = sts::Endpoint::from_env(env, region.as_deref());
    let shown_profile = label.clone().unwrap_or_else(|| "environment".into());
    let call = sts::Call { endpoint: &endpoint, source: &source, profile: &shown_profile };
    let id = session::runtime()?.block_on(call.get_caller_identity(&creds))?;
    let out = Out {
        account: id.account,
        arn: id.arn,
        user_id: id.user_id,
        expiration: creds.expiration.map(rfc3339),
        profile: label,
    };
    if args.json {
        let text = crate::display::json(&out);
        super::print(&format!("{text}\n"))?;
    } else {
        // What STS and the environment say, for people: never raw to a terminal.
        let (account, arn, user_id) = (escape(&out.account), escape(&out.arn), escape(&out.user_id));
        let mut text = format!("Account  {account}\nArn      {arn}\nUserId   {user_id}\n");
        if let Some(p) = &out.profile {
            text.push_str(&format!("Profile  {}\n", escape(p)));
        }
        if let Some(e) = creds.expiration {
            text.push_str(&format!("Expires  {} ({})\n", rfc3339(e), left(e)));
        }
        super::print(&text)?;
    }
    Ok(0)
}

/// The shell's own credentials; inside a rolesh session the expiry comes from its variables.
fn from_env(env: &Env) -> Result<Credentials, Error> {
    let expiration =
        session::expires_in(env).or_else(|| env.get("AWS_CREDENTIAL_EXPIRATION").and_then(|s| s.parse().ok()));
    let secret = env.get("AWS_SECRET_ACCESS_KEY").ok_or_else(|| {
        Error::config("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both or neither")
    })?;
    Ok(Credentials {
        access_key_id: env.get("AWS_ACCESS_KEY_ID").unwrap_or_default().to_string(),
        secret_access_key: Secret::new(secret),
        session_token: env.get("AWS_SESSION_TOKEN").map(Secret::new),
        expiration,
    })
}

fn left(e: DateTime<Utc>) -> String {
    let secs = (e - Utc::now()).num_seconds();
    if secs <= 0 { "expired".into() } else { format!("{}h{:02}m left", secs / 3600, secs % 3600 / 60) }
}
