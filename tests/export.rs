//! `rolesh export` read back by the programs that consume each format.

mod interop_support;

use interop_support::{World, ok, snapshot, text};

const SECRET: &str = "wJalr'X \"q\" $HOME `id` \\n\\\\ tab\there\nsecond line ünï ‘☃’ *";
const TOKEN: &str = "FwoGZXIvYXdzEJr//////////wEaDP+token=";
const PROFILE: &str = "it's $HOME";
const REGION: &str = "eu-west-1 'x' \"y\" $z";

/// A profile whose credential_process hands back a session with awkward values, so export
/// needs no STS call; its name and region are awkward too.
fn world_with(secret: &str, region: &str) -> World {
    let w = World::new();
    let json = serde_json::json!({
        "Version": 1,
        "AccessKeyId": "ASIAEXPORTTEST",
        "SecretAccessKey": secret,
        "SessionToken": TOKEN,
        "Expiration": "2099-01-02T03:04:05Z",
    });
    let creds = w.home().join("creds.json");
    std::fs::write(&creds, json.to_string()).unwrap();
    w.write_config(&format!(
        "[profile \"{PROFILE}\"]\ncredential_process = cat {}\nregion = {region}\n[profile plain]\ncredential_process = cat {}\nregion = eu-west-1\n",
        creds.display(),
        creds.display()
    ));
    w
}

fn awkward() -> World {
    world_with(SECRET, REGION)
}

/// What a shell script prints back: each value then NUL, and `unset` for AWS_PROFILE.
fn expected() -> String {
    format!("{SECRET}\0{TOKEN}\0{PROFILE}\0{REGION}\0{REGION}\0ASIAEXPORTTEST\0unset\0")
}

fn run_posix(shell: &str, args: &[&str]) {
    let w = awkward();
    let script = r#"eval "$("$ROLESH" export "$P" --format sh)" || exit 9
printf '%s\0' "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$ROLESH_PROFILE" "$AWS_REGION" "$AWS_DEFAULT_REGION" "$AWS_ACCESS_KEY_ID"
if [ -z "${AWS_PROFILE+x}" ]; then printf 'unset\0'; fi"#;
    let out = w
        .command(shell)
        .args(args)
        .arg(script)
        .env("ROLESH", interop_support::rolesh_bin())
        .env("P", PROFILE)
        .env("AWS_PROFILE", "stale")
        .output()
        .unwrap();
    assert_eq!(text(&out.stderr), "", "{shell} wrote to stderr");
    assert_eq!(ok(out), expected(), "{shell}");
}

#[test]
fn dash_evaluates_sh_output_to_the_exact_values() {
    run_posix(if std::path::Path::new("/usr/bin/dash").exists() { "dash" } else { "sh" }, &["-euc"]);
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
    let w = awkward();
    let script = r#"$ROLESH export $P --format fish | source; or exit 9
printf '%s\0' $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN $ROLESH_PROFILE $AWS_REGION $AWS_DEFAULT_REGION $AWS_ACCESS_KEY_ID
set -q AWS_PROFILE; or printf 'unset\0'"#;
    let out = w
        .command("fish")
        .args(["--no-config", "-c", script])
        .env("ROLESH", interop_support::rolesh_bin())
        .env("P", PROFILE)
        .env("AWS_PROFILE", "stale")
        .env("XDG_CONFIG_HOME", w.home().join("xdg-config"))
        .env("XDG_DATA_HOME", w.home().join("xdg-data"))
        .output()
        .unwrap();
    assert_eq!(text(&out.stderr), "");
    assert_eq!(ok(out), expected());
}

#[test]
fn the_default_format_under_fish_is_fish() {
    let w = awkward();
    let out = w.command(interop_support::rolesh_bin()).args(["export", "plain"]).env("SHELL", "/usr/bin/fish").output();
    assert!(ok(out.unwrap()).starts_with("set -gx AWS_ACCESS_KEY_ID 'ASIAEXPORTTEST'\n"));
    let out = w.command(interop_support::rolesh_bin()).args(["export", "plain"]).env("SHELL", "/bin/bash").output();
    assert!(ok(out.unwrap()).starts_with("export AWS_ACCESS_KEY_ID='ASIAEXPORTTEST'\n"));
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
    let w = awkward();
    let out = ok(w.rolesh(&["export", PROFILE, "--format", "powershell"]));
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
    let w = world_with("wJalr&X|y<z>^!(a) it's/+=", "eu-west-1");
    let out = ok(w.rolesh(&["export", "plain", "--format", "cmd"]));
    assert!(out.split_inclusive('\n').all(|l| l.starts_with("set \"") && l.ends_with("\"\r\n")), "{out:?}");
    snapshot("export.cmd.txt", &masked(&out));
}

#[test]
fn cmd_output_refuses_values_cmd_cannot_carry() {
    for secret in ["50%off", "say \"hi\"", "two\nlines"] {
        let w = world_with(secret, "eu-west-1");
        let out = w.rolesh(&["export", "plain", "--format", "cmd"]);
        assert_eq!(out.status.code(), Some(2), "{secret:?}");
        assert!(out.stdout.is_empty());
        assert!(text(&out.stderr).contains("AWS_SECRET_ACCESS_KEY holds"), "{}", text(&out.stderr));
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
    let w = world_with(secret, "eu-west-1");
    let out = ok(w.rolesh(&["export", "plain", "--format", "dotenv"]));
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
    let out = awkward().rolesh(&["export", PROFILE, "--format", "dotenv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("line break"), "{}", text(&out.stderr));
}

#[test]
fn json_output_holds_the_session_and_region() {
    let out = ok(awkward().rolesh(&["export", PROFILE, "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["AccessKeyId"], "ASIAEXPORTTEST");
    assert_eq!(v["SecretAccessKey"], SECRET);
    assert_eq!(v["SessionToken"], TOKEN);
    assert_eq!(v["Expiration"], "2099-01-02T03:04:05Z");
    assert_eq!(v["Region"], REGION);
}
