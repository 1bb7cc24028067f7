//! `rolesh save` edits the shared credentials file so the aws CLI reads the session, and
//! leaves every other byte alone.
#![cfg(unix)]

mod support;

use std::os::unix::fs::PermissionsExt;

use support::TestEnv;
use support::process::run;

const ROLE: &str = "arn:aws:iam::123456789012:role/saver";

/// A credentials file with CRLF endings, comments, odd spacing and no final newline. (No
/// BOM: botocore cannot read a file that starts with one; see the BOM test below.)
const ODD: &[u8] = b"# my keys\r\n[base]\r\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\r\naws_secret_access_key :   base-secret\r\n\r\n; keep me\r\n[other]   \r\nregion = x";

fn moto_env(creds: &[u8]) -> TestEnv {
    let mut env = TestEnv::moto();
    // aws CLI v1 reads the region only from AWS_DEFAULT_REGION.
    env.set("AWS_DEFAULT_REGION", "us-east-1");
    env.config(&format!("[profile role]\nrole_arn = {ROLE}\nsource_profile = base\nrole_session_name = saved\n"));
    std::fs::write(env.credentials_path(), creds).unwrap();
    env
}

fn aws(env: &TestEnv, args: &[&str]) -> String {
    let out = run(env.command_for("aws", args));
    out.assert_ok();
    out.stdout().trim_end().to_string()
}

fn configure_get(env: &TestEnv, key: &str, profile: &str) -> String {
    aws(env, &["configure", "get", key, "--profile", profile])
}

/// The cached session, as `export --format json` shows it.
fn cached_session(env: &TestEnv) -> serde_json::Value {
    serde_json::from_slice(&env.run(["export", "role", "-f", "json"]).assert_ok().stdout).unwrap()
}

#[test]
fn a_saved_session_is_appended_and_the_aws_cli_uses_it() {
    let env = moto_env(ODD);
    let out = env.run(["save", "role"]);
    out.assert_ok();
    assert!(out.stdout.is_empty(), "{out}");
    let after = std::fs::read(env.credentials_path()).unwrap();
    // The old file is untouched: a line break ends its last line, a blank line follows.
    assert!(after.starts_with(ODD));
    let added = String::from_utf8(after[ODD.len()..].to_vec()).unwrap();
    assert!(added.starts_with("\r\n\r\n[role-session]\r\n# temporary credentials from `rolesh save role`, expire "));
    assert!(added.ends_with("\r\n") && !added.replace("\r\n", "").contains('\n'), "CRLF kept: {added:?}");
    let session = cached_session(&env);
    assert_eq!(configure_get(&env, "aws_session_token", "role-session"), session["SessionToken"].as_str().unwrap());
    assert_eq!(configure_get(&env, "aws_access_key_id", "role-session"), session["AccessKeyId"].as_str().unwrap());
    let arn =
        aws(&env, &["sts", "get-caller-identity", "--profile", "role-session", "--query", "Arn", "--output", "text"]);
    assert_eq!(arn, "arn:aws:sts::123456789012:assumed-role/saver/saved");
}

#[test]
fn saving_again_replaces_only_that_section() {
    let before: &[u8] = b"[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = base-secret\n\n# the session\n[s]\naws_access_key_id = OLD\naws_session_token = OLD\n  x\n\n# after\n[z]\nk=v";
    let env = moto_env(before);
    env.run(["save", "role", "--as", "s"]).assert_ok();
    let after = String::from_utf8(std::fs::read(env.credentials_path()).unwrap()).unwrap();
    let head =
        "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = base-secret\n\n# the session\n[s]\n";
    assert!(after.starts_with(head), "{after}");
    assert!(after.ends_with("\n\n# after\n[z]\nk=v"), "{after}");
    assert!(!after.contains("OLD"));
    assert_eq!(configure_get(&env, "aws_access_key_id", "s"), cached_session(&env)["AccessKeyId"].as_str().unwrap());
}

#[test]
fn long_term_keys_are_not_overwritten_without_force() {
    let env = moto_env(ODD);
    let out = env.run(["save", "role", "--as", "base"]);
    out.assert_error(3);
    assert!(out.error_line().contains("holds long-term keys"), "{out}");
    assert_eq!(std::fs::read(env.credentials_path()).unwrap(), ODD);
    // Read before saving: once `base` holds the session, `role` resolves to another chain.
    let session = cached_session(&env);
    env.run(["save", "role", "--as", "base", "--force"]).assert_ok();
    assert_eq!(configure_get(&env, "aws_session_token", "base"), session["SessionToken"].as_str().unwrap());
}

#[test]
fn a_bom_is_kept_when_saving() {
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), ODD].concat();
    let env = moto_env(&with_bom);
    env.run(["save", "role"]).assert_ok();
    let after = std::fs::read(env.credentials_path()).unwrap();
    assert!(after.starts_with(&with_bom));
    assert!(after[with_bom.len()..].starts_with(b"\r\n\r\n[role-session]\r\n# temporary credentials"));
    // Saving again finds the section after the BOM and replaces it in place.
    env.run(["save", "role", "--no-cache"]).assert_ok();
    let again = std::fs::read(env.credentials_path()).unwrap();
    assert!(again.starts_with(&with_bom));
    assert_eq!(again.windows(14).filter(|w| w == b"[role-session]").count(), 1);
}

#[test]
fn a_new_file_is_0600_in_a_new_0700_directory_and_an_old_one_others_can_read_is_closed_with_a_warning() {
    let env = moto_env(b"[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s\n");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // A private file keeps its mode and nothing is said.
    std::fs::set_permissions(env.credentials_path(), std::fs::Permissions::from_mode(0o400)).unwrap();
    let out = env.run(["save", "role"]);
    out.assert_ok();
    assert_eq!(mode(&env.credentials_path()), 0o400);
    assert!(!out.stderr.contains("warning"), "{out}");
    // One others can read would hand them the session token.
    std::fs::set_permissions(env.credentials_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(["save", "role"]);
    out.assert_ok();
    assert_eq!(mode(&env.credentials_path()), 0o600);
    let warning = out.stderr.lines().find(|l| l.starts_with("rolesh: warning: ")).unwrap_or_default();
    assert!(warning.contains("was readable by other users (mode 0644)") && warning.ends_with("made it 0600"), "{out}");
    // A new file in a new directory; the base keys come from the config file this time.
    env.config(&format!(
        "[profile base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s\n[profile role]\nrole_arn = {ROLE}\nsource_profile = base\n"
    ));
    let creds = env.root().join("new").join("creds");
    let mut cmd = env.command(["save", "role"]);
    cmd.env("AWS_SHARED_CREDENTIALS_FILE", &creds);
    run(cmd).assert_ok();
    assert_eq!(mode(&creds), 0o600);
    assert_eq!(mode(creds.parent().unwrap()), 0o700);
}
