//! `rolesh exec`: the child's environment, argv and exit status; profile chains; MFA; the
//! cache; and the errors, against moto and against the scripted STS stand-in.
#![cfg(unix)]

mod support;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use support::fixtures::{MFA_SERIAL, USER_KEY, USER_SECRET, child_env, exec_env, role_arn, user_credentials, user_env};
use support::process::{DEADLINE, process_exists};
use support::{Rule, StandIn, StsError, TestEnv};

use support::fixtures::{DEPLOYER_ROLE as ROLE, deployer};

// --- The child, as the real aws CLI sees it (moto) -------------------------------------

#[test]
fn the_child_is_the_assumed_role_according_to_the_real_aws_cli() {
    let env = TestEnv::moto();
    env.credentials(&user_credentials());
    env.config(
        "[profile deployer]
         role_arn = arn:aws:iam::123456789012:role/deployer
         source_profile = user
         region = eu-west-1",
    );
    let outcome = env.run(["exec", "deployer", "--", "aws", "sts", "get-caller-identity", "--output", "json"]);
    outcome.assert_ok();
    let identity: serde_json::Value = serde_json::from_slice(&outcome.stdout).expect("aws printed JSON");
    assert_eq!(identity["Arn"], "arn:aws:sts::123456789012:assumed-role/deployer/rolesh-tester");
    assert_eq!(identity["Account"], "123456789012");
}

#[test]
fn a_role_in_another_account_is_assumed_there_according_to_moto() {
    let env = TestEnv::moto();
    env.credentials(&user_credentials());
    env.config(
        "[profile other]
         role_arn = arn:aws:iam::210987654321:role/auditor
         source_profile = user
         role_session_name = audit-42
         region = eu-west-1",
    );
    let outcome = env.run(["exec", "other", "--", "aws", "sts", "get-caller-identity", "--output", "json"]);
    outcome.assert_ok();
    let identity: serde_json::Value = serde_json::from_slice(&outcome.stdout).expect("aws printed JSON");
    assert_eq!(identity["Arn"], "arn:aws:sts::210987654321:assumed-role/auditor/audit-42");
}

// --- The child's environment --------------------------------------------------------------

#[test]
fn the_child_gets_the_session_and_loses_the_profile_variables() {
    let stand_in = StandIn::start();
    let mut env = deployer(&stand_in, "region = eu-west-1\n");
    env.unset("AWS_REGION")
        .set("AWS_PROFILE", "user")
        .set("AWS_DEFAULT_PROFILE", "user")
        .set("AWS_ACCESS_KEY_ID", "AKIASTALE00000000000")
        .set("AWS_SECRET_ACCESS_KEY", "stale-secret")
        .set("AWS_SESSION_TOKEN", "stale-token")
        .set("AWS_SECURITY_TOKEN", "stale-token")
        .set("KEEP_ME", "kept");
    let vars = child_env(&env.run(exec_env("deployer", &[])));

    let issued = &stand_in.issued()[0];
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], issued.access_key_id);
    assert_eq!(vars["AWS_SECRET_ACCESS_KEY"], issued.secret_access_key);
    assert_eq!(vars["AWS_SESSION_TOKEN"], issued.session_token);
    assert_eq!(vars["AWS_REGION"], "eu-west-1");
    assert_eq!(vars["AWS_DEFAULT_REGION"], "eu-west-1");
    assert_eq!(vars["ROLESH_PROFILE"], "deployer");
    assert!(!vars["ROLESH_SESSION"].is_empty());
    assert_eq!(vars["KEEP_ME"], "kept");
    assert!(!vars.contains_key("AWS_PROFILE"), "{vars:?}");
    assert!(!vars.contains_key("AWS_DEFAULT_PROFILE"), "{vars:?}");
    assert!(!vars.contains_key("AWS_SECURITY_TOKEN"), "{vars:?}");

    let expiration = &vars["AWS_CREDENTIAL_EXPIRATION"];
    assert!(expiration.ends_with('Z'), "not RFC 3339 UTC: {expiration}");
    let parsed: DateTime<Utc> = expiration.parse().expect("AWS_CREDENTIAL_EXPIRATION is RFC 3339");
    assert_eq!(parsed.timestamp(), issued.expiration.timestamp());
    assert_eq!(vars["ROLESH_EXPIRES"], issued.expiration.timestamp().to_string());
}

#[test]
fn an_inherited_region_is_given_to_the_child_under_both_names() {
    let stand_in = StandIn::start();
    // No region in the profile: the environment's AWS_REGION (us-east-1) is the one known,
    // and the aws CLI v1 reads only AWS_DEFAULT_REGION.
    let env = deployer(&stand_in, "");
    let vars = child_env(&env.run(exec_env("deployer", &[])));
    assert_eq!(vars["AWS_REGION"], "us-east-1");
    assert_eq!(vars.get("AWS_DEFAULT_REGION").map(String::as_str), Some("us-east-1"), "{vars:?}");
}

#[test]
fn region_flag_wins_over_the_profiles_region() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "region = eu-west-1\n");
    let vars = child_env(&env.run(exec_env("deployer", &["--region", "ap-south-1"])));
    assert_eq!(vars["AWS_REGION"], "ap-south-1");
    assert_eq!(vars["AWS_DEFAULT_REGION"], "ap-south-1");
}

#[test]
fn stdout_is_the_childs_alone_and_a_quiet_success_prints_nothing_else() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let outcome = env.run(["exec", "deployer", "--", "printf", "only this"]);
    outcome.assert_ok();
    assert_eq!(outcome.stdout(), "only this");
    assert_eq!(outcome.stderr, "", "rolesh said something on a plain success");
}

#[test]
fn arguments_reach_the_child_byte_for_byte() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let awkward: Vec<&OsStr> = vec![
        OsStr::new(""),
        OsStr::new(" two  spaces "),
        OsStr::new("quote'double\"back\\slash"),
        OsStr::new("$HOME `id` $(id) *"),
        OsStr::new("--"),
        OsStr::new("--no-cache"),
        OsStr::new("-e"),
        OsStr::new("line\nbreak\ttab"),
        OsStr::new("ünïcödé ✓"),
        OsStr::from_bytes(b"not utf-8: \xff\xfe\x80"),
    ];
    let mut args: Vec<&OsStr> =
        ["exec", "deployer", "--", "sh", "-c", "printf '%s\\0' \"$@\"", "sh"].into_iter().map(OsStr::new).collect();
    args.extend(&awkward);
    let outcome = env.run(args);
    outcome.assert_ok();
    let mut expected = Vec::new();
    for arg in &awkward {
        expected.extend_from_slice(arg.as_bytes());
        expected.push(0);
    }
    assert_eq!(outcome.stdout, expected);
}

// --- Exit status and signals -------------------------------------------------------------

#[test]
fn the_exit_status_is_the_childs() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    for code in [0, 1, 42, 255] {
        let outcome = env.run(["exec", "deployer", "--", "sh", "-c", &format!("exit {code}")]);
        assert_eq!(outcome.status.code(), Some(code), "{outcome}");
    }
    assert_eq!(stand_in.count("AssumeRole"), 1, "the session should come from the cache after the first run");
}

