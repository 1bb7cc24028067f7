//! Carrying out a [`Plan`]: the cache first, then (only on a miss) a tokio runtime, the base
//! credentials and the plan's STS calls in order. A cache hit never builds a runtime or
//! loads SDK config. Nothing here prints: warnings come back with the session.

pub mod cache;
pub mod iam;
pub mod mfa;
pub mod signin;
pub mod source;
pub mod sso;
pub mod sts;

use chrono::{DateTime, Utc};

use crate::credentials::{Credentials, rfc3339};
use crate::env::Env;
use crate::error::{Error, Warning};
use crate::profile::resolve::CHAINED_MAX_SECONDS;
use crate::profile::{Plan, Resolved, Step};
use cache::{Cache, Cached, Need};

/// Temporary credentials for one profile, ready to hand to a child or a shell.
#[derive(Debug, Clone)]
pub struct Session {
    pub profile: String,
    /// The last role assumed, if any.
    pub role_arn: Option<String>,
    /// The assumed-role ARN STS returned, as `get-caller-identity` would show it.
    pub assumed_arn: Option<String>,
    pub credentials: Credentials,
    pub region: Option<String>,
}

/// The variables a session sets (`Some`) or removes (`None`), in a fixed order.
pub type EnvChanges = Vec<(&'static str, Option<String>)>;

/// What a served command must not have: keys (environment keys beat the endpoint in every
/// SDK) and whatever would take precedence over the endpoint or replace it.
const NOT_SERVED: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
];

impl Session {
    pub fn environment(&self, session_id: &str) -> EnvChanges {
        let c = &self.credentials;
        let mut vars: EnvChanges = vec![
            ("AWS_ACCESS_KEY_ID", Some(c.access_key_id.clone())),
            ("AWS_SECRET_ACCESS_KEY", Some(c.secret_access_key.expose().to_string())),
            ("AWS_SESSION_TOKEN", c.session_token.as_ref().map(|t| t.expose().to_string())),
            // The pre-2014 name of the session token; a stale one would confuse old tools.
            ("AWS_SECURITY_TOKEN", None),
            ("AWS_PROFILE", None),
            ("AWS_DEFAULT_PROFILE", None),
        ];
        self.described(&mut vars, session_id, c.expiration);
        vars
    }

    /// The variables of a command that gets its credentials from the credentials server at
    /// `uri`: no keys, the server and its token. `bound` is when renewals end (an MFA session
    /// that will need a new code): the command's real deadline, which the prompt then shows.
    pub fn served_environment(
        &self,
        session_id: &str,
        uri: &str,
        token: &str,
        bound: Option<DateTime<Utc>>,
    ) -> EnvChanges {
        let mut vars: EnvChanges = NOT_SERVED.iter().map(|name| (*name, None)).collect();
        vars.push(("AWS_CONTAINER_CREDENTIALS_FULL_URI", Some(uri.to_string())));
        vars.push(("AWS_CONTAINER_AUTHORIZATION_TOKEN", Some(token.to_string())));
        self.described(&mut vars, session_id, bound);
        vars
    }

    /// The region, the expiry and rolesh's own description of the session.
    fn described(&self, vars: &mut EnvChanges, session_id: &str, expires: Option<DateTime<Utc>>) {
        if let Some(region) = &self.region {
            vars.push(("AWS_REGION", Some(region.clone())));
            vars.push(("AWS_DEFAULT_REGION", Some(region.clone())));
        }
        vars.push(("AWS_CREDENTIAL_EXPIRATION", expires.map(rfc3339)));
        vars.push(("ROLESH_PROFILE", Some(self.profile.clone())));
        vars.push(("ROLESH_EXPIRES", expires.map(|e| e.timestamp().to_string())));
        vars.push(("ROLESH_SESSION", Some(session_id.to_string())));
        // Only the `--auto-dir` hook's own `use` says which directory a session came from
        // (`commands/use_.rs`); any other session in its place is no directory's.
        vars.push(("ROLESH_DIR", None));
    }
}

/// The expiry a session's environment carries (`ROLESH_EXPIRES`, unix seconds), if valid.
pub fn expires_in(env: &Env) -> Option<DateTime<Utc>> {
    env.get("ROLESH_EXPIRES").and_then(|s| s.parse::<i64>().ok()).and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
}

