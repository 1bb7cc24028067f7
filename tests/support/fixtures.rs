//! Keys, profiles and small readers the test files share.

use std::collections::BTreeMap;

use super::{Outcome, StandIn, TestEnv};

/// The IAM user whose static keys start most chains, in profile `user`.
pub const USER_KEY: &str = "AKIAUSERKEY000000001";
/// Distinctive, so a test can prove it never shows up where it should not.
pub const USER_SECRET: &str = "UserSecretKey/DoNotLeak/0000000000000000";
pub const USER_ARN: &str = "arn:aws:iam::123456789012:user/alice";
pub const MFA_SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";

/// `[user]` in the credentials file, with [`USER_KEY`].
pub fn user_credentials() -> String {
    format!("[user]\naws_access_key_id = {USER_KEY}\naws_secret_access_key = {USER_SECRET}\n")
}

/// A HOME on `stand_in` whose credentials file holds the `user` profile.
pub fn user_env(stand_in: &StandIn) -> TestEnv {
    stand_in.register_user(USER_KEY, USER_SECRET, USER_ARN);
    let env = TestEnv::stand_in(stand_in);
    env.credentials(&user_credentials());
    env
}

/// The role of `[profile deployer]`.
pub const DEPLOYER_ROLE: &str = "arn:aws:iam::111111111111:role/deployer";

/// [`user_env`] plus `[profile deployer]`, assumed from `user`'s static keys, with `extra`
/// settings.
pub fn deployer(stand_in: &StandIn, extra: &str) -> TestEnv {
    let env = user_env(stand_in);
    env.config(&format!("[profile deployer]\nrole_arn = {DEPLOYER_ROLE}\nsource_profile = user\n{extra}"));
    env
}

pub fn role_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

/// The variables printed by a child `env -0`.
pub fn child_env(outcome: &Outcome) -> BTreeMap<String, String> {
    outcome.assert_ok();
    outcome
        .stdout
        .split(|&b| b == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (name, value) = entry.split_once('=').expect("env prints NAME=value");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// `rolesh exec PROFILE [flags…] -- env -0`, as arguments.
pub fn exec_env<'a>(profile: &'a str, flags: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["exec", profile];
    args.extend_from_slice(flags);
    args.extend(["--", "env", "-0"]);
    args
}
