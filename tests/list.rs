//! `rolesh list`: the profiles of both AWS files, read locally.
#![cfg(unix)]

mod support;

use support::TestEnv;
use support::fixtures::{MFA_SERIAL, USER_SECRET, user_credentials};

/// Nothing listens here: `list` must not need STS.
const NOWHERE: &str = "http://127.0.0.1:9";

fn sample() -> TestEnv {
    let env = TestEnv::new(NOWHERE);
    env.config(&format!(
        "[default]
         region = us-west-2
         [profile admin]
         role_arn = arn:aws:iam::111111111111:role/admin
         source_profile = user
         mfa_serial = {MFA_SERIAL}
         region = eu-west-1
         [profile ci]
         role_arn = arn:aws:iam::222222222222:role/ci
         credential_source = Environment
         [sso-session corp]
         sso_start_url = https://corp.awsapps.com/start"
    ));
    env.credentials(&user_credentials());
    env
}

fn rows(outcome: &support::Outcome) -> Vec<serde_json::Value> {
    outcome.assert_ok();
    let value: serde_json::Value =
        serde_json::from_slice(&outcome.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{outcome}"));
    value.as_array().unwrap_or_else(|| panic!("not a JSON array:\n{outcome}")).clone()
}

#[test]
fn list_json_shows_every_profile_of_both_files_once() {
    let env = sample();
    let rows = rows(&env.run(["list", "--json"]));
    let mut names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().expect("name is a string")).collect();
    names.sort_unstable();
    assert_eq!(names, ["admin", "ci", "default", "user"], "sso-session is no profile");

    let row = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap().clone();
    let admin = row("admin");
    assert_eq!(admin["role_arn"], "arn:aws:iam::111111111111:role/admin");
    assert_eq!(admin["source"], "user");
    assert_eq!(admin["mfa_serial"], MFA_SERIAL);
    assert_eq!(admin["region"], "eu-west-1");
    assert_eq!(row("ci")["source"], "Environment");
    assert_eq!(row("default")["region"], "us-west-2");
    let user = row("user");
    assert!(user["role_arn"].is_null(), "{user}");
    assert!(user["mfa_serial"].is_null(), "{user}");
    for r in &rows {
        assert!(r["kind"].as_str().is_some_and(|k| !k.is_empty()), "{r}");
    }
    assert_ne!(admin["kind"], user["kind"], "a role and static keys are different kinds");
}

#[test]
fn list_text_has_a_row_per_profile() {
    let env = sample();
    let outcome = env.run(["list"]);
    outcome.assert_ok();
    let text = outcome.stdout();
    for name in ["admin", "ci", "default", "user"] {
        assert!(text.lines().any(|l| l.split_whitespace().next() == Some(name)), "no row for {name}:\n{text}");
    }
    assert!(text.contains("arn:aws:iam::111111111111:role/admin"), "{text}");
}

#[test]
fn list_never_shows_a_secret() {
    let env = sample();
    for args in [&["list"][..], &["list", "--json"]] {
        let outcome = env.run(args);
        outcome.assert_ok();
        assert!(!outcome.stdout().contains(USER_SECRET), "{outcome}");
        assert!(!outcome.stderr.contains(USER_SECRET), "{outcome}");
    }
}

#[test]
fn list_with_no_profiles_succeeds() {
    let env = TestEnv::new(NOWHERE);
    assert!(rows(&env.run(["list", "--json"])).is_empty());
    env.run(["list"]).assert_ok();
}
