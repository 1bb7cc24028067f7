//! Per-directory roles: a `.rolesh` file names a profile (and optionally a region) for the tree
//! below it, and a shell hook loaded with `rolesh init SHELL --auto-dir` takes that role on
//! entering the tree and leaves it on the way out, but only for files the user allowed.
//!
//! A cloned repository must never choose an identity the user did not approve, so:
//! - the file holds nothing but `profile = NAME` and `region = REGION` (no ARN, command or
//!   endpoint: what the profile means comes from the user's own AWS config), at most 4 KiB, and
//!   is ignored when it is a symlink, is owned by another user or others can write it
//!   ([`fsutil::read_owned`]);
//! - trust is recorded per file in `trust.json` in the state directory: the file's canonical
//!   path, a hash of that path and its content, and the identity the profile resolved to when
//!   it was allowed. Editing, moving or copying the file, or pointing the profile at another
//!   role in the AWS config, drops the trust until `rolesh allow` again, as with direnv;
//! - a refusal (`rolesh deny`) is kept for the path whatever the file later says.
//!
//! The trust file is written like the session ledger: under a lock (`trust.lock`), through an
//! atomic rename, 0600 in the 0700 state directory; readers take no lock. Nothing here prints.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::env::Env;
use crate::error::{Error, Warning};
use crate::fsutil::{self, DirStatus, Durability, FileError};
use crate::profile::resolve::{Plan, Source};

/// The file's name.
pub const FILE: &str = ".rolesh";
/// Two settings fit in a few dozen bytes; a bigger file is not a `.rolesh`.
pub const MAX_LEN: u64 = 4096;
/// The version of `trust.json`; a file with another is not guessed at.
pub const FORMAT: u32 = 1;
const TRUST_FILE: &str = "trust.json";
const TRUST_LOCK: &str = "trust.lock";
/// Hundreds of bytes per entry: a trust file of megabytes is damage, not data.
const TRUST_MAX_LEN: u64 = 1 << 20;
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// What a `.rolesh` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub profile: String,
    pub region: Option<String>,
}

/// Reads a `.rolesh`: `profile = NAME` and optionally `region = REGION`, one per line; blank
/// lines and `#` comments are allowed, anything else is an error naming the line.
pub fn parse(bytes: &[u8]) -> Result<Spec, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())?;
    let (mut profile, mut region) = (None, None);
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {n} is not `profile = NAME` or `region = REGION`"));
        };
        let (key, value) = (key.trim(), value.trim());
        let slot = match key {
            "profile" => &mut profile,
            "region" => &mut region,
            _ => {
                let shown: String = key.chars().take(40).collect();
                return Err(format!(
                    "line {n}: `{shown}` is not a setting of {FILE} (only `profile` and `region` are)"
                ));
            }
        };
        if slot.is_some() {
            return Err(format!("line {n}: `{key}` is set twice"));
        }
        *slot = Some(value.to_string());
    }
    let profile = profile.ok_or_else(|| "it names no profile (`profile = NAME`)".to_string())?;
    if profile.starts_with("arn:") {
        return Err("a role ARN is not allowed: name a profile of your AWS config".into());
    }
    let plain = !profile.is_empty()
        && !profile.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '[' | ']' | '"' | '\'' | '\\'));
    if !plain {
        return Err("the profile must be a name from your AWS config (no spaces, quotes or brackets)".into());
    }
    let region =
        region.map(|r| crate::values::parse_region(&r).map_err(|why| format!("the region is {why}"))).transpose()?;
    Ok(Spec { profile, region })
}

/// The innermost `.rolesh` at or above a directory.
#[derive(Debug)]
pub struct Found {
    /// The directory holding the file (canonical when the start was).
    pub dir: PathBuf,
    /// `dir/.rolesh`.
    pub path: PathBuf,
    /// Its bytes, or why it is not used (a symlink, another user's, open to others' writes,
    /// too large, unreadable).
    pub content: Result<Vec<u8>, FileError>,
}