#[test]
fn a_child_killed_by_a_signal_gives_128_plus_the_signal() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    for (signal, code) in [("TERM", 143), ("KILL", 137), ("USR1", 138)] {
        let outcome = env.run(["exec", "deployer", "--", "sh", "-c", &format!("kill -{signal} $$")]);
        assert_eq!(outcome.status.code(), Some(code), "{outcome}");
    }
}

#[test]
fn a_child_dead_of_ctrl_c_makes_rolesh_die_of_sigint_so_a_calling_script_stops() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let outcome = env.run(["exec", "deployer", "--", "sh", "-c", "kill -INT $$"]);
    assert_eq!(outcome.status.signal(), Some(libc::SIGINT), "{outcome}");
    // Only ^C: other signals stay a plain 128+N exit (see above), so no core is dumped.
    let outcome = env.run(["exec", "deployer", "--", "sh", "-c", "exit 130"]);
    assert_eq!(outcome.status.code(), Some(130), "{outcome}");
}

#[test]
fn a_missing_command_exits_127_and_names_it() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let outcome = env.run(["exec", "deployer", "--", "no-such-command-rolesh-test"]);
    outcome.assert_error(127);
    assert!(outcome.error_line().contains("no-such-command-rolesh-test"), "{outcome}");
}

#[test]
fn no_command_is_a_usage_error() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    for args in [&["exec", "deployer"][..], &["exec", "deployer", "--"]] {
        let outcome = env.run(args);
        assert_eq!(outcome.status.code(), Some(2), "{outcome}");
    }
    assert!(stand_in.requests().is_empty());
}

#[test]
fn a_file_that_is_not_executable_exits_126() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let script = env.root().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let outcome = env.run([OsStr::new("exec"), OsStr::new("deployer"), OsStr::new("--"), script.as_os_str()]);
    outcome.assert_error(126);
}

/// A child that reports its pid, then waits for a signal it handles by exiting with `code`.
fn waiting_child(signal: &str, code: u8) -> String {
    format!("trap 'kill $! 2>/dev/null; exit {code}' {signal}; echo \"ready $$\"; sleep 30 & wait")
}

fn child_pid(stdout: &str) -> i32 {
    stdout.trim().strip_prefix("ready ").and_then(|p| p.parse().ok()).expect("the child printed its pid")
}

#[test]
fn term_sent_to_rolesh_reaches_the_child_and_rolesh_waits_for_it() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let running = env.spawn(["exec", "deployer", "--", "sh", "-c", &waiting_child("TERM", 7)]);
    let pid = child_pid(&running.expect_stdout("\n", DEADLINE));
    running.signal(libc::SIGTERM);
    let outcome = running.wait(DEADLINE);
    assert_eq!(outcome.status.code(), Some(7), "the child's TERM handler did not decide the status:\n{outcome}");
    assert!(!process_exists(pid), "the child (pid {pid}) outlived rolesh");
}

#[test]
fn ctrl_c_on_the_terminal_ends_the_child_not_rolesh() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let running = env.spawn(["exec", "deployer", "--", "sh", "-c", &waiting_child("INT", 3)]);
    let pid = child_pid(&running.expect_stdout("\n", DEADLINE));
    // A terminal sends ^C to the whole foreground process group: rolesh and the child.
    running.signal_group(libc::SIGINT);
    let outcome = running.wait(DEADLINE);
    assert_eq!(outcome.status.code(), Some(3), "rolesh did not wait for the child's own ^C handling:\n{outcome}");
    assert!(!process_exists(pid), "the child (pid {pid}) outlived rolesh");
}

// --- Chains -------------------------------------------------------------------------------

#[test]
fn each_hop_of_a_chain_is_signed_by_the_previous_hops_keys() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    env.config(&format!(
        "[profile hop1]
         role_arn = {}
         source_profile = user
         [profile hop2]
         role_arn = {}
         source_profile = hop1
         [profile hop3]
         role_arn = {}
         source_profile = hop2",
        role_arn("111111111111", "one"),
        role_arn("222222222222", "two"),
        role_arn("333333333333", "three"),
    ));
    let vars = child_env(&env.run(exec_env("hop3", &[])));

    let calls = stand_in.calls("AssumeRole");
    let issued = stand_in.issued();
    let arns: Vec<_> = calls.iter().map(|c| c.param("RoleArn").unwrap()).collect();
    assert_eq!(
        arns,
        [role_arn("111111111111", "one"), role_arn("222222222222", "two"), role_arn("333333333333", "three")]
    );
    let signers: Vec<_> = calls.iter().map(|c| c.signer()).collect();
    assert_eq!(signers, [USER_KEY, &issued[0].access_key_id, &issued[1].access_key_id]);
    assert_eq!(calls[0].security_token, None);
    assert_eq!(calls[1].security_token.as_deref(), Some(issued[0].session_token.as_str()));
    assert_eq!(calls[2].security_token.as_deref(), Some(issued[1].session_token.as_str()));
    assert_eq!(stand_in.count("GetSessionToken"), 0);
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], issued[2].access_key_id);
}

#[test]
fn a_chained_hop_asking_for_more_than_an_hour_is_clamped_with_a_warning() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    env.config(&format!(
        "[profile hop1]
         role_arn = {}
         source_profile = user
         [profile hop2]
         role_arn = {}
         source_profile = hop1",
        role_arn("111111111111", "one"),
        role_arn("222222222222", "two"),
    ));
    let outcome = env.run(exec_env("hop2", &["--duration", "12h"]));
    outcome.assert_ok();
    let calls = stand_in.calls("AssumeRole");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].param("DurationSeconds"), Some("3600"));
    assert!(outcome.stderr.starts_with("rolesh: "), "no warning:\n{outcome}");
    assert!(outcome.stderr.contains("3600") || outcome.stderr.contains("1h"), "{outcome}");
}

#[test]
fn a_first_hop_may_ask_for_twelve_hours() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let outcome = env.run(exec_env("deployer", &["--duration", "12h"]));
    outcome.assert_ok();
    assert_eq!(stand_in.calls("AssumeRole")[0].param("DurationSeconds"), Some("43200"));
    assert_eq!(outcome.stderr, "");
}

#[test]
fn durations_read_as_seconds_or_units() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    for (given, seconds) in [("3600", "3600"), ("15m", "900"), ("1h", "3600"), ("12h", "43200")] {
        env.run(exec_env("deployer", &["--no-cache", "--duration", given])).assert_ok();
        let calls = stand_in.calls("AssumeRole");
        assert_eq!(calls.last().unwrap().param("DurationSeconds"), Some(seconds), "--duration {given}");
    }
}

#[test]
fn duration_seconds_in_the_profile_is_asked_for() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "duration_seconds = 1800\n");
    env.run(exec_env("deployer", &[])).assert_ok();
    assert_eq!(stand_in.calls("AssumeRole")[0].param("DurationSeconds"), Some("1800"));
}

#[test]
fn a_bad_duration_is_a_usage_error_before_any_call() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    for bad in ["10x", "1d", "5m", "13h"] {
        let outcome = env.run(exec_env("deployer", &["--duration", bad]));
        assert_eq!(outcome.status.code(), Some(2), "--duration {bad}:\n{outcome}");
        assert!(outcome.stderr.contains("duration"), "{outcome}");
    }
    assert!(stand_in.requests().is_empty());
}

