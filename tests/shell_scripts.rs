//! The hook scripts and the code `use`/`unuse` print, for every shell: snapshots, the shells'
//! own syntax checks (shellcheck, `zsh -n`, `fish --no-execute`, a PowerShell parser), and
//! loading each hook under strict settings. A missing shell fails the test, never skips it.
//! Unix-only like the other integration tests: it runs the Unix shells.
#![cfg(unix)]

mod shell_support;
mod support;

use std::ffi::OsStr;

use chrono::DateTime;
use rolesh::credentials::{Credentials, Secret};
use rolesh::env::Env;
use rolesh::session::Session;
use rolesh::shell::{Shell, init, render, restore};
use shell_support::{run_interactive, run_ok, run_script, write_temp};

const SHELLS: [Shell; 4] = [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Pwsh];
const SHOWN_PATH: &str = "/usr/local/bin/rolesh";

fn session(profile: &str) -> Session {
    Session {
        profile: profile.into(),
        role_arn: Some(format!("arn:aws:iam::123456789012:role/{profile}")),
        assumed_arn: None,
        credentials: Credentials {
            access_key_id: "ASIAEXAMPLEEXAMPLE12".into(),
            secret_access_key: Secret::new("wJalr/it's+$HOME\\x"),
            session_token: Some(Secret::new("FwoGZXIvYXdzE//token==")),
            expiration: DateTime::from_timestamp(1_800_000_000, 0),
        },
        region: Some("eu-west-1".into()),
    }
}

/// The text `use dev` then `unuse` print in a shell that had an awkward AWS_PROFILE.
fn use_and_unuse(shell: Shell) -> (String, String) {
    let before = Env::from_pairs([("AWS_PROFILE", "it's $HOME\n\\ \"ü\" `x`"), ("AWS_REGION", "us-east-1")]);
    let (changes, record) = restore::switch(&before, None, &session("dev").environment("s1"));
    let used = render::apply(shell, &changes, &record.encode());
    let unused = render::apply(shell, &record.restore(), "");
    (String::from_utf8(used).unwrap(), String::from_utf8(unused).unwrap())
}

fn hook(shell: Shell) -> String {
    String::from_utf8(init::hook(shell, OsStr::new(SHOWN_PATH))).unwrap()
}

/// The hook `rolesh init SHELL --auto-dir` prints.
fn auto_dir_hook(shell: Shell) -> String {
    String::from_utf8(init::hook_with(shell, OsStr::new(SHOWN_PATH), true)).unwrap()
}

#[test]
fn every_hook_matches_its_snapshot() {
    for shell in SHELLS {
        insta::assert_snapshot!(format!("init_{}", shell.name()), hook(shell));
        insta::assert_snapshot!(format!("init_{}_auto_dir", shell.name()), auto_dir_hook(shell));
    }
}

#[test]
fn use_and_unuse_output_matches_its_snapshot() {
    for shell in SHELLS {
        let (used, unused) = use_and_unuse(shell);
        insta::assert_snapshot!(format!("use_{}", shell.name()), format!("# use dev\n{used}# unuse\n{unused}"));
    }
}

#[test]
fn shellcheck_passes_the_bash_hook_and_the_bash_use_output() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("hook.bash", hook(Shell::Bash)), ("auto-dir.bash", auto_dir_hook(Shell::Bash))] {
        let hook_file = write_temp(dir.path(), name, &text);
        run_ok("shellcheck", &["--enable=all".as_ref(), hook_file.as_os_str()]);
    }
    let (used, unused) = use_and_unuse(Shell::Bash);
    for (name, code) in [("use.bash", used), ("unuse.bash", unused)] {
        let f = write_temp(dir.path(), name, &code);
        // SC2016: a `$` kept literal in single quotes is the point. SC2034: the record
        // variable is read by the hook, which shellcheck cannot see here.
        run_ok("shellcheck", &["--shell=bash".as_ref(), "--exclude=SC2016,SC2034".as_ref(), f.as_os_str()]);
    }
}

#[test]
fn the_hook_sources_are_formatted() {
    let root = env!("CARGO_MANIFEST_DIR");
    run_ok("shfmt", &["-d".as_ref(), "-i".as_ref(), "4".as_ref(), format!("{root}/shell/rolesh.bash").as_ref()]);
    run_ok("fish_indent", &["--check".as_ref(), format!("{root}/shell/rolesh.fish").as_ref()]);
}