/// Looks for `.rolesh` in `start` and each directory above it; the first one wins, whatever
/// it holds. One `lstat` per directory when there is none.
pub fn find(start: &Path) -> Option<Found> {
    start.ancestors().find_map(|dir| {
        let path = dir.join(FILE);
        let content = match fsutil::read_owned(&path, MAX_LEN) {
            Ok(None) => return None,
            Ok(Some(bytes)) => Ok(bytes),
            Err(e) => Err(e),
        };
        Some(Found { dir: dir.to_path_buf(), path, content })
    })
}

/// What trust is bound to besides the file: the role the profile assumes last, or, for a
/// profile without one, where its credentials come from (an SSO permission set, a key id).
pub fn identity(plan: &Plan) -> String {
    if let Some(arn) = plan.role_arn() {
        return arn.to_string();
    }
    match &plan.source {
        Source::Sso(s) => format!("sso:{}:{}", s.account_id, s.role_name),
        Source::Static { access_key_id, .. } => format!("keys:{access_key_id}"),
        Source::Process { command, .. } => format!("credential_process:{command}"),
        other => other.describe(),
    }
}

/// The account an identity belongs to, where it says (`arn:aws:iam::ACCOUNT:role/…`, `sso:ACCOUNT:…`).
pub fn account_of(identity: &str) -> Option<&str> {
    let parts: Vec<&str> = identity.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, _, _, account, _] if !account.is_empty() => Some(account),
        ["sso", account, ..] => Some(account),
        _ => None,
    }
}

/// The hash trust is keyed by: the canonical path and the content, length-prefixed so no two
/// different pairs hash alike.
pub fn hash_of(path: &str, content: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [path.as_bytes(), content] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Deny,
}

/// One decision about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The file's canonical path.
    pub path: String,
    /// [`hash_of`] the path and the content the decision was made on.
    pub hash: String,
    pub decision: Decision,
    /// What the file asked for (`None` for a denied file that could not be read).
    pub profile: Option<String>,
    pub region: Option<String>,
    /// The profile's [`identity`] when it was allowed: the role ARN, for a role profile.
    pub identity: Option<String>,
    pub at: DateTime<Utc>,
}

/// Where a file stands with the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Allowed as it is now; it may switch to a profile that still resolves to `identity`.
    Allowed {
        identity: String,
    },
    Denied,
    /// Never allowed nor denied.
    Unknown,
    /// Allowed once, with other content.
    Edited,
}

/// The decision on `path` with `content`, from `entries`. A refusal holds whatever the file
/// says; an approval only for the content (and so the path) it was given for.
pub fn status(entries: &[Entry], path: &str, content: &[u8]) -> Status {
    match entries.iter().find(|e| e.path == path) {
        None => Status::Unknown,
        Some(e) if e.decision == Decision::Deny => Status::Denied,
        Some(e) if e.hash != hash_of(path, content) => Status::Edited,
        Some(e) => match &e.identity {
            Some(identity) => Status::Allowed { identity: identity.clone() },
            None => Status::Edited,
        },
    }
}

/// Records `entry` as the one decision on its path.
pub fn record(entries: &mut Vec<Entry>, entry: Entry) {
    entries.retain(|e| e.path != entry.path);
    entries.push(entry);
}

#[derive(Serialize, Deserialize)]
struct State {
    format: u32,
    entries: Vec<Entry>,
}

/// `trust.json` in the state directory.
pub struct TrustFile {
    dir: PathBuf,
}

impl TrustFile {
    /// The trust file in [`crate::paths::state_dir`].
    pub fn open(env: &Env) -> Result<TrustFile, Error> {
        crate::paths::state_dir(env).map(TrustFile::at)
    }