// --- AssumeRole parameters ----------------------------------------------------------------

#[test]
fn external_id_and_session_name_come_from_the_profile() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "external_id = ext-from-profile\nrole_session_name = ci-bot\n");
    env.run(exec_env("deployer", &[])).assert_ok();
    let call = &stand_in.calls("AssumeRole")[0];
    assert_eq!(call.param("ExternalId"), Some("ext-from-profile"));
    assert_eq!(call.param("RoleSessionName"), Some("ci-bot"));
}

#[test]
fn flags_override_external_id_and_session_name() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "external_id = ext-from-profile\nrole_session_name = ci-bot\n");
    env.run(exec_env("deployer", &["--external-id", "ext-from-flag", "--session-name", "flag-name"])).assert_ok();
    let call = &stand_in.calls("AssumeRole")[0];
    assert_eq!(call.param("ExternalId"), Some("ext-from-flag"));
    assert_eq!(call.param("RoleSessionName"), Some("flag-name"));
}

#[test]
fn the_default_session_name_is_rolesh_and_the_user() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    env.run(exec_env("deployer", &[])).assert_ok();
    let call = &stand_in.calls("AssumeRole")[0];
    assert_eq!(call.param("RoleSessionName"), Some("rolesh-tester"));
    assert_eq!(call.param("ExternalId"), None);
}

#[test]
fn an_awkward_user_name_still_makes_a_valid_session_name() {
    let stand_in = StandIn::start();
    let long = "x".repeat(100);
    for user in ["Zoë O'Brien/admin", long.as_str(), "a"] {
        let mut env = deployer(&stand_in, "");
        env.set("USER", user);
        env.run(exec_env("deployer", &[])).assert_ok();
        let calls = stand_in.calls("AssumeRole");
        let name = calls.last().unwrap().param("RoleSessionName").unwrap().to_owned();
        assert!(name.starts_with("rolesh-"), "{user:?} gave {name:?}");
        assert!((2..=64).contains(&name.len()), "{user:?} gave {name:?}");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c)), "{user:?} gave {name:?}");
    }
}

#[test]
fn a_role_arn_works_as_the_profile() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    let arn = role_arn("444444444444", "direct");
    let vars = child_env(&env.run(exec_env(&arn, &["--source-profile", "user"])));
    let call = &stand_in.calls("AssumeRole")[0];
    assert_eq!(call.param("RoleArn"), Some(arn.as_str()));
    assert_eq!(call.signer(), USER_KEY);
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], stand_in.issued()[0].access_key_id);
}

// --- Profile semantics (botocore's) -------------------------------------------------------

#[test]
fn the_credentials_file_wins_over_config_for_the_same_profile() {
    let stand_in = StandIn::start();
    // Both keys are live, so it is the signer below that tells which was used.
    stand_in.register_key("AKIAFROMCONFIG000000", "config-secret");
    stand_in.register_key("AKIAFROMCREDENTIALS0", "credentials-secret");
    let env = TestEnv::stand_in(&stand_in);
    env.config(&format!(
        "[profile base]
         aws_access_key_id = AKIAFROMCONFIG000000
         aws_secret_access_key = config-secret
         [profile deployer]
         role_arn = {ROLE}
         source_profile = base"
    ));
    env.credentials(
        "[base]
         aws_access_key_id = AKIAFROMCREDENTIALS0
         aws_secret_access_key = credentials-secret",
    );
    env.run(exec_env("deployer", &[])).assert_ok();
    assert_eq!(stand_in.calls("AssumeRole")[0].signer(), "AKIAFROMCREDENTIALS0");
}

#[test]
fn a_profile_that_is_its_own_source_uses_its_own_keys() {
    let stand_in = StandIn::start();
    stand_in.register_key("AKIAMYSELF0000000000", "s");
    let env = TestEnv::stand_in(&stand_in);
    env.config(&format!("[profile me]\nrole_arn = {ROLE}\nsource_profile = me\n"));
    env.credentials("[me]\naws_access_key_id = AKIAMYSELF0000000000\naws_secret_access_key = s\n");
    env.run(exec_env("me", &[])).assert_ok();
    let calls = stand_in.calls("AssumeRole");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].signer(), "AKIAMYSELF0000000000");
}

#[test]
fn a_source_with_static_keys_uses_them_even_if_it_has_a_role_too() {
    let stand_in = StandIn::start();
    stand_in.register_key("AKIAMIDKEYS000000000", "s");
    let env = user_env(&stand_in);
    env.config(&format!(
        "[profile mid]
         role_arn = {}
         source_profile = user
         [profile top]
         role_arn = {ROLE}
         source_profile = mid",
        role_arn("222222222222", "mid"),
    ));
    env.credentials(&format!(
        "{}[mid]\naws_access_key_id = AKIAMIDKEYS000000000\naws_secret_access_key = s\n",
        user_credentials()
    ));
    env.run(exec_env("top", &[])).assert_ok();
    let calls = stand_in.calls("AssumeRole");
    assert_eq!(calls.len(), 1, "mid's role should not be assumed");
    assert_eq!(calls[0].param("RoleArn"), Some(ROLE));
    assert_eq!(calls[0].signer(), "AKIAMIDKEYS000000000");
}

#[test]
fn credential_source_environment_signs_with_the_environment_keys() {
    let stand_in = StandIn::start();
    stand_in.register_key("AKIAFROMENVIRONMENT0", "env-secret");
    let mut env = TestEnv::stand_in(&stand_in);
    env.config(&format!("[profile deployer]\nrole_arn = {ROLE}\ncredential_source = Environment\n"));
    env.set("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT0").set("AWS_SECRET_ACCESS_KEY", "env-secret");
    let vars = child_env(&env.run(exec_env("deployer", &[])));
    assert_eq!(stand_in.calls("AssumeRole")[0].signer(), "AKIAFROMENVIRONMENT0");
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], stand_in.issued()[0].access_key_id);
}

#[test]
fn credential_source_ecs_container_uses_the_container_endpoint() {
    let stand_in = StandIn::start();
    let mut env = TestEnv::stand_in(&stand_in);
    env.config(&format!("[profile deployer]\nrole_arn = {ROLE}\ncredential_source = EcsContainer\n"));
    env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", stand_in.container_credentials_uri());
    env.run(exec_env("deployer", &[])).assert_ok();
    let container = &stand_in.issued()[0];
    assert_eq!(container.action, "ContainerCredentials");
    let call = &stand_in.calls("AssumeRole")[0];
    assert_eq!(call.signer(), container.access_key_id);
    assert_eq!(call.security_token.as_deref(), Some(container.session_token.as_str()));
}

/// `credential_source = Ec2InstanceMetadata` (tutorial 003) with the stand-in as IMDSv2.
fn on_an_instance(stand_in: &StandIn) -> TestEnv {
    let mut env = TestEnv::stand_in(stand_in);
    env.config(&format!("[profile deployer]\nrole_arn = {ROLE}\ncredential_source = Ec2InstanceMetadata\n"));
    env.unset("AWS_EC2_METADATA_DISABLED").set("AWS_EC2_METADATA_SERVICE_ENDPOINT", stand_in.imds_endpoint());
    env
}

