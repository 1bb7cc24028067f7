//! Tests of the test support itself: if moto, the STS stand-in or the pty
//! helper misbehave, these say so before the rolesh tests get confusing.
#![cfg(unix)]

mod support;

use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
use sha2::{Digest, Sha256};
use support::stand_in::Request;
use support::{Moto, Pty, Rule, StandIn, StsError, TestEnv};

/// A caller's keys; `token` for temporary ones.
struct Keys<'a> {
    id: &'a str,
    secret: &'a str,
    token: Option<&'a str>,
}

const ALICE: Keys = Keys { id: "AKIAALICE", secret: "alice-secret", token: None };

/// A form POST to STS as the SDK and botocore send it, signed (SigV4, in headers) with `keys`.
fn signed_post(body: &str, keys: &Keys) -> String {
    let identity = Credentials::new(keys.id, keys.secret, keys.token.map(str::to_owned), None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("sts")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers = [("host", "sts"), ("content-type", "application/x-www-form-urlencoded")];
    let request =
        SignableRequest::new("POST", "http://sts/", headers.into_iter(), SignableBody::Bytes(body.as_bytes())).unwrap();
    let (signing, _) = aws_sigv4::http_request::sign(request, &params).unwrap().into_parts();
    let mut text = String::from("POST / HTTP/1.1\r\n");
    for (name, value) in headers.into_iter().chain(signing.headers()) {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text + &format!("Content-Length: {}\r\n\r\n{body}", body.len())
}

/// Sends a form body signed with `keys` on `stream` and reads the response's status and body.
fn exchange(stream: &mut TcpStream, body: &str, keys: &Keys) -> (u16, String) {
    send(stream, &signed_post(body, keys))
}

/// Sends `request`, as is, on `stream` and reads the response's status and body.
fn send(stream: &mut TcpStream, request: &str) -> (u16, String) {
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

#[test]
fn the_stand_in_decodes_form_bodies_and_records_the_signer() {
    let stand_in = StandIn::start();
    stand_in.register_key(ALICE.id, ALICE.secret);
    let mut stream = TcpStream::connect(stand_in.addr()).unwrap();
    let body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fops%2Fdeploy\
                &RoleSessionName=a%2Bb%3Dc%40d&DurationSeconds=900&ExternalId=two+words%21";
    let (status, xml) = exchange(&mut stream, body, &ALICE);
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
    assert_eq!(call.signature_ok, Some(true));

    assert!(xml.contains("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"));
    assert!(xml.contains("<AccessKeyId>ASIASTANDIN000001</AccessKeyId>"));
    assert!(xml.contains("<Arn>arn:aws:sts::111122223333:assumed-role/deploy/a+b=c@d</Arn>"));
    assert!(xml.contains("<ResponseMetadata>"));

    // The same connection serves a second request (keep-alive).
    let (status, xml) = exchange(&mut stream, "Action=GetCallerIdentity&Version=2011-06-15", &ALICE);
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains("<Arn>arn:aws:iam::123456789012:user/stand-in</Arn>"), "{xml}");
    assert_eq!(stand_in.requests().len(), 2);
}

#[test]
fn the_stand_in_answers_scripted_errors_n_times_then_succeeds() {
    let stand_in = StandIn::start();
    stand_in.register_key(ALICE.id, ALICE.secret);
    stand_in.push(Rule::on("AssumeRole").fail(StsError::throttling()).times(2));
    let mut stream = TcpStream::connect(stand_in.addr()).unwrap();
    let body = "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s1";
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (status, xml) = exchange(&mut stream, body, &ALICE);
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
    stand_in.register_key(ALICE.id, ALICE.secret);
    let mut stream = TcpStream::connect(stand_in.addr()).unwrap();
    let body = "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s1";
    assert_eq!(exchange(&mut stream, body, &ALICE).0, 200);
    let issued = &stand_in.issued()[0];
    let mut keys = Keys { id: &issued.access_key_id, secret: &issued.secret_access_key, token: None };
    let (status, xml) = exchange(&mut stream, body, &keys);
    assert_eq!(status, 403);
    assert!(xml.contains("<Code>InvalidClientTokenId</Code>"), "{xml}");
    // With its token, the same key and secret are accepted.
    keys.token = Some(&issued.session_token);
    assert_eq!(exchange(&mut stream, body, &keys).0, 200);
}

#[test]
fn the_sdk_parses_the_stand_ins_answers() {
    let stand_in = StandIn::start();
    stand_in.register_key(ALICE.id, ALICE.secret);
    stand_in.push(
        Rule::on("AssumeRole").when("RoleArn", "arn:aws:iam::123456789012:role/denied").fail(StsError::not_trusted()),
    );
    let client = sdk_client(&stand_in, ALICE.id, ALICE.secret);
    block_on(async {
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
        assert_eq!(denied.into_service_error().code(), Some("AccessDenied"));
    });
    let session = &stand_in.calls("GetSessionToken")[0];
    assert_eq!(session.param("SerialNumber"), Some("arn:aws:iam::123456789012:mfa/alice"));
    assert_eq!(session.param("TokenCode"), Some("123456"));
    assert_eq!(stand_in.count("AssumeRole"), 2);
}

#[test]
fn the_aws_cli_reads_the_stand_ins_answers() {
    let stand_in = StandIn::start();
    stand_in.register_key(ALICE.id, ALICE.secret);
    let mut env = TestEnv::stand_in(&stand_in);
    // The aws CLI v1 reads AWS_DEFAULT_REGION, not AWS_REGION.
    env.set("AWS_ACCESS_KEY_ID", ALICE.id)
        .set("AWS_SECRET_ACCESS_KEY", ALICE.secret)
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

fn sdk_client(stand_in: &StandIn, key: &str, secret: &str) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(stand_in.endpoint())
        // rolesh builds the SDK without a default client (see src/session/http.rs); the stand-in
        // speaks plain HTTP, which the same builder serves.
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// A `GetCallerIdentity` as a client signed it verifies with its secret only, and no longer
/// once its body is changed (to one as long, so that only the body differs).
fn assert_only_the_request_as_signed_verifies(request: &Request, secret: &str) {
    assert_eq!(request.action(), "GetCallerIdentity");
    assert!(request.signature_verifies(secret), "{request:?}");
    assert!(!request.signature_verifies("not-the-secret"));
    let mut tampered = request.clone();
    let body = String::from_utf8(tampered.body).unwrap();
    assert!(body.contains("Version=2011-06-15"), "{body}");
    tampered.body = body.replace("Version=2011-06-15", "Version=2011-06-16").into_bytes();
    assert!(!tampered.signature_verifies(secret));
}

#[test]
fn the_stand_in_verifies_what_the_sdk_signs_and_refuses_a_wrong_secret_or_an_unknown_key() {
    let stand_in = StandIn::start();
    stand_in.register_key(ALICE.id, ALICE.secret);
    let answer = |key: &str, secret: &str| {
        block_on(async {
            match sdk_client(&stand_in, key, secret).get_caller_identity().send().await {
                Ok(_) => "ok".to_owned(),
                Err(e) => {
                    let e = e.into_service_error();
                    format!("{}: {}", e.code().unwrap_or("?"), e.message().unwrap_or("?"))
                }
            }
        })
    };
    assert_eq!(answer(ALICE.id, ALICE.secret), "ok");
    assert_eq!(
        answer(ALICE.id, "not-alices-secret"),
        format!("SignatureDoesNotMatch: {}", StsError::signature_does_not_match().message)
    );
    assert_eq!(
        answer("AKIANOBODY", ALICE.secret),
        "InvalidClientTokenId: The security token included in the request is invalid."
    );
    let verdicts: Vec<_> = stand_in.requests().iter().map(|r| r.signature_ok).collect();
    assert_eq!(verdicts, [Some(true), Some(false), Some(false)]);
    assert_only_the_request_as_signed_verifies(&stand_in.requests()[0], ALICE.secret);
}

#[test]
fn the_stand_in_verifies_what_the_aws_cli_signs_and_refuses_a_wrong_secret() {
    let stand_in = StandIn::start();
    stand_in.register_key(ALICE.id, ALICE.secret);
    let aws = support::venv().join("bin/aws");
    let run = |secret: &str| {
        let mut env = TestEnv::stand_in(&stand_in);
        env.set("AWS_ACCESS_KEY_ID", ALICE.id)
            .set("AWS_SECRET_ACCESS_KEY", secret)
            .set("AWS_DEFAULT_REGION", "us-east-1");
        support::process::run(env.command_for(&aws, ["sts", "get-caller-identity"]))
    };
    run(ALICE.secret).assert_ok();
    let refused = run("not-alices-secret");
    assert_ne!(refused.code(), 0);
    assert!(refused.stderr.contains("SignatureDoesNotMatch"), "{refused}");
    let verdicts: Vec<_> = stand_in.requests().iter().map(|r| r.signature_ok).collect();
    assert_eq!(verdicts, [Some(true), Some(false)]);
    assert_only_the_request_as_signed_verifies(&stand_in.requests()[0], ALICE.secret);
}

/// Case `post-x-www-form-urlencoded` of AWS's SigV4 test suite (aws-sigv4 ships it, in
/// aws-signing-test-suite/v4/): a form POST signed in headers by neither the SDK nor botocore,
/// with the signature AWS published for it.
const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const EXAMPLE: &str = "POST / HTTP/1.1\r\n\
    Content-Type:application/x-www-form-urlencoded\r\n\
    Host:example.amazonaws.com\r\n\
    Content-Length:13\r\n\
    X-Amz-Date:20150830T123600Z\r\n\
    x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\r\n\
    Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
    SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, \
    Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b\r\n\
    \r\n\
    Param1=value1";

#[test]
fn a_published_sigv4_example_verifies_and_a_changed_body_header_or_secret_does_not() {
    let stand_in = StandIn::start();
    stand_in.register_key("AKIDEXAMPLE", EXAMPLE_SECRET);
    let mut stream = TcpStream::connect(stand_in.addr()).unwrap();
    // Past the signature, the stand-in finds no STS action in the example.
    let (status, xml) = send(&mut stream, EXAMPLE);
    assert_eq!(status, 400, "{xml}");
    assert!(xml.contains("<Code>InvalidAction</Code>"), "{xml}");
    // A header that was not signed may change on the way, as User-Agent does through a proxy.
    let with_unsigned_header = EXAMPLE.replacen("\r\n", "\r\nUser-Agent: added-on-the-way\r\n", 1);
    assert_eq!(send(&mut stream, &with_unsigned_header).0, 400);

    let other_body_hash = format!("{:x}", Sha256::digest(b"Param1=value2"));
    let tampered = [
        EXAMPLE.replace("Param1=value1", "Param1=value2"),
        // The body and the hash it is sent with: the hash is signed too.
        EXAMPLE
            .replace("Param1=value1", "Param1=value2")
            .replace("9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e", &other_body_hash),
        EXAMPLE.replace("X-Amz-Date:20150830T123600Z", "X-Amz-Date:20150830T123601Z"),
        EXAMPLE.replace("Host:example.amazonaws.com", "Host:example.amazonaws.org"),
    ];
    let mismatch = StsError::signature_does_not_match();
    for request in &tampered {
        let (status, xml) = send(&mut stream, request);
        assert_eq!(status, 403, "{request}");
        assert!(xml.contains("<Code>SignatureDoesNotMatch</Code>"), "{xml}");
        assert!(xml.contains(&mismatch.message), "{xml}");
    }
    let (status, xml) = send(&mut stream, &EXAMPLE.replace("SignedHeaders=", "Signed="));
    assert_eq!(status, 400);
    assert!(xml.contains("<Code>IncompleteSignature</Code>"), "{xml}");

    let verdicts: Vec<_> = stand_in.requests().iter().map(|r| r.signature_ok).collect();
    assert_eq!(verdicts, [Some(true), Some(true), Some(false), Some(false), Some(false), Some(false), Some(false)]);
    let example = &stand_in.requests()[0];
    assert!(!example.signature_verifies(&EXAMPLE_SECRET.replace("KEY", "KEZ")));
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
