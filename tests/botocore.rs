//! botocore (the AWS CLI) is the reference for how a profile resolves. Each case runs the
//! real `aws sts get-caller-identity --profile P` against one fresh STS stand-in and
//! `rolesh exec P -- aws sts get-caller-identity` against another, and asserts that both made
//! the same STS calls: the same roles in the same order, with the same ExternalId and
//! DurationSeconds, each signed by the same key for the same region (issued keys are numbered
//! per stand-in, so a fresh stand-in issues the same ids in the same order). Where rolesh
//! departs from botocore on purpose, the case says so and asserts the difference itself.
#![cfg(unix)]

mod support;

use support::fixtures::{USER_KEY, USER_SECRET, user_env};
use support::stand_in::Request;
use support::{Outcome, StandIn, TestEnv};

const R1: &str = "arn:aws:iam::111111111111:role/one";
const R2: &str = "arn:aws:iam::222222222222:role/two";
const R3: &str = "arn:aws:iam::333333333333:role/three";

/// The static keys the cases below put in credentials files besides `user`'s, each live at
/// STS with its secret.
const KEYS: [(&str, &str); 4] = [
    ("AKIAMEKEY00000000001", "me-secret"),
    ("AKIAMIDKEY0000000001", "mid-secret"),
    ("AKIABOTHKEY000000001", "both-secret"),
    ("AKIAPROCKEY000000001", "proc-secret"),
];