#[test]
fn zsh_parses_the_zsh_hook_and_use_output() {
    let dir = tempfile::tempdir().unwrap();
    let (used, unused) = use_and_unuse(Shell::Zsh);
    for (name, code) in [
        ("hook.zsh", hook(Shell::Zsh)),
        ("auto-dir.zsh", auto_dir_hook(Shell::Zsh)),
        ("use.zsh", used),
        ("unuse.zsh", unused),
    ] {
        let f = write_temp(dir.path(), name, &code);
        run_ok("zsh", &["-n".as_ref(), f.as_os_str()]);
    }
}

#[test]
fn fish_parses_the_fish_hook_and_use_output() {
    let dir = tempfile::tempdir().unwrap();
    let (used, unused) = use_and_unuse(Shell::Fish);
    for (name, code) in [
        ("hook.fish", hook(Shell::Fish)),
        ("auto-dir.fish", auto_dir_hook(Shell::Fish)),
        ("use.fish", used),
        ("unuse.fish", unused),
    ] {
        let f = write_temp(dir.path(), name, &code);
        run_ok("fish", &["--no-execute".as_ref(), f.as_os_str()]);
    }
}

/// pwsh is not installable here, so a real PowerShell grammar (tree-sitter-pwsh) checks
/// that every generated script parses: no ERROR or MISSING node anywhere.
fn assert_pwsh_parses(what: &str, code: &str) {
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_pwsh::LANGUAGE.into()).expect("the PowerShell grammar loads");
    let tree = parser.parse(code, None).expect("the parser returns a tree");
    let mut bad = Vec::new();
    let mut cursor = tree.walk();
    'walk: loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            let p = node.start_position();
            let line = code.lines().nth(p.row).unwrap_or_default();
            bad.push(format!("{} at {}:{}: {line}", node.kind(), p.row + 1, p.column + 1));
        }
        if cursor.goto_first_child() || cursor.goto_next_sibling() {
            continue;
        }
        loop {
            if !cursor.goto_parent() {
                break 'walk;
            }
            if cursor.goto_next_sibling() {
                break;
            }
        }
    }
    assert!(bad.is_empty(), "{what} does not parse as PowerShell:\n{}", bad.join("\n"));
    assert!(!tree.root_node().has_error(), "{what}: the tree has an error");
}

#[test]
fn the_powershell_hook_and_use_output_parse() {
    assert_pwsh_parses("init powershell", &hook(Shell::Pwsh));
    assert_pwsh_parses("init powershell --auto-dir", &auto_dir_hook(Shell::Pwsh));
    let (used, unused) = use_and_unuse(Shell::Pwsh);
    assert_pwsh_parses("use", &used);
    assert_pwsh_parses("unuse", &unused);
}

#[test]
fn the_powershell_parser_check_catches_broken_code() {
    let broken = std::panic::catch_unwind(|| assert_pwsh_parses("broken", "$env:A = 'unterminated\nif ($x) {"));
    assert!(broken.is_err());
}

/// Loads the real hook twice under strict settings and runs the prompt hook: nothing may be
/// printed, nothing may fail, and the hook is installed once. In bash it goes after an
/// existing PROMPT_COMMAND (string or array), so hooks before it still see $PIPESTATUS.
#[test]
fn bash_hook_loads_cleanly_under_strict_mode_and_only_once() {
    let out = run_script(
        "bash",
        &["--norc", "--noprofile", "-euo", "pipefail"],
        r#"eval "$(rolesh init bash)"; eval "$(rolesh init bash)"
           [[ $PROMPT_COMMAND == '__rolesh_hook && :' ]] || { echo "PROMPT_COMMAND=$PROMPT_COMMAND"; exit 1; }
           false || __rolesh_hook || [[ $? == 1 ]]
           PROMPT_COMMAND='s=("${PIPESTATUS[@]}")'; eval "$(rolesh init bash)"
           [[ $PROMPT_COMMAND == $'s=("${PIPESTATUS[@]}")\n__rolesh_hook && :' ]] || { echo "not appended: $PROMPT_COMMAND"; exit 1; }
           PROMPT_COMMAND=(old); eval "$(rolesh init bash)"
           [[ ${PROMPT_COMMAND[*]} == "old __rolesh_hook && :" ]] || { declare -p PROMPT_COMMAND; exit 1; }
           PROMPT_COMMAND=([1]=old); eval "$(rolesh init bash)"
           [[ ${PROMPT_COMMAND[*]} == "old __rolesh_hook && :" ]] || { declare -p PROMPT_COMMAND; exit 1; }"#,
        &[],
    );
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
}

