//! AWS credentials and the secrets in them: a leaf module that both the config reader
//! (`profile`) and the STS side (`session`) use.
//!
//! A [`Secret`] never shows in `Debug` output, is zeroed when dropped and does not implement
//! `Serialize`: the only ways to write one anywhere are [`Secret::expose`] at the call site or
//! the explicit wire form [`CredentialJson`], so a secret cannot reach a log, an error or a
//! file by accident.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// A secret string (a secret access key or a session token).
#[derive(Clone, PartialEq, Eq, Deserialize)]
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

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// A set of AWS credentials; `expiration` is `None` for long-term keys.
#[derive(Debug, Clone)]
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

    /// The credentials in the JSON shape AWS tools read (`credential_process`, `export
    /// --format json`, the cache): the one place a secret is written out on purpose.
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

/// The same shape read back (the cache, a `credential_process`'s output).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CredentialJsonIn {
    pub version: Option<u32>,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    pub expiration: Option<DateTime<Utc>>,
}

impl From<CredentialJsonIn> for Credentials {
    fn from(c: CredentialJsonIn) -> Self {
        Credentials {
            access_key_id: c.access_key_id,
            secret_access_key: c.secret_access_key,
            session_token: c.session_token,
            expiration: c.expiration,
        }
    }
}

// A compile-time check that neither type is `Serialize`: with an impl, the call below would be
// ambiguous between the two blanket impls and the build would fail (static_assertions'
// `assert_not_impl_any!`, written out).
trait AmbiguousIfSerialize<A> {
    fn check() {}
}
impl<T: ?Sized> AmbiguousIfSerialize<()> for T {}
#[allow(dead_code)]
struct IsSerialize;
impl<T: ?Sized + Serialize> AmbiguousIfSerialize<IsSerialize> for T {}
const _: fn() = || {
    <Secret as AmbiguousIfSerialize<_>>::check();
    <Credentials as AmbiguousIfSerialize<_>>::check();
};

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(id: &str) -> Credentials {
        Credentials {
            access_key_id: id.into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI"),
            session_token: Some(Secret::new("FwoGZXIvYXdzE")),
            expiration: None,
        }
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let c = creds("ASIAEXAMPLE1234");
        let shown = format!("{c:?}");
        assert!(!shown.contains("wJalr") && !shown.contains("FwoGZ"), "{shown}");
        assert_eq!(c.masked_id(), "****1234");
    }

    #[test]
    fn a_key_id_with_multibyte_characters_is_masked_without_a_panic() {
        // Key ids come from config files, the environment and credential_process output,
        // so anything may be in them; the mask is printed in STS error messages.
        assert_eq!(creds("AKIAxÖÜ€").masked_id(), "****xÖÜ€");
        assert_eq!(creds("é").masked_id(), "****é");
        assert_eq!(creds("").masked_id(), "****");
    }

    #[test]
    fn the_wire_form_round_trips_through_json() {
        let c = Credentials { expiration: DateTime::from_timestamp(1_800_000_000, 0), ..creds("ASIAX") };
        let text = serde_json::to_string(&c.json()).unwrap();
        let back: Credentials = serde_json::from_str::<CredentialJsonIn>(&text).unwrap().into();
        assert_eq!(back.secret_access_key.expose(), "wJalrXUtnFEMI");
        assert_eq!(back.expiration, c.expiration);
    }
}