#[test]
fn credential_source_ec2_instance_metadata_signs_with_the_instance_role() {
    let stand_in = StandIn::start();
    let env = on_an_instance(&stand_in);
    let vars = child_env(&env.run(exec_env("deployer", &[])));
    let instance = &stand_in.issued()[0];
    assert_eq!(instance.action, "InstanceCredentials");
    let call = &stand_in.calls("AssumeRole")[0];
    assert_eq!(call.signer(), instance.access_key_id);
    assert_eq!(call.security_token.as_deref(), Some(instance.session_token.as_str()));
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], stand_in.issued()[1].access_key_id);
}

#[test]
fn a_role_assumed_from_instance_credentials_is_chained_and_capped_at_an_hour() {
    let stand_in = StandIn::start();
    let env = on_an_instance(&stand_in);
    let outcome = env.run(exec_env("deployer", &["--duration", "2h"]));
    outcome.assert_ok();
    assert_eq!(stand_in.calls("AssumeRole")[0].param("DurationSeconds"), Some("3600"));
    assert!(outcome.stderr.contains("role chaining"), "{outcome}");
}

#[test]
fn instance_metadata_switched_off_is_a_config_error_naming_the_variable() {
    let stand_in = StandIn::start();
    let mut env = on_an_instance(&stand_in);
    env.set("AWS_EC2_METADATA_DISABLED", "true");
    let outcome = env.run(exec_env("deployer", &[]));
    assert_eq!(outcome.code(), 3, "{outcome}");
    assert!(outcome.stderr.contains("AWS_EC2_METADATA_DISABLED"), "{outcome}");
    assert_eq!(stand_in.requests().len(), 0);
}

#[test]
fn credential_process_supplies_the_source_keys() {
    let stand_in = StandIn::start();
    stand_in.register_key("AKIAFROMPROCESS00000", "process-secret");
    let env = TestEnv::stand_in(&stand_in);
    let script = env.root().join("creds.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '%s' '{\"Version\": 1, \"AccessKeyId\": \"AKIAFROMPROCESS00000\", \
         \"SecretAccessKey\": \"process-secret\"}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.config(&format!(
        "[profile proc]
         credential_process = {}
         [profile deployer]
         role_arn = {ROLE}
         source_profile = proc",
        script.display()
    ));
    env.run(exec_env("deployer", &[])).assert_ok();
    assert_eq!(stand_in.calls("AssumeRole")[0].signer(), "AKIAFROMPROCESS00000");
}

#[test]
fn a_bare_default_section_is_the_default_profile() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    env.config(&format!("[default]\nrole_arn = {ROLE}\nsource_profile = user\n"));
    env.run(exec_env("default", &[])).assert_ok();
    assert_eq!(stand_in.calls("AssumeRole")[0].param("RoleArn"), Some(ROLE));
}

// --- MFA ----------------------------------------------------------------------------------

fn mfa_roles(stand_in: &StandIn) -> TestEnv {
    let env = user_env(stand_in);
    env.config(&format!(
        "[profile admin]
         role_arn = {}
         source_profile = user
         mfa_serial = {MFA_SERIAL}
         [profile auditor]
         role_arn = {}
         source_profile = user
         mfa_serial = {MFA_SERIAL}",
        role_arn("111111111111", "admin"),
        role_arn("222222222222", "auditor"),
    ));
    env
}

#[test]
fn mfa_with_long_term_keys_gets_a_session_token_then_assumes_the_role_with_it() {
    let stand_in = StandIn::start();
    let env = mfa_roles(&stand_in);
    let vars = child_env(&env.run(exec_env("admin", &["--mfa-token", "123456"])));

    let sessions = stand_in.calls("GetSessionToken");
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].param("SerialNumber"), Some(MFA_SERIAL));
    assert_eq!(sessions[0].param("TokenCode"), Some("123456"));
    assert_eq!(sessions[0].signer(), USER_KEY);

    let session = &stand_in.issued()[0];
    let roles = stand_in.calls("AssumeRole");
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].signer(), session.access_key_id);
    assert_eq!(roles[0].param("SerialNumber"), None);
    assert_eq!(roles[0].param("TokenCode"), None);
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], stand_in.issued()[1].access_key_id);
}

#[test]
fn a_second_role_with_the_same_source_and_device_does_not_ask_again() {
    let stand_in = StandIn::start();
    let env = mfa_roles(&stand_in);
    env.run(exec_env("admin", &["--mfa-token", "123456"])).assert_ok();
    // No code and no terminal: only the cached MFA session can make this work.
    env.run(exec_env("auditor", &[])).assert_ok();
    assert_eq!(stand_in.count("GetSessionToken"), 1);
    let roles = stand_in.calls("AssumeRole");
    assert_eq!(roles.len(), 2);
    assert_eq!(roles[1].param("RoleArn"), Some(role_arn("222222222222", "auditor").as_str()));
    assert_eq!(roles[1].signer(), stand_in.issued()[0].access_key_id);
}

#[test]
fn mfa_on_a_chained_hop_goes_on_assume_role() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    env.config(&format!(
        "[profile hop1]
         role_arn = {}
         source_profile = user
         [profile guarded]
         role_arn = {}
         source_profile = hop1
         mfa_serial = {MFA_SERIAL}",
        role_arn("111111111111", "one"),
        role_arn("222222222222", "guarded"),
    ));
    env.run(exec_env("guarded", &["--mfa-token", "654321"])).assert_ok();
    assert_eq!(stand_in.count("GetSessionToken"), 0);
    let calls = stand_in.calls("AssumeRole");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].param("SerialNumber"), None);
    assert_eq!(calls[1].param("SerialNumber"), Some(MFA_SERIAL));
    assert_eq!(calls[1].param("TokenCode"), Some("654321"));
}

#[test]
fn token_code_is_another_name_for_mfa_token() {
    let stand_in = StandIn::start();
    let env = mfa_roles(&stand_in);
    env.run(exec_env("admin", &["--token-code", "111222"])).assert_ok();
    assert_eq!(stand_in.calls("GetSessionToken")[0].param("TokenCode"), Some("111222"));
}

#[test]
fn mfa_serial_flag_adds_mfa_to_a_profile_without_it() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    env.run(exec_env("deployer", &["--mfa-serial", MFA_SERIAL, "--mfa-token", "123456"])).assert_ok();
    let sessions = stand_in.calls("GetSessionToken");
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].param("SerialNumber"), Some(MFA_SERIAL));
}

#[test]
fn a_code_that_is_not_six_digits_is_refused_before_any_call() {
    let stand_in = StandIn::start();
    let env = mfa_roles(&stand_in);
    for bad in ["12345", "1234567", "12345a", "abcdef"] {
        env.run(exec_env("admin", &["--mfa-token", bad])).assert_error(4);
    }
    assert!(stand_in.requests().is_empty(), "{:?}", stand_in.requests());
}

#[test]
fn mfa_without_a_code_or_a_terminal_exits_4_instead_of_hanging() {
    let stand_in = StandIn::start();
    let env = mfa_roles(&stand_in);
    let outcome = env.run(exec_env("admin", &[]));
    outcome.assert_error(4);
    assert!(outcome.error_line().contains("--mfa-token"), "{outcome}");
    assert_eq!(stand_in.count("GetSessionToken"), 0);
}

