//! `rolesh use`/`unuse`/`shell` in real interactive bash, zsh and fish, driven through a
//! pseudo-terminal (tmux) against moto's STS: the keys arrive and `aws sts
//! get-caller-identity` shows the role; switching roles; `$?` kept across the prompt hook;
//! `unuse` and an expired session both give back the environment from before, compared
//! variable by variable; `rolesh shell` leaves its parent untouched and passes its status.
#![cfg(unix)]

mod shell_support;
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use shell_support::{AwsHome, Tmux, aws_home, parse_env0, rolesh, run_script};

#[derive(Clone, Copy, PartialEq)]
enum Sh {
    Bash,
    Zsh,
    Fish,
}

/// Awkward values already in the environment before the first `use`: quotes, `$`, a
/// newline, a backslash, non-ASCII, bytes that are not UTF-8, and a key `use` replaces.
const SETUP_POSIX: &str = r#"export AWS_PROFILE=$'it\'s $HOME\n\\ "ü" `x`'
export AWS_DEFAULT_PROFILE="$(printf '\377\376x')"
export AWS_ACCESS_KEY_ID='old key $x'
unset AWS_SESSION_TOKEN
"#;
const SETUP_FISH: &str = r#"set -gx AWS_PROFILE 'it\'s $HOME
\\ "ü" `x`'
set -gx AWS_DEFAULT_PROFILE (printf '\377\376x')
set -gx AWS_ACCESS_KEY_ID 'old key $x'
set -g fish_greeting
"#;

/// Writes the shell's startup file (prompt `[STATUS](SESSION)`, hook, awkward values) and
/// returns the command line that starts it interactively.
fn start(sh: Sh, home: &AwsHome) -> Tmux {
    let dir = home.dir.path();
    let mut env = home.env.clone();
    let argv: Vec<String> = match sh {
        Sh::Bash => {
            let rc = format!("PS1='[$?](${{ROLESH_PROMPT}})\\$ '\neval \"$(rolesh init bash)\"\n{SETUP_POSIX}");
            std::fs::write(dir.join("bashrc"), rc).unwrap();
            let rcfile = dir.join("bashrc").display().to_string();
            vec!["bash".into(), "--noprofile".into(), "--rcfile".into(), rcfile, "-i".into()]
        }
        Sh::Zsh => {
            let rc = format!(
                "setopt prompt_subst\nPROMPT='[%?](${{ROLESH_PROMPT}})%# '\neval \"$(rolesh init zsh)\"\n{SETUP_POSIX}"
            );
            std::fs::write(dir.join(".zshrc"), rc).unwrap();
            env.push(("ZDOTDIR".into(), dir.display().to_string()));
            vec!["zsh".into(), "-i".into()]
        }
        Sh::Fish => {
            let conf = dir.join(".config/fish");
            std::fs::create_dir_all(&conf).unwrap();
            let rc = format!(
                "rolesh init fish | source\nfunction fish_prompt\n    printf '[%s](%s)> ' $status (__rolesh_prompt)\nend\n{SETUP_FISH}"
            );
            std::fs::write(conf.join("config.fish"), rc).unwrap();
            vec!["fish".into(), "-i".into()]
        }
    };
    env.push(("SHELL".into(), argv[0].clone()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let t = Tmux::start(&argv, &env);
    t.wait_for("[0]()");
    t
}

fn status_var(sh: Sh) -> &'static str {
    if sh == Sh::Fish { "$status" } else { "$?" }
}

fn pid_var(sh: Sh) -> &'static str {
    if sh == Sh::Fish { "$fish_pid" } else { "$$" }
}

/// `rolesh ls --json` run inside the shell, as (kind, profile, pid) per active session.
fn ledger(t: &Tmux, dir: &Path, name: &str) -> Vec<(String, String, u64)> {
    t.run(&format!("rolesh ls --json > {}", dir.join(name).display()), name);
    let rows: serde_json::Value = serde_json::from_str(&read(dir, name)).expect("ls --json prints JSON");
    let rows = rows.as_array().expect("ls --json prints an array");
    rows.iter()
        .map(|r| {
            (r["kind"].as_str().unwrap().into(), r["profile"].as_str().unwrap().into(), r["pid"].as_u64().unwrap())
        })
        .collect()
}

