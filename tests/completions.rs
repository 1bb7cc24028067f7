//! The committed completion scripts are what the binary prints, and shells loading them
//! complete subcommands and profile names from the config files.

mod interop_support;

use std::path::{Path, PathBuf};

use interop_support::{World, ok, rolesh_bin, text};

const FILES: [(&str, &str); 4] =
    [("bash", "rolesh.bash"), ("zsh", "_rolesh"), ("fish", "rolesh.fish"), ("powershell", "_rolesh.ps1")];

fn committed(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("completions").join(file)
}

#[test]
fn the_committed_completion_scripts_are_current() {
    let w = World::new();
    for (shell, file) in FILES {
        let printed = ok(w.rolesh(&["completions", shell]));
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

/// A world with three profiles and `rolesh` first on PATH, as the scripts call it by name.
fn world() -> (World, String) {
    let w = World::new();
    w.write_config("[default]\nregion = x\n[profile dev-admin]\nrole_arn = arn:aws:iam::123456789012:role/a\n");
    w.write_credentials(b"[dev-keys]\naws_access_key_id = A\naws_secret_access_key = s\n");
    let bin_dir = Path::new(rolesh_bin()).parent().unwrap().display().to_string();
    let path = format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default());
    (w, path)
}

#[test]
fn bash_completes_profile_names_from_the_config_files() {
    let (w, path) = world();
    let script = format!(
        r#"source {}
COMP_WORDS=(rolesh exec dev); COMP_CWORD=2; COMP_TYPE=9; COMP_LINE="rolesh exec dev"; COMP_POINT=${{#COMP_LINE}}
_clap_complete_rolesh rolesh dev exec
printf '%s\n' "${{COMPREPLY[@]}}""#,
        committed("rolesh.bash").display()
    );
    let out = w.command("bash").args(["--norc", "--noprofile", "-c", &script]).env("PATH", path).output().unwrap();
    assert_eq!(text(&out.stderr), "");
    assert_eq!(ok(out), "dev-admin\ndev-keys\n");
}

#[test]
fn fish_completes_profile_names_from_the_config_files() {
    let (w, path) = world();
    let script = format!("source {}; complete --do-complete 'rolesh export dev'", committed("rolesh.fish").display());
    let out = w
        .command("fish")
        .args(["--no-config", "-c", &script])
        .env("PATH", path)
        .env("XDG_CONFIG_HOME", w.home().join("xdg-config"))
        .env("XDG_DATA_HOME", w.home().join("xdg-data"))
        .output()
        .unwrap();
    assert_eq!(text(&out.stderr), "");
    let names: Vec<String> = ok(out).lines().map(|l| l.split('\t').next().unwrap().to_string()).collect();
    assert_eq!(names, ["dev-admin", "dev-keys"]);
}

#[test]
fn fish_completes_subcommands() {
    let (w, path) = world();
    let script = format!("source {}; complete --do-complete 'rolesh cred'", committed("rolesh.fish").display());
    let out = w
        .command("fish")
        .args(["--no-config", "-c", &script])
        .env("PATH", path)
        .env("XDG_CONFIG_HOME", w.home().join("xdg-config"))
        .env("XDG_DATA_HOME", w.home().join("xdg-data"))
        .output()
        .unwrap();
    assert!(ok(out).starts_with("credential-process"));
}

#[test]
fn zsh_completes_profile_names_from_the_config_files() {
    let (w, path) = world();
    // compsys's `compdef` and `_describe` are stood in for, so the stub's own code runs
    // in real zsh without an interactive terminal; `_describe` prints what it would offer.
    let script = format!(
        r#"compdef() {{ :; }}
_describe() {{ print -rl -- "${{(@P)${{@[-1]}}}}"; }}
source {}
words=(rolesh exec dev); CURRENT=3
_clap_dynamic_completer_rolesh"#,
        committed("_rolesh").display()
    );
    let out = w.command("zsh").args(["-f", "-c", &script]).env("PATH", path).output().unwrap();
    assert_eq!(text(&out.stderr), "");
    assert_eq!(ok(out), "dev-admin\ndev-keys\n");
}

/// No pwsh here: the PowerShell stub is at least checked to parse, as the export output is.
#[test]
fn the_powershell_completion_script_parses_without_errors() {
    let script = std::fs::read_to_string(committed("_rolesh.ps1")).unwrap();
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_pwsh::LANGUAGE.into()).unwrap();
    let tree = parser.parse(&script, None).unwrap();
    assert!(!tree.root_node().has_error(), "{}", tree.root_node().to_sexp());
    assert!(script.contains("Register-ArgumentCompleter -Native -CommandName rolesh"));
}

#[test]
fn zsh_completes_on_the_first_tab_when_installed_in_fpath() {
    let (w, path) = world();
    let script = format!(
        r#"compdef() {{ :; }}
_describe() {{ print -rl -- "${{(@P)${{@[-1]}}}}"; }}
fpath=({} $fpath); autoload -Uz _rolesh
words=(rolesh export dev-); CURRENT=3
_rolesh"#,
        committed("").display()
    );
    let out = w.command("zsh").args(["-f", "-c", &script]).env("PATH", path).output().unwrap();
    assert_eq!(text(&out.stderr), "");
    assert_eq!(ok(out), "dev-admin\ndev-keys\n");
}