/// The --auto-dir hook loads as cleanly, installs its parts once, and its first prompt (in a
/// directory without a .rolesh) prints nothing and changes nothing. A script's `cd` (these
/// shells are not interactive) does not run rolesh: only a shell at a prompt follows its
/// directory.
#[test]
fn the_auto_dir_hooks_load_cleanly_under_strict_mode_and_only_once() {
    let bash = run_script(
        "bash",
        &["--norc", "--noprofile", "-euo", "pipefail"],
        r#"eval "$(rolesh init bash --auto-dir)"; eval "$(rolesh init bash --auto-dir)"
           [[ $PROMPT_COMMAND == '__rolesh_hook && :' ]] || { echo "PROMPT_COMMAND=$PROMPT_COMMAND"; exit 1; }
           false || __rolesh_hook || [[ $? == 1 ]]
           [[ $__rolesh_dir_last == "$PWD" ]] || { echo "not checked: ${__rolesh_dir_last-unset}"; exit 1; }"#,
        &[],
    );
    assert_eq!((bash.stdout.as_str(), bash.stderr.as_str()), ("", ""), "bash");
    let zsh = run_script(
        "zsh",
        &["-f", "-o", "nounset", "-o", "err_exit", "-o", "pipe_fail", "-o", "warn_create_global"],
        r#"eval "$(rolesh init zsh --auto-dir)"; eval "$(rolesh init zsh --auto-dir)"
           [[ ${precmd_functions[*]} == __rolesh_hook ]] || { print -r -- "precmd=$precmd_functions"; exit 1; }
           [[ ${chpwd_functions[*]} == __rolesh_chpwd ]] || { print -r -- "chpwd=$chpwd_functions"; exit 1; }
           false || __rolesh_hook
           [[ $__rolesh_dir_last == "$PWD" ]] || { print -r -- "not checked: ${__rolesh_dir_last-unset}"; exit 1; }
           cd /
           [[ $__rolesh_dir_last != / ]] || { print -r -- "a script's cd ran rolesh"; exit 1; }"#,
        &[],
    );
    assert_eq!((zsh.stdout.as_str(), zsh.stderr.as_str()), ("", ""), "zsh");
    let fish = run_script(
        "fish",
        &["--no-config"],
        r#"rolesh init fish --auto-dir | source; rolesh init fish --auto-dir | source
           test (count (functions --handlers-type variable | string match -e __rolesh_dir_changed)) -eq 1; or exit 1
           emit fish_prompt
           test "$__rolesh_dir_last" = "$PWD"; or exit 2
           cd /
           test "$__rolesh_dir_last" != /; or exit 3"#,
        &[],
    );
    assert_eq!((fish.status, fish.stdout.as_str(), fish.stderr.as_str()), (0, "", ""), "fish");
}

#[test]
fn zsh_hook_loads_cleanly_under_strict_mode_and_only_once() {
    let out = run_script(
        "zsh",
        &["-f", "-o", "nounset", "-o", "err_exit", "-o", "pipe_fail", "-o", "warn_create_global"],
        r#"eval "$(rolesh init zsh)"; eval "$(rolesh init zsh)"
           [[ ${precmd_functions[*]} == __rolesh_hook ]] || { print -r -- "precmd=$precmd_functions"; exit 1; }
           false || __rolesh_hook"#,
        &[],
    );
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
}

#[test]
fn fish_hook_loads_cleanly_and_only_once() {
    let out = run_script(
        "fish",
        &["--no-config"],
        r#"rolesh init fish | source; rolesh init fish | source
           test (count (functions --handlers-type generic | string match -e __rolesh_hook)) -eq 1; or exit 1
           emit fish_prompt"#,
        &[],
    );
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
}

