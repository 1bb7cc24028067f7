//! `rolesh export` read back by the programs that consume each format.
#![cfg(unix)]

mod support;

use std::path::Path;

use support::TestEnv;
use support::process::{Outcome, run};

const SECRET: &str = "wJalr'X \"q\" $HOME `id` \\n\\\\ tab\there\nsecond line ünï ‘☃’ *";
const TOKEN: &str = "FwoGZXIvYXdzEJr//////////wEaDP+token=";
const PROFILE: &str = "it's $HOME";
/// A region must be a region name (rolesh refuses anything else, as botocore does): the
/// awkward bytes travel in the secret and the profile name.
const REGION: &str = "eu-central-1";
/// Export makes no STS call here; nothing listens on this endpoint.
const NO_STS: &str = "http://127.0.0.1:9";

/// A profile whose credential_process hands back a session with awkward values, so export
/// needs no STS call; its name is awkward too.
fn env_with(secret: &str, region: &str) -> TestEnv {
    let env = TestEnv::new(NO_STS);
    let json = serde_json::json!({
        "Version": 1,
        "AccessKeyId": "ASIAEXPORTTEST",
        "SecretAccessKey": secret,
        "SessionToken": TOKEN,
        "Expiration": "2099-01-02T03:04:05Z",
    });
    let creds = env.root().join("creds.json");
    std::fs::write(&creds, json.to_string()).unwrap();
    let process = format!("credential_process = cat {}", creds.display());
    let config = format!(
        "[profile \"{PROFILE}\"]\n{process}\nregion = {region}\n[profile plain]\n{process}\nregion = eu-west-1\n"
    );
    std::fs::write(env.config_path(), config).unwrap();
    env
}

fn awkward() -> TestEnv {
    env_with(SECRET, REGION)
}

/// stdout of a run that succeeded with nothing on stderr.
#[track_caller]
fn quiet_ok(out: Outcome) -> String {
    out.assert_ok();
    assert_eq!(out.stderr, "", "{out}");
    out.stdout()
}

/// What a shell script prints back: each value then NUL, and `unset` for AWS_PROFILE.
fn expected() -> String {
    format!("{SECRET}\0{TOKEN}\0{PROFILE}\0{REGION}\0{REGION}\0ASIAEXPORTTEST\0unset\0")
}

fn run_posix(shell: &str, args: &[&str]) {
    let env = awkward();
    let script = r#"eval "$("$ROLESH" export "$P" --format sh)" || exit 9
printf '%s\0' "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$ROLESH_PROFILE" "$AWS_REGION" "$AWS_DEFAULT_REGION" "$AWS_ACCESS_KEY_ID"
if [ -z "${AWS_PROFILE+x}" ]; then printf 'unset\0'; fi"#;
    let mut cmd = env.command_for(shell, args);
    cmd.arg(script).env("ROLESH", support::rolesh_bin()).env("P", PROFILE).env("AWS_PROFILE", "stale");
    assert_eq!(quiet_ok(run(cmd)), expected(), "{shell}");
}

#[test]
fn dash_evaluates_sh_output_to_the_exact_values() {
    run_posix(if Path::new("/usr/bin/dash").exists() { "dash" } else { "sh" }, &["-euc"]);
}

#[test]
fn bash_evaluates_sh_output_to_the_exact_values() {
    run_posix("bash", &["--norc", "--noprofile", "-euo", "pipefail", "-c"]);
}

#[test]
fn zsh_evaluates_sh_output_to_the_exact_values() {
    run_posix("zsh", &["-f", "-euc"]);
}

#[test]
fn fish_sources_fish_output_to_the_exact_values() {
    let env = awkward();
    let script = r#"$ROLESH export $P --format fish | source; or exit 9
printf '%s\0' $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN $ROLESH_PROFILE $AWS_REGION $AWS_DEFAULT_REGION $AWS_ACCESS_KEY_ID
set -q AWS_PROFILE; or printf 'unset\0'"#;
    let mut cmd = env.command_for("fish", ["--no-config", "-c", script]);
    cmd.env("ROLESH", support::rolesh_bin())
        .env("P", PROFILE)
        .env("AWS_PROFILE", "stale")
        .env("XDG_DATA_HOME", env.root().join("data"));
    assert_eq!(quiet_ok(run(cmd)), expected());
}

#[test]
fn without_a_format_bash_gets_sh_even_when_the_login_shell_is_fish() {
    let env = awkward();
    let script = r#"eval "$("$ROLESH" export "$P")"; printf '%s\0' "$AWS_SECRET_ACCESS_KEY""#;
    let mut cmd = env.command_for("bash", ["--norc", "--noprofile", "-euc", script]);
    cmd.env("ROLESH", support::rolesh_bin()).env("P", PROFILE).env("SHELL", "/usr/bin/fish");
    assert_eq!(quiet_ok(run(cmd)), format!("{SECRET}\0"));
}