    pub fn at(dir: impl Into<PathBuf>) -> TrustFile {
        TrustFile { dir: dir.into() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(TRUST_FILE)
    }

    /// The entries, without a lock (writers rename a whole file into place). A missing file is
    /// no entries; a damaged one is an error, so that nothing is trusted by mistake.
    pub fn load(&self) -> Result<Vec<Entry>, Error> {
        let path = self.path();
        match self.read()? {
            Ok(entries) => Ok(entries),
            Err(why) => Err(Error::Local(format!(
                "the trust file {} is damaged ({why}); `rolesh trust` moves it aside and starts a new one",
                path.display()
            ))),
        }
    }

    /// Changes the entries under the lock and writes them back. A damaged file is moved
    /// aside (with a warning) and the change starts from no entries.
    pub fn change<T>(&self, f: impl FnOnce(&mut Vec<Entry>) -> T) -> Result<(T, Vec<Warning>), Error> {
        let mut warnings = Vec::new();
        match fsutil::ensure_private_dir(&self.dir) {
            Ok(DirStatus::Tightened { was }) => warnings.push(Warning::File(format!(
                "the state directory {} was open to other users (mode {was:04o}); made it 0700",
                self.dir.display()
            ))),
            Ok(_) => {}
            Err(e) => return Err(Error::state("use the state directory", &self.dir, e.into())),
        }
        let lock_path = self.dir.join(TRUST_LOCK);
        let _lock = fsutil::lock(&lock_path, LOCK_TIMEOUT).map_err(|e| Error::state("lock", &lock_path, e))?;
        let path = self.path();
        let mut entries = match self.read()? {
            Ok(entries) => entries,
            Err(why) => {
                let aside = self.dir.join(format!("{TRUST_FILE}.corrupt-{}", Utc::now().format("%Y%m%dT%H%M%S%.6fZ")));
                fs::rename(&path, &aside).map_err(|e| Error::state("move aside", &path, e))?;
                warnings.push(Warning::File(format!(
                    "the trust file {} could not be read ({why}); moved it to {} and started a new one: allow your directories again",
                    path.display(),
                    aside.display()
                )));
                vec![]
            }
        };
        let out = f(&mut entries);
        let mut bytes = serde_json::to_vec_pretty(&State { format: FORMAT, entries })
            .map_err(|e| Error::Local(format!("could not encode the trust file: {e}")))?;
        bytes.push(b'\n');
        // Durable, unlike the ledger: a decision must survive a power loss.
        fsutil::write_atomic_with(&path, &bytes, 0o600, Durability::Fsync)
            .map_err(|e| Error::state("write", &path, e))?;
        Ok((out, warnings))
    }

    /// The entries, or why the file is damaged; `Err` for a file that cannot be read at all
    /// (a FIFO, someone else's), which is never moved.
    fn read(&self) -> Result<Result<Vec<Entry>, String>, Error> {
        let path = self.path();
        let bytes = match fsutil::read_private(&path, TRUST_MAX_LEN) {
            Ok(None) => return Ok(Ok(vec![])),
            Ok(Some(bytes)) => bytes,
            Err(FileError::TooLarge { len, .. }) => return Ok(Err(format!("it is {len} bytes"))),
            Err(e) => return Err(Error::state("read", &path, e.into())),
        };
        Ok(decode(&bytes))
    }
}

/// The entries of a `trust.json`, or why it cannot be read.
pub fn decode(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    #[derive(Deserialize)]
    struct Header {
        format: u32,
    }
    match serde_json::from_slice::<Header>(bytes) {
        Ok(h) if h.format != FORMAT => return Err(format!("format {} is not {FORMAT}", h.format)),
        Ok(_) => {}
        Err(e) => return Err(e.to_string()),
    }
    serde_json::from_slice::<State>(bytes).map(|s| s.entries).map_err(|e| e.to_string())
}

/// Which file governs the directory, and whether it may switch the shell.
#[derive(Debug)]
pub enum Governing<T> {
    /// No `.rolesh` at or above the directory.
    None,
    /// An allowed file, its directory, and what switching to it needs (`T`: the resolved plan).
    Usable { dir: PathBuf, spec: Spec, switch: T },
    /// A file that must change nothing (untrusted, denied, edited, unsafe, bad), and the one
    /// line that says why.
    Unusable { why: String },
}

/// What a directory change does to the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Stay,
    /// Take the governing file's role (switching from another directory's session, if any).
    Enter,
    /// Leave the directory session: the shell's environment from before it comes back.
    Leave,
}