#[test]
fn mfa_is_asked_on_the_terminal_when_there_is_one() {
    let stand_in = StandIn::start();
    let env = mfa_roles(&stand_in);
    let mut pty = env.pty(["exec", "admin", "--", "printenv", "AWS_ACCESS_KEY_ID"]);
    pty.expect("MFA code", DEADLINE);
    assert_eq!(stand_in.count("GetSessionToken"), 0, "called STS before the code was typed");
    pty.send("123456\r");
    let (status, screen) = pty.finish(DEADLINE);
    assert!(status.success(), "{status:?}; the terminal showed:\n{screen}");
    assert_eq!(stand_in.calls("GetSessionToken")[0].param("TokenCode"), Some("123456"));
    assert!(screen.contains(&stand_in.issued()[1].access_key_id), "{screen}");
}

#[test]
fn sts_rejecting_the_mfa_code_is_an_mfa_error() {
    let stand_in = StandIn::start();
    stand_in.push(
        Rule::on("GetSessionToken")
            .fail(StsError::access_denied("MultiFactorAuthentication failed with invalid MFA one time pass code.")),
    );
    let env = mfa_roles(&stand_in);
    env.run(exec_env("admin", &["--mfa-token", "000000"])).assert_error(4);
}

// --- Cache --------------------------------------------------------------------------------

#[test]
fn a_second_exec_reuses_the_cached_session() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let first = child_env(&env.run(exec_env("deployer", &[])));
    let second = child_env(&env.run(exec_env("deployer", &[])));
    assert_eq!(stand_in.count("AssumeRole"), 1);
    assert_eq!(first["AWS_ACCESS_KEY_ID"], second["AWS_ACCESS_KEY_ID"]);
}

#[test]
fn no_cache_asks_sts_again() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let first = child_env(&env.run(exec_env("deployer", &[])));
    let second = child_env(&env.run(exec_env("deployer", &["--no-cache"])));
    assert_eq!(stand_in.count("AssumeRole"), 2);
    assert_ne!(first["AWS_ACCESS_KEY_ID"], second["AWS_ACCESS_KEY_ID"]);
}

#[test]
fn refresh_asks_sts_again_and_caches_the_new_set() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let first = child_env(&env.run(exec_env("deployer", &[])));
    let refreshed = child_env(&env.run(exec_env("deployer", &["--refresh"])));
    let cached = child_env(&env.run(exec_env("deployer", &[])));
    assert_eq!(stand_in.count("AssumeRole"), 2);
    assert_ne!(first["AWS_ACCESS_KEY_ID"], refreshed["AWS_ACCESS_KEY_ID"]);
    assert_eq!(cached["AWS_ACCESS_KEY_ID"], refreshed["AWS_ACCESS_KEY_ID"], "the refreshed set replaced the old one");
}

#[test]
fn a_cached_session_is_refreshed_within_five_minutes_of_expiry() {
    let stand_in = StandIn::start();
    let short = role_arn("111111111111", "short");
    let long = role_arn("222222222222", "long");
    stand_in.push(Rule::on("AssumeRole").when("RoleArn", &short).lifetime(Duration::from_secs(4 * 60)).times(1));
    stand_in.push(Rule::on("AssumeRole").when("RoleArn", &long).lifetime(Duration::from_secs(10 * 60)).times(1));
    let env = user_env(&stand_in);
    env.config(&format!(
        "[profile short]\nrole_arn = {short}\nsource_profile = user\n\
         [profile long]\nrole_arn = {long}\nsource_profile = user\n"
    ));
    for _ in 0..2 {
        env.run(exec_env("short", &[])).assert_ok();
        env.run(exec_env("long", &[])).assert_ok();
    }
    let count = |arn: &str| stand_in.calls("AssumeRole").iter().filter(|c| c.param("RoleArn") == Some(arn)).count();
    assert_eq!(count(&short), 2, "a session with 4 minutes left was reused");
    assert_eq!(count(&long), 1, "a session with 10 minutes left was not reused");
}

#[test]
fn cache_files_are_private() {
    let stand_in = StandIn::start();
    let env = mfa_roles(&stand_in);
    env.run(exec_env("admin", &["--mfa-token", "123456"])).assert_ok();
    let root = std::fs::metadata(env.rolesh_cache()).expect("rolesh made no cache dir");
    assert_eq!(root.permissions().mode() & 0o777, 0o700, "{}", env.rolesh_cache().display());
    let entries = env.cache_entries();
    assert!(entries.iter().any(|(p, _)| p.is_file()), "nothing cached: {entries:?}");
    for (path, mode) in entries {
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode & 0o777, want, "{} has mode {mode:o}", path.display());
    }
}

#[test]
fn twenty_four_cold_execs_make_one_assume_role_call() {
    let stand_in = StandIn::start();
    // A slow STS widens the window in which the others find no cache entry.
    stand_in.push(Rule::on("AssumeRole").delay(Duration::from_millis(500)));
    let env = deployer(&stand_in, "");
    let running: Vec<_> =
        (0..24).map(|_| env.spawn(["exec", "deployer", "--", "printenv", "AWS_ACCESS_KEY_ID"])).collect();
    let keys: Vec<String> = running
        .into_iter()
        .map(|r| {
            let outcome = r.wait(DEADLINE);
            outcome.assert_ok();
            outcome.stdout().trim().to_owned()
        })
        .collect();
    assert_eq!(stand_in.count("AssumeRole"), 1);
    let issued = &stand_in.issued()[0].access_key_id;
    assert!(keys.iter().all(|k| k == issued), "{keys:?}");
}

#[test]
fn an_unusable_cache_directory_is_a_warning_and_the_command_runs_with_fresh_credentials() {
    // The cache is an optimisation: failing after STS answered would throw the credentials
    // (and with MFA, a one-time code) away.
    let stand_in = StandIn::start();
    let mut env = deployer(&stand_in, "");
    let blocker = env.root().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    env.set("XDG_CACHE_HOME", &blocker);
    let outcome = env.run(exec_env("deployer", &[]));
    let child = child_env(&outcome);
    assert_eq!(child["AWS_ACCESS_KEY_ID"], stand_in.issued()[0].access_key_id);
    let warnings: Vec<&str> = outcome.stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "{outcome}");
    assert!(warnings[0].starts_with("rolesh: warning: ") && warnings[0].contains("not-a-dir"), "{outcome}");
    assert!(warnings[0].ends_with("going on without the credential cache"), "{outcome}");
}

#[test]
fn no_cache_needs_no_cache_directory() {
    let stand_in = StandIn::start();
    let mut env = deployer(&stand_in, "");
    let blocker = env.root().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    env.set("XDG_CACHE_HOME", &blocker);
    env.run(exec_env("deployer", &["--no-cache"])).assert_ok();
}

// --- Configuration errors (3) -------------------------------------------------------------

#[test]
fn an_unknown_profile_names_the_closest_ones() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    env.config(&format!(
        "[profile prod-admin]\nrole_arn = {ROLE}\nsource_profile = user\n\
         [profile staging-readonly]\nrole_arn = {ROLE}\nsource_profile = user\n"
    ));
    let outcome = env.run(exec_env("prod-admn", &[]));
    outcome.assert_error(3);
    assert!(outcome.error_line().contains("prod-admn"), "{outcome}");
    assert!(outcome.error_line().contains("prod-admin"), "{outcome}");
    assert!(!outcome.error_line().contains("staging-readonly"), "{outcome}");
    assert!(stand_in.requests().is_empty());
}

