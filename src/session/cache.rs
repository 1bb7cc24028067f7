//! Temporary credentials on disk: one 0600 JSON file per resolved chain under the platform
//! cache dir (0700), named by a hash of the chain (never by anything secret), written
//! atomically, with a lock file per key so concurrent cold starts make one STS call.

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Credentials;
use super::sts::Endpoint;
use crate::env::Env;
use crate::error::Error;
use crate::fsutil;
use crate::profile::{Plan, Source};

/// A cached set is used until this close to its expiry, then refreshed.
const REFRESH_MARGIN_SECS: i64 = 5 * 60;
/// Long enough for the lock holder to read an MFA code from its user.
const LOCK_TIMEOUT: Duration = Duration::from_secs(180);
const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cached {
    pub format: u32,
    pub credentials: Credentials,
    pub assumed_arn: Option<String>,
}

impl Cached {
    pub fn new(credentials: Credentials, assumed_arn: Option<String>) -> Self {
        Cached { format: FORMAT, credentials, assumed_arn }
    }

    fn is_fresh(&self) -> bool {
        self.credentials.expiration.is_some_and(|e| (e - Utc::now()).num_seconds() > REFRESH_MARGIN_SECS)
    }
}

pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// `ROLESH_CACHE_DIR`, else the platform cache dir (`$XDG_CACHE_HOME/rolesh` on Linux).
    pub fn open(env: &Env) -> Result<Self, Error> {
        let dir = match env.get("ROLESH_CACHE_DIR") {
            Some(d) => PathBuf::from(d),
            None => crate::paths::project_dirs()?.cache_dir().to_path_buf(),
        };
        Ok(Cache { dir })
    }

    fn path(&self, key: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{key}.{ext}"))
    }

    /// The cached set for `key` if it is still good; an unreadable file counts as a miss.
    pub fn load_fresh(&self, key: &str) -> Option<Cached> {
        let bytes = std::fs::read(self.path(key, "json")).ok()?;
        let cached: Cached = serde_json::from_slice(&bytes).ok()?;
        (cached.format == FORMAT && cached.is_fresh()).then_some(cached)
    }

    pub fn lock(&self, key: &str) -> Result<std::fs::File, Error> {
        fsutil::private_dir(&self.dir).map_err(|e| Error::state("create the cache directory", &self.dir, e))?;
        let path = self.path(key, "lock");
        fsutil::lock(&path, LOCK_TIMEOUT).map_err(|e| Error::state("lock", &path, e))
    }

    pub fn store(&self, key: &str, cached: &Cached) -> Result<(), Error> {
        fsutil::private_dir(&self.dir).map_err(|e| Error::state("create the cache directory", &self.dir, e))?;
        let path = self.path(key, "json");
        let bytes =
            serde_json::to_vec(cached).map_err(|e| Error::State(format!("could not encode credentials: {e}")))?;
        fsutil::write_atomic(&path, &bytes, 0o600).map_err(|e| Error::state("write", &path, e))
    }
}

fn hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Identifies the base credentials without their secret part.
fn source_id(source: &Source, env: &Env) -> String {
    match source {
        Source::Static { access_key_id, .. } => format!("static:{access_key_id}"),
        Source::Process { command, .. } => format!("process:{command}"),
        // Keys in the environment change from shell to shell: key by the key id in use.
        Source::Environment => format!("environment:{}", env.get("AWS_ACCESS_KEY_ID").unwrap_or_default()),
        Source::Imds => "imds".into(),
        Source::Ecs => "ecs".into(),
        Source::DefaultChain => "default-chain".into(),
    }
}

/// The key of a whole chain: base source, every hop's parameters, and the STS endpoint.
pub fn plan_key(plan: &Plan, endpoint: &Endpoint, env: &Env) -> String {
    let mut parts = vec!["plan".to_string(), source_id(&plan.source, env), endpoint.url.clone().unwrap_or_default()];
    parts.push(plan.mfa_serial.clone().unwrap_or_default());
    parts.push(plan.duration.map(|d| d.to_string()).unwrap_or_default());
    for hop in &plan.hops {
        parts.extend([
            hop.role_arn.clone(),
            hop.mfa_serial.clone().unwrap_or_default(),
            hop.external_id.clone().unwrap_or_default(),
            hop.session_name.clone().unwrap_or_default(),
            hop.duration.map(|d| d.to_string()).unwrap_or_default(),
        ]);
    }
    hash(&parts.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The key of an MFA session: the long-term key id and the device.
pub fn mfa_key(access_key_id: &str, serial: Option<&str>, seconds: u32, endpoint: &Endpoint) -> String {
    let secs = seconds.to_string();
    hash(&["mfa", access_key_id, serial.unwrap_or_default(), &secs, endpoint.url.as_deref().unwrap_or_default()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Secret;

    fn creds(expires_in: i64) -> Credentials {
        Credentials {
            access_key_id: "ASIA".into(),
            secret_access_key: Secret::new("s"),
            session_token: Some(Secret::new("t")),
            expiration: Some(Utc::now() + chrono::Duration::seconds(expires_in)),
        }
    }

    #[test]
    fn a_set_is_reused_until_five_minutes_before_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache { dir: dir.path().join("c") };
        cache.store("k", &Cached::new(creds(3600), Some("arn".into()))).unwrap();
        assert_eq!(cache.load_fresh("k").unwrap().assumed_arn.as_deref(), Some("arn"));
        cache.store("k", &Cached::new(creds(299), None)).unwrap();
        assert!(cache.load_fresh("k").is_none());
        std::fs::write(cache.path("k", "json"), b"{garbage").unwrap();
        assert!(cache.load_fresh("k").is_none());
    }

    #[test]
    fn keys_differ_by_every_hop_parameter_and_hold_no_secret() {
        let e = Endpoint { url: None, region: "us-east-1".into() };
        let k1 = mfa_key("AKIA1", Some("arn:mfa"), 3600, &e);
        let k2 = mfa_key("AKIA1", Some("arn:mfa"), 7200, &e);
        assert_ne!(k1, k2);
        assert_eq!(k1.len(), 32);
        assert!(k1.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
