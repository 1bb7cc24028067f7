//! `exec --server` / `shell --server`: real clients (the aws CLI, boto3) get credentials from
//! rolesh's server on 127.0.0.1 instead of keys, and keep working past the end of the session
//! they started with, against the SigV4-verifying STS stand-in.
#![cfg(unix)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::fixtures::{DEPLOYER_ROLE, MFA_SERIAL, USER_KEY, USER_SECRET, deployer, user_env};
use support::process::DEADLINE;
use support::{Rule, StandIn};

/// The aws CLI's answer to who it is, as a role ARN.
const WHOAMI: &str = "aws sts get-caller-identity --query Arn --output text";

fn served(args: &[&str]) -> Vec<String> {
    let mut all = vec!["exec".to_string(), "--server".to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    all
}

#[test]
fn the_aws_cli_and_boto3_run_as_the_role_with_no_keys_in_their_environment() {
    let stand_in = StandIn::start();
    let mut env = deployer(&stand_in, "");
    // What the parent shell holds must not reach the command: keys would win over the server.
    env.set("AWS_ACCESS_KEY_ID", "AKIASTALEPARENTKEY01")
        .set("AWS_SECRET_ACCESS_KEY", "stale")
        .set("AWS_PROFILE", "user");
    let boto3 = "python3 -c 'import boto3; print(boto3.client(\"sts\").get_caller_identity()[\"Arn\"])'";
    let script = format!("{WHOAMI}; {boto3}; env -0 > child.env");
    let outcome = env.run(served(&["deployer", "--", "sh", "-c", &script]));
    outcome.assert_ok();
    let arns: Vec<String> = outcome.stdout().lines().map(String::from).collect();
    assert_eq!(arns.len(), 2, "{outcome}");
    for arn in &arns {
        assert!(arn.starts_with("arn:aws:sts::111111111111:assumed-role/deployer/"), "{outcome}");
    }
    let bytes = std::fs::read(env.root().join("child.env")).unwrap();
    let child: std::collections::BTreeMap<String, String> = bytes
        .split(|&b| b == 0)
        .filter_map(|e| String::from_utf8_lossy(e).split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    for gone in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "ROLESH_EXPIRES"] {
        assert!(!child.contains_key(gone), "the command has {gone}");
    }
    assert!(child["AWS_CONTAINER_CREDENTIALS_FULL_URI"].starts_with("http://127.0.0.1:"));
    assert_eq!(child["AWS_CONTAINER_AUTHORIZATION_TOKEN"].len(), 43);
    assert_eq!(child["ROLESH_PROFILE"], "deployer");
    // Both clients signed with the served role keys, and the signatures held.
    let served_key = &stand_in.issued()[0].access_key_id;
    let calls = stand_in.calls("GetCallerIdentity");
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.signer() == served_key && c.signature_ok == Some(true)), "{calls:?}");
}

#[test]
fn a_command_outliving_three_sessions_never_fails_and_rolesh_renews_upstream() {
    let stand_in = StandIn::start();
    // Sessions of 6 s: rolesh renews at half their life.
    stand_in.push(Rule::on("AssumeRole").lifetime(Duration::from_secs(6)));
    let env = deployer(&stand_in, "");
    let script = format!(
        "end=$(($(date +%s) + 20)); n=0; while [ $(date +%s) -lt $end ]; do {WHOAMI} >/dev/null || exit 1; n=$((n+1)); done; echo calls=$n"
    );
    let outcome = env.run(served(&["deployer", "--", "sh", "-c", &script]));
    outcome.assert_ok();
    assert!(outcome.stdout().starts_with("calls="), "{outcome}");
    let assumed = stand_in.count("AssumeRole");
    assert!(assumed >= 4, "only {assumed} AssumeRole calls in 20 s of 6 s sessions:\n{outcome}");
    assert!(stand_in.calls("GetCallerIdentity").iter().all(|c| c.signature_ok == Some(true)));
}

#[test]
fn boto3_making_many_calls_fetches_from_the_server_only_once() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    // Counts the SDK's own requests to the endpoint by wrapping its fetcher.
    let script = r#"
