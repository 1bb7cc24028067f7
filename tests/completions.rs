//! The committed completion scripts are what the binary prints, and shells loading them
//! complete subcommands and profile names from the config files.
#![cfg(unix)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::TestEnv;
use support::process::{Outcome, run};

const FILES: [(&str, &str); 4] =
    [("bash", "rolesh.bash"), ("zsh", "_rolesh"), ("fish", "rolesh.fish"), ("powershell", "_rolesh.ps1")];
/// Completion makes no STS call; nothing listens on this endpoint.
const NO_STS: &str = "http://127.0.0.1:9";

fn committed(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("completions").join(file)
}

#[track_caller]
fn quiet_ok(out: Outcome) -> String {
    out.assert_ok();
    assert_eq!(out.stderr, "", "{out}");
    out.stdout()
}

#[test]
fn the_committed_completion_scripts_are_current() {
    let env = TestEnv::new(NO_STS);
    for (shell, file) in FILES {
        let printed = quiet_ok(env.run(["completions", shell]));
        if std::env::var_os("ROLESH_BLESS").is_some() {
            std::fs::create_dir_all(committed(file).parent().unwrap()).unwrap();
            std::fs::write(committed(file), &printed).unwrap();
            continue;
        }
        let on_disk = std::fs::read_to_string(committed(file)).unwrap_or_default();
        assert_eq!(
            printed, on_disk,
            "completions/{file} is stale; regenerate with ROLESH_BLESS=1 cargo test --test completions"
        );
    }
}

/// Three profiles across both files.
fn profiles_env() -> TestEnv {
    let env = TestEnv::new(NO_STS);
    env.config("[default]\nregion = x\n[profile dev-admin]\nrole_arn = arn:aws:iam::123456789012:role/a\n");
    env.credentials("[dev-keys]\naws_access_key_id = A\naws_secret_access_key = s\n");
    env
}

/// `shell` with `args`, finding `rolesh` on PATH as the scripts do.
fn shell(env: &TestEnv, shell: &str, args: &[&str]) -> Command {
    let bin = support::rolesh_bin();
    let mut path = bin.parent().unwrap().as_os_str().to_owned();
    path.push(":");
    path.push(env.path_var());
    let mut cmd = env.command_for(shell, args);
    cmd.env("PATH", path).env("XDG_DATA_HOME", env.root().join("data"));
    cmd
}

#[test]
fn bash_completes_profile_names_from_the_config_files() {
    let env = profiles_env();
    let script = format!(
        r#"source {}
COMP_WORDS=(rolesh exec dev); COMP_CWORD=2; COMP_TYPE=9; COMP_LINE="rolesh exec dev"; COMP_POINT=${{#COMP_LINE}}
_clap_complete_rolesh rolesh dev exec
printf '%s\n' "${{COMPREPLY[@]}}""#,
        committed("rolesh.bash").display()
    );
    assert_eq!(quiet_ok(run(shell(&env, "bash", &["--norc", "--noprofile", "-c", &script]))), "dev-admin\ndev-keys\n");
}

#[test]
fn fish_completes_profile_names_from_the_config_files() {
    let env = profiles_env();
    let script = format!("source {}; complete --do-complete 'rolesh export dev'", committed("rolesh.fish").display());
    let out = quiet_ok(run(shell(&env, "fish", &["--no-config", "-c", &script])));
    let names: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(names, ["dev-admin", "dev-keys"]);
}

/// Every subcommand that takes a PROFILE completes it, `use` and `shell` included.
#[test]
fn every_profile_argument_completes_profile_names() {
    let env = profiles_env();
    for sub in ["exec", "export", "credential-process", "save", "whoami", "shell", "use"] {
        let script =
            format!("source {}; complete --do-complete 'rolesh {sub} dev'", committed("rolesh.fish").display());
        let out = quiet_ok(run(shell(&env, "fish", &["--no-config", "-c", &script])));
        let names: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
        assert_eq!(names, ["dev-admin", "dev-keys"], "rolesh {sub}");
    }
}

#[test]
fn fish_completes_subcommands() {
    let env = profiles_env();
    let script = format!("source {}; complete --do-complete 'rolesh cred'", committed("rolesh.fish").display());
    assert!(quiet_ok(run(shell(&env, "fish", &["--no-config", "-c", &script]))).starts_with("credential-process"));
}

/// compsys's `compdef` and `_describe` are stood in for, so the script's own code runs in
/// real zsh without an interactive terminal; `_describe` prints what it would offer.
const ZSH_STANDINS: &str = "compdef() { :; }\n_describe() { print -rl -- \"${(@P)${@[-1]}}\"; }\n";

#[test]
fn zsh_completes_profile_names_from_the_config_files() {
    let env = profiles_env();
    let script = format!(
        "{ZSH_STANDINS}source {}\nwords=(rolesh exec dev); CURRENT=3\n_clap_dynamic_completer_rolesh",
        committed("_rolesh").display()
    );
    assert_eq!(quiet_ok(run(shell(&env, "zsh", &["-f", "-c", &script]))), "dev-admin\ndev-keys\n");
}

#[test]
fn zsh_completes_on_the_first_tab_when_installed_in_fpath() {
    let env = profiles_env();
    let script = format!(
        "{ZSH_STANDINS}fpath=({} $fpath); autoload -Uz _rolesh\nwords=(rolesh export dev-); CURRENT=3\n_rolesh",
        committed("").display()
    );
    assert_eq!(quiet_ok(run(shell(&env, "zsh", &["-f", "-c", &script]))), "dev-admin\ndev-keys\n");
}

/// No pwsh here: the PowerShell script is at least checked to parse, as the export output is.
#[test]
fn the_powershell_completion_script_parses_without_errors() {
    let script = std::fs::read_to_string(committed("_rolesh.ps1")).unwrap();
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_pwsh::LANGUAGE.into()).unwrap();
    let tree = parser.parse(&script, None).unwrap();
    assert!(!tree.root_node().has_error(), "{}", tree.root_node().to_sexp());
    assert!(script.contains("Register-ArgumentCompleter -Native -CommandName rolesh"));
}
