//! Temporary credentials on disk: one 0600 JSON file per plan prefix under the platform cache
//! dir (0700), named by a hash of the plan's source and steps (never by anything secret),
//! written atomically, with a lock file per key so concurrent cold starts make one STS call.
//!
//! The directory and every entry must be the user's and closed to others: an entry another
//! user could have written (planted keys) is ignored with a warning, a directory the user
//! owns but others can enter is made 0700, one someone else owns is not used. Entries are read
//! without following links or blocking and with a size cap, and temp files a killed writer
//! left (with live keys in them) are swept on the next write.
//!
//! Reuse rule: a set handed to a command or a shell is reused while at least half of its
//! lifetime is left (and never within 5 minutes of expiry), so `use` never gives a shell a
//! session with minutes to live; an MFA session that only signs the next AssumeRole is reused
//! until 5 minutes before it expires.

use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::sts::Endpoint;
use crate::credentials::{CredentialJson, CredentialJsonIn, Credentials};
use crate::env::Env;
use crate::error::{Error, Warning};
use crate::fsutil::{self, DirStatus};
use crate::profile::{Plan, Source, Step};

/// Never reuse a set this close to its expiry.
const MARGIN_SECS: i64 = 5 * 60;
/// Long enough for the lock holder to read an MFA code from its user.
const LOCK_TIMEOUT: Duration = Duration::from_secs(180);
/// The version of the files; a file of another version is a miss.
const FORMAT: u32 = 2;
/// An entry is a few hundred bytes; anything near this is damage, not data.
const MAX_ENTRY_LEN: u64 = 64 * 1024;

/// What a cached set is needed for, which decides how much life it must have left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Handed to a command or a shell: at least half its lifetime left.
    Handed,
    /// Only signs the next call: valid for a few more minutes.
    Signing,
}

#[derive(Debug, Clone)]
pub struct Cached {
    pub credentials: Credentials,
    pub assumed_arn: Option<String>,
    /// When STS issued the set; with the expiry it gives the lifetime.
    pub issued: DateTime<Utc>,
}

impl Cached {
    pub fn new(credentials: Credentials, assumed_arn: Option<String>) -> Self {
        Cached { credentials, assumed_arn, issued: Utc::now() }
    }

    fn is_fresh(&self, need: Need, now: DateTime<Utc>) -> bool {
        let Some(expires) = self.credentials.expiration else { return false };
        let left = (expires - now).num_seconds();
        let lifetime = (expires - self.issued).num_seconds();
        match need {
            Need::Handed => left > MARGIN_SECS && left >= lifetime / 2,
            Need::Signing => left > MARGIN_SECS,
        }
    }
}

/// The file's shape on disk; the credentials in the JSON shape AWS tools use.
#[derive(Serialize)]
struct FileOut<'a> {
    format: u32,
    credentials: CredentialJson<'a>,
    assumed_arn: Option<&'a str>,
    issued: DateTime<Utc>,
}

#[derive(Deserialize)]
struct FileIn {
    format: u32,
    credentials: CredentialJsonIn,
    assumed_arn: Option<String>,
    issued: DateTime<Utc>,
}

pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// `ROLESH_CACHE_DIR`, else the platform cache dir (`$XDG_CACHE_HOME/rolesh` on Linux),
    /// created 0700, or made 0700 (with a warning) if others could get in. A directory of
    /// another user's is an error.
    pub fn open(env: &Env, warnings: &mut Vec<Warning>) -> Result<Self, Error> {
        let dir = match env.get("ROLESH_CACHE_DIR") {
            Some(d) => PathBuf::from(d),
            None => crate::paths::project_dirs()?.cache_dir().to_path_buf(),
        };
        match fsutil::ensure_private_dir(&dir) {
            Ok(DirStatus::Tightened { was }) => warnings.push(Warning::Cache(format!(
                "the credential cache {} was open to other users (mode {was:04o}); made it 0700",
                dir.display()
            ))),
            Ok(_) => {}
            Err(e) => return Err(Error::state("use the cache directory", &dir, e.into())),
        }
        Ok(Cache { dir })
    }

    fn path(&self, key: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{key}.{ext}"))
    }

    /// The cached set for `key` if it is good enough for `need`; a missing, stale or
    /// damaged file is a miss, and one that is not safely the user's is ignored with a
    /// warning.
    pub fn load(&self, key: &str, need: Need, warnings: &mut Vec<Warning>) -> Option<Cached> {
        let path = self.path(key, "json");
        let bytes = match fsutil::read_private(&path, MAX_ENTRY_LEN) {
            Ok(bytes) => bytes?,
            Err(e) => {
                warnings.push(Warning::CacheEntry { path, why: e.to_string() });
                return None;
            }
        };
        decode(&bytes).filter(|cached| cached.is_fresh(need, Utc::now()))
    }

    /// Holds `key` against other rolesh processes until the lock is dropped. The holder notes
    /// its pid and profile in the lock file; a process that has to wait calls `waiting` with
    /// that note first, so the user learns what is being waited for (an MFA prompt in another
    /// terminal, a slow credential_process).
    pub fn lock(&self, key: &str, profile: &str, waiting: &dyn Fn(&str)) -> Result<std::fs::File, Error> {
        let path = self.path(key, "lock");
        let file = fsutil::lock_reporting(&path, LOCK_TIMEOUT, |held| {
            let mut note = String::new();
            let _ = Read::take(held, 256).read_to_string(&mut note);
            let holder = note.trim();
            let holder =
                if holder.is_empty() { "another rolesh process".to_string() } else { format!("rolesh {holder}") };
            waiting(&format!(
                "waiting for {holder} to get these credentials (up to {}s); --no-cache does not wait",
                LOCK_TIMEOUT.as_secs()
            ));
        })
        .map_err(|e| Error::state("lock", &path, e))?;
        let mut noted = &file;
        let _ = noted
            .set_len(0)
            .and_then(|()| noted.rewind())
            .and_then(|()| noted.write_all(format!("pid {} for profile `{profile}`", std::process::id()).as_bytes()));
        Ok(file)
    }

    pub fn store(&self, key: &str, cached: &Cached) -> Result<(), Error> {
        let path = self.path(key, "json");
        let file = FileOut {
            format: FORMAT,
            credentials: cached.credentials.json(),
            assumed_arn: cached.assumed_arn.as_deref(),
            issued: cached.issued,
        };
        let bytes =
            serde_json::to_vec(&file).map_err(|e| Error::Local(format!("could not encode credentials: {e}")))?;
        let written = fsutil::write_atomic(&path, &bytes, 0o600).map_err(|e| Error::state("write", &path, e));
        // Temp files of other entries, left by writers killed mid-write, hold live keys too.
        fsutil::sweep_temp_files(&self.dir, None, fsutil::STALE_TEMP_AGE);
        written
    }
}

/// A cache entry's credentials, or `None` for anything but a good entry of this version (the
/// fuzzer's entry point too).
pub fn decode(bytes: &[u8]) -> Option<Cached> {
    let file: FileIn = serde_json::from_slice(bytes).ok()?;
    (file.format == FORMAT).then(|| Cached {
        credentials: file.credentials.into(),
        assumed_arn: file.assumed_arn,
        issued: file.issued,
    })
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
        Source::Sso(r) => format!("sso:{}\n{}\n{}\n{}", r.start_url, r.region, r.account_id, r.role_name),
    }
}