/// A short id for a new session, unique enough on one machine: pid and clock, in hex.
pub fn new_session_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{:x}{:05x}", (nanos as u64) & 0xffff_ffff_ffff, std::process::id() & 0xfffff)
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub no_cache: bool,
    /// Fetch anew even when cached sets are fresh (they were revoked, say), the MFA session
    /// included, and cache the results.
    pub refresh: bool,
    pub mfa_token: Option<String>,
    /// Told (once) when another rolesh holds the credentials being fetched, before waiting.
    pub waiting: Option<fn(&str)>,
    /// Renew: fetch a new set for the command even if the cached one is fresh, but reuse a
    /// cached MFA session, and never ask for an MFA code (the credentials server).
    pub renew: bool,
}

/// A session and what the user should be told about getting it.
#[derive(Debug)]
pub struct Obtained {
    pub session: Session,
    /// When STS issued the credentials (earlier than now for a cached set).
    pub issued: DateTime<Utc>,
    pub warnings: Vec<Warning>,
}

/// Credentials for a resolved plan, from the cache when fresh, else from STS (one caller per
/// cache key at a time: the others wait on its lock and then read what it wrote). Cache
/// trouble is a warning: the cache is an optimisation, and failing after STS has answered
/// would throw fresh credentials (and a one-time MFA code) away.
pub fn obtain(resolved: &Resolved, env: &Env, opts: &Options) -> Result<Obtained, Error> {
    let plan = &resolved.plan;
    if let Some(code) = &opts.mfa_token {
        mfa::validate(code)?;
    }
    let region = region(plan, env)?;
    let endpoint = sts::Endpoint::from_env(env, region);
    let mut warnings = Vec::new();
    let session_of = |c: Cached, warnings: Vec<Warning>| Obtained {
        warnings,
        issued: c.issued,
        session: Session {
            profile: plan.profile.clone(),
            role_arn: plan.role_arn().map(String::from),
            assumed_arn: c.assumed_arn,
            credentials: c.credentials,
            region: region.map(String::from),
        },
    };
    let cache = if opts.no_cache {
        None
    } else {
        let opened = Cache::open(env, &mut warnings);
        opened.map_err(|e| warnings.push(cache_warning(&e))).ok()
    };
    let key = cache::key(plan, plan.steps.len(), &endpoint, env);
    let hit = |cache: &Cache, warnings: &mut Vec<Warning>| {
        if opts.refresh || opts.renew { None } else { cache.load(&key, Need::Handed, warnings) }
    };
    if let Some(c) = &cache
        && let Some(cached) = hit(c, &mut warnings)
    {
        return Ok(session_of(cached, warnings));
    }
    let lock = match &cache {
        Some(c) => match c.lock(&key, &plan.profile, &|m| waiting(opts, m)) {
            Ok(lock) => Some(lock),
            Err(e) => {
                warnings.push(cache_warning(&e));
                None
            }
        },
        None => None,
    };
    // Another process may have fetched it while we waited for the lock.
    let cache = if lock.is_some() { cache } else { None };
    if let Some(c) = &cache
        && let Some(cached) = hit(c, &mut warnings)
    {
        return Ok(session_of(cached, warnings));
    }
    let fresh = runtime()?.block_on(run_plan(resolved, env, opts, &endpoint, cache.as_ref(), &mut warnings))?;
    // Long-term keys (a credential_process that returns them) are never written to disk.
    // An entry already warned about (a directory or someone else's file in its place) is
    // not warned about again when it cannot be replaced either: one problem, one line.
    let entry_warned = warnings.iter().any(|w| matches!(w, Warning::CacheEntry { .. }));
    if let Some(c) = &cache
        && fresh.credentials.expiration.is_some()
        && let Err(e) = c.store(&key, &fresh)
        && !entry_warned
    {
        warnings.push(cache_warning(&e));
    }
    Ok(session_of(fresh, warnings))
}

fn waiting(opts: &Options, message: &str) {
    if let Some(tell) = opts.waiting {
        tell(message);
    }
}

fn cache_warning(e: &Error) -> Warning {
    Warning::Cache(format!("{}; going on without the credential cache", e.render()))
}