fn shell_pid(t: &Tmux, dir: &Path, sh: Sh) -> u64 {
    t.run(&format!("echo {} > {}", pid_var(sh), dir.join("pid").display()), "pid");
    read(dir, "pid").parse().expect("a pid")
}

fn dump(t: &Tmux, dir: &Path, name: &str) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let path = dir.join(name);
    t.run(&format!("env -0 > {}", path.display()), name);
    let mut env = parse_env0(&path);
    // `_` is the shell's "last argument", not part of the environment rolesh manages.
    env.remove(b"_".as_slice());
    env
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap().trim().to_string()
}

/// fish sets USER itself, so the session name's user part is not checked.
fn assert_role(dir: &Path, file: &str, role: &str) {
    let arn = read(dir, file);
    let want = format!("arn:aws:sts::123456789012:assumed-role/{role}/rolesh-");
    assert!(arn.starts_with(&want), "{file}: {arn}");
}

fn assert_same_env(before: &BTreeMap<Vec<u8>, Vec<u8>>, after: &BTreeMap<Vec<u8>, Vec<u8>>, what: &str) {
    let show = |m: &BTreeMap<Vec<u8>, Vec<u8>>, k: &Vec<u8>| m.get(k).map(|v| String::from_utf8_lossy(v).into_owned());
    let keys: std::collections::BTreeSet<_> = before.keys().chain(after.keys()).collect();
    let diff: Vec<String> = keys
        .into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| format!("{}: {:?} -> {:?}", String::from_utf8_lossy(k), show(before, k), show(after, k)))
        .collect();
    assert!(diff.is_empty(), "{what}: the environment differs from before `use`:\n{}", diff.join("\n"));
}

fn use_switch_unuse_and_expiry(sh: Sh) {
    let home = aws_home();
    let dir = home.dir.path().to_path_buf();
    let t = start(sh, &home);
    let before = dump(&t, &dir, "before");
    assert_eq!(before.get(b"AWS_DEFAULT_PROFILE".as_slice()).map(Vec::as_slice), Some(b"\xff\xfex".as_slice()));

    // use: the keys are set and STS sees the role.
    t.run("rolesh use dev", "use-dev");
    t.wait_for("(dev ");
    t.run(&format!("aws sts get-caller-identity --query Arn --output text > {}/arn-dev", dir.display()), "arn-dev");
    assert_role(&dir, "arn-dev", "dev");
    let during = dump(&t, &dir, "during");
    assert!(during.get(b"AWS_ACCESS_KEY_ID".as_slice()).is_some_and(|k| k.starts_with(b"ASIA")));
    assert!(!during.contains_key(b"AWS_PROFILE".as_slice()), "a conflicting AWS_PROFILE is removed");
    assert!(!during.contains_key(b"ROLESH_RESTORE".as_slice()), "the saved environment is never exported");
    // The ledger holds the session under the interactive shell's pid.
    let pid = shell_pid(&t, &dir, sh);
    assert_eq!(ledger(&t, &dir, "ls-dev"), [("use".to_string(), "dev".to_string(), pid)]);

    // use again: switches role.
    t.run("rolesh use prod", "use-prod");
    t.wait_for("(prod ");
    t.run(&format!("aws sts get-caller-identity --query Arn --output text > {}/arn-prod", dir.display()), "arn-prod");
    assert_role(&dir, "arn-prod", "prod");
    assert_eq!(
        ledger(&t, &dir, "ls-prod"),
        [("use".to_string(), "prod".to_string(), pid)],
        "a switch, not a second session"
    );

    // The prompt hook works with a session active and leaves `$?` alone.
    t.send("false");
    t.wait_for("[1](prod ");

    // One unuse goes back to before the first use.
    t.run("rolesh unuse", "unuse");
    assert_same_env(&before, &dump(&t, &dir, "after-unuse"), "after unuse");
    assert_eq!(ledger(&t, &dir, "ls-unuse"), [], "unuse ends the session in the ledger");

    // An expired session is cleared at the next prompt, with a message, and `$?` survives.
    let seen = t.screen().matches("(dev ").count();
    t.run("rolesh use dev", "use-again");
    t.wait_for_n("(dev ", seen + 1);
    let expire = if sh == Sh::Fish { "set -gx ROLESH_EXPIRES 1" } else { "export ROLESH_EXPIRES=1" };
    t.send(&format!("{expire}; false"));
    let screen = t.wait_for("[1]()");
    assert!(screen.contains("rolesh: session `dev` expired at 1970-01-01T00:00:01Z"), "{screen}");
    assert_same_env(&before, &dump(&t, &dir, "after-expiry"), "after expiry");

    // After expiry the shell takes a new session as after a fresh start, and its `unuse`
    // still goes back to the environment from before the first `use`.
    let seen = t.screen().matches("(prod ").count();
    t.run("rolesh use prod", "use-after-expiry");
    t.wait_for_n("(prod ", seen + 1);
    t.run(&format!("aws sts get-caller-identity --query Arn --output text > {}/arn-again", dir.display()), "arn-again");
    assert_role(&dir, "arn-again", "prod");
    t.run("rolesh unuse", "unuse-after-expiry");
    assert_same_env(&before, &dump(&t, &dir, "after-second-unuse"), "after a use following expiry");
}

