//! Turning a [`Plan`] into temporary credentials: the cache first, then (only on a miss) a
//! tokio runtime and the STS calls. A cache hit never builds a runtime or loads SDK config.

pub mod cache;
pub mod ledger;
pub mod mfa;
pub mod source;
pub mod sts;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::error::Error;
use crate::profile::Plan;
use cache::{Cache, Cached};

/// A secret string: `Debug` never shows it, so it cannot leak into logs or panics.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    pub expiration: Option<DateTime<Utc>>,
}

impl Credentials {
    /// An access key id as aws-vault shows one: all but the last four characters hidden.
    /// Counts characters, not bytes: a key id read from a file may hold anything, and a byte
    /// slice could split a character (a panic).
    pub fn masked_id(&self) -> String {
        let n = self.access_key_id.chars().count();
        let tail: String = self.access_key_id.chars().skip(n.saturating_sub(4)).collect();
        format!("****{tail}")
    }
}

/// The JSON shape AWS tools read credentials in: `credential-process` prints it with
/// `Version: 1`, `export --format json` with `Region`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CredentialJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<&'a str>,
}

impl Credentials {
    pub fn json(&self) -> CredentialJson<'_> {
        CredentialJson {
            version: None,
            access_key_id: &self.access_key_id,
            secret_access_key: self.secret_access_key.expose(),
            session_token: self.session_token.as_ref().map(Secret::expose),
            expiration: self.expiration.map(rfc3339),
            region: None,
        }
    }
}

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
        if let Some(region) = &self.region {
            vars.push(("AWS_REGION", Some(region.clone())));
            vars.push(("AWS_DEFAULT_REGION", Some(region.clone())));
        }
        vars.push(("AWS_CREDENTIAL_EXPIRATION", c.expiration.map(rfc3339)));
        vars.push(("ROLESH_PROFILE", Some(self.profile.clone())));
        vars.push(("ROLESH_EXPIRES", c.expiration.map(|e| e.timestamp().to_string())));
        vars.push(("ROLESH_SESSION", Some(session_id.to_string())));
        vars
    }
}

/// The expiry a session's environment carries (`ROLESH_EXPIRES`, unix seconds), if valid.
pub fn expires_in(env: &Env) -> Option<DateTime<Utc>> {
    env.get("ROLESH_EXPIRES").and_then(|s| s.parse::<i64>().ok()).and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A short id for a new session, unique enough on one machine: pid and clock, in hex.
pub fn new_session_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{:x}{:05x}", (nanos as u64) & 0xffff_ffff_ffff, std::process::id() & 0xfffff)
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub no_cache: bool,
    /// Fetch anew even when the cached set is fresh (it was revoked, say), and cache the result.
    pub refresh: bool,
    pub mfa_token: Option<String>,
}

/// Credentials for `plan`, from the cache when fresh, else from STS (one caller per cache
/// key at a time: the others wait on its lock and then read what it wrote).
pub fn obtain(plan: &Plan, env: &Env, opts: &Options) -> Result<Session, Error> {
    if let Some(code) = &opts.mfa_token {
        mfa::validate(code)?;
    }
    // A region already in the environment is known too: the child gets it under both names
    // (aws CLI v1 reads only AWS_DEFAULT_REGION, the SDKs prefer AWS_REGION).
    let region = plan.region.as_deref().or_else(|| env.get("AWS_REGION")).or_else(|| env.get("AWS_DEFAULT_REGION"));
    let endpoint = sts::Endpoint::from_env(env, region);
    let cache = if opts.no_cache { None } else { Some(Cache::open(env)?) };
    let key = cache::plan_key(plan, &endpoint, env);
    let session_of = |c: Cached| Session {
        profile: plan.profile.clone(),
        role_arn: plan.hops.last().map(|h| h.role_arn.clone()),
        assumed_arn: c.assumed_arn,
        credentials: c.credentials,
        region: region.map(String::from),
    };
    let hit = |cache: &Cache| if opts.refresh { None } else { cache.load_fresh(&key).map(session_of) };
    let Some(cache) = cache else {
        return fetch(plan, env, opts, &endpoint, None).map(session_of);
    };
    if let Some(s) = hit(&cache) {
        return Ok(s);
    }
    let _lock = cache.lock(&key)?;
    if let Some(s) = hit(&cache) {
        return Ok(s);
    }
    let fresh = fetch(plan, env, opts, &endpoint, Some(&cache))?;
    // Long-term keys (a credential_process that returns them) are never written to disk.
    if fresh.credentials.expiration.is_some() {
        cache.store(&key, &fresh)?;
    }
    Ok(session_of(fresh))
}