import boto3, botocore.utils
fetches = 0
original = botocore.utils.ContainerMetadataFetcher.retrieve_full_uri
def counted(self, *args, **kwargs):
    global fetches
    fetches += 1
    return original(self, *args, **kwargs)
botocore.utils.ContainerMetadataFetcher.retrieve_full_uri = counted
sts = boto3.client("sts")
for _ in range(25):
    sts.get_caller_identity()
print(f"fetches={fetches}")
"#;
    let outcome = env.run(served(&["deployer", "--", "python3", "-c", script]));
    outcome.assert_ok();
    assert_eq!(outcome.stdout().trim(), "fetches=1", "{outcome}");
    assert_eq!(stand_in.count("GetCallerIdentity"), 25);
}

/// One HTTP GET to the server; the status and the body.
fn get(uri: &str, token: Option<&str>) -> std::io::Result<(u16, String)> {
    let addr = uri.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr)?;
    let auth = token.map(|t| format!("Authorization: {t}\r\n")).unwrap_or_default();
    write!(stream, "GET / HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

#[test]
fn only_the_exact_token_gets_credentials_and_the_port_closes_with_the_command() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let running = env.spawn(served(&[
        "deployer",
        "--",
        "sh",
        "-c",
        "printf '%s %s\\n' \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\" \"$AWS_CONTAINER_AUTHORIZATION_TOKEN\"; exec sleep 600",
    ]));
    let line = running.expect_stdout("\n", DEADLINE);
    let (uri, token) = line.trim().split_once(' ').expect("the command printed the endpoint and the token");
    let (status, body) = get(uri, Some(token)).unwrap();
    assert_eq!(status, 200, "{body}");
    let served: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(served["AccessKeyId"], stand_in.issued()[0].access_key_id.as_str());
    assert!(served["Expiration"].as_str().is_some_and(|e| e.ends_with('Z')), "{body}");
    for wrong in [None, Some("x"), Some(&token[1..])] {
        let (status, body) = get(uri, wrong).unwrap();
        assert_eq!(status, 403, "{body}");
        assert!(!body.contains(&stand_in.issued()[0].secret_access_key), "{body}");
    }
    running.signal(libc::SIGTERM);
    let outcome = running.wait(DEADLINE);
    assert_eq!(outcome.code(), 128 + libc::SIGTERM, "{outcome}");
    let addr = uri.trim_start_matches("http://").trim_end_matches('/');
    assert!(TcpStream::connect(addr).is_err(), "the port is still open after the command ended");
    // Neither the token nor the served keys are in rolesh's output or the ledger.
    let issued = &stand_in.issued()[0];
    let ledger = std::fs::read_to_string(env.state_home().join("rolesh/sessions.json")).unwrap_or_default();
    for secret in [token, &issued.secret_access_key, &issued.session_token] {
        assert!(!outcome.stderr.contains(secret) && !ledger.contains(secret), "a secret leaked:\n{outcome}\n{ledger}");
    }
}

#[test]
fn mfa_is_asked_once_and_the_role_is_renewed_from_the_mfa_session_without_asking_again() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").lifetime(Duration::from_secs(6)));
    let env = user_env(&stand_in);
    env.config(&format!(
        "[profile admin]\nrole_arn = {DEPLOYER_ROLE}\nsource_profile = user\nmfa_serial = {MFA_SERIAL}\n"
    ));
    let script = format!(
        "end=$(($(date +%s) + 15)); while [ $(date +%s) -lt $end ]; do {WHOAMI} >/dev/null || exit 1; done; echo loop-done"
    );
    let mut pty = env.pty(["exec", "--server", "admin", "--", "sh", "-c", &script]);
    pty.expect("MFA code", DEADLINE);
    pty.send("123456\r");
    let (status, screen) = pty.finish(DEADLINE);
    assert!(status.success(), "{status:?}; the terminal showed:\n{screen}");
    assert!(screen.contains("loop-done"), "{screen}");
    assert_eq!(screen.matches("MFA code").count(), 1, "asked again:\n{screen}");
    assert_eq!(stand_in.count("GetSessionToken"), 1);
    assert!(stand_in.count("AssumeRole") >= 3, "{} AssumeRole calls", stand_in.count("AssumeRole"));
    // The renewals were signed by the MFA session, without a code.
    let mfa_key = &stand_in.issued()[0].access_key_id;
    for call in stand_in.calls("AssumeRole") {
        assert_eq!(call.signer(), mfa_key);
        assert_eq!(call.param("TokenCode"), None);
    }
}