fn shell_leaves_parent_untouched(sh: Sh) {
    let home = aws_home();
    let dir = home.dir.path().to_path_buf();
    let t = start(sh, &home);
    let before = dump(&t, &dir, "before");
    t.send("rolesh shell prod --shell /bin/sh");
    t.wait_for("rolesh: subshell with `prod` (arn:aws:sts::123456789012:assumed-role/prod/");
    t.wait_for("left; `exit` to leave");
    t.send(&format!(
        "aws sts get-caller-identity --query Arn --output text > {d}/arn-inner; rolesh ls --json > {d}/ls-inner; printf 'IN-%s\\n' side; exit 3",
        d = dir.display()
    ));
    t.wait_for("IN-side");
    t.send(&format!("printf 'ST-%s\\n' {}", status_var(sh)));
    t.wait_for("ST-3\n");
    assert_role(&dir, "arn-inner", "prod");
    let inner: serde_json::Value = serde_json::from_str(&read(&dir, "ls-inner")).unwrap();
    assert_eq!((inner[0]["kind"].as_str(), inner[0]["profile"].as_str()), (Some("shell"), Some("prod")), "{inner}");
    assert_eq!(ledger(&t, &dir, "ls-after-shell"), [], "leaving the subshell ends its session");
    assert_same_env(&before, &dump(&t, &dir, "after-shell"), "after `rolesh shell`");
}

#[test]
fn bash_use_switch_unuse_and_expiry_restore_the_environment_exactly() {
    use_switch_unuse_and_expiry(Sh::Bash);
}

#[test]
fn zsh_use_switch_unuse_and_expiry_restore_the_environment_exactly() {
    use_switch_unuse_and_expiry(Sh::Zsh);
}

#[test]
fn fish_use_switch_unuse_and_expiry_restore_the_environment_exactly() {
    use_switch_unuse_and_expiry(Sh::Fish);
}

#[test]
fn bash_shell_subcommand_leaves_the_parent_untouched_and_passes_the_status() {
    shell_leaves_parent_untouched(Sh::Bash);
}

#[test]
fn zsh_shell_subcommand_leaves_the_parent_untouched_and_passes_the_status() {
    shell_leaves_parent_untouched(Sh::Zsh);
}

#[test]
fn fish_shell_subcommand_leaves_the_parent_untouched_and_passes_the_status() {
    shell_leaves_parent_untouched(Sh::Fish);
}

