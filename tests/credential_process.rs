//! The aws CLI using rolesh as its `credential_process`, against moto.

mod interop_support;

use interop_support::{Moto, World, ok, rolesh_bin, text};

pub const ROLE: &str = "arn:aws:iam::123456789012:role/interop";

fn world(moto: &Moto) -> World {
    let w = World::with_moto(moto);
    w.write_config(&format!(
        "[profile base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = base-secret\n\n[profile role]\nrole_arn = {ROLE}\nsource_profile = base\nrole_session_name = interop-test\n\n[profile via-rolesh]\ncredential_process = {} credential-process role\n",
        rolesh_bin()
    ));
    w
}

#[test]
fn the_aws_cli_runs_as_the_role_through_a_credential_process_profile() {
    let moto = Moto::start();
    let w = world(&moto);
    let out = ok(w.aws(&["sts", "get-caller-identity", "--profile", "via-rolesh", "--output", "json"]));
    let id: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(id["Arn"], "arn:aws:sts::123456789012:assumed-role/interop/interop-test", "{out}");
}

#[test]
fn credential_process_prints_version_1_json_and_nothing_else() {
    let moto = Moto::start();
    let w = world(&moto);
    let out = w.rolesh(&["credential-process", "role"]);
    assert_eq!(text(&out.stderr), "");
    let stdout = ok(out);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["Version"], 1);
    for key in ["AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"] {
        assert!(v[key].as_str().is_some_and(|s| !s.is_empty()), "{key} in {stdout}");
    }
    // The second call is served by rolesh's cache: the same session.
    let again: serde_json::Value = serde_json::from_str(&ok(w.rolesh(&["credential-process", "role"]))).unwrap();
    assert_eq!(again["AccessKeyId"], v["AccessKeyId"]);
}

#[test]
fn credential_process_fails_clearly_when_an_mfa_code_cannot_be_asked() {
    let moto = Moto::start();
    let w = world(&moto);
    let cfg = std::fs::read_to_string(w.config_path()).unwrap();
    w.write_config(&format!("{cfg}\n[profile mfa]\nrole_arn = {ROLE}\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/tester\n"));
    // setsid: no controlling terminal, as under an SDK run from a service.
    let out = w.command("setsid").args(["-w", rolesh_bin(), "credential-process", "mfa"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", text(&out.stdout));
    assert!(text(&out.stderr).contains("--mfa-token"), "{}", text(&out.stderr));
}