/// What matters about one STS call for resolution: which action, which role, which
/// parameters, signed by which key; and apart, the region its signature is scoped to (the
/// one the calling tool resolved). botocore omits DurationSeconds when not configured,
/// which STS reads as 3600.
fn calls(requests: &[Request]) -> Vec<(String, String)> {
    requests
        .iter()
        // STS calls only: how each tool reads instance metadata is its own business.
        .filter(|r| r.access_key_id.is_some())
        .map(|r| {
            let call = format!(
                "{} role={} external_id={} duration={} signer={}",
                r.action(),
                r.param("RoleArn").unwrap_or("-"),
                r.param("ExternalId").unwrap_or("-"),
                r.param("DurationSeconds").unwrap_or(if r.action() == "AssumeRole" { "3600" } else { "-" }),
                r.signer()
            );
            (call, r.signing_region.clone().unwrap_or_default())
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

/// In `extra_env`, a value that stands for the tool's own stand-in's endpoint (for instance
/// metadata).
const SELF: &str = "SELF";
/// In `extra_env`, a value that removes the variable instead.
const UNSET: &str = "UNSET";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tool {
    /// `aws sts get-caller-identity --profile P`.
    Aws,
    /// `rolesh exec P -- aws sts get-caller-identity`.
    Rolesh,
}

/// One tool's run against a fresh stand-in of its own.
struct Run {
    tool: Tool,
    outcome: Outcome,
    stand_in: StandIn,
    /// The requests the stand-in received from the run itself (not from `prime`).
    requests: Vec<Request>,
}

impl Run {
    /// The run's STS calls, without their regions.
    fn calls(&self) -> Vec<String> {
        calls(&self.requests).into_iter().map(|(call, _)| call).collect()
    }

    /// The regions the run's STS calls were signed for, in order.
    fn regions(&self) -> Vec<String> {
        calls(&self.requests).into_iter().map(|(_, region)| region).collect()
    }

    /// The account and role (or user) of the identity the command printed.
    fn identity(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.outcome.stdout).expect("JSON identity");
        v["Arn"].as_str().unwrap_or_default().split('/').take(2).collect::<Vec<_>>().join("/")
    }
}

/// Runs `tool` on the files against a fresh stand-in. `prime`, given that stand-in and the
/// env, may make calls of its own first and returns text to append to the credentials file
/// (keys the stand-in issued); its calls are not the run's. Both tools sign differently
/// (botocore signs fewer headers); every signature of the run must verify.
fn run(
    tool: Tool,
    (config, credentials, profile): (&str, &str, &str),
    extra_env: &[(&str, &str)],
    prime: &dyn Fn(&StandIn, &TestEnv) -> String,
) -> Run {
    let stand_in = StandIn::start();
    let mut env = setup(&stand_in, config, credentials);
    let primed = prime(&stand_in, &env);
    if !primed.is_empty() {
        env.credentials(&format!("{}{credentials}{primed}", support::fixtures::user_credentials()));
    }
    for (k, v) in extra_env {
        match *v {
            UNSET => env.unset(k),
            SELF => env.set(k, stand_in.endpoint()),
            v => env.set(k, v),
        };
    }
    let skip = stand_in.requests().len();
    let outcome = match tool {
        Tool::Aws => support::process::run(
            env.command_for("aws", ["sts", "get-caller-identity", "--profile", profile, "--output", "json"]),
        ),
        Tool::Rolesh => env.run(["exec", profile, "--", "aws", "sts", "get-caller-identity", "--output", "json"]),
    };
    let requests = stand_in.requests().split_off(skip);
    let unverified: Vec<_> =
        requests.iter().filter(|r| r.access_key_id.is_some() && r.signature_ok != Some(true)).collect();
    assert!(unverified.is_empty(), "{tool:?}'s signatures did not verify: {unverified:#?}");
    Run { tool, outcome, stand_in, requests }
}

fn no_priming(_: &StandIn, _: &TestEnv) -> String {
    String::new()
}

/// Runs both tools on the same files, each against its own fresh stand-in.
fn both(files: (&str, &str, &str), extra_env: &[(&str, &str)]) -> (Run, Run) {
    let aws = run(Tool::Aws, files, extra_env, &no_priming);
    let rolesh = run(Tool::Rolesh, files, extra_env, &no_priming);
    (aws, rolesh)
}

/// Asserts that both tools succeeded, made the same STS calls signed for the same regions,
/// and ended as the same identity.
fn compare(config: &str, credentials: &str, profile: &str, extra_env: &[(&str, &str)]) {
    let (aws, rolesh) = both((config, credentials, profile), extra_env);
    assert_same(&aws, &rolesh, profile);
}

#[track_caller]
fn assert_same(aws: &Run, rolesh: &Run, profile: &str) {
    assert_eq!((aws.tool, rolesh.tool), (Tool::Aws, Tool::Rolesh));
    aws.outcome.assert_ok();
    rolesh.outcome.assert_ok();
    let (expected, got) = (calls(&aws.requests), calls(&rolesh.requests));
    assert!(expected.iter().any(|(c, _)| c.starts_with("GetCallerIdentity")), "{expected:#?}");
    assert_eq!(got, expected, "rolesh's STS calls differ from the aws CLI's for profile {profile}");
    assert_eq!(rolesh.identity(), aws.identity());
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
    compare(&config, "", "ec2", &[("AWS_EC2_METADATA_DISABLED", "false"), ("AWS_EC2_METADATA_SERVICE_ENDPOINT", SELF)]);
}

// --- Regions ----------------------------------------------------------------------------

#[test]
fn the_environments_region_signs_every_call_as_in_botocore_when_the_profile_has_none() {
    // AWS_DEFAULT_REGION is the one variable both read (botocore ignores AWS_REGION).
    let config = format!("[profile r]\nrole_arn = {R1}\nsource_profile = user\n");
    let env = [("AWS_REGION", UNSET), ("AWS_DEFAULT_REGION", "eu-central-1")];
    let (aws, rolesh) = both((&config, "", "r"), &env);
    assert_same(&aws, &rolesh, "r");
    assert_eq!(rolesh.regions(), ["eu-central-1", "eu-central-1"]);
}

#[test]
fn a_profiles_region_against_the_environments_is_where_rolesh_departs_from_botocore() {
    // Deliberate difference: botocore lets AWS_DEFAULT_REGION win over the profile's region
    // (for the AssumeRole it makes and for the command); rolesh gives the session the region
    // of the profile asked for (README: "`region` of the profile you ask for ends up in the
    // session"), as aws-vault does, and signs its own STS calls for that region too. The
    // calls are otherwise the same.
    let config = format!("[profile r]\nrole_arn = {R1}\nsource_profile = user\nregion = eu-west-1\n");
    let env = [("AWS_REGION", "eu-central-1"), ("AWS_DEFAULT_REGION", "eu-central-1")];
    let (aws, rolesh) = both((&config, "", "r"), &env);
    aws.outcome.assert_ok();
    rolesh.outcome.assert_ok();
    assert_eq!(rolesh.calls(), aws.calls());
    assert_eq!(aws.regions(), ["eu-central-1", "eu-central-1"]);
    assert_eq!(rolesh.regions(), ["eu-west-1", "eu-west-1"], "AssumeRole by rolesh, GetCallerIdentity by the child");
}

#[test]
fn aws_region_against_aws_default_region_is_where_rolesh_departs_from_botocore() {
    // Deliberate difference: botocore (the aws CLI v1) reads only AWS_DEFAULT_REGION; rolesh
    // reads AWS_REGION first, as the SDKs and the aws CLI v2 do, and hands the child that
    // region under both names, so a v1 CLI inside agrees with the SDKs.
    let config = format!("[profile r]\nrole_arn = {R1}\nsource_profile = user\n");
    let env = [("AWS_REGION", "ap-south-1"), ("AWS_DEFAULT_REGION", "eu-central-1")];
    let (aws, rolesh) = both((&config, "", "r"), &env);
    aws.outcome.assert_ok();
    rolesh.outcome.assert_ok();
    assert_eq!(rolesh.calls(), aws.calls());
    assert_eq!(aws.regions(), ["eu-central-1", "eu-central-1"]);
    assert_eq!(rolesh.regions(), ["ap-south-1", "ap-south-1"]);
}

// --- credential_process beside static keys ------------------------------------------------

/// A `credential_process` line printing the live keys `AKIAPROCKEY000000001`.
fn process_line() -> String {
    let json = r#"{"Version":1,"AccessKeyId":"AKIAPROCKEY000000001","SecretAccessKey":"proc-secret"}"#;
    format!("credential_process = printf '%s' '{json}'\n")
}

#[test]
fn static_keys_in_the_credentials_file_win_over_a_credential_process_as_in_botocore() {
    let config = format!("[profile r]\nrole_arn = {R1}\nsource_profile = both\n[profile both]\n{}", process_line());
    let creds = "[both]\naws_access_key_id = AKIABOTHKEY000000001\naws_secret_access_key = both-secret\n";
    let (aws, rolesh) = both((&config, creds, "r"), &[]);
    assert_same(&aws, &rolesh, "r");
    assert!(aws.calls()[0].ends_with("signer=AKIABOTHKEY000000001"), "{:?}", aws.calls());
}

#[test]
fn a_credential_process_wins_over_static_keys_in_the_config_file_as_in_botocore() {
    // botocore's order for a profile's own credentials: the credentials file's keys, then
    // credential_process, then the config file's keys.
    let config = format!(
        "[profile r]\nrole_arn = {R1}\nsource_profile = both\n[profile both]\n{}\
         aws_access_key_id = AKIABOTHKEY000000001\naws_secret_access_key = both-secret\n",
        process_line()
    );
    let (aws, rolesh) = both((&config, "", "r"), &[]);
    assert!(aws.calls()[0].ends_with("signer=AKIAPROCKEY000000001"), "{:?}", aws.calls());
    assert_same(&aws, &rolesh, "r");
}

// --- A source whose keys carry a session token ---------------------------------------------

#[test]
fn a_long_duration_over_a_role_session_is_asked_as_botocore_asks_it_then_retried_at_an_hour() {
    // `[temp]` holds a role's session (an AssumeRole the stand-in issued), so assuming R1
    // from it is role chaining, and STS refuses the 7200s configured.
    let prime = |stand_in: &StandIn, env: &TestEnv| {
        let assumed = support::process::run(env.command_for(
            "aws",
            ["sts", "assume-role", "--profile", "user", "--role-arn", R3, "--role-session-name", "primer"],
        ));
        assumed.assert_ok();
        let role = stand_in.issued().pop().expect("the stand-in issued the primer's session");
        format!(
            "[temp]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
            role.access_key_id, role.secret_access_key, role.session_token
        )
    };
    let config = format!("[profile r]\nrole_arn = {R1}\nsource_profile = temp\nduration_seconds = 7200\n");
    let files = (config.as_str(), "", "r");
    let aws = run(Tool::Aws, files, &[], &prime);
    let rolesh = run(Tool::Rolesh, files, &[], &prime);
    // Each stand-in numbers what it issues, so both primers got the same keys.
    assert_eq!(aws.stand_in.issued()[0].access_key_id, rolesh.stand_in.issued()[0].access_key_id);

    // botocore asks for the 7200s as configured, STS refuses, and the aws CLI fails.
    assert_ne!(aws.outcome.code(), 0, "{}", aws.outcome);
    assert!(aws.outcome.stderr.contains("role chaining"), "{}", aws.outcome);
    let expected = aws.calls();
    assert_eq!(expected.len(), 1, "{expected:#?}");
    assert!(expected[0].contains("duration=7200"), "{expected:#?}");

    // rolesh's first call is botocore's, to the byte of what matters. Deliberate difference:
    // where botocore fails, rolesh retries at the hour STS allows, says so, and runs the
    // command.
    rolesh.outcome.assert_ok();
    let got = rolesh.calls();
    assert_eq!(got[0], expected[0]);
    assert_eq!(got[1], expected[0].replace("duration=7200", "duration=3600"));
    assert!(got[2].starts_with("GetCallerIdentity"), "{got:#?}");
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(rolesh.outcome.stderr.contains("role chaining"), "{}", rolesh.outcome);
}
