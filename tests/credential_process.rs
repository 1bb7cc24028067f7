//! The aws CLI using rolesh as its `credential_process`, against moto.
#![cfg(unix)]

mod support;

use support::TestEnv;
use support::process::run;

const ROLE: &str = "arn:aws:iam::123456789012:role/interop";

fn moto_env() -> TestEnv {
    let mut env = TestEnv::moto();
    // aws CLI v1 reads the region only from AWS_DEFAULT_REGION.
    env.set("AWS_DEFAULT_REGION", "us-east-1");
    env.config(&format!(
        "[profile base]
        aws_access_key_id = AKIAIOSFODNN7EXAMPLE
        aws_secret_access_key = base-secret
        [profile role]
        role_arn = {ROLE}
        source_profile = base
        role_session_name = interop-test
        [profile via-rolesh]
        credential_process = {} credential-process role",
        support::rolesh_bin().display()
    ));
    env
}

#[test]
fn the_aws_cli_runs_as_the_role_through_a_credential_process_profile() {
    let env = moto_env();
    let out =
        run(env.command_for("aws", ["sts", "get-caller-identity", "--profile", "via-rolesh", "--output", "json"]));
    out.assert_ok();
    let id: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(id["Arn"], "arn:aws:sts::123456789012:assumed-role/interop/interop-test", "{out}");
}

#[test]
fn credential_process_prints_version_1_json_and_nothing_else() {
    let env = moto_env();
    let out = env.run(["credential-process", "role"]);
    out.assert_ok();
    assert_eq!(out.stderr, "");
    let stdout = out.stdout();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["Version"], 1);
    for key in ["AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"] {
        assert!(v[key].as_str().is_some_and(|s| !s.is_empty()), "{key} in {stdout}");
    }
    // The second call is served by rolesh's cache: the same session.
    let again = env.run(["credential-process", "role"]);
    let again: serde_json::Value = serde_json::from_slice(&again.assert_ok().stdout).unwrap();
    assert_eq!(again["AccessKeyId"], v["AccessKeyId"]);
}

#[test]
fn credential_process_fails_clearly_when_an_mfa_code_cannot_be_asked() {
    let env = moto_env();
    let cfg = std::fs::read_to_string(env.config_path()).unwrap();
    std::fs::write(
        env.config_path(),
        format!("{cfg}[profile mfa]\nrole_arn = {ROLE}\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/tester\n"),
    )
    .unwrap();
    // `run` starts rolesh in a session of its own: no terminal, as under an SDK in a service.
    let out = env.run(["credential-process", "mfa"]);
    out.assert_error(4);
    assert!(out.stdout.is_empty(), "nothing on stdout: {out}");
    assert!(out.error_line().contains("--mfa-token"), "{out}");
}

#[test]
fn a_profile_whose_credential_process_calls_rolesh_for_itself_fails_instead_of_looping() {
    let env = moto_env();
    let cfg = std::fs::read_to_string(env.config_path()).unwrap();
    let bin = support::rolesh_bin();
    std::fs::write(
        env.config_path(),
        format!("{cfg}[profile selfish]\ncredential_process = {} credential-process selfish\n", bin.display()),
    )
    .unwrap();
    let out = run(env.command_for("aws", ["sts", "get-caller-identity", "--profile", "selfish"]));
    assert!(!out.status.success(), "{out}");
    assert!(out.stderr.contains("credential_process loop: selfish -> selfish"), "{out}");
}

/// A credential_process that hangs the first time it runs (and prints keys afterwards) holds
/// the cache lock of its profile: another rolesh for that profile says what it waits for at
/// once instead of sitting silent for minutes, and `--no-cache` does not wait at all.
#[test]
fn a_hung_credential_process_is_named_by_whoever_waits_for_it_and_no_cache_does_not_wait() {
    use std::os::unix::fs::PermissionsExt;
    use support::StandIn;
    use support::process::DEADLINE;

    let stand_in = StandIn::start();
    stand_in.register_key("AKIAPROCESSKEY000001", "process-secret");
    let env = TestEnv::stand_in(&stand_in);
    let started = env.root().join("started");
    let script = env.root().join("slow.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ ! -e '{0}' ]; then : > '{0}'; exec sleep 600; fi\n\
             echo '{{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESSKEY000001\", \"SecretAccessKey\": \"process-secret\"}}'\n",
            started.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.config(&format!(
        "[profile slow]\ncredential_process = {}\n[profile via-slow]\nrole_arn = {ROLE}\nsource_profile = slow\n",
        script.display()
    ));
    let first = env.spawn(["exec", "via-slow", "--", "true"]);
    // The first holds the lock once its credential_process has started.
    let deadline = std::time::Instant::now() + DEADLINE;
    while !started.exists() {
        assert!(std::time::Instant::now() < deadline, "the credential_process never started");
        std::thread::yield_now();
    }
    let second = env.spawn(["exec", "via-slow", "--", "true"]);
    let said = second.expect_stderr("waiting for", DEADLINE);
    assert!(said.contains(&format!("rolesh pid {} for profile `via-slow`", first.pid())), "{said}");
    assert!(said.contains("--no-cache does not wait"), "{said}");
    let uncached = env.run(["exec", "via-slow", "--no-cache", "--", "true"]);
    uncached.assert_ok();
    assert_eq!(stand_in.count("AssumeRole"), 1, "the uncached exec assumed the role itself");
}