/// The rule: a session the shell started by hand (`manual`) is never replaced nor ended by a
/// directory; a directory session (`dir_session`, the tree it came from) follows the
/// innermost allowed file, and ends when the shell leaves its tree for one without a usable
/// file. A file that is not usable changes nothing inside the current session's tree.
pub fn decide<T>(cwd: &Path, governing: &Governing<T>, dir_session: Option<&Path>, manual: bool) -> Move {
    match (governing, dir_session) {
        (Governing::Usable { dir, .. }, Some(current)) if dir == current => Move::Stay,
        (Governing::Usable { .. }, _) if manual => Move::Stay,
        (Governing::Usable { .. }, _) => Move::Enter,
        (Governing::Unusable { .. }, Some(current)) if !cwd.starts_with(current) => Move::Leave,
        (Governing::None, Some(_)) => Move::Leave,
        _ => Move::Stay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_holds_a_profile_and_optionally_a_region() {
        assert_eq!(parse(b"profile = billing\n"), Ok(Spec { profile: "billing".into(), region: None }));
        assert_eq!(
            parse(b"# the billing account\n\n  profile=infra-prod  \nregion = eu-west-1"),
            Ok(Spec { profile: "infra-prod".into(), region: Some("eu-west-1".into()) })
        );
    }

    #[test]
    fn anything_but_profile_and_region_is_an_error_naming_the_line() {
        let cases: [(&[u8], &str); 10] = [
            (b"profile = a\nrole_arn = arn:aws:iam::1:role/x", "line 2: `role_arn` is not a setting of .rolesh"),
            (b"profile = a\ncredential_process = sh -c x", "line 2: `credential_process` is not a setting"),
            (b"profile = a\nendpoint_url = http://evil", "line 2: `endpoint_url` is not a setting"),
            (b"profile = a\n$(touch x)", "line 2 is not `profile = NAME`"),
            (b"profile = a\nprofile = b", "line 2: `profile` is set twice"),
            (b"region = eu-west-1", "names no profile"),
            (b"profile = arn:aws:iam::123456789012:role/x", "a role ARN is not allowed"),
            (b"profile = \"a\"", "no spaces, quotes or brackets"),
            (b"profile = a\nregion = ../../x", "the region is not a region name"),
            (b"profile = \xff", "not UTF-8"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{:?}: {err}", String::from_utf8_lossy(text));
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_innermost_file_wins_and_an_unsafe_one_is_found_but_not_read() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let outer = root.path().join("a");
        let inner = outer.join("b/c");
        fs::create_dir_all(&inner).unwrap();
        assert!(find(&inner).is_none_or(|f| !f.dir.starts_with(root.path())));
        fs::write(outer.join(FILE), "profile = outer\n").unwrap();
        let f = find(&inner).unwrap();
        assert_eq!((f.dir.as_path(), f.content.unwrap()), (outer.as_path(), b"profile = outer\n".to_vec()));
        fs::write(outer.join("b").join(FILE), "profile = inner\n").unwrap();
        assert_eq!(find(&inner).unwrap().dir, outer.join("b"));
        let path = outer.join("b").join(FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        let f = find(&inner).unwrap();
        assert_eq!(f.dir, outer.join("b"), "an unsafe inner file still governs: it does not fall through");
        assert!(matches!(f.content, Err(FileError::OpenToOthers { .. })));
        fs::write(&path, vec![b'#'; 5000]).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(find(&inner).unwrap().content, Err(FileError::TooLarge { max: 4096, .. })));
    }

    fn allowed(path: &str, content: &[u8], identity: &str) -> Entry {
        Entry {
            path: path.into(),
            hash: hash_of(path, content),
            decision: Decision::Allow,
            profile: Some("billing".into()),
            region: None,
            identity: Some(identity.into()),
            at: Utc::now(),
        }
    }

    const ROLE: &str = "arn:aws:iam::111111111111:role/Billing";

    #[test]
    fn trust_holds_only_for_the_same_path_and_content() {
        let entries = vec![allowed("/p/billing/.rolesh", b"profile = billing\n", ROLE)];
        assert_eq!(
            status(&entries, "/p/billing/.rolesh", b"profile = billing\n"),
            Status::Allowed { identity: ROLE.into() }
        );
        assert_eq!(status(&entries, "/p/billing/.rolesh", b"profile = prod\n"), Status::Edited);
        // Copied or moved elsewhere: another path, never trusted.
        assert_eq!(status(&entries, "/p/clone/.rolesh", b"profile = billing\n"), Status::Unknown);
    }

    #[test]
    fn a_refusal_holds_whatever_the_file_says_and_allowing_replaces_it() {
        let mut entries = vec![allowed("/p/x/.rolesh", b"profile = a\n", ROLE)];
        let deny = Entry { decision: Decision::Deny, identity: None, ..allowed("/p/x/.rolesh", b"", ROLE) };
        record(&mut entries, deny);
        assert_eq!(entries.len(), 1);
        assert_eq!(status(&entries, "/p/x/.rolesh", b"profile = a\n"), Status::Denied);
        assert_eq!(status(&entries, "/p/x/.rolesh", b"profile = b\n"), Status::Denied);
        record(&mut entries, allowed("/p/x/.rolesh", b"profile = b\n", ROLE));
        assert_eq!(status(&entries, "/p/x/.rolesh", b"profile = b\n"), Status::Allowed { identity: ROLE.into() });
    }

    #[test]
    fn the_hash_separates_path_from_content() {
        assert_ne!(hash_of("/a", b"b"), hash_of("/ab", b""));
        assert_eq!(hash_of("/a", b"b").len(), 64);
    }

    #[test]
    fn the_account_comes_from_a_role_arn_or_an_sso_identity() {
        assert_eq!(account_of(ROLE), Some("111111111111"));
        assert_eq!(account_of("sso:222222222222:Developer"), Some("222222222222"));
        assert_eq!(account_of("keys:AKIAEXAMPLE"), None);
    }

    #[cfg(unix)]
    #[test]
    fn the_trust_file_is_private_and_survives_damage_by_starting_afresh() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let trust = TrustFile::at(dir.path().join("state"));
        assert!(trust.load().unwrap().is_empty(), "no file, no entries");
        trust.change(|e| record(e, allowed("/p/.rolesh", b"x", ROLE))).unwrap();
        assert_eq!(trust.load().unwrap().len(), 1);
        let mode = fs::metadata(trust.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        fs::write(trust.path(), b"{\"format\":1,\"entr").unwrap();
        let err = trust.load().unwrap_err().to_string();
        assert!(err.contains("is damaged") && err.contains("`rolesh trust`"), "{err}");
        let ((), warnings) = trust.change(|_| ()).unwrap();
        assert!(matches!(&warnings[..], [Warning::File(w)] if w.contains("moved it to")), "{warnings:?}");
        assert!(trust.load().unwrap().is_empty());
    }

    #[test]
    fn a_manual_session_wins_and_a_directory_session_follows_the_innermost_usable_file() {
        let usable =
            |d: &str| Governing::Usable { dir: PathBuf::from(d), spec: parse(b"profile = a").unwrap(), switch: () };
        let unusable = Governing::<()>::Unusable { why: String::new() };
        let cwd = Path::new("/p/billing/src");
        let billing = Some(Path::new("/p/billing"));
        assert_eq!(decide(cwd, &usable("/p/billing"), None, false), Move::Enter);
        assert_eq!(decide(cwd, &usable("/p/billing"), billing, false), Move::Stay);
        assert_eq!(decide(cwd, &usable("/p/billing/src"), billing, false), Move::Enter, "nested: the inner one");
        assert_eq!(decide(cwd, &usable("/p/billing"), None, true), Move::Stay, "a manual `use` wins");
        assert_eq!(decide(cwd, &Governing::<()>::None, None, true), Move::Stay, "and survives leaving");
        assert_eq!(decide(cwd, &Governing::<()>::None, billing, false), Move::Leave);
        assert_eq!(decide(cwd, &unusable, billing, false), Move::Stay, "inside the tree");
        assert_eq!(decide(Path::new("/q"), &unusable, billing, false), Move::Leave, "out of the tree");
        assert_eq!(decide(cwd, &unusable, None, false), Move::Stay);
    }
}
