//! `rolesh config add-role` writes a profile the aws CLI reads, and leaves every other byte
//! of the config file alone.

mod interop_support;

use interop_support::{World, ok, text};

const ARN: &str = "arn:aws:iam::123456789012:role/admin";

/// A config file with CRLF endings, a comment, odd spacing and no final newline. (No BOM:
/// botocore cannot read a file that starts with one; see the BOM test below.)
const ODD: &[u8] = b"# team config\r\n[default]\r\nregion=eu-west-1\r\n\r\n[profile   base  ]\r\n  aws_access_key_id : AKIAIOSFODNN7EXAMPLE\r\naws_secret_access_key=s\r\n; trailing comment";

fn world(config: &[u8]) -> World {
    let w = World::new();
    std::fs::create_dir_all(w.home().join(".aws")).unwrap();
    std::fs::write(w.config_path(), config).unwrap();
    w
}

fn get(w: &World, key: &str, profile: &str) -> String {
    ok(w.aws(&["configure", "get", key, "--profile", profile])).trim_end().to_string()
}

#[test]
fn a_new_role_is_appended_and_the_aws_cli_reads_it() {
    let w = world(ODD);
    let out = w.rolesh(&[
        "config",
        "add-role",
        "admin",
        "--role-arn",
        ARN,
        "--source-profile",
        "base",
        "--mfa-serial",
        "arn:aws:iam::123456789012:mfa/me",
        "--duration",
        "2h",
        "--external-id",
        "ext-1",
        "--region",
        "us-west-2",
        "--session-name",
        "me",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = std::fs::read(w.config_path()).unwrap();
    assert!(after.starts_with(ODD));
    assert_eq!(
        String::from_utf8(after[ODD.len()..].to_vec()).unwrap(),
        "\r\n\r\n[profile admin]\r\nrole_arn = arn:aws:iam::123456789012:role/admin\r\nsource_profile = base\r\nmfa_serial = arn:aws:iam::123456789012:mfa/me\r\nduration_seconds = 7200\r\nexternal_id = ext-1\r\nrole_session_name = me\r\nregion = us-west-2\r\n"
    );
    assert_eq!(get(&w, "role_arn", "admin"), ARN);
    assert_eq!(get(&w, "duration_seconds", "admin"), "7200");
    assert_eq!(get(&w, "region", "default"), "eu-west-1");
}

#[test]
fn a_credential_source_role_goes_into_a_new_file() {
    let w = World::new();
    let out = w.rolesh(&["config", "add-role", "ec2", "--role-arn", ARN, "--credential-source", "Ec2InstanceMetadata"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(w.config_path()).unwrap(),
        "[profile ec2]\nrole_arn = arn:aws:iam::123456789012:role/admin\ncredential_source = Ec2InstanceMetadata\n"
    );
    assert_eq!(get(&w, "credential_source", "ec2"), "Ec2InstanceMetadata");
}

#[test]
fn an_existing_profile_is_replaced_only_with_force_and_only_its_section() {
    let before = b"[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/old\nsource_profile = base\n\n# base keys\n[profile base]\naws_access_key_id = A\naws_secret_access_key = s\n";
    let w = world(before);
    let args = ["config", "add-role", "admin", "--role-arn", ARN, "--source-profile", "base"];
    let out = w.rolesh(&args);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("already exists") && text(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read(w.config_path()).unwrap(), before);
    ok(w.rolesh(&[&args[..], &["--force"]].concat()));
    let after = std::fs::read_to_string(w.config_path()).unwrap();
    assert_eq!(
        after,
        "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/admin\nsource_profile = base\n\n# base keys\n[profile base]\naws_access_key_id = A\naws_secret_access_key = s\n"
    );
    assert_eq!(get(&w, "role_arn", "admin"), ARN);
}

#[test]
fn a_bad_arn_or_a_missing_source_is_refused_before_writing() {
    let w = world(ODD);
    let out =
        w.rolesh(&["config", "add-role", "x", "--role-arn", "arn:aws:iam::12:role/x", "--source-profile", "base"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("is not a role ARN"), "{}", text(&out.stderr));
    let out = w.rolesh(&["config", "add-role", "x", "--role-arn", ARN, "--source-profile", "bsae"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("did you mean `base`"), "{}", text(&out.stderr));
    let out = w.rolesh(&["config", "add-role", "x", "--role-arn", ARN, "--credential-source", "Imds"]);
    assert_eq!(out.status.code(), Some(2));
    let out = w.rolesh(&["config", "add-role", "x", "--role-arn", ARN]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(w.config_path()).unwrap(), ODD);
}

#[test]
fn a_bom_is_kept_and_rolesh_still_reads_the_file() {
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), ODD].concat();
    let w = world(&with_bom);
    ok(w.rolesh(&["config", "add-role", "admin", "--role-arn", ARN, "--source-profile", "base"]));
    let after = std::fs::read(w.config_path()).unwrap();
    assert!(after.starts_with(&with_bom));
    assert_eq!(
        String::from_utf8(after[with_bom.len()..].to_vec()).unwrap(),
        "\r\n\r\n[profile admin]\r\nrole_arn = arn:aws:iam::123456789012:role/admin\r\nsource_profile = base\r\n"
    );
    let list: serde_json::Value = serde_json::from_str(&ok(w.rolesh(&["list", "--json"]))).unwrap();
    let admin = list.as_array().unwrap().iter().find(|p| p["name"] == "admin").expect("admin listed");
    assert_eq!(admin["role_arn"], ARN);
}

#[test]
fn concurrent_additions_all_land_because_each_edit_holds_the_lock() {
    let w = world(ODD);
    let children: Vec<_> = (0..8)
        .map(|i| {
            w.command(interop_support::rolesh_bin())
                .args(["config", "add-role", &format!("r{i}"), "--role-arn", ARN, "--credential-source", "Environment"])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let after = String::from_utf8(std::fs::read(w.config_path()).unwrap()).unwrap();
    for i in 0..8 {
        assert_eq!(after.matches(&format!("[profile r{i}]\r\n")).count(), 1, "{after}");
    }
    assert!(after.as_bytes().starts_with(ODD));
}