#[test]
fn a_source_profile_cycle_is_named_in_full() {
    let stand_in = StandIn::start();
    let env = TestEnv::stand_in(&stand_in);
    env.config(&format!(
        "[profile a]\nrole_arn = {ROLE}\nsource_profile = b\n[profile b]\nrole_arn = {ROLE}\nsource_profile = a\n"
    ));
    let outcome = env.run(exec_env("a", &[]));
    outcome.assert_error(3);
    assert!(outcome.error_line().contains("a -> b -> a"), "{outcome}");
}

#[test]
fn a_dangling_source_profile_is_named() {
    let stand_in = StandIn::start();
    let env = TestEnv::stand_in(&stand_in);
    env.config(&format!("[profile a]\nrole_arn = {ROLE}\nsource_profile = nowhere\n"));
    let outcome = env.run(exec_env("a", &[]));
    outcome.assert_error(3);
    assert!(outcome.error_line().contains("nowhere"), "{outcome}");
}

#[test]
fn an_sso_profile_without_a_login_names_the_command_to_log_in() {
    let stand_in = StandIn::start();
    let env = TestEnv::stand_in(&stand_in);
    env.config(
        "[profile sso]
         sso_session = corp
         sso_account_id = 123456789012
         sso_role_name = Admin
         [sso-session corp]
         sso_start_url = https://corp.awsapps.com/start
         sso_region = us-east-1",
    );
    let outcome = env.run(exec_env("sso", &[]));
    outcome.assert_error(5);
    let line = outcome.error_line();
    assert!(line.contains("sso-session `corp`") && line.ends_with("run `rolesh login corp`"), "{outcome}");
    assert!(stand_in.requests().is_empty());
}

#[test]
fn a_role_arn_without_a_source_is_a_config_error() {
    let stand_in = StandIn::start();
    let env = TestEnv::stand_in(&stand_in);
    env.config(&format!("[profile lonely]\nrole_arn = {ROLE}\n"));
    let outcome = env.run(exec_env("lonely", &[]));
    outcome.assert_error(3);
    assert!(outcome.error_line().contains("lonely"), "{outcome}");
}

// --- STS refusals (5) and the network (6) -------------------------------------------------

#[test]
fn access_denied_points_at_the_trust_policy() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::not_trusted()));
    let env = deployer(&stand_in, "");
    let outcome = env.run(exec_env("deployer", &[]));
    outcome.assert_error(5);
    assert!(outcome.error_line().contains("trust policy"), "{outcome}");
    assert_eq!(stand_in.count("AssumeRole"), 1, "a refusal is not worth retrying");
}

#[test]
fn rejected_source_keys_name_the_source_profile() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::invalid_client_token_id()));
    let env = deployer(&stand_in, "");
    let outcome = env.run(exec_env("deployer", &[]));
    outcome.assert_error(5);
    assert!(outcome.error_line().contains("`user`"), "{outcome}");
}

#[test]
fn a_wrong_secret_beside_the_right_key_id_is_refused_and_names_the_source_profile() {
    let stand_in = StandIn::start();
    stand_in.register_key("AKIABASEKEY000000001", "the-real-secret");
    let env = TestEnv::stand_in(&stand_in);
    env.config(&format!("[profile deployer]\nrole_arn = {ROLE}\nsource_profile = base\n"));
    env.credentials("[base]\naws_access_key_id = AKIABASEKEY000000001\naws_secret_access_key = not-the-secret\n");
    let outcome = env.run(exec_env("deployer", &[]));
    outcome.assert_error(5);
    assert!(outcome.error_line().contains("`base`"), "{outcome}");
    assert!(outcome.error_line().contains("signature we calculated does not match"), "{outcome}");
    let calls = stand_in.calls("AssumeRole");
    assert_eq!(calls.len(), 1, "a refusal is not worth retrying");
    assert_eq!(calls[0].signer(), "AKIABASEKEY000000001");
    assert_eq!(calls[0].signature_ok, Some(false));
    assert!(stand_in.issued().is_empty());
}

#[test]
fn expired_source_keys_name_the_source_profile() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::expired_token()));
    let env = deployer(&stand_in, "");
    let outcome = env.run(exec_env("deployer", &[]));
    outcome.assert_error(5);
    assert!(outcome.error_line().contains("`user`"), "{outcome}");
    assert!(outcome.error_line().contains("expired"), "{outcome}");
}

#[test]
fn a_duration_over_the_roles_maximum_suggests_lowering_duration() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::max_session_duration()));
    let env = deployer(&stand_in, "");
    let outcome = env.run(exec_env("deployer", &["--duration", "12h"]));
    outcome.assert_error(5);
    assert!(outcome.error_line().contains("--duration"), "{outcome}");
}

#[test]
fn an_unreachable_endpoint_is_named() {
    let port = support::moto::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let env = TestEnv::new(&endpoint);
    env.credentials(&user_credentials());
    env.config(&format!("[profile deployer]\nrole_arn = {ROLE}\nsource_profile = user\n"));
    let outcome = env.run(exec_env("deployer", &[]));
    outcome.assert_error(6);
    assert!(outcome.error_line().contains(&format!("127.0.0.1:{port}")), "{outcome}");
}

#[test]
fn throttling_that_persists_is_a_network_error_after_retries() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::throttling()));
    let env = deployer(&stand_in, "");
    let outcome = env.run(exec_env("deployer", &[]));
    outcome.assert_error(6);
    assert!(stand_in.count("AssumeRole") > 1, "throttling was not retried");
}

#[test]
fn a_server_error_is_retried_and_then_succeeds() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::internal_failure()).times(1));
    let env = deployer(&stand_in, "");
    env.run(exec_env("deployer", &[])).assert_ok();
    assert_eq!(stand_in.count("AssumeRole"), 2);
}

#[test]
fn server_errors_that_persist_are_a_network_error() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::service_unavailable()));
    let env = deployer(&stand_in, "");
    let outcome = env.run(exec_env("deployer", &[]));
    outcome.assert_error(6);
    assert!(outcome.error_line().contains(&stand_in.endpoint()), "{outcome}");
}

#[test]
fn every_sts_error_names_the_profile_and_what_to_do() {
    let cases = [
        (StsError::throttling(), 6, "wait a moment"),
        (StsError::service_unavailable(), 6, "try again later"),
        (StsError::new(403, "RegionDisabledException", "STS is not activated in this region"), 5, "--region"),
        (StsError::new(400, "PackedPolicyTooLarge", "Policy too large"), 5, "check"),
    ];
    for (error, code, hint) in cases {
        let stand_in = StandIn::start();
        stand_in.push(Rule::on("AssumeRole").fail(error));
        let env = deployer(&stand_in, "");
        let outcome = env.run(exec_env("deployer", &[]));
        outcome.assert_error(code);
        let line = outcome.error_line();
        assert!(line.contains("profile `deployer`") && line.contains(hint), "{outcome}");
    }
}

// --- Secrets ------------------------------------------------------------------------------