/// The record `unuse` restores from may hold long-term keys: it stays a private shell
/// variable even in a shell that exports every assignment (`set -a`, zsh's allexport).
#[test]
fn the_saved_environment_is_never_exported_even_under_allexport() {
    for (shell, flags) in [(Shell::Bash, ["--norc", "--noprofile", "-a"]), (Shell::Zsh, ["-f", "-o", "allexport"])] {
        let (used, _) = use_and_unuse(shell);
        // Evaluated inside a function, as the hook's `rolesh` function does.
        let script = format!(
            "f() {{ eval \"$1\"; }}; f {}\nprintf '%s %s\\n' \"${{__rolesh_restore:+set}}\" \"$(printenv __rolesh_restore || echo private)\"",
            rolesh::shell::quote::quote_posix(OsStr::new(&used))
        );
        let out = run_script(shell.name(), &flags, &script, &[]);
        assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("set private\n", ""), "{}", shell.name());
    }
}

/// With the binary gone, the prompt hook still clears an expired session: every variable a
/// session sets is removed, so neither the keys nor a stale profile in the prompt remain.
#[test]
fn an_expired_session_is_cleared_even_when_the_binary_cannot_run() {
    let set_all: String = restore::SESSION_VARS.iter().map(|n| format!("{n}=x ")).collect();
    let left = "for n in $(env | cut -d= -f1); do case \" ${VARS} \" in *\" $n \"*) echo \"left: $n\";; esac; done";
    let vars = restore::SESSION_VARS.join(" ");
    for (shell, flags) in [("bash", vec!["--norc", "--noprofile", "-u"]), ("zsh", vec!["-f", "-u"])] {
        let sh = if shell == "bash" { Shell::Bash } else { Shell::Zsh };
        let hook = String::from_utf8(init::hook(sh, OsStr::new("/nonexistent/rolesh"))).unwrap();
        let script = format!("{hook}\nexport {set_all}ROLESH_EXPIRES=1\n__rolesh_hook 2>/dev/null\n{left}\n");
        let out = run_script(shell, &flags, &script, &[("VARS".into(), vars.clone())]);
        assert_eq!(out.stdout, "", "{shell}: {}", out.stderr);
    }
    let hook = String::from_utf8(init::hook(Shell::Fish, OsStr::new("/nonexistent/rolesh"))).unwrap();
    let set_all: String = restore::SESSION_VARS.iter().map(|n| format!("set -gx {n} x\n")).collect();
    let script = format!(
        "{hook}\n{set_all}set -gx ROLESH_EXPIRES 1\nemit fish_prompt 2>/dev/null\nfor n in {vars}; set -q $n; and echo \"left: $n\"; end\n"
    );
    let out = run_script("fish", &["--no-config"], &script, &[]);
    assert_eq!(out.stdout, "", "fish: {}", out.stderr);
}

/// A command that fails where errexit does not apply (`false && true`) leaves `$?` at 1 in a
/// shell running under `set -e` / `err_exit`, or with an ERR trap. The prompt hook must not
/// turn that status into a failure of its own, which would end the shell or fire the trap
/// a second time; the next command still sees the status.
#[test]
fn the_prompt_hooks_neither_end_an_errexit_shell_nor_fire_its_err_trap() {
    let input = "false && true\necho \"alive $?\"\n";
    let bash = run_interactive("bash", "eval \"$(rolesh init bash)\"\nset -e\ntrap 'echo ERR-TRAP' ERR\n", input, &[]);
    assert_eq!((bash.status, bash.stdout.as_str()), (0, "alive 1\n"), "bash: {}", bash.stderr);
    let zsh = run_interactive(
        "zsh",
        "eval \"$(rolesh init zsh)\"\nsetopt err_exit\nTRAPZERR() { echo ERR-TRAP; }\n",
        input,
        &[],
    );
    assert_eq!((zsh.status, zsh.stdout.as_str()), (0, "alive 1\n"), "zsh: {}", zsh.stderr);
}

