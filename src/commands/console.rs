//! `rolesh console`: the AWS web console, signed in as a profile's session. The sign-in URL is
//! console access: it goes to the browser through a private file (never on a command line,
//! where other users could read it), or to stdout with `--stdout`; never to a log.

use std::time::Duration;

use crate::cli::ConsoleArgs;
use crate::env::Env;
use crate::error::Error;
use crate::fsutil;
use crate::profile::Resolved;
use crate::session::{self, signin, sts};

/// A console session of an IAM user: the longest GetFederationToken gives.
const USER_CONSOLE_SECONDS: u32 = 12 * 3600;
/// What the federation token allows: everything the user's own policies allow, no more.
const USER_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

pub fn run(args: ConsoleArgs, env: &Env) -> Result<i32, Error> {
    let profile = super::pick::profile_or_pick(args.profile.clone(), "console", env)?;
    let resolved = super::plan_for(&profile, &args.session, env)?;
    let plan = &resolved.plan;
    let Signed { creds, region, role_arn, duration } = if plan.hops().next().is_none() && plan.source.may_be_long_term()
    {
        user_session(&resolved, &profile, &args, env)?
    } else {
        let session = super::obtain(&resolved, &args.session, env)?.session;
        // AWS keeps a role-chained console session at its one hour: no SessionDuration then.
        let chained = plan.hops().count() > 1 || plan.source.is_role_session();
        let duration = plan.hops().last().map(|h| h.duration).filter(|_| !chained);
        Signed { creds: session.credentials, region: session.region, role_arn: session.role_arn, duration }
    };
    let partition = signin::partition_of(role_arn.as_deref(), region.as_deref());
    let destination = args.destination.clone().unwrap_or_else(|| signin::console_home(partition, region.as_deref()));
    let federation = signin::endpoint(env, partition);
    let url = session::runtime()?.block_on(signin::login_url(&creds, &federation, &destination, duration))?;
    if args.stdout {
        super::print(&format!("{}\n", url.expose()))?;
        return Ok(0);
    }
    let page = redirect_page(&url, env)?;
    super::open_in_browser(page.as_os_str(), env).map_err(|e| {
        // The page holds a sign-in token: not left behind when no browser will read it.
        let _ = std::fs::remove_file(&page);
        Error::Local(format!("{}; set BROWSER, or pass --stdout to print the sign-in URL", e.render()))
    })?;
    super::say(&format!("opened the console for `{profile}` in your browser"));
    Ok(0)
}

/// What the console is signed in with.
struct Signed {
    creds: crate::credentials::Credentials,
    region: Option<String>,
    role_arn: Option<String>,
    /// The console session's length, where AWS lets it be chosen.
    duration: Option<u32>,
}

/// An IAM user's keys: GetFederationToken (with them, not with an MFA session: STS only takes
/// long-term keys for it) gives the temporary credentials the console needs.
fn user_session(resolved: &Resolved, profile: &str, args: &ConsoleArgs, env: &Env) -> Result<Signed, Error> {
    let plan = &resolved.plan;
    let base = session::base_credentials(resolved, env)?;
    let region = session::region(plan, env)?.map(String::from);
    if base.session_token.is_some() {
        return Ok(Signed { creds: base, region, role_arn: None, duration: None });
    }
    let endpoint = sts::Endpoint::from_env(env, region.as_deref());
    let call = sts::Call { endpoint: &endpoint, source: &plan.source, profile: &plan.profile };
    let seconds = args.session.duration.unwrap_or(USER_CONSOLE_SECONDS);
    // The console takes SessionDuration only with AssumeRole's credentials: a federation
    // token's console session lasts as long as the token.
    // GetFederationToken names the user's session: 2 to 32 characters.
    let name: String = crate::values::sanitize_session_name(&format!("rolesh-{profile}")).chars().take(32).collect();
    let creds = session::runtime()?.block_on(call.get_federation_token(&base, &name, seconds, USER_POLICY))?;
    Ok(Signed { creds, region, role_arn: None, duration: None })
}

/// A 0600 page in a private directory that sends the browser on to `url`: the browser gets
/// the file's path on its command line, not the URL.
fn redirect_page(url: &crate::credentials::Secret, env: &Env) -> Result<std::path::PathBuf, Error> {
    let dir = crate::paths::state_dir(env)?.join("console");
    fsutil::ensure_private_dir(&dir).map_err(|e| Error::state("create", &dir, e.into()))?;
    // Pages the browser has long since read: they hold a sign-in token.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let old = entry.metadata().ok().and_then(|m| m.modified().ok()).and_then(|m| m.elapsed().ok());
            if old.is_some_and(|age| age > Duration::from_secs(300)) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let page = dir.join(format!("{}.html", session::new_session_id()));
    let escaped = url.expose().replace('&', "&amp;").replace('"', "&quot;");
    let html = format!(
        "<!DOCTYPE html><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\"><meta http-equiv=\"refresh\" content=\"0;url={escaped}\"><title>AWS console</title>\n"
    );
    fsutil::write_atomic(&page, html.as_bytes(), 0o600).map_err(|e| Error::state("write", &page, e))?;
    Ok(page)
}
