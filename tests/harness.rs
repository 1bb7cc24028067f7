//! Tests of the test support itself: if moto, the STS stand-in or the pty
//! helper misbehave, these say so before the rolesh tests get confusing.
#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use support::{Moto, Pty, Rule, StandIn, StsError, TestEnv};

/// Sends one request on `stream` and reads the response's status and body.
fn exchange(stream: &mut TcpStream, body: &str, authorization: &str) -> (u16, String) {
    let request = format!(
        "POST / HTTP/1.1\r\nHost: sts\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: {authorization}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status, String::from_utf8(body).unwrap())
}

const SIGNED_BY_ALICE: &str = "AWS4-HMAC-SHA256 Credential=AKIAALICE/20250101/eu-west-1/sts/aws4_request, \
     SignedHeaders=host;x-amz-date, Signature=abc";

#[test]
fn the_stand_in_decodes_form_bodies_and_records_the_signer() {
    let stand_in = StandIn::start();
    let mut stream = TcpStream::connect(stand_in.addr()).unwrap();
    let body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fops%2Fdeploy\
                &RoleSessionName=a%2Bb%3Dc%40d&DurationSeconds=900&ExternalId=two+words%21";
    let (status, xml) = exchange(&mut stream, body, SIGNED_BY_ALICE);
    assert_eq!(status, 200, "{xml}");

    let calls = stand_in.calls("AssumeRole");
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.param("RoleArn"), Some("arn:aws:iam::111122223333:role/ops/deploy"));
    assert_eq!(call.param("RoleSessionName"), Some("a+b=c@d"));
    assert_eq!(call.param("ExternalId"), Some("two words!"));
    assert_eq!(call.param("DurationSeconds"), Some("900"));
    assert_eq!(call.signer(), "AKIAALICE");
    assert_eq!(call.signing_region.as_deref(), Some("eu-west-1"));

    assert!(xml.contains("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"));
    assert!(xml.contains("<AccessKeyId>ASIASTANDIN000001</AccessKeyId>"));
    assert!(xml.contains("<Arn>arn:aws:sts::111122223333:assumed-role/deploy/a+b=c@d</Arn>"));
    assert!(xml.contains("<ResponseMetadata>"));

    // The same connection serves a second request (keep-alive).
    let (status, xml) = exchange(&mut stream, "Action=GetCallerIdentity&Version=2011-06-15", SIGNED_BY_ALICE);
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains("<Arn>arn:aws:iam::123456789012:user/stand-in</Arn>"), "{xml}");
    assert_eq!(stand_in.requests().len(), 2);
}

#[test]
fn the_stand_in_answers_scripted_errors_n_times_then_succeeds() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::throttling()).times(2));
    let mut stream = TcpStream::connect(stand_in.addr()).unwrap();
    let body = "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s1";
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (status, xml) = exchange(&mut stream, body, SIGNED_BY_ALICE);
        if status != 200 {
            assert!(xml.contains("<Code>Throttling</Code>"), "{xml}");
            assert!(xml.contains("<Type>Sender</Type>"), "{xml}");
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [400, 400, 200]);
    assert_eq!(stand_in.count("AssumeRole"), 3);
}

#[test]
fn the_stand_in_refuses_a_temporary_key_without_its_token() {
    let stand_in = StandIn::start();
    let mut stream = TcpStream::connect(stand_in.addr()).unwrap();
    let body = "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s1";
    assert_eq!(exchange(&mut stream, body, SIGNED_BY_ALICE).0, 200);
    let signed_by_issued = SIGNED_BY_ALICE.replace("AKIAALICE", "ASIASTANDIN000001");
    let (status, xml) = exchange(&mut stream, body, &signed_by_issued);
    assert_eq!(status, 403);
    assert!(xml.contains("<Code>InvalidClientTokenId</Code>"), "{xml}");
}