/// How long an MFA session from GetSessionToken lasts: a working day, so switching between
/// roles that share a source and an MFA device asks for a code about once a day.
const MFA_SESSION_SECONDS: u32 = 12 * 3600;
/// AWS caps a session assumed with role credentials ("role chaining") at one hour.
const CHAINED_MAX_SECONDS: u32 = 3600;
pub const DEFAULT_SECONDS: u32 = 3600;

fn fetch(
    plan: &Plan,
    env: &Env,
    opts: &Options,
    endpoint: &sts::Endpoint,
    cache: Option<&Cache>,
) -> Result<Cached, Error> {
    let mut codes = mfa::Codes::new(opts.mfa_token.clone());
    runtime()?.block_on(async {
        let mut creds = source::base(&plan.source, env).await?;
        let first_serial = match plan.hops.first() {
            Some(hop) => hop.mfa_serial.as_deref(),
            None => plan.mfa_serial.as_deref(),
        };
        let mut mfa_done = false;
        let mut assumed_arn = None;
        if creds.session_token.is_none() && (first_serial.is_some() || plan.hops.is_empty()) {
            // Long-term keys: an MFA session (GetSessionToken) first, cached on its own so
            // roles sharing this source and device reuse it. Without hops, GetSessionToken
            // keeps the long-term keys away from the child.
            let seconds = if plan.hops.is_empty() { plan_duration(plan) } else { MFA_SESSION_SECONDS };
            let call = sts::Call { endpoint, source: &plan.source, profile: &plan.profile };
            creds = mfa_session(&call, creds, first_serial, seconds, &mut codes, cache).await?;
            mfa_done = first_serial.is_some();
        }
        for (i, hop) in plan.hops.iter().enumerate() {
            let chained = i > 0 || plan.source.is_role_session();
            let requested = hop.duration.unwrap_or(DEFAULT_SECONDS);
            let seconds = if chained && requested > CHAINED_MAX_SECONDS {
                eprintln!(
                    "rolesh: {} is assumed with role credentials (role chaining), which AWS caps at 1h; asking for 3600s instead of {requested}s",
                    hop.role_arn
                );
                CHAINED_MAX_SECONDS
            } else {
                requested
            };
            let mfa = match &hop.mfa_serial {
                Some(serial) if !(i == 0 && mfa_done) => Some((serial.as_str(), codes.take(serial, &hop.profile)?)),
                _ => None,
            };
            let session_name = hop.session_name.clone().unwrap_or_else(|| default_session_name(env));
            let call = sts::Call { endpoint, source: &plan.source, profile: &hop.profile };
            let out = call.assume_role(&creds, hop, &session_name, seconds, mfa).await?;
            creds = out.credentials;
            assumed_arn = out.assumed_arn;
        }
        Ok(Cached::new(creds, assumed_arn))
    })
}

/// A single-threaded runtime for the SDK's calls: rolesh makes them one after another.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::State(format!("could not start the async runtime: {e}")))
}

fn plan_duration(plan: &Plan) -> u32 {
    match plan.hops.last() {
        Some(hop) => hop.duration,
        None => plan.duration,
    }
    .unwrap_or(DEFAULT_SECONDS)
}

async fn mfa_session(
    call: &sts::Call<'_>,
    creds: Credentials,
    serial: Option<&str>,
    seconds: u32,
    codes: &mut mfa::Codes,
    cache: Option<&Cache>,
) -> Result<Credentials, Error> {
    let key = cache::mfa_key(&creds.access_key_id, serial, seconds, call.endpoint);
    let _lock = match cache {
        Some(c) => {
            if let Some(hit) = c.load_fresh(&key) {
                return Ok(hit.credentials);
            }
            let lock = c.lock(&key)?;
            if let Some(hit) = c.load_fresh(&key) {
                return Ok(hit.credentials);
            }
            Some(lock)
        }
        None => None,
    };
    let mfa = match serial {
        Some(s) => Some((s, codes.take(s, call.profile)?)),
        None => None,
    };
    let session = call.get_session_token(&creds, seconds, mfa).await?;
    if let Some(c) = cache {
        c.store(&key, &Cached::new(session.clone(), None))?;
    }
    Ok(session)
}