/// The plan's calls, in order, from the base credentials.
async fn run_plan(
    resolved: &Resolved,
    env: &Env,
    opts: &Options,
    endpoint: &sts::Endpoint,
    cache: Option<&Cache>,
    warnings: &mut Vec<Warning>,
) -> Result<Cached, Error> {
    let plan = &resolved.plan;
    let mut codes = if opts.renew { mfa::Codes::none() } else { mfa::Codes::new(opts.mfa_token.clone()) };
    let getting = source::Getting { interactive: !opts.renew, warnings: Some(&mut *warnings) };
    let mut creds = source::base(&plan.source, resolved.keys.as_ref(), env, getting).await?;
    // The device a GetSessionToken just used: the next AssumeRole needs no code for it.
    let mut mfa_done: Option<&str> = None;
    let mut assumed_arn = None;
    for (i, step) in plan.steps.iter().enumerate() {
        match step {
            Step::SessionToken { serial, duration } => {
                // Temporary already: STS refuses GetSessionToken for those, and MFA (if any)
                // goes on the AssumeRole that follows.
                if creds.session_token.is_some() {
                    continue;
                }
                let call = sts::Call { endpoint, source: &plan.source, profile: &plan.profile };
                // An MFA session that signs the roles after it is cached on its own, so roles
                // sharing this source and device reuse it; it need only be valid for the call.
                let own_cache = cache.filter(|_| i + 1 < plan.steps.len());
                let key = cache::key(plan, i + 1, endpoint, env);
                creds = session_token(
                    &call,
                    creds,
                    serial.as_deref(),
                    *duration,
                    &mut codes,
                    own_cache,
                    &key,
                    opts,
                    warnings,
                )
                .await?;
                mfa_done = serial.as_deref();
            }
            Step::AssumeRole(hop) => {
                let mfa = match &hop.mfa_serial {
                    Some(serial) if mfa_done != Some(serial.as_str()) => {
                        Some((serial.as_str(), codes.take(serial, &hop.profile)?))
                    }
                    _ => None,
                };
                mfa_done = None;
                if let Some(requested) = hop.clamped_from {
                    warnings.push(Warning::Clamped { role_arn: hop.role_arn.clone(), requested });
                }
                let call = sts::Call { endpoint, source: &plan.source, profile: &hop.profile };
                let out = match call.assume_role(&creds, hop, hop.duration, mfa.clone(), &plan.profile).await {
                    // Keys with a session token may be a role's (a credential_process, the
                    // environment, a saved session): STS then allows an hour at most.
                    Err(e) if e.is_role_chaining_limit() && hop.duration > CHAINED_MAX_SECONDS => {
                        warnings.push(Warning::Clamped { role_arn: hop.role_arn.clone(), requested: hop.duration });
                        call.assume_role(&creds, hop, CHAINED_MAX_SECONDS, mfa, &plan.profile).await?
                    }
                    other => other?,
                };
                creds = out.credentials;
                assumed_arn = out.assumed_arn;
            }
        }
    }
    Ok(Cached::new(creds, assumed_arn))
}

#[allow(clippy::too_many_arguments)]
async fn session_token(
    call: &sts::Call<'_>,
    creds: Credentials,
    serial: Option<&str>,
    seconds: u32,
    codes: &mut mfa::Codes,
    cache: Option<&Cache>,
    key: &str,
    opts: &Options,
    warnings: &mut Vec<Warning>,
) -> Result<Credentials, Error> {
    let lock = match cache {
        Some(c) => {
            if !opts.refresh
                && let Some(hit) = c.load(key, Need::Signing, warnings)
            {
                return Ok(hit.credentials);
            }
            let lock =
                c.lock(key, call.profile, &|m| waiting(opts, m)).map_err(|e| warnings.push(cache_warning(&e))).ok();
            if lock.is_some()
                && !opts.refresh
                && let Some(hit) = c.load(key, Need::Signing, warnings)
            {
                return Ok(hit.credentials);
            }
            lock
        }
        None => None,
    };
    let mfa = match serial {
        Some(s) => Some((s, codes.take(s, call.profile)?)),
        None => None,
    };
    let session = call.get_session_token(&creds, seconds, mfa).await?;
    if let Some(c) = cache.filter(|_| lock.is_some())
        && let Err(e) = c.store(key, &Cached::new(session.clone(), None))
    {
        warnings.push(cache_warning(&e));
    }
    Ok(session)
}

