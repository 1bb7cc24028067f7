//! `rolesh config add-role` writes a profile the aws CLI reads, and leaves every other byte
//! of the config file alone.
#![cfg(unix)]

mod support;

use support::TestEnv;
use support::process::run;

const ARN: &str = "arn:aws:iam::123456789012:role/admin";
/// add-role makes no STS call; nothing listens on this endpoint.
const NO_STS: &str = "http://127.0.0.1:9";

/// A config file with CRLF endings, a comment, odd spacing and no final newline. (No BOM:
/// botocore cannot read a file that starts with one; see the BOM test below.)
const ODD: &[u8] = b"# team config\r\n[default]\r\nregion=eu-west-1\r\n\r\n[profile   base  ]\r\n  aws_access_key_id : AKIAIOSFODNN7EXAMPLE\r\naws_secret_access_key=s\r\n; trailing comment";

fn env_with(config: &[u8]) -> TestEnv {
    let env = TestEnv::new(NO_STS);
    std::fs::write(env.config_path(), config).unwrap();
    env
}

fn get(env: &TestEnv, key: &str, profile: &str) -> String {
    let out = run(env.command_for("aws", ["configure", "get", key, "--profile", profile]));
    out.assert_ok();
    out.stdout().trim_end().to_string()
}

fn config_bytes(env: &TestEnv) -> Vec<u8> {
    std::fs::read(env.config_path()).unwrap()
}

#[test]
fn a_new_role_is_appended_and_the_aws_cli_reads_it() {
    let env = env_with(ODD);
    env.run([
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
    ])
    .assert_ok();
    let after = config_bytes(&env);
    assert!(after.starts_with(ODD));
    assert_eq!(
        String::from_utf8(after[ODD.len()..].to_vec()).unwrap(),
        "\r\n\r\n[profile admin]\r\nrole_arn = arn:aws:iam::123456789012:role/admin\r\nsource_profile = base\r\nmfa_serial = arn:aws:iam::123456789012:mfa/me\r\nduration_seconds = 7200\r\nexternal_id = ext-1\r\nrole_session_name = me\r\nregion = us-west-2\r\n"
    );
    assert_eq!(get(&env, "role_arn", "admin"), ARN);
    assert_eq!(get(&env, "duration_seconds", "admin"), "7200");
    assert_eq!(get(&env, "region", "default"), "eu-west-1");
}

#[test]
fn a_credential_source_role_goes_into_a_new_file() {
    let env = TestEnv::new(NO_STS);
    std::fs::remove_file(env.config_path()).unwrap();
    env.run(["config", "add-role", "ec2", "--role-arn", ARN, "--credential-source", "Ec2InstanceMetadata"]).assert_ok();
    assert_eq!(
        std::fs::read_to_string(env.config_path()).unwrap(),
        "[profile ec2]\nrole_arn = arn:aws:iam::123456789012:role/admin\ncredential_source = Ec2InstanceMetadata\n"
    );
    assert_eq!(get(&env, "credential_source", "ec2"), "Ec2InstanceMetadata");
}

#[test]
fn an_existing_profile_is_replaced_only_with_force_and_only_its_section() {
    let before = b"[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/old\nsource_profile = base\n\n# base keys\n[profile base]\naws_access_key_id = A\naws_secret_access_key = s\n";
    let env = env_with(before);
    let args = ["config", "add-role", "admin", "--role-arn", ARN, "--source-profile", "base"];
    let out = env.run(args);
    out.assert_error(3);
    assert!(out.error_line().contains("already exists") && out.error_line().contains("--force"), "{out}");
    assert_eq!(config_bytes(&env), before);
    env.run([&args[..], &["--force"]].concat()).assert_ok();
    assert_eq!(
        String::from_utf8(config_bytes(&env)).unwrap(),
        "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/admin\nsource_profile = base\n\n# base keys\n[profile base]\naws_access_key_id = A\naws_secret_access_key = s\n"
    );
    assert_eq!(get(&env, "role_arn", "admin"), ARN);
}

#[test]
fn a_bad_arn_or_a_missing_source_is_refused_before_writing() {
    let env = env_with(ODD);
    let out = env.run(["config", "add-role", "x", "--role-arn", "arn:aws:iam::12:role/x", "--source-profile", "base"]);
    out.assert_error(3);
    assert!(out.error_line().contains("is not a role ARN"), "{out}");
    let out = env.run(["config", "add-role", "x", "--role-arn", ARN, "--source-profile", "bsae"]);
    out.assert_error(3);
    assert!(out.error_line().contains("did you mean `base`"), "{out}");
    env.run(["config", "add-role", "x", "--role-arn", ARN, "--credential-source", "Imds"]).assert_code(2);
    env.run(["config", "add-role", "x", "--role-arn", ARN]).assert_code(2);
    assert_eq!(config_bytes(&env), ODD);
}

#[test]
fn a_bom_is_kept_and_rolesh_still_reads_the_file() {
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), ODD].concat();
    let env = env_with(&with_bom);
    env.run(["config", "add-role", "admin", "--role-arn", ARN, "--source-profile", "base"]).assert_ok();
    let after = config_bytes(&env);
    assert!(after.starts_with(&with_bom));
    assert_eq!(
        String::from_utf8(after[with_bom.len()..].to_vec()).unwrap(),
        "\r\n\r\n[profile admin]\r\nrole_arn = arn:aws:iam::123456789012:role/admin\r\nsource_profile = base\r\n"
    );
    let list: serde_json::Value = serde_json::from_slice(&env.run(["list", "--json"]).assert_ok().stdout).unwrap();
    let admin = list.as_array().unwrap().iter().find(|p| p["name"] == "admin").expect("admin listed");
    assert_eq!(admin["role_arn"], ARN);
}

#[test]
fn concurrent_additions_all_land_because_each_edit_holds_the_lock() {
    let env = env_with(ODD);
    let children: Vec<_> = (0..8)
        .map(|i| {
            let name = format!("r{i}");
            env.command(["config", "add-role", &name, "--role-arn", ARN, "--credential-source", "Environment"])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let after = String::from_utf8(config_bytes(&env)).unwrap();
    for i in 0..8 {
        assert_eq!(after.matches(&format!("[profile r{i}]\r\n")).count(), 1, "{after}");
    }
    assert!(after.as_bytes().starts_with(ODD));
}