/// The hooks' no-fork prompt text agrees with `rolesh prompt` (offsets chosen so that a
/// clock tick during the test cannot change the text).
#[test]
fn the_hooks_prompt_text_matches_rolesh_prompt() {
    let offsets = [2530i64, 3930, 7230, -5];
    let expected: String = offsets.iter().map(|n| format!("dev {}\n", rolesh::commands::prompt::left(*n))).collect();
    let posix = |init: &str| {
        let mut s = format!("eval \"$(rolesh init {init})\"; export ROLESH_PROFILE=dev\n");
        for n in offsets {
            s.push_str(&format!("ROLESH_EXPIRES=$((EPOCHSECONDS + {n})); __rolesh_prompt; echo\n"));
        }
        s
    };
    let bash = run_script("bash", &["--norc", "--noprofile", "-eu"], &posix("bash"), &[]);
    assert_eq!((bash.stdout.as_str(), bash.stderr.as_str()), (expected.as_str(), ""));
    let zsh = run_script("zsh", &["-f", "-eu"], &posix("zsh"), &[]);
    assert_eq!((zsh.stdout.as_str(), zsh.stderr.as_str()), (expected.as_str(), ""));
    let mut fish = String::from("rolesh init fish | source; set -gx ROLESH_PROFILE dev\n");
    for n in offsets {
        fish.push_str(&format!("set -gx ROLESH_EXPIRES (math (date +%s) + {n}); __rolesh_prompt; echo\n"));
    }
    let fish = run_script("fish", &["--no-config"], &fish, &[]);
    assert_eq!((fish.stdout.as_str(), fish.stderr.as_str()), (expected.as_str(), ""));
}

/// The prompt hook starts no process outside a session (bash and zsh not inside one either):
/// /proc/loadavg's last field is the last pid the kernel handed out, read with a builtin, so
/// a hook that forked would move it by at least the number of runs. Other processes on the
/// machine move it too, but by far less in the fraction of a second this takes. The
/// --auto-dir hooks start rolesh once, at the first prompt, and then never again while the
/// directory stays the same.
#[test]
fn the_prompt_hooks_fork_no_process() {
    const RUNS: i64 = 3000;
    let posix = |init: &str, session: &str| {
        format!(
            r#"eval "$(rolesh init {init})"
               {session}
               read -r _ _ _ _ a < /proc/loadavg
               i=0; while (( i < {RUNS} )); do __rolesh_hook; (( i += 1 )); done
               read -r _ _ _ _ b < /proc/loadavg
               echo $(( b - a ))"#
        )
    };
    let in_session = "export ROLESH_PROFILE=dev ROLESH_EXPIRES=$(( EPOCHSECONDS + 3600 ))";
    let fish = format!(
        "rolesh init fish | source
         set -l runs (seq {RUNS})
         read -l _ _ _ _ a < /proc/loadavg
         for i in $runs; emit fish_prompt; end
         read -l _ _ _ _ b < /proc/loadavg
         math $b - $a"
    );
    // With --auto-dir the first run looks at the directory (one rolesh), and no other does.
    let auto_fish = fish.replace("rolesh init fish", "rolesh init fish --auto-dir");
    let cases = [
        ("bash", vec!["--norc", "--noprofile", "-eu"], posix("bash", "")),
        ("bash", vec!["--norc", "--noprofile", "-eu"], posix("bash", in_session)),
        ("bash", vec!["--norc", "--noprofile", "-eu"], posix("bash --auto-dir", "")),
        ("bash", vec!["--norc", "--noprofile", "-eu"], posix("bash --auto-dir", in_session)),
        ("zsh", vec!["-f", "-eu"], posix("zsh", "")),
        ("zsh", vec!["-f", "-eu"], posix("zsh", in_session)),
        ("zsh", vec!["-f", "-eu"], posix("zsh --auto-dir", "")),
        ("zsh", vec!["-f", "-eu"], posix("zsh --auto-dir", in_session)),
        ("fish", vec!["--no-config"], fish),
        ("fish", vec!["--no-config"], auto_fish),
    ];
    for (shell, flags, script) in cases {
        let out = run_script(shell, &flags, &script, &[]);
        assert_eq!(out.stderr, "", "{shell}");
        let pids: i64 = out.stdout.trim().parse().unwrap_or_else(|_| panic!("{shell}: {}", out.stdout));
        // A negative difference is pid wrap-around: no information, not a failure.
        assert!(pids < RUNS, "{shell}: {pids} processes started during {RUNS} prompt hooks\n{script}");
    }
}
