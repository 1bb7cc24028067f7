//! The `credential_process` protocol, Version 1: one JSON object on stdout. Nothing else
//! goes to stdout; an MFA code is asked on the terminal (or the call fails saying so).

use crate::cli::CredentialProcessArgs;
use crate::credentials::{CredentialJson, Credentials};
use crate::env::Env;
use crate::error::Error;
use crate::session::source::CREDENTIAL_PROCESS_CHAIN;

pub fn run(args: CredentialProcessArgs, env: &Env) -> Result<i32, Error> {
    let env = &with_chain(env, &args.profile)?;
    let session = super::session_for(&args.profile, &args.session, env)?;
    super::print(&text(&session.credentials)?)?;
    Ok(0)
}

/// `env` with `profile` added to the credential_process chain; a profile already in it
/// means `[profile P] credential_process = rolesh credential-process P` (or a longer loop).
fn with_chain(env: &Env, profile: &str) -> Result<Env, Error> {
    let mut chain: Vec<&str> = env.get(CREDENTIAL_PROCESS_CHAIN).map(|c| c.lines().collect()).unwrap_or_default();
    if chain.contains(&profile) {
        chain.push(profile);
        return Err(Error::config(format!(
            "credential_process loop: {}; a profile used by `rolesh credential-process` needs its own role_arn or keys, not a credential_process that calls rolesh for it",
            chain.join(" -> ")
        )));
    }
    chain.push(profile);
    let mut env = env.clone();
    env.set(CREDENTIAL_PROCESS_CHAIN, chain.join("\n"));
    Ok(env)
}

pub fn text(c: &Credentials) -> Result<String, Error> {
    // Without Expiration (long-term keys) the SDK never refreshes.
    let out = CredentialJson { version: Some(1), ..c.json() };
    let text = serde_json::to_string(&out).map_err(|e| Error::Local(format!("could not encode JSON: {e}")))?;
    Ok(text + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Secret;

    #[test]
    fn a_profile_already_in_the_chain_is_a_loop() {
        let env = with_chain(&Env::default(), "a").unwrap();
        let env = with_chain(&env, "b").unwrap();
        assert_eq!(env.get(CREDENTIAL_PROCESS_CHAIN), Some("a\nb"));
        let err = with_chain(&env, "a").unwrap_err().to_string();
        assert!(err.starts_with("credential_process loop: a -> b -> a;"), "{err}");
    }

    #[test]
    fn the_output_is_version_1_with_rfc3339_expiry() {
        let c = Credentials {
            access_key_id: "ASIAX".into(),
            secret_access_key: Secret::new("s/+="),
            session_token: Some(Secret::new("t")),
            expiration: chrono::DateTime::from_timestamp(1_800_000_000, 0),
        };
        assert_eq!(
            text(&c).unwrap(),
            "{\"Version\":1,\"AccessKeyId\":\"ASIAX\",\"SecretAccessKey\":\"s/+=\",\"SessionToken\":\"t\",\"Expiration\":\"2027-01-15T08:00:00Z\"}\n"
        );
    }
}