/// The session's region: the plan's (checked when the config was read), else the
/// environment's, checked here; the command gets it under both names (aws CLI v1 reads only
/// `AWS_DEFAULT_REGION`, the SDKs prefer `AWS_REGION`).
pub fn region<'a>(plan: &'a Plan, env: &'a Env) -> Result<Option<&'a str>, Error> {
    let region = plan.region.as_deref().or_else(|| env.get("AWS_REGION")).or_else(|| env.get("AWS_DEFAULT_REGION"));
    if let Some(r) = region {
        crate::values::parse_region(r).map_err(|why| {
            let shown: String = r.chars().take(64).collect();
            Error::config(format!("the region `{shown}` from the environment is {why}"))
        })?;
    }
    Ok(region)
}

/// Until when a session for `resolved` can be renewed without asking for an MFA code: `None`
/// when it needs no code (renewable for as long as the source lasts); the expiry of the cached
/// MFA session the roles are assumed from; else (MFA on an AssumeRole, an MFA session not
/// cached or `no_cache`, a profile whose own session needed the code) `expiration`, the
/// session's own end.
pub fn renewal_bound(
    resolved: &Resolved,
    env: &Env,
    expiration: Option<DateTime<Utc>>,
    no_cache: bool,
) -> Option<DateTime<Utc>> {
    let plan = &resolved.plan;
    // The MFA session a first GetSessionToken makes covers the first hop's device.
    let covered = match plan.steps.first() {
        Some(Step::SessionToken { serial: Some(serial), .. }) => Some(serial.as_str()),
        _ => None,
    };
    let hop_needs_code = plan
        .steps
        .iter()
        .enumerate()
        .any(|(i, s)| matches!(s, Step::AssumeRole(h) if h.mfa_serial.as_deref().is_some_and(|m| !(i == 1 && covered == Some(m)))));
    if covered.is_none() && !hop_needs_code {
        return None;
    }
    // Without the cache the MFA session is not kept, so nothing can be renewed from it.
    if hop_needs_code || plan.steps.len() == 1 || no_cache {
        return expiration;
    }
    let endpoint = sts::Endpoint::from_env(env, region(plan, env).ok().flatten());
    let mfa_session = Cache::open(env, &mut Vec::new())
        .ok()
        .and_then(|c| c.load(&cache::key(plan, 1, &endpoint, env), Need::Signing, &mut Vec::new()));
    match mfa_session {
        Some(s) => s.credentials.expiration,
        None => expiration,
    }
}

/// The credentials a plan starts from, before any of its steps (the console of an IAM user).
pub fn base_credentials(resolved: &Resolved, env: &Env) -> Result<Credentials, Error> {
    let getting = source::Getting { interactive: true, warnings: None };
    runtime()?.block_on(source::base(&resolved.plan.source, resolved.keys.as_ref(), env, getting))
}

/// A single-threaded runtime for the SDK's calls: rolesh makes them one after another.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Local(format!("could not start the async runtime: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Secret;

    #[test]
    fn the_environment_sets_keys_and_removes_profiles() {
        let s = Session {
            profile: "dev".into(),
            role_arn: None,
            assumed_arn: None,
            credentials: Credentials {
                access_key_id: "ASIA".into(),
                secret_access_key: Secret::new("s"),
                session_token: None,
                expiration: DateTime::from_timestamp(1_800_000_000, 0),
            },
            region: Some("eu-west-1".into()),
        };
        let env = s.environment("id1");
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(get("AWS_SESSION_TOKEN"), Some(None));
        assert_eq!(get("AWS_PROFILE"), Some(None));
        assert_eq!(get("AWS_DEFAULT_REGION"), Some(Some("eu-west-1".into())));
        assert_eq!(get("AWS_CREDENTIAL_EXPIRATION"), Some(Some("2027-01-15T08:00:00Z".into())));
        assert_eq!(get("ROLESH_EXPIRES"), Some(Some("1800000000".into())));
    }
}
