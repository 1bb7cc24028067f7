//! Property test: whatever bytes a value holds (anything but NUL), the export lines rolesh
//! renders give it back exactly when real bash, zsh and fish run them. Each case sends a
//! batch of values through one shell process, which dumps its environment with `env -0`.
#![cfg(unix)]

mod shell_support;
mod support;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use proptest::prelude::*;
use rolesh::shell::{Shell, render};
use shell_support::{base_env, parse_env0};

/// Bytes the shells treat specially, more often than chance would pick them.
const SPECIAL: &[u8] = b"'\"\\$`\n\r\t !*?[]{}~#;&|<>()%^=,\x01\x1b\x7f\x80\xff\xc3\xa9\x83\x9f";

fn value() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![1..=255u8, proptest::sample::select(SPECIAL)];
    prop_oneof![proptest::collection::vec(byte, 0..24), any::<String>().prop_map(|s| s.replace('\0', "").into_bytes()),]
}

fn round_trip(shell: Shell, values: &[Vec<u8>]) -> Result<(), TestCaseError> {
    let changes: Vec<(String, Option<OsString>)> =
        values.iter().enumerate().map(|(i, v)| (format!("ROLESH_T{i}"), Some(OsString::from_vec(v.clone())))).collect();
    let mut script = render::render_bytes(shell, &changes);
    script.extend_from_slice(b"env -0 > \"$ROLESH_DUMP\"\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("script");
    let dump = dir.path().join("dump");
    std::fs::write(&file, &script).unwrap();
    let program = match shell {
        Shell::Bash => "bash",
        Shell::Zsh => "zsh",
        Shell::Fish => "fish",
        Shell::Pwsh => unreachable!("pwsh cannot run here"),
    };
    let mut cmd = std::process::Command::new(program);
    cmd.env_clear().envs(base_env(dir.path())).env("ROLESH_DUMP", &dump);
    match shell {
        Shell::Bash => cmd.args(["--norc", "--noprofile"]),
        Shell::Zsh => cmd.arg("-f"),
        _ => cmd.arg("--no-config"),
    };
    let out = cmd.arg(&file).output().unwrap_or_else(|e| panic!("could not run {program}: {e}; it must be installed"));
    prop_assert!(out.status.success(), "{program} failed: {}", String::from_utf8_lossy(&out.stderr));
    let env = parse_env0(&dump);
    for (name, value) in &changes {
        let got = env.get(name.as_bytes()).cloned();
        prop_assert_eq!(got, Some(value.as_ref().unwrap().as_bytes().to_vec()), "{} in {}", name, program);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn bash_reads_back_every_quoted_value(values in proptest::collection::vec(value(), 1..32)) {
        round_trip(Shell::Bash, &values)?;
    }

    #[test]
    fn zsh_reads_back_every_quoted_value(values in proptest::collection::vec(value(), 1..32)) {
        round_trip(Shell::Zsh, &values)?;
    }

    #[test]
    fn fish_reads_back_every_quoted_value(values in proptest::collection::vec(value(), 1..32)) {
        round_trip(Shell::Fish, &values)?;
    }
}

#[test]
fn awkward_values_survive_every_shell() {
    let values: Vec<Vec<u8>> = ["", "it's", "a b", "$HOME", "back\\slash", "new\nline\n", "\\'", "ünï ☃", "\u{f600}x"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([b"\xff\xfe bytes \x80".to_vec()])
        .collect();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        round_trip(shell, &values).unwrap();
    }
}
