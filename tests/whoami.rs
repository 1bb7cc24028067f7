//! `rolesh whoami`: GetCallerIdentity for a profile, or for the session it runs in.
#![cfg(unix)]

mod support;

use std::ffi::OsStr;

use chrono::{DateTime, Utc};
use support::fixtures::{USER_KEY, USER_SECRET, user_credentials, user_env};
use support::{StandIn, TestEnv};

const ROLE: &str = "arn:aws:iam::123456789012:role/deployer";

fn json(outcome: &support::Outcome) -> serde_json::Value {
    outcome.assert_ok();
    serde_json::from_slice(&outcome.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{outcome}"))
}

#[test]
fn whoami_shows_the_assumed_role_of_a_profile() {
    let env = TestEnv::moto();
    env.credentials(&user_credentials());
    env.config(&format!("[profile deployer]\nrole_arn = {ROLE}\nsource_profile = user\nregion = eu-west-1\n"));
    let identity = json(&env.run(["whoami", "deployer", "--json"]));
    assert_eq!(identity["Arn"], "arn:aws:sts::123456789012:assumed-role/deployer/rolesh-tester");
    assert_eq!(identity["Account"], "123456789012");
    let user_id = identity["UserId"].as_str().expect("UserId is a string");
    assert!(user_id.ends_with(":rolesh-tester"), "{identity}");
    let expiration = identity["Expiration"].as_str().expect("a session has an Expiration");
    let expires: DateTime<Utc> = expiration.parse().expect("Expiration is RFC 3339");
    assert!(expires > Utc::now());
}

#[test]
fn whoami_inside_exec_reports_the_session_it_runs_in() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    env.config(&format!("[profile deployer]\nrole_arn = {ROLE}\nsource_profile = user\n"));
    let rolesh = support::rolesh_bin();
    let outcome = env.run([
        OsStr::new("exec"),
        OsStr::new("deployer"),
        OsStr::new("--"),
        rolesh.as_os_str(),
        OsStr::new("whoami"),
        OsStr::new("--json"),
    ]);
    let identity = json(&outcome);
    let issued = &stand_in.issued()[0];
    assert_eq!(identity["Arn"], issued.arn.as_str());
    assert_eq!(identity["UserId"], issued.user_id.as_str());
    let asked = stand_in.calls("GetCallerIdentity");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].signer(), issued.access_key_id);
    assert_eq!(asked[0].signature_ok, Some(true), "signed with the session's secret");
    let expires: DateTime<Utc> =
        identity["Expiration"].as_str().expect("a session has an Expiration").parse().expect("RFC 3339");
    assert_eq!(expires.timestamp(), issued.expiration.timestamp());
}

#[test]
fn whoami_reuses_the_session_exec_cached() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    env.config(&format!("[profile deployer]\nrole_arn = {ROLE}\nsource_profile = user\n"));
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    let identity = json(&env.run(["whoami", "deployer", "--json"]));
    assert_eq!(stand_in.count("AssumeRole"), 1);
    assert_eq!(identity["Arn"], stand_in.issued()[0].arn.as_str());
}

#[test]
fn whoami_text_names_the_account_and_the_arn() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    env.config(&format!("[profile deployer]\nrole_arn = {ROLE}\nsource_profile = user\n"));
    let outcome = env.run(["whoami", "deployer"]);
    outcome.assert_ok();
    let text = outcome.stdout();
    assert!(text.contains("123456789012"), "{outcome}");
    assert!(text.contains("arn:aws:sts::123456789012:assumed-role/deployer/rolesh-tester"), "{outcome}");
}

#[test]
fn whoami_with_the_environments_keys_asks_with_them() {
    let stand_in = StandIn::start();
    stand_in.register_user(USER_KEY, USER_SECRET, "arn:aws:iam::123456789012:user/alice");
    let mut env = TestEnv::stand_in(&stand_in);
    env.set("AWS_ACCESS_KEY_ID", USER_KEY).set("AWS_SECRET_ACCESS_KEY", USER_SECRET);
    let identity = json(&env.run(["whoami", "--json"]));
    assert_eq!(identity["Arn"], "arn:aws:iam::123456789012:user/alice");
    let asked = &stand_in.calls("GetCallerIdentity")[0];
    assert_eq!(asked.signer(), USER_KEY);
    assert_eq!(asked.signature_ok, Some(true));
}

#[test]
fn whoami_of_an_unknown_profile_is_a_config_error() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    env.run(["whoami", "nobody"]).assert_error(3);
    assert!(stand_in.requests().is_empty());
}