/// The key of the credentials after the plan's first `steps` calls: the base source, those
/// steps' parameters and the STS endpoint. The key after a GetSessionToken step is shared by
/// every plan that starts the same way, which is how roles share one MFA session.
pub fn key(plan: &Plan, steps: usize, endpoint: &Endpoint, env: &Env) -> String {
    let mut parts = vec!["plan".to_string(), source_id(&plan.source, env), endpoint.url.clone().unwrap_or_default()];
    for step in &plan.steps[..steps.min(plan.steps.len())] {
        match step {
            Step::SessionToken { serial, duration } => {
                parts.extend(["session-token".into(), serial.clone().unwrap_or_default(), duration.to_string()]);
            }
            Step::AssumeRole(hop) => parts.extend([
                "assume-role".into(),
                hop.role_arn.clone(),
                hop.mfa_serial.clone().unwrap_or_default(),
                hop.external_id.clone().unwrap_or_default(),
                hop.session_name.clone(),
                hop.duration.to_string(),
            ]),
        }
    }
    hash(&parts.iter().map(String::as_str).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Secret;
    use crate::profile::{Config, Overrides, resolve};

    fn creds(expires_in: i64) -> Credentials {
        Credentials {
            access_key_id: "ASIA".into(),
            secret_access_key: Secret::new("s"),
            session_token: Some(Secret::new("t")),
            expiration: Some(Utc::now() + chrono::Duration::seconds(expires_in)),
        }
    }

    fn issued_ago(expires_in: i64, ago: i64) -> Cached {
        Cached { issued: Utc::now() - chrono::Duration::seconds(ago), ..Cached::new(creds(expires_in), None) }
    }

    #[test]
    fn a_handed_set_is_reused_while_half_its_lifetime_is_left() {
        let now = Utc::now();
        assert!(issued_ago(3600, 0).is_fresh(Need::Handed, now));
        assert!(issued_ago(1900, 1700).is_fresh(Need::Handed, now), "32 of 60 minutes left");
        assert!(!issued_ago(1700, 1900).is_fresh(Need::Handed, now), "28 of 60 minutes left");
        assert!(!issued_ago(299, 0).is_fresh(Need::Handed, now), "never within five minutes");
    }

    #[test]
    fn a_signing_set_is_reused_until_five_minutes_before_expiry() {
        let now = Utc::now();
        assert!(issued_ago(600, 42_600).is_fresh(Need::Signing, now), "an MFA session with 10 of 720 minutes left");
        assert!(!issued_ago(600, 42_600).is_fresh(Need::Handed, now));
        assert!(!issued_ago(299, 0).is_fresh(Need::Signing, now));
    }

    #[test]
    fn a_stored_set_loads_back_and_garbage_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Vec::new();
        let cache = Cache::open(&Env::from_pairs([("ROLESH_CACHE_DIR", dir.path().join("c"))]), &mut w).unwrap();
        cache.store("k", &Cached::new(creds(3600), Some("arn".into()))).unwrap();
        let hit = cache.load("k", Need::Handed, &mut w).unwrap();
        assert_eq!(hit.assumed_arn.as_deref(), Some("arn"));
        assert_eq!(hit.credentials.secret_access_key.expose(), "s");
        std::fs::write(cache.path("k", "json"), b"{garbage").unwrap();
        assert!(cache.load("k", Need::Handed, &mut w).is_none());
    }

    #[test]
    fn keys_differ_by_every_step_and_prefixes_are_shared() {
        let cfg = Config::parse(
            "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/a\nsource_profile = u\nmfa_serial = arn:aws:iam::1:mfa/u\n\
             [profile b]\nrole_arn = arn:aws:iam::111111111111:role/b\nsource_profile = u\nmfa_serial = arn:aws:iam::1:mfa/u\n",
            "[u]\naws_access_key_id = AKIAU\naws_secret_access_key = secretvalue\n",
        )
        .unwrap();
        let e = Endpoint { url: None, region: "us-east-1".into() };
        let env = Env::default();
        let plan = |name: &str| resolve(&cfg, &env, name, &Overrides::default()).unwrap().plan;
        let (a, b) = (plan("a"), plan("b"));
        assert_eq!(key(&a, 1, &e, &env), key(&b, 1, &e, &env), "one MFA session for both roles");
        assert_ne!(key(&a, 2, &e, &env), key(&b, 2, &e, &env));
        let k = key(&a, 2, &e, &env);
        assert_eq!(k.len(), 32);
        assert!(k.bytes().all(|b| b.is_ascii_hexdigit()));
        let other = Endpoint { url: Some("http://127.0.0.1:1".into()), region: "us-east-1".into() };
        assert_ne!(key(&a, 2, &other, &env), k);
    }
}
