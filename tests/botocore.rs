//! botocore (the AWS CLI) is the reference for how a profile resolves. Each case runs the
//! real `aws sts get-caller-identity --profile P` against one fresh STS stand-in and
//! `rolesh exec P -- aws sts get-caller-identity` against another, and asserts that both made
//! the same STS calls: the same roles in the same order, with the same ExternalId and
//! DurationSeconds, each signed by the same key (issued keys are numbered per stand-in, so a
//! fresh stand-in issues the same ids in the same order).
#![cfg(unix)]

mod support;

use support::fixtures::{USER_KEY, USER_SECRET, user_env};
use support::{StandIn, TestEnv};

const R1: &str = "arn:aws:iam::111111111111:role/one";
const R2: &str = "arn:aws:iam::222222222222:role/two";
const R3: &str = "arn:aws:iam::333333333333:role/three";

/// The static keys the cases below put in credentials files besides `user`'s, each live at
/// STS with its secret.
const KEYS: [(&str, &str); 3] = [
    ("AKIAMEKEY00000000001", "me-secret"),
    ("AKIAMIDKEY0000000001", "mid-secret"),
    ("AKIABOTHKEY000000001", "both-secret"),
];

/// What matters about one STS call for resolution: which action, which role, which
/// parameters, signed by which key. botocore omits DurationSeconds when not configured,
/// which STS reads as 3600.
fn calls(stand_in: &StandIn) -> Vec<String> {
    stand_in
        .requests()
        .iter()
        // STS calls only: how each tool reads instance metadata is its own business.
        .filter(|r| r.access_key_id.is_some())
        .map(|r| {
            format!(
                "{} role={} external_id={} duration={} signer={}",
                r.action(),
                r.param("RoleArn").unwrap_or("-"),
                r.param("ExternalId").unwrap_or("-"),
                r.param("DurationSeconds").unwrap_or(if r.action() == "AssumeRole" { "3600" } else { "-" }),
                r.signer()
            )
        })
        .collect()
}

fn setup(stand_in: &StandIn, config: &str, credentials: &str) -> TestEnv {
    for (key, secret) in KEYS {
        stand_in.register_key(key, secret);
    }
    let mut env = user_env(stand_in);
    env.config(config);
    env.credentials(&format!("{}{credentials}", support::fixtures::user_credentials()));
    // aws CLI v1 reads the region only from AWS_DEFAULT_REGION.
    env.set("AWS_DEFAULT_REGION", "us-east-1");
    env
}

/// Runs both tools on the same files, each against its own fresh stand-in, and asserts that
/// they made the same STS calls. In `extra_env`, the value `SELF` stands for that stand-in's
/// own endpoint (for instance metadata).
fn compare(config: &str, credentials: &str, profile: &str, extra_env: &[(&str, &str)]) {
    let reference = StandIn::start();
    let mut env = setup(&reference, config, credentials);
    for (k, v) in extra_env {
        env.set(k, if *v == "SELF" { reference.endpoint() } else { v.to_string() });
    }
    let aws = support::process::run(
        env.command_for("aws", ["sts", "get-caller-identity", "--profile", profile, "--output", "json"]),
    );
    aws.assert_ok();

    let ours = StandIn::start();
    let mut env = setup(&ours, config, credentials);
    for (k, v) in extra_env {
        env.set(k, if *v == "SELF" { ours.endpoint() } else { v.to_string() });
    }
    let rolesh = env.run(["exec", profile, "--", "aws", "sts", "get-caller-identity", "--output", "json"]);
    rolesh.assert_ok();

    // Both sign differently (botocore signs fewer headers); the stand-ins verified both.
    for (tool, stand_in) in [("aws CLI", &reference), ("rolesh", &ours)] {
        let signed = stand_in.requests().into_iter().filter(|r| r.access_key_id.is_some());
        let unverified: Vec<_> = signed.filter(|r| r.signature_ok != Some(true)).collect();
        assert!(unverified.is_empty(), "the {tool}'s signatures did not verify: {unverified:#?}");
    }
    let (expected, got) = (calls(&reference), calls(&ours));
    assert!(expected.iter().any(|c| c.starts_with("GetCallerIdentity")), "{expected:#?}");
    assert_eq!(got, expected, "rolesh's STS calls differ from the aws CLI's for profile {profile}");
    // Both end as the same identity.
    let arn = |out: &support::Outcome| -> String {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON identity");
        v["Arn"].as_str().unwrap_or_default().split('/').take(2).collect::<Vec<_>>().join("/")
    };
    assert_eq!(arn(&rolesh), arn(&aws));
}