/// `rolesh-<user>`, so CloudTrail shows who assumed the role; STS allows 2-64 characters of
/// `[\w+=,.@-]`.
pub fn default_session_name(env: &Env) -> String {
    let user = env.get("USER").or_else(|| env.get("USERNAME")).or_else(|| env.get("LOGNAME")).unwrap_or("user");
    sanitize_session_name(&format!("rolesh-{user}"))
}

pub fn sanitize_session_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) { c } else { '-' })
        .take(64)
        .collect();
    while s.len() < 2 {
        s.push('-');
    }
    s
}

/// Parses `3600`, `900s`, `15m`, `1h`, `1h30m`; AssumeRole accepts 900 to 43200 seconds.
pub fn parse_duration(text: &str) -> Result<u32, String> {
    let bad = || format!("`{text}` is not a duration; use seconds (3600) or a form like 15m, 1h, 1h30m");
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            'h' | 'H' => 3600,
            'm' | 'M' => 60,
            's' | 'S' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        // Checked: a huge number must not panic (debug) or wrap into a valid duration.
        total = n.checked_mul(unit).and_then(|s| total.checked_add(s)).ok_or_else(bad)?;
        num.clear();
    }
    if !num.is_empty() {
        let n: u64 = num.parse().map_err(|_| bad())?;
        total = total.checked_add(n).ok_or_else(bad)?;
    } else if total == 0 {
        return Err(bad());
    }
    if !(900..=43200).contains(&total) {
        return Err(format!("duration {total}s is outside what STS allows; choose 15m (900s) to 12h (43200s)"));
    }
    Ok(total as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_seconds_or_units() {
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("12h"), Ok(43200));
        assert!(parse_duration("10m").unwrap_err().contains("15m"));
        assert!(parse_duration("13h").is_err());
        assert!(parse_duration("1d").unwrap_err().contains("not a duration"));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("h").is_err());
        // Overflow is an error, never a panic nor a wrapped-around valid duration.
        assert!(parse_duration("99999999999999999h").is_err());
        assert!(parse_duration("18446744073709551615s1s").is_err());
        assert!(parse_duration("5124095576030431h1h").is_err());
    }

    #[test]
    fn duration_reaches_get_session_token_for_a_profile_without_a_role() {
        use crate::profile::{Config, Overrides, resolve};
        let cfg = Config::parse("", "[user]\naws_access_key_id = AKIAUSER\naws_secret_access_key = s\n");
        let over = Overrides { duration: Some(7200), ..Default::default() };
        let plan = resolve(&cfg, &Env::default(), "user", &over).unwrap();
        assert_eq!(plan_duration(&plan), 7200);
        let plan = resolve(&cfg, &Env::default(), "user", &Overrides::default()).unwrap();
        assert_eq!(plan_duration(&plan), DEFAULT_SECONDS);
    }

    #[test]
    fn session_names_fit_sts_rules() {
        assert_eq!(sanitize_session_name("rolesh-jo hn/ü"), "rolesh-jo-hn--");
        assert_eq!(sanitize_session_name("x"), "x-");
        assert_eq!(sanitize_session_name(&"a".repeat(80)).len(), 64);
        let env = Env::from_pairs([("USER", "ana.maría")]);
        assert_eq!(default_session_name(&env), "rolesh-ana.mar-a");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let c = Credentials {
            access_key_id: "ASIAEXAMPLE1234".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI"),
            session_token: Some(Secret::new("FwoGZXIvYXdzE")),
            expiration: None,
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("wJalr") && !shown.contains("FwoGZ"), "{shown}");
        assert_eq!(c.masked_id(), "****1234");
    }

    #[test]
    fn a_key_id_with_multibyte_characters_is_masked_without_a_panic() {
        // Key ids come from config files, the environment and credential_process output,
        // so anything may be in them; the mask is printed in STS error messages.
        let c = |id: &str| Credentials {
            access_key_id: id.into(),
            secret_access_key: Secret::new("s"),
            session_token: None,
            expiration: None,
        };
        assert_eq!(c("AKIAxÖÜ€").masked_id(), "****xÖÜ€");
        assert_eq!(c("é").masked_id(), "****é");
        assert_eq!(c("").masked_id(), "****");
    }

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
