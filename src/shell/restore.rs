//! What `rolesh unuse` puts back: for every variable a `use` touched, its value from before
//! the first `use` (`None` = it was unset), as direnv's DIRENV_DIFF does.
//!
//! The record lives in the shell's own, unexported variable `__rolesh_restore`, not in the
//! environment: it may hold the user's long-term keys, which a session hides from children.
//! The hook hands it to the binary on stdin for the one `use`/`unuse` call, so no process
//! rolesh starts (a `credential_process`) can find it in its environment. (Hooks loaded by
//! an older rolesh pass it as `ROLESH_RESTORE`, still read, and never passed on: see
//! [`crate::env::PRIVATE`].)
//!
//! Encoding: `1;NAME=HEX;NAME;…` — hex of the value's bytes, or a bare name for "was unset".
//! Plain ASCII without quotes, so it needs no care in any shell and survives any value.

use std::ffi::{OsStr, OsString};

use crate::env::Env;
use crate::error::Error;

/// The shell variable that keeps the record between prompts.
pub const VAR: &str = "__rolesh_restore";
/// How hooks of older versions passed the record to the binary.
pub const ENV: &str = "ROLESH_RESTORE";
/// A record is a few hundred bytes; a megabyte on stdin is not one.
pub const MAX_LEN: u64 = 1 << 20;

/// The directory whose `.rolesh` started the shell's session (the `--auto-dir` hook); a session
/// started any other way removes it, so it names a directory only while the session is that
/// directory's.
pub const DIR_VAR: &str = "ROLESH_DIR";

/// The variables a session sets, which `unuse` removes in a shell that inherited its session
/// (from `rolesh shell` or a parent shell) and so has nothing recorded to restore. The hooks
/// remove the same list themselves when an expired session cannot be cleared by the binary.
pub const SESSION_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "ROLESH_PROFILE",
    "ROLESH_EXPIRES",
    "ROLESH_SESSION",
    DIR_VAR,
];

pub type Changes = Vec<(String, Option<OsString>)>;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Record {
    saved: Changes,
}

// Saved values may be the user's own keys: `Debug` shows only which variables were set.
impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: Vec<String> =
            self.saved.iter().map(|(n, v)| format!("{n}{}", if v.is_some() { "=****" } else { " unset" })).collect();
        write!(f, "Record({})", shown.join(", "))
    }
}

impl Record {
    pub fn is_empty(&self) -> bool {
        self.saved.is_empty()
    }

    /// The record as the hook passed it: `input` (what it wrote on stdin), else an older
    /// hook's `ROLESH_RESTORE`; empty or absent means no `use` yet.
    pub fn from_hook(input: &str, env: &Env) -> Result<Option<Record>, Error> {
        let input = input.trim_end_matches(['\n', '\r']);
        match (input, env.get(ENV)) {
            ("", None) => Ok(None),
            ("", Some(text)) | (text, _) => Record::decode(text).map(Some),
        }
    }

    pub fn decode(text: &str) -> Result<Record, Error> {
        let bad = || {
            Error::SavedEnvironment(format!(
                "the saved environment in {VAR} is damaged; open a new shell, or clear it with `unset {VAR}` (fish: `set -e {VAR}`)"
            ))
        };
        let mut parts = text.split(';');
        if parts.next() != Some("1") {
            return Err(bad());
        }
        let mut saved = Vec::new();
        for part in parts {
            let (name, value) = match part.split_once('=') {
                Some((n, hex)) => (n, Some(unhex(hex).ok_or_else(bad)?)),
                None => (part, None),
            };
            if !is_name(name) {
                return Err(bad());
            }
            saved.push((name.to_string(), value.map(os_from_bytes)));
        }
        Ok(Record { saved })
    }

    pub fn encode(&self) -> String {
        let mut out = String::from("1");
        for (name, value) in &self.saved {
            out.push(';');
            out.push_str(name);
            if let Some(v) = value {
                out.push('=');
                for b in os_bytes(v) {
                    out.push_str(&format!("{b:02x}"));
                }
            }
        }
        out
    }

    fn has(&self, name: &str) -> bool {
        self.saved.iter().any(|(n, _)| n == name)
    }

    /// The changes that bring the environment back to how it was before the first `use`.
    pub fn restore(&self) -> Changes {
        self.saved.clone()
    }
}