#[test]
fn a_single_role_from_static_keys_resolves_as_botocore_does() {
    compare(&format!("[profile r]\nrole_arn = {R1}\nsource_profile = user\n"), "", "r", &[]);
}

#[test]
fn a_three_hop_chain_resolves_as_botocore_does() {
    let config = format!(
        "[profile c]\nrole_arn = {R3}\nsource_profile = b\n[profile b]\nrole_arn = {R2}\nsource_profile = a\nexternal_id = ext-b\n[profile a]\nrole_arn = {R1}\nsource_profile = user\nduration_seconds = 1800\n"
    );
    compare(&config, "", "c", &[]);
}

#[test]
fn a_profile_sourcing_itself_resolves_as_botocore_does() {
    let config = format!("[profile me]\nrole_arn = {R1}\nsource_profile = me\n");
    compare(&config, "[me]\naws_access_key_id = AKIAMEKEY00000000001\naws_secret_access_key = me-secret\n", "me", &[]);
}

#[test]
fn a_source_with_keys_and_a_role_resolves_as_botocore_does() {
    let config = format!(
        "[profile top]\nrole_arn = {R2}\nsource_profile = mid\n[profile mid]\nrole_arn = {R1}\nsource_profile = user\n"
    );
    let creds = "[mid]\naws_access_key_id = AKIAMIDKEY0000000001\naws_secret_access_key = mid-secret\n";
    compare(&config, creds, "top", &[]);
}

#[test]
fn a_top_level_role_beside_keys_resolves_as_botocore_does() {
    let config = format!("[profile both]\nrole_arn = {R1}\nsource_profile = user\n");
    let creds = "[both]\naws_access_key_id = AKIABOTHKEY000000001\naws_secret_access_key = both-secret\n";
    compare(&config, creds, "both", &[]);
}

#[test]
fn role_settings_in_the_credentials_file_resolve_as_botocore_does() {
    let config = format!("[profile split]\nrole_arn = {R2}\nsource_profile = user\nexternal_id = from-config\n");
    let creds = format!("[split]\nrole_arn = {R1}\nexternal_id = from-credentials\n");
    compare(&config, &creds, "split", &[]);
}

#[test]
fn profile_default_after_bare_default_replaces_it_as_in_botocore() {
    // botocore keeps the later section whole: no external_id survives from [default].
    let config = format!(
        "[default]\nrole_arn = {R1}\nsource_profile = user\nexternal_id = stale\n[profile default]\nrole_arn = {R2}\nsource_profile = user\n"
    );
    compare(&config, "", "default", &[]);
}

#[test]
fn bare_default_after_profile_default_replaces_it_as_in_botocore() {
    let config = format!(
        "[profile default]\nrole_arn = {R2}\nsource_profile = user\nexternal_id = stale\n[default]\nrole_arn = {R1}\nsource_profile = user\n"
    );
    compare(&config, "", "default", &[]);
}

#[test]
fn credential_source_environment_resolves_as_botocore_does() {
    let config = format!("[profile env]\nrole_arn = {R1}\ncredential_source = Environment\n");
    compare(&config, "", "env", &[("AWS_ACCESS_KEY_ID", USER_KEY), ("AWS_SECRET_ACCESS_KEY", USER_SECRET)]);
}

#[test]
fn a_credential_process_source_resolves_as_botocore_does() {
    let json = format!(r#"{{"Version":1,"AccessKeyId":"{USER_KEY}","SecretAccessKey":"{USER_SECRET}"}}"#);
    let config = format!(
        "[profile p]\nrole_arn = {R1}\nsource_profile = proc\n[profile proc]\ncredential_process = printf '%s' '{json}'\n"
    );
    compare(&config, "", "p", &[]);
}

#[test]
fn credential_source_ec2_instance_metadata_resolves_as_botocore_does() {
    let config = format!("[profile ec2]\nrole_arn = {R1}\ncredential_source = Ec2InstanceMetadata\n");
    compare(
        &config,
        "",
        "ec2",
        &[("AWS_EC2_METADATA_DISABLED", "false"), ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "SELF")],
    );
}