#[test]
fn the_sdk_parses_the_stand_ins_answers() {
    let stand_in = StandIn::start();
    stand_in.push(
        Rule::on("AssumeRole").when("RoleArn", "arn:aws:iam::123456789012:role/denied").fail(StsError::not_trusted()),
    );
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(stand_in.endpoint())
        .credentials_provider(Credentials::new("AKIAALICE", "secret", None, None, "test"))
        .build();
    let client = aws_sdk_sts::Client::from_conf(config);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let assumed = client
            .assume_role()
            .role_arn("arn:aws:iam::210987654321:role/path/reader")
            .role_session_name("sdk-check")
            .duration_seconds(1800)
            .send()
            .await
            .unwrap();
        let credentials = assumed.credentials().unwrap();
        assert_eq!(credentials.access_key_id(), "ASIASTANDIN000001");
        let user = assumed.assumed_role_user().unwrap();
        assert_eq!(user.arn(), "arn:aws:sts::210987654321:assumed-role/reader/sdk-check");
        assert!(user.assumed_role_id().ends_with(":sdk-check"));
        let lifetime = credentials.expiration().secs() - chrono::Utc::now().timestamp();
        assert!((1790..=1800).contains(&lifetime), "{lifetime}");

        let token = client
            .get_session_token()
            .serial_number("arn:aws:iam::123456789012:mfa/alice")
            .token_code("123456")
            .send()
            .await
            .unwrap();
        assert_eq!(token.credentials().unwrap().access_key_id(), "ASIASTANDIN000002");

        let identity = client.get_caller_identity().send().await.unwrap();
        assert_eq!(identity.account(), Some("123456789012"));

        let denied = client
            .assume_role()
            .role_arn("arn:aws:iam::123456789012:role/denied")
            .role_session_name("sdk-check")
            .send()
            .await
            .unwrap_err();
        let denied = denied.into_service_error();
        assert_eq!(aws_sdk_sts::error::ProvideErrorMetadata::code(&denied), Some("AccessDenied"));
    });
    let session = &stand_in.calls("GetSessionToken")[0];
    assert_eq!(session.param("SerialNumber"), Some("arn:aws:iam::123456789012:mfa/alice"));
    assert_eq!(session.param("TokenCode"), Some("123456"));
    assert_eq!(stand_in.count("AssumeRole"), 2);
}

#[test]
fn the_aws_cli_reads_the_stand_ins_answers() {
    let stand_in = StandIn::start();
    let mut env = TestEnv::stand_in(&stand_in);
    // The aws CLI v1 reads AWS_DEFAULT_REGION, not AWS_REGION.
    env.set("AWS_ACCESS_KEY_ID", "AKIAALICE")
        .set("AWS_SECRET_ACCESS_KEY", "secret")
        .set("AWS_DEFAULT_REGION", "us-east-1");
    let aws = support::venv().join("bin/aws");
    let outcome = support::process::run(env.command_for(
        &aws,
        [
            "sts",
            "assume-role",
            "--role-arn",
            "arn:aws:iam::123456789012:role/cli",
            "--role-session-name",
            "cli-check",
            "--output",
            "json",
        ],
    ));
    outcome.assert_ok();
    let json: serde_json::Value = serde_json::from_slice(&outcome.stdout).unwrap();
    assert_eq!(json["Credentials"]["AccessKeyId"], "ASIASTANDIN000001");
    assert_eq!(json["AssumedRoleUser"]["Arn"], "arn:aws:sts::123456789012:assumed-role/cli/cli-check");

    stand_in.push(Rule::on("GetCallerIdentity").fail(StsError::expired_token()));
    let outcome = support::process::run(env.command_for(&aws, ["sts", "get-caller-identity"]));
    assert_ne!(outcome.code(), 0);
    assert!(outcome.stderr.contains("ExpiredToken"), "{outcome}");
}

#[test]
fn moto_answers_the_aws_cli() {
    let moto = Moto::get();
    assert!(moto.endpoint().starts_with("http://127.0.0.1:"));
    let mut env = TestEnv::moto();
    env.set("AWS_ACCESS_KEY_ID", "AKIAMOTO")
        .set("AWS_SECRET_ACCESS_KEY", "secret")
        .set("AWS_DEFAULT_REGION", "us-east-1");
    let outcome = support::process::run(
        env.command_for(support::venv().join("bin/aws"), ["sts", "get-caller-identity", "--output", "json"]),
    );
    outcome.assert_ok();
    let json: serde_json::Value = serde_json::from_slice(&outcome.stdout).unwrap();
    assert_eq!(json["Account"], "123456789012");
}

#[test]
fn the_pty_helper_answers_a_prompt() {
    let mut command = Command::new("/bin/sh");
    command.args(["-c", "printf 'MFA code: ' >/dev/tty; read code </dev/tty; echo \"got=$code\""]);
    let mut pty = Pty::spawn(command);
    pty.expect("mfa code:", Duration::from_secs(10));
    pty.send("123456\n");
    let (status, screen) = pty.finish(Duration::from_secs(10));
    assert!(status.success());
    assert!(screen.contains("got=123456"), "{screen}");
}

#[test]
fn detached_commands_have_no_terminal() {
    let env = TestEnv::new("http://127.0.0.1:9");
    let outcome = support::process::run(env.command_for("/bin/sh", ["-c", "exec 3</dev/tty"]));
    assert_ne!(outcome.code(), 0, "a detached command could open /dev/tty:\n{outcome}");
}
