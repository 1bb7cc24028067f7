//! `rolesh save` edits the shared credentials file so the aws CLI reads the session, and
//! leaves every other byte alone.

mod interop_support;

use interop_support::{Moto, World, ok, text};

const ROLE: &str = "arn:aws:iam::123456789012:role/saver";

/// A credentials file with CRLF endings, comments, odd spacing and no final newline. (No
/// BOM: botocore cannot read a file that starts with one; see the BOM test below.)
const ODD: &[u8] = b"# my keys\r\n[base]\r\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\r\naws_secret_access_key :   base-secret\r\n\r\n; keep me\r\n[other]   \r\nregion = x";

fn world(moto: &Moto, creds: &[u8]) -> World {
    let w = World::with_moto(moto);
    w.write_config(&format!("[profile role]\nrole_arn = {ROLE}\nsource_profile = base\nrole_session_name = saved\n"));
    w.write_credentials(creds);
    w
}

fn configure_get(w: &World, key: &str, profile: &str) -> String {
    ok(w.aws(&["configure", "get", key, "--profile", profile])).trim_end().to_string()
}

#[test]
fn a_saved_session_is_appended_and_the_aws_cli_uses_it() {
    let moto = Moto::start();
    let w = world(&moto, ODD);
    let out = w.rolesh(&["save", "role"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let after = std::fs::read(w.credentials_path()).unwrap();
    // The old file is untouched: a line break ends its last line, a blank line follows.
    assert!(after.starts_with(ODD));
    let added = String::from_utf8(after[ODD.len()..].to_vec()).unwrap();
    assert!(added.starts_with("\r\n\r\n[role-session]\r\n# temporary credentials from `rolesh save role`, expire "));
    assert!(added.ends_with("\r\n") && !added.replace("\r\n", "").contains('\n'), "CRLF kept: {added:?}");
    // The cached session, as export shows it, is what the aws CLI reads back.
    let session: serde_json::Value = serde_json::from_str(&ok(w.rolesh(&["export", "role", "-f", "json"]))).unwrap();
    assert_eq!(configure_get(&w, "aws_session_token", "role-session"), session["SessionToken"].as_str().unwrap());
    assert_eq!(configure_get(&w, "aws_access_key_id", "role-session"), session["AccessKeyId"].as_str().unwrap());
    let id =
        ok(w.aws(&["sts", "get-caller-identity", "--profile", "role-session", "--query", "Arn", "--output", "text"]));
    assert_eq!(id.trim(), "arn:aws:sts::123456789012:assumed-role/saver/saved");
}

#[test]
fn saving_again_replaces_only_that_section() {
    let moto = Moto::start();
    let before: &[u8] = b"[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = base-secret\n\n# the session\n[s]\naws_access_key_id = OLD\naws_session_token = OLD\n  x\n\n# after\n[z]\nk=v";
    let w = world(&moto, before);
    ok(w.rolesh(&["save", "role", "--as", "s"]));
    let after = String::from_utf8(std::fs::read(w.credentials_path()).unwrap()).unwrap();
    let head =
        "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = base-secret\n\n# the session\n[s]\n";
    assert!(after.starts_with(head), "{after}");
    assert!(after.ends_with("\n\n# after\n[z]\nk=v"), "{after}");
    assert!(!after.contains("OLD"));
    // The cached session, as export shows it, is what was saved.
    let session: serde_json::Value = serde_json::from_str(&ok(w.rolesh(&["export", "role", "-f", "json"]))).unwrap();
    assert_eq!(configure_get(&w, "aws_access_key_id", "s"), session["AccessKeyId"].as_str().unwrap());
}

#[test]
fn long_term_keys_are_not_overwritten_without_force() {
    let moto = Moto::start();
    let w = world(&moto, ODD);
    let out = w.rolesh(&["save", "role", "--as", "base"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("holds long-term keys"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(w.credentials_path()).unwrap(), ODD);
    ok(w.rolesh(&["save", "role", "--as", "base", "--force"]));
    assert!(configure_get(&w, "aws_session_token", "base").len() > 20);
}

#[test]
fn a_bom_is_kept_when_saving() {
    let moto = Moto::start();
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), ODD].concat();
    let w = world(&moto, &with_bom);
    ok(w.rolesh(&["save", "role"]));
    let after = std::fs::read(w.credentials_path()).unwrap();
    assert!(after.starts_with(&with_bom));
    assert!(after[with_bom.len()..].starts_with(b"\r\n\r\n[role-session]\r\n# temporary credentials"));
    // Saving again finds the section after the BOM and replaces it in place.
    ok(w.rolesh(&["save", "role", "--no-cache"]));
    let again = std::fs::read(w.credentials_path()).unwrap();
    assert!(again.starts_with(&with_bom));
    assert_eq!(again.windows(14).filter(|w| w == b"[role-session]").count(), 1);
}

#[cfg(unix)]
#[test]
fn a_new_file_is_0600_in_a_new_0700_directory_and_an_old_one_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let moto = Moto::start();
    let w = World::with_moto(&moto);
    w.write_config(&format!("[profile role]\nrole_arn = {ROLE}\nsource_profile = base\n"));
    let creds = w.home().join("new").join("creds");
    let old = w.home().join(".aws").join("credentials");
    std::fs::write(&old, "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s\n").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o640)).unwrap();
    ok(w.rolesh(&["save", "role"]));
    assert_eq!(std::fs::metadata(&old).unwrap().permissions().mode() & 0o777, 0o640);
    // A new file in a new directory: the base keys come from the config file this time.
    w.write_config(&format!(
        "[profile base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s\n[profile role]\nrole_arn = {ROLE}\nsource_profile = base\n"
    ));
    let out = w
        .command(interop_support::rolesh_bin())
        .args(["save", "role"])
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .output()
        .unwrap();
    ok(out);
    assert_eq!(std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(creds.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
}