#[test]
fn secrets_never_reach_stderr_or_an_argv() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    env.config(&format!(
        "[profile hop1]\nrole_arn = {}\nsource_profile = user\n\
         [profile hop2]\nrole_arn = {}\nsource_profile = hop1\n",
        role_arn("111111111111", "one"),
        role_arn("222222222222", "two"),
    ));
    // The child prints its own argv and its parent's (rolesh's), NUL-separated.
    let outcome = env.run([
        "exec",
        "hop2",
        "--duration",
        "2h",
        "--",
        "sh",
        "-c",
        "cat /proc/$$/cmdline /proc/$PPID/cmdline; echo; echo ok >&2",
    ]);
    outcome.assert_ok();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::not_trusted()));
    let failed = env.run(exec_env("hop2", &["--no-cache"]));
    failed.assert_error(5);

    let mut secrets = vec![USER_SECRET.to_owned()];
    for issued in stand_in.issued() {
        secrets.push(issued.secret_access_key);
        secrets.push(issued.session_token);
    }
    let argvs = outcome.stdout();
    for secret in &secrets {
        assert!(!outcome.stderr.contains(secret.as_str()), "a secret reached stderr:\n{outcome}");
        assert!(!failed.stderr.contains(secret.as_str()), "a secret reached stderr:\n{failed}");
        assert!(!argvs.contains(secret.as_str()), "a secret is in an argv: {argvs:?}");
    }
}

// === The re-laid core's fixes, against the stand-in ======================================
//
// Before the re-lay, --refresh stopped at the cached MFA session, every cached set was
// reused until 5 minutes before its expiry, and a source whose keys carry a session token
// was not retried when STS refused a long duration for role chaining. The tests here prove
// each fix, with the other side of each rule beside it (a set reused, an MFA session kept,
// a session-token source that is no role left unclamped), so that a fix that went too far
// fails too.

const MINUTE: u64 = 60;

#[test]
fn refresh_gets_a_new_mfa_session_with_the_new_code_and_assumes_the_role_from_it() {
    let stand_in = StandIn::start();
    let env = mfa_roles(&stand_in);
    env.run(exec_env("admin", &["--mfa-token", "123456"])).assert_ok();
    // No code and no terminal: only the cache can answer, and it does without a call.
    env.run(exec_env("admin", &[])).assert_ok();
    assert_eq!(stand_in.requests().len(), 2, "the second exec called STS: {:#?}", stand_in.requests());

    let refreshed = child_env(&env.run(exec_env("admin", &["--refresh", "--mfa-token", "654321"])));
    let sessions = stand_in.calls("GetSessionToken");
    assert_eq!(sessions.len(), 2, "--refresh reused the cached 12-hour MFA session");
    assert_eq!(sessions[1].param("TokenCode"), Some("654321"));
    assert_eq!(sessions[1].param("SerialNumber"), Some(MFA_SERIAL));
    assert_eq!(sessions[1].signer(), USER_KEY);
    let issued = stand_in.issued();
    let actions: Vec<_> = issued.iter().map(|i| i.action.as_str()).collect();
    assert_eq!(actions, ["GetSessionToken", "AssumeRole", "GetSessionToken", "AssumeRole"]);
    let roles = stand_in.calls("AssumeRole");
    assert_eq!(roles.len(), 2);
    assert_eq!(roles[1].signer(), issued[2].access_key_id, "the new role set was not signed by the new MFA session");
    assert_eq!(refreshed["AWS_ACCESS_KEY_ID"], issued[3].access_key_id);

    // The new MFA session replaced the old one in the cache: another role behind the same
    // device is assumed from it, without a code.
    env.run(exec_env("auditor", &[])).assert_ok();
    assert_eq!(stand_in.count("GetSessionToken"), 2);
    assert_eq!(stand_in.calls("AssumeRole")[2].signer(), issued[2].access_key_id);
}

#[test]
fn a_handed_set_with_less_than_half_its_lifetime_left_is_fetched_anew() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    env.run(exec_env("deployer", &[])).assert_ok();
    let first = stand_in.issued()[0].access_key_id.clone();
    // 20 of 70 minutes left: well clear of the 5-minute margin, but under half, so a shell
    // given it now could lose it within minutes of starting.
    env.age_cache_entry(&first, Duration::from_secs(50 * MINUTE), Duration::from_secs(20 * MINUTE));
    let vars = child_env(&env.run(exec_env("deployer", &[])));
    assert_eq!(stand_in.count("AssumeRole"), 2, "a set with under half its lifetime left was reused");
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], stand_in.issued()[1].access_key_id);
}

#[test]
fn a_handed_set_with_more_than_half_its_lifetime_left_is_reused() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    env.run(exec_env("deployer", &[])).assert_ok();
    let first = stand_in.issued()[0].access_key_id.clone();
    let expires = env.age_cache_entry(&first, Duration::from_secs(20 * MINUTE), Duration::from_secs(40 * MINUTE));
    let vars = child_env(&env.run(exec_env("deployer", &[])));
    assert_eq!(stand_in.count("AssumeRole"), 1, "a set with 40 of 60 minutes left was not reused");
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], first);
    // The expiry the child is told is the edited one: the entry itself was read.
    assert_eq!(vars["ROLESH_EXPIRES"], expires.timestamp().to_string());
}

#[test]
fn an_mfa_session_signs_the_next_role_until_five_minutes_before_it_expires() {
    let stand_in = StandIn::start();
    let env = mfa_roles(&stand_in);
    env.run(exec_env("admin", &["--mfa-token", "123456"])).assert_ok();
    let session = stand_in.issued()[0].clone();
    assert_eq!(session.action, "GetSessionToken");

    // 10 minutes left of 12 hours: far under half, but the MFA session only signs the next
    // AssumeRole. No code and no terminal, so asking for one would fail with exit 4.
    let twelve_hours = Duration::from_secs(12 * 60 * MINUTE);
    let left = Duration::from_secs(10 * MINUTE);
    env.age_cache_entry(&session.access_key_id, twelve_hours - left, left);
    env.run(exec_env("auditor", &[])).assert_ok();
    assert_eq!(stand_in.count("GetSessionToken"), 1, "the MFA session with 10 minutes left was not reused");
    let roles = stand_in.calls("AssumeRole");
    assert_eq!(roles.len(), 2);
    assert_eq!(roles[1].param("RoleArn"), Some(role_arn("222222222222", "auditor").as_str()));
    assert_eq!(roles[1].signer(), session.access_key_id);

    // Within 5 minutes of its expiry it is not used (which also shows that the entry edited
    // above is the one read): with admin's own set stale too, a code is needed.
    let left = Duration::from_secs(4 * MINUTE);
    env.age_cache_entry(&session.access_key_id, twelve_hours - left, left);
    let admin = stand_in.issued()[1].access_key_id.clone();
    env.age_cache_entry(&admin, Duration::from_secs(56 * MINUTE), left);
    let outcome = env.run(exec_env("admin", &[]));
    outcome.assert_error(4);
    assert!(outcome.error_line().contains("--mfa-token"), "{outcome}");
    assert_eq!(stand_in.count("GetSessionToken"), 1);
}