#[test]
fn without_a_format_fish_gets_fish_even_when_the_login_shell_is_bash() {
    let env = awkward();
    let script = r#"$ROLESH export $P | source; or exit 9; printf '%s\0' $AWS_SECRET_ACCESS_KEY"#;
    let mut cmd = env.command_for("fish", ["--no-config", "-c", script]);
    cmd.env("ROLESH", support::rolesh_bin())
        .env("P", PROFILE)
        .env("SHELL", "/bin/bash")
        .env("XDG_DATA_HOME", env.root().join("data"));
    assert_eq!(quiet_ok(run(cmd)), format!("{SECRET}\0"));
}

#[test]
fn without_a_format_or_a_shell_parent_the_login_shell_decides() {
    let env = awkward();
    let mut cmd = env.command(["export", "plain"]);
    cmd.env("SHELL", "/usr/bin/fish");
    assert!(quiet_ok(run(cmd)).starts_with("set -gx AWS_ACCESS_KEY_ID 'ASIAEXPORTTEST'\n"));
    let mut cmd = env.command(["export", "plain"]);
    cmd.env("SHELL", "/bin/bash");
    assert!(quiet_ok(run(cmd)).starts_with("export AWS_ACCESS_KEY_ID='ASIAEXPORTTEST'\n"));
}

/// Compares `actual` with the committed file `tests/snapshots/NAME`; `ROLESH_BLESS=1`
/// rewrites the file instead.
fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("snapshots").join(name);
    if std::env::var_os("ROLESH_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run ROLESH_BLESS=1 cargo test --test export", path.display()));
    assert_eq!(actual, expected, "{} is stale; check the diff, then ROLESH_BLESS=1 cargo test", path.display());
}

/// ROLESH_SESSION is new on every run; everything else is fixed by the profile.
fn masked(output: &str) -> String {
    output
        .split_inclusive('\n')
        .map(|l| match l.find("ROLESH_SESSION") {
            Some(i) => format!("{}ROLESH_SESSION <id>{}", &l[..i], if l.ends_with("\r\n") { "\r\n" } else { "\n" }),
            None => l.to_string(),
        })
        .collect()
}

#[test]
fn powershell_output_matches_its_snapshot_and_parses_without_errors() {
    let out = quiet_ok(awkward().run(["export", PROFILE, "--format", "powershell"]));
    snapshot("export.powershell.txt", &masked(&out));
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_pwsh::LANGUAGE.into()).unwrap();
    let tree = parser.parse(&out, None).unwrap();
    assert!(!tree.root_node().has_error(), "PowerShell parse errors in:\n{out}\n{}", tree.root_node().to_sexp());
    // Nine assignments and the three removals, each its own statement.
    let sexp = tree.root_node().to_sexp();
    assert_eq!(sexp.matches("(assignment_expression").count(), 9, "{sexp}");
}

#[test]
fn cmd_output_matches_its_snapshot() {
    let env = env_with("wJalr&X|y<z>^!(a) it's/+=", "eu-west-1");
    let out = quiet_ok(env.run(["export", "plain", "--format", "cmd"]));
    assert!(out.split_inclusive('\n').all(|l| l.starts_with("set \"") && l.ends_with("\"\r\n")), "{out:?}");
    snapshot("export.cmd.txt", &masked(&out));
}

#[test]
fn cmd_output_refuses_values_cmd_cannot_carry() {
    for secret in ["50%off", "say \"hi\"", "two\nlines"] {
        let out = env_with(secret, "eu-west-1").run(["export", "plain", "--format", "cmd"]);
        out.assert_error(2);
        assert!(out.stdout.is_empty(), "{out}");
        assert!(out.error_line().contains("AWS_SECRET_ACCESS_KEY holds"), "{out}");
    }
}

/// docker's env-file rule: skip blank and `#` lines, split at the first `=`, take the rest
/// of the line literally.
fn read_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("every line has =");
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn a_dotenv_file_reads_back_to_the_session_values() {
    let secret = "wJalr'X\"q\"/+= a#b ünï \\";
    let out = quiet_ok(env_with(secret, "eu-west-1").run(["export", "plain", "--format", "dotenv"]));
    let vars = read_env_file(&out);
    let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("AWS_SECRET_ACCESS_KEY"), Some(secret));
    assert_eq!(get("AWS_SESSION_TOKEN"), Some(TOKEN));
    assert_eq!(get("AWS_REGION"), Some("eu-west-1"));
    assert_eq!(get("AWS_CREDENTIAL_EXPIRATION"), Some("2099-01-02T03:04:05Z"));
    assert_eq!(get("AWS_PROFILE"), None, "a removal has no dotenv form");
}

#[test]
fn a_dotenv_file_refuses_a_value_with_a_line_break() {
    let out = awkward().run(["export", PROFILE, "--format", "dotenv"]);
    out.assert_error(2);
    assert!(out.stdout.is_empty());
    assert!(out.error_line().contains("line break"), "{out}");
}

#[test]
fn json_output_holds_the_session_and_region() {
    let out = quiet_ok(awkward().run(["export", PROFILE, "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["AccessKeyId"], "ASIAEXPORTTEST");
    assert_eq!(v["SecretAccessKey"], SECRET);
    assert_eq!(v["SessionToken"], TOKEN);
    assert_eq!(v["Expiration"], "2099-01-02T03:04:05Z");
    assert_eq!(v["Region"], REGION);
}