/// `use`: the changes that switch from the current state to `session`, and the record to
/// keep. A record from an earlier `use` is extended, never replaced, so one `unuse` goes back
/// to before the first `use`; variables the earlier session set and this one does not are
/// put back first.
pub fn switch<V: AsRef<OsStr>>(
    current: &Env,
    record: Option<Record>,
    session: &[(&str, Option<V>)],
) -> (Changes, Record) {
    let mut record = record.unwrap_or_default();
    let touched = |name: &str| session.iter().any(|(n, _)| *n == name);
    let mut changes: Changes = record.saved.iter().filter(|(n, _)| !touched(n)).cloned().collect();
    for (name, value) in session {
        if !record.has(name) {
            record.saved.push((name.to_string(), current.get_os(name).map(OsStr::to_os_string)));
        }
        changes.push((name.to_string(), value.as_ref().map(|v| v.as_ref().to_os_string())));
    }
    (changes, record)
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn unhex(hex: &str) -> Option<Vec<u8>> {
    // from_str_radix alone would take `+f` as a byte.
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(unix)]
fn os_bytes(v: &OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    v.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn os_bytes(v: &OsStr) -> Vec<u8> {
    v.to_string_lossy().into_owned().into_bytes()
}

#[cfg(unix)]
fn os_from_bytes(b: Vec<u8>) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(b)
}

#[cfg(not(unix))]
fn os_from_bytes(b: Vec<u8>) -> OsString {
    String::from_utf8_lossy(&b).into_owned().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(key: &str, region: Option<&str>) -> Vec<(&'static str, Option<String>)> {
        let mut v = vec![("AWS_ACCESS_KEY_ID", Some(key.to_string())), ("AWS_PROFILE", None)];
        if let Some(r) = region {
            v.push(("AWS_REGION", Some(r.to_string())));
        }
        v
    }

    #[test]
    fn a_record_survives_encoding_with_awkward_values() {
        let rec = Record {
            saved: vec![
                ("A".into(), Some("it's $x\\\n ü".into())),
                ("B".into(), None),
                ("C".into(), Some(OsString::new())),
            ],
        };
        let text = rec.encode();
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b";=_".contains(&b)), "{text}");
        assert_eq!(Record::decode(&text).unwrap(), rec);
    }

    #[test]
    fn saved_values_never_show_in_debug_output() {
        let rec =
            Record { saved: vec![("AWS_SECRET_ACCESS_KEY".into(), Some("wJalrXUtnFEMI".into())), ("B".into(), None)] };
        assert_eq!(format!("{rec:?}"), "Record(AWS_SECRET_ACCESS_KEY=****, B unset)");
    }

    #[test]
    fn a_damaged_record_is_an_error_that_says_how_to_recover() {
        for text in ["", "2;A", "1;A=zz", "1;A=abc", "1;$(x)", "1;A=+f"] {
            let e = Record::decode(text).unwrap_err().to_string();
            assert!(e.contains("unset __rolesh_restore"), "{text}: {e}");
        }
        assert!(Record::decode("1").unwrap().is_empty());
    }

    #[test]
    fn the_first_use_saves_previous_values_and_absences() {
        let env = Env::from_pairs([("AWS_PROFILE", "mine")]);
        let (changes, rec) = switch(&env, None, &session("K1", None));
        assert_eq!(changes[0], ("AWS_ACCESS_KEY_ID".into(), Some("K1".into())));
        assert_eq!(
            rec.restore(),
            vec![("AWS_ACCESS_KEY_ID".into(), None), ("AWS_PROFILE".into(), Some("mine".into()))]
        );
    }

    #[test]
    fn switching_keeps_the_state_from_before_the_first_use() {
        let before = Env::from_pairs([("AWS_REGION", "us-east-1")]);
        let (_, rec1) = switch(&before, None, &session("K1", Some("eu-west-1")));
        // The shell now holds the first session; a second `use` without a region.
        let during = Env::from_pairs([("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "K1")]);
        let (changes, rec2) = switch(&during, Some(rec1.clone()), &session("K2", None));
        assert_eq!(rec2, rec1, "nothing new was touched");
        assert_eq!(changes[0], ("AWS_REGION".into(), Some("us-east-1".into())), "the old region goes back first");
        assert_eq!(changes[1], ("AWS_ACCESS_KEY_ID".into(), Some("K2".into())));
    }
}