/// Runs `profile` to get a set the stand-in issued (an AssumeRole's or a GetSessionToken's),
/// uncached, as a role session reaches rolesh from outside: a credential_process, a
/// credentials file, the environment.
fn issued_by_running(stand_in: &StandIn, env: &TestEnv, profile: &str) -> support::stand_in::Issued {
    env.run(["exec", profile, "--no-cache", "--", "true"]).assert_ok();
    stand_in.issued().pop().expect("the stand-in issued nothing")
}

/// A role's session from `user`, through `[profile other]`.
fn a_role_session(stand_in: &StandIn, env: &TestEnv) -> support::stand_in::Issued {
    env.config(&format!("[profile other]\nrole_arn = {}\nsource_profile = user\n", role_arn("999999999999", "other")));
    let issued = issued_by_running(stand_in, env, "other");
    assert_eq!(issued.action, "AssumeRole");
    issued
}

/// The role assumed on top of a source whose keys carry a session token.
const CHAINED: &str = "arn:aws:iam::555555555555:role/chained";

/// `[profile chained]` asking 7200s of [`CHAINED`], over `source`.
fn chained_profile(env: &TestEnv, source: &str) {
    env.config(&format!("[profile chained]\nrole_arn = {CHAINED}\n{source}\nduration_seconds = 7200\n"));
}

/// rolesh asked STS for 7200s of [`CHAINED`] with `source_key`, was refused for role chaining,
/// asked again for 3600s, said so in one warning, and ran the command with the hour's set.
#[track_caller]
fn assert_retried_at_an_hour(stand_in: &StandIn, outcome: &support::Outcome, source_key: &str) {
    outcome.assert_ok();
    let calls: Vec<_> =
        stand_in.calls("AssumeRole").into_iter().filter(|c| c.param("RoleArn") == Some(CHAINED)).collect();
    let durations: Vec<_> = calls.iter().map(|c| c.param("DurationSeconds").unwrap_or("-")).collect();
    assert_eq!(durations, ["7200", "3600"], "{outcome}");
    assert!(calls.iter().all(|c| c.signer() == source_key), "{calls:#?}");
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want one warning:\n{outcome}");
    assert!(lines[0].starts_with("rolesh: warning: ") && lines[0].contains("role chaining"), "{outcome}");
    let issued = stand_in.issued().pop().unwrap();
    assert_eq!(issued.arn, "arn:aws:sts::555555555555:assumed-role/chained/rolesh-tester");
    assert_eq!(outcome.stdout().trim(), issued.access_key_id, "the command did not get the hour's set");
}

/// `rolesh exec PROFILE -- printenv AWS_ACCESS_KEY_ID`, as arguments.
fn print_key(profile: &str) -> [&str; 5] {
    ["exec", profile, "--", "printenv", "AWS_ACCESS_KEY_ID"]
}

#[test]
fn a_role_session_from_a_credential_process_is_retried_at_an_hour_when_sts_refuses_more() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    let role = a_role_session(&stand_in, &env);
    let json = serde_json::json!({
        "Version": 1,
        "AccessKeyId": role.access_key_id,
        "SecretAccessKey": role.secret_access_key,
        "SessionToken": role.session_token,
        "Expiration": role.expiration.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    let file = env.root().join("role-session.json");
    std::fs::write(&file, json.to_string()).unwrap();
    env.config(&format!(
        "[profile proc]\ncredential_process = cat {}\n[profile chained]\nrole_arn = {CHAINED}\nsource_profile = proc\nduration_seconds = 7200\n",
        file.display()
    ));
    let outcome = env.run(print_key("chained"));
    assert_retried_at_an_hour(&stand_in, &outcome, &role.access_key_id);
}

#[test]
fn a_role_session_in_the_credentials_file_is_retried_at_an_hour_when_sts_refuses_more() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    let role = a_role_session(&stand_in, &env);
    env.credentials(&format!(
        "[temp]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
        role.access_key_id, role.secret_access_key, role.session_token
    ));
    chained_profile(&env, "source_profile = temp");
    let outcome = env.run(print_key("chained"));
    assert_retried_at_an_hour(&stand_in, &outcome, &role.access_key_id);
    // The hour's set is cached under the profile as configured: no refusal the next time.
    let again = env.run(print_key("chained"));
    again.assert_ok();
    assert_eq!(again.stdout(), outcome.stdout());
    assert_eq!(again.stderr, "", "{again}");
    assert_eq!(stand_in.calls("AssumeRole").iter().filter(|c| c.param("RoleArn") == Some(CHAINED)).count(), 2);
}

#[test]
fn a_role_session_in_the_environment_is_retried_at_an_hour_when_sts_refuses_more() {
    let stand_in = StandIn::start();
    let mut env = user_env(&stand_in);
    let role = a_role_session(&stand_in, &env);
    chained_profile(&env, "credential_source = Environment");
    env.set("AWS_ACCESS_KEY_ID", &role.access_key_id)
        .set("AWS_SECRET_ACCESS_KEY", &role.secret_access_key)
        .set("AWS_SESSION_TOKEN", &role.session_token);
    let outcome = env.run(print_key("chained"));
    assert_retried_at_an_hour(&stand_in, &outcome, &role.access_key_id);
}

#[test]
fn a_session_token_source_that_is_no_role_may_ask_for_more_than_an_hour() {
    // GetSessionToken's keys carry a session token too, but assuming a role with them is
    // not role chaining: STS allows the role's full maximum, and rolesh must not cap it.
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    env.config("");
    let session = issued_by_running(&stand_in, &env, "user");
    assert_eq!(session.action, "GetSessionToken");
    env.credentials(&format!(
        "[temp]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
        session.access_key_id, session.secret_access_key, session.session_token
    ));
    chained_profile(&env, "source_profile = temp");
    let outcome = env.run(print_key("chained"));
    outcome.assert_ok();
    let calls = stand_in.calls("AssumeRole");
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].param("DurationSeconds"), Some("7200"));
    assert_eq!(calls[0].signer(), session.access_key_id);
    assert_eq!(outcome.stderr, "", "{outcome}");
    assert_eq!(outcome.stdout().trim(), stand_in.issued().pop().unwrap().access_key_id);
}

#[test]
fn a_chained_hops_duration_seconds_is_clamped_in_the_plan_without_a_refused_call() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    env.config(&format!(
        "[profile hop1]
         role_arn = {}
         source_profile = user
         [profile hop2]
         role_arn = {}
         source_profile = hop1
         duration_seconds = 7200",
        role_arn("111111111111", "one"),
        role_arn("222222222222", "two"),
    ));
    let outcome = env.run(print_key("hop2"));
    outcome.assert_ok();
    let calls = stand_in.calls("AssumeRole");
    let asked: Vec<_> = calls.iter().map(|c| (c.param("RoleArn").unwrap(), c.param("DurationSeconds"))).collect();
    assert_eq!(
        asked,
        [
            (role_arn("111111111111", "one").as_str(), Some("3600")),
            (role_arn("222222222222", "two").as_str(), Some("3600"))
        ],
        "one AssumeRole per hop, the second already at an hour"
    );
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want one warning:\n{outcome}");
    assert!(lines[0].starts_with("rolesh: warning: ") && lines[0].contains("role chaining"), "{outcome}");
    assert!(lines[0].contains("7200"), "the warning should say what was asked for:\n{outcome}");
}