#[test]
fn a_default_profile_with_keys_is_refused_unless_hidden_from_the_command() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    env.credentials(&format!(
        "[user]\naws_access_key_id = {USER_KEY}\naws_secret_access_key = {USER_SECRET}\n[default]\naws_access_key_id = {USER_KEY}\naws_secret_access_key = {USER_SECRET}\n"
    ));
    let refused = env.run(served(&["deployer", "--", "true"]));
    refused.assert_error(3);
    assert!(refused.error_line().contains("[default] has aws_access_key_id"), "{refused}");
    assert!(refused.error_line().contains("--hide-default"), "{refused}");
    assert!(stand_in.requests().is_empty(), "STS was called before the refusal");
    let script =
        format!("{WHOAMI}; printf '%s\\n' \"$AWS_SHARED_CREDENTIALS_FILE\"; cat \"$AWS_SHARED_CREDENTIALS_FILE\"");
    let hidden = env.run(served(&["--hide-default", "deployer", "--", "sh", "-c", &script]));
    hidden.assert_ok();
    let out = hidden.stdout();
    let mut lines = out.lines();
    assert!(lines.next().unwrap().starts_with("arn:aws:sts::111111111111:assumed-role/deployer/"), "{hidden}");
    let copy = std::path::PathBuf::from(lines.next().unwrap());
    let rest: Vec<&str> = lines.collect();
    assert!(rest.contains(&"[user]") && !rest.contains(&"[default]"), "{hidden}");
    assert!(!copy.exists(), "the private copy outlived the command");
}

#[test]
fn rolesh_ls_inside_shows_the_session_as_served_and_a_nested_exec_still_works() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let script = "rolesh ls --json; rolesh exec deployer -- aws sts get-caller-identity --query Arn --output text";
    let mut cmd = env.command(served(&["deployer", "--", "sh", "-c", script]));
    let bin_dir = support::rolesh_bin().parent().unwrap().to_path_buf();
    cmd.env("PATH", format!("{}:{}", bin_dir.display(), env.path_var().to_string_lossy()));
    let outcome = support::process::run(cmd);
    outcome.assert_ok();
    let out = outcome.stdout();
    let (json, arn) = out.rsplit_once("]\n").expect("ls printed a JSON array");
    let sessions: serde_json::Value = serde_json::from_str(&format!("{json}]")).unwrap();
    assert_eq!(sessions[0]["served"], true, "{out}");
    assert_eq!(sessions[0]["kind"], "exec", "{out}");
    assert!(arn.trim().starts_with("arn:aws:sts::111111111111:assumed-role/deployer/"), "{outcome}");
}

#[test]
fn the_end_of_the_mfa_session_is_the_commands_deadline_and_is_announced_ten_minutes_ahead() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    env.config(&format!(
        "[profile admin]\nrole_arn = {DEPLOYER_ROLE}\nsource_profile = user\nmfa_serial = {MFA_SERIAL}\n"
    ));
    env.run(["exec", "admin", "--mfa-token", "123456", "--", "true"]).assert_ok();
    // The MFA session now ends in 9 minutes: renewals stop then, and the command is told.
    let mfa_key = stand_in.issued()[0].access_key_id.clone();
    let ends = env.age_cache_entry(&mfa_key, Duration::from_secs(12 * 3600 - 540), Duration::from_secs(540));
    let outcome = env.run(served(&["admin", "--", "sh", "-c", "printf '%s\\n' \"$ROLESH_EXPIRES\""]));
    outcome.assert_ok();
    assert_eq!(outcome.stdout().trim(), ends.timestamp().to_string(), "{outcome}");
    let told =
        outcome.stderr.lines().find(|l| l.contains("MFA session of profile `admin` ends at")).unwrap_or_default();
    assert!(told.starts_with("rolesh: ") && told.contains("run it again with a new code"), "{outcome}");
    assert_eq!(stand_in.count("GetSessionToken"), 1, "no new MFA session was asked for");
}