#[test]
fn a_used_session_ends_when_its_interactive_shell_exits() {
    let home = aws_home();
    let dir = home.dir.path().to_path_buf();
    let t = start(Sh::Bash, &home);
    t.run("rolesh use dev", "use-dev");
    let pid = shell_pid(&t, &dir, Sh::Bash);
    assert_eq!(ledger(&t, &dir, "ls-in"), [("use".to_string(), "dev".to_string(), pid)]);
    t.send("exit 0");
    // Wait for the shell to have exited: gone, or a zombie its parent (tmux) has not reaped yet,
    // which tmux sometimes leaves for long; the ledger counts both as ended.
    let exited = || match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !exited() {
        assert!(std::time::Instant::now() < deadline, "the shell (pid {pid}) did not exit:\n{}", t.screen());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = run_script("sh", &[], "rolesh ls --json", &home.env);
    assert_eq!((out.status, out.stdout.trim()), (0, "[]"), "{}", out.stderr);
}

#[test]
fn use_without_the_hook_fails_with_the_line_for_the_rc_file() {
    let env = vec![("SHELL".to_string(), "/usr/bin/zsh".to_string())];
    let out = run_script("sh", &[], &format!("'{}' use dev", rolesh()), &env);
    assert_eq!(out.status, 2);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.ends_with("add this line to ~/.zshrc and open a new shell: eval \"$(rolesh init zsh)\"\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_prompt_command_prints_nothing_outside_a_session_and_profile_and_time_inside() {
    let out = run_script("sh", &[], &format!("'{}' prompt", rolesh()), &[]);
    assert_eq!((out.status, out.stdout.as_str()), (0, ""));
    let script = format!("ROLESH_PROFILE=dev ROLESH_EXPIRES=$(( $(date +%s) + 2530 )) '{}' prompt", rolesh());
    let out = run_script("sh", &[], &script, &[]);
    assert_eq!(out.stdout, "dev 42m\n");
}

#[test]
fn unuse_in_a_shell_that_inherited_its_session_removes_the_credentials() {
    let script =
        format!("ROLESH_PROFILE=dev ROLESH_SESSION=s1 AWS_ACCESS_KEY_ID=k '{}' unuse --shell-hook bash", rolesh());
    let out = run_script("sh", &[], &script, &[]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(out.stdout.contains("unset AWS_ACCESS_KEY_ID\n") && out.stdout.contains("unset ROLESH_SESSION\n"));
    assert!(out.stderr.contains("it began outside this shell: `exit` leaves it"), "{}", out.stderr);
}

#[test]
fn unuse_with_nothing_to_leave_changes_nothing() {
    let out = run_script("sh", &[], &format!("'{}' unuse --shell-hook zsh", rolesh()), &[]);
    assert_eq!((out.status, out.stdout.as_str()), (0, ""));
    assert_eq!(out.stderr, "rolesh: no session to leave in this shell\n");
}

#[test]
fn a_damaged_saved_environment_is_reported_with_the_way_out() {
    let script = format!("ROLESH_RESTORE='1;A=xyz' '{}' unuse --shell-hook fish", rolesh());
    let out = run_script("sh", &[], &script, &[]);
    assert_eq!((out.status, out.stdout.as_str()), (7, ""));
    assert!(out.stderr.contains("clear it with `unset __rolesh_restore`"), "{}", out.stderr);
}

#[test]
fn shell_starts_dollar_shell_with_the_session_and_exits_with_its_status() {
    let home = aws_home();
    let mut env = home.env.clone();
    env.push(("SHELL".into(), "/bin/sh".into()));
    let script = r#"printf 'echo "in $ROLESH_PROFILE $AWS_REGION"; exit 5\n' | rolesh shell dev"#;
    let out = run_script("sh", &[], script, &env);
    assert_eq!((out.status, out.stdout.as_str()), (5, "in dev eu-west-1\n"), "{}", out.stderr);
    assert!(
        out.stderr.starts_with("rolesh: subshell with `dev` (arn:aws:sts::123456789012:assumed-role/dev/"),
        "{}",
        out.stderr
    );
}

/// A failed `use` (here an unknown profile) changes nothing and hands its exit code back.
#[test]
fn a_failed_use_changes_nothing_and_returns_its_code() {
    let home = aws_home();
    let cases = [
        (
            "bash",
            vec!["--norc", "--noprofile"],
            r#"eval "$(rolesh init bash)"; rolesh use nope; echo "st=$? ${AWS_ACCESS_KEY_ID-unset}""#,
        ),
        ("zsh", vec!["-f"], r#"eval "$(rolesh init zsh)"; rolesh use nope; echo "st=$? ${AWS_ACCESS_KEY_ID-unset}""#),
        (
            "fish",
            vec!["--no-config"],
            r#"rolesh init fish | source; rolesh use nope; echo "st=$status" (set -q AWS_ACCESS_KEY_ID; and echo set; or echo unset)"#,
        ),
    ];
    for (shell, flags, script) in cases {
        let out = run_script(shell, &flags, script, &home.env);
        assert_eq!(out.stdout, "st=3 unset\n", "{shell}: {}", out.stderr);
        assert!(out.stderr.contains("profile `nope` not found"), "{shell}: {}", out.stderr);
    }
}

/// The saved environment may hold the user's long-term keys: a credential_process that `use`
/// runs to get the source credentials must find it neither in its environment (where hooks
/// of older versions put it) nor on its stdin (where the hooks put it now).
#[test]
fn a_credential_process_run_by_use_never_sees_the_saved_environment() {
    use std::os::unix::fs::PermissionsExt;
    let home = aws_home();
    let dir = home.dir.path();
    let seen = dir.join("seen");
    let json = r#"{"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "s"}"#;
    let script = dir.join("cp.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\n{{ printenv ROLESH_RESTORE; cat; }} > '{}'\necho '{json}'\n", seen.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.join("aws-config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[profile cp]\ncredential_process = {}\n[profile via-cp]\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = cp\n",
        script.display()
    ));
    std::fs::write(&config, text).unwrap();
    for call in [
        "ROLESH_RESTORE='1;AWS_SECRET_ACCESS_KEY=6b6579' rolesh use via-cp --shell-hook bash",
        "printf '1;AWS_SECRET_ACCESS_KEY=6b6579\\n' | rolesh use via-cp --shell-hook bash",
    ] {
        let out = run_script("sh", &[], call, &home.env);
        assert_eq!(out.status, 0, "{}", out.stderr);
        assert!(out.stdout.contains("export AWS_ACCESS_KEY_ID="), "{}", out.stdout);
        assert!(
            out.stdout.contains("__rolesh_restore='1;AWS_SECRET_ACCESS_KEY=6b6579;"),
            "the record was read: {}",
            out.stdout
        );
        assert_eq!(std::fs::read_to_string(&seen).unwrap(), "", "{call}: the credential_process saw the record");
    }
}

/// stdout of `use`/`unuse` is evaluated as shell code, so their help goes to stderr instead:
/// `rolesh use --help` in a hooked shell shows the help, runs nothing and changes nothing.
#[test]
fn use_and_unuse_help_in_a_hooked_shell_is_shown_not_evaluated() {
    let cases = [
        (
            "bash",
            vec!["--norc", "--noprofile"],
            r#"eval "$(rolesh init bash)"; rolesh use --help; echo "st=$?"; rolesh unuse -h; echo "st=$?""#,
        ),
        (
            "zsh",
            vec!["-f"],
            r#"eval "$(rolesh init zsh)"; rolesh use --help; echo "st=$?"; rolesh unuse -h; echo "st=$?""#,
        ),
        (
            "fish",
            vec!["--no-config"],
            r#"rolesh init fish | source; rolesh use --help; echo "st=$status"; rolesh unuse -h; echo "st=$status""#,
        ),
    ];
    for (shell, flags, script) in cases {
        let out = run_script(shell, &flags, script, &[]);
        assert_eq!(out.stdout, "st=0\nst=0\n", "{shell}: {}", out.stderr);
        assert!(out.stderr.contains("Usage: rolesh use [OPTIONS] [PROFILE]"), "{shell}: {}", out.stderr);
        assert!(out.stderr.contains("Usage: rolesh unuse"), "{shell}: {}", out.stderr);
    }
}

/// The saved environment may hold the user's long-term keys: the hooks hand it to rolesh
/// through a pipe, never a here-string, which zsh (and bash 5.0) write to a temp file that a
/// killed shell would leave behind. With zsh's temp files pointed at a directory that does not
/// exist, a here-string would fail the call.
#[test]
fn the_saved_environment_never_goes_through_a_temp_file() {
    let home = aws_home();
    let script = "TMPPREFIX=/nonexistent/rolesh-tmp/zsh; eval \"$(rolesh init zsh)\"; \
                  rolesh use dev && rolesh use prod && rolesh unuse && print -r -- \"profile=${ROLESH_PROFILE-none}\"";
    let out = run_script("zsh", &["-f"], script, &home.env);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "profile=none", "{}", out.stderr);
}
