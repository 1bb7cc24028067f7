//! The profile picker: `use`, `shell`, `exec -- CMD` and `console` without a profile open a
//! fuzzy list of the profiles on the terminal. Driven as a person would, on a pseudo-terminal
//! (and through the real bash hook in tmux): typing filters, arrows move, Enter goes on with
//! the chosen profile, Esc and Ctrl-C leave with 130 and nothing on stdout. With no terminal
//! a missing profile stays the usage error it was.
#![cfg(unix)]

mod shell_support;
mod support;

use std::fs::File;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use shell_support::{Tmux, aws_home, parse_env0, run_script};
use support::{Pty, TestEnv};

const DEADLINE: Duration = Duration::from_secs(30);
/// The picker makes no STS call, and neither do these profiles: their `credential_process`
/// prints session keys. Nothing listens here.
const NO_STS: &str = "http://127.0.0.1:9";
/// The last words of the picker's help line: once on the screen, it reads keys.
const READY: &str = "Esc to cancel";

const ALPHA_KEY: &str = "ASIAALPHA00000000001";
const BRAVO_KEY: &str = "ASIABRAVO00000000002";

/// A profile whose `credential_process` prints temporary keys with `key` as their id.
fn process_profile(name: &str, key: &str) -> String {
    let json = format!(
        r#"{{"Version":1,"AccessKeyId":"{key}","SecretAccessKey":"secret","SessionToken":"token","Expiration":"2099-01-01T00:00:00Z"}}"#
    );
    format!("[profile {name}]\ncredential_process = printf '%s' '{json}'\n")
}

/// alpha and bravo (keys from a process, so no STS), and a role the picker shows with its
/// name and account.
fn profiles() -> TestEnv {
    let env = TestEnv::new(NO_STS);
    env.config(&format!(
        "{}region = eu-west-1\n{}[profile prod-admin]\nrole_arn = arn:aws:iam::222222222222:role/Admin\nsource_profile = alpha\n",
        process_profile("alpha", ALPHA_KEY),
        process_profile("bravo", BRAVO_KEY)
    ));
    env
}

/// rolesh as a shell hook's command substitution runs it: stdin carries the (here empty)
/// saved environment, stdout goes to `stdout`; only stderr is the terminal.
fn hooked(env: &TestEnv, args: &[&str], stdout: &Path) -> Pty {
    let mut command = env.command(args);
    command.env("TERM", "xterm");
    let stdout = File::create(stdout).unwrap();
    Pty::spawn_piped(command, Stdio::null(), Stdio::from(stdout))
}

#[test]
fn exec_with_nothing_before_dashes_picks_by_typing_and_runs_the_command_with_that_profile() {
    let env = profiles();
    let mut pty = env.pty(["exec", "--", "printenv", "AWS_ACCESS_KEY_ID", "ROLESH_PROFILE"]);
    let screen = pty.expect(READY, DEADLINE);
    // Every profile, with its kind, role name, account and region.
    for row in ["alpha", "eu-west-1", "bravo", "prod-admin", "Admin", "222222222222"] {
        assert!(screen.contains(row), "{row} is not in the list:\n{screen}");
    }
    pty.send("brav\r");
    let (status, screen) = pty.finish(DEADLINE);
    assert!(status.success(), "{status:?}; the terminal showed:\n{screen}");
    assert!(screen.contains(&format!("{BRAVO_KEY}\r\nbravo\r\n")), "{screen}");
    assert!(!screen.contains(ALPHA_KEY), "{screen}");
}

#[test]
fn the_arrows_move_through_the_list_and_enter_chooses() {
    let env = profiles();
    let mut pty = env.pty(["exec", "--", "sh", "-c", "echo \"picked=$ROLESH_PROFILE\""]);
    pty.expect(READY, DEADLINE);
    // Down twice, up once: the second profile, bravo.
    pty.send("\x1b[B\x1b[B\x1b[A\r");
    let (status, screen) = pty.finish(DEADLINE);
    assert!(status.success(), "{status:?}; the terminal showed:\n{screen}");
    assert!(screen.contains("picked=bravo\r\n"), "{screen}");
}

#[test]
fn shell_without_a_profile_picks_one_and_starts_the_shell_with_it() {
    let env = profiles();
    // The "shell" prints its environment and leaves: enough to see the session it got.
    let mut pty = env.pty(["shell", "--shell", "/usr/bin/env"]);
    pty.expect(READY, DEADLINE);
    pty.send("alpha\r");
    let (status, screen) = pty.finish(DEADLINE);
    assert!(status.success(), "{status:?}; the terminal showed:\n{screen}");
    assert!(screen.contains(&format!("AWS_ACCESS_KEY_ID={ALPHA_KEY}")), "{screen}");
    assert!(screen.contains("AWS_REGION=eu-west-1"), "{screen}");
}

#[test]
fn use_picks_on_the_terminal_and_prints_only_shell_code_on_stdout() {
    let env = profiles();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stdout");
    let mut pty = hooked(&env, &["use", "--shell-hook", "bash", "--shell-pid", "1"], &out);
    pty.expect(READY, DEADLINE);
    pty.send("alp\r");
    let (status, screen) = pty.finish(DEADLINE);
    assert!(status.success(), "{status:?}; the terminal showed:\n{screen}");
    assert!(screen.contains("using `alpha`"), "{screen}");
    // What the hook would eval: bash takes all of it, and it holds the picked session.
    let code = std::fs::read_to_string(&out).unwrap();
    let script = format!("eval \"$(cat {})\" && printf %s \"$AWS_ACCESS_KEY_ID\"", out.display());
    let evaluated = run_script("bash", &["--norc"], &script, &[]);
    assert_eq!(evaluated.status, 0, "{}\n{code}", evaluated.stderr);
    assert_eq!(evaluated.stderr, "", "{code}");
    assert_eq!(evaluated.stdout, ALPHA_KEY, "{code}");
}

#[test]
fn esc_and_ctrl_c_cancel_with_130_and_nothing_on_stdout() {
    let env = profiles();
    let dir = tempfile::tempdir().unwrap();
    for (key, name) in [("\x1b", "Esc"), ("\x03", "Ctrl-C")] {
        let out = dir.path().join(name);
        let mut pty = hooked(&env, &["use", "--shell-hook", "bash"], &out);
        pty.expect(READY, DEADLINE);
        pty.send(key);
        let (status, screen) = pty.finish(DEADLINE);
        assert_eq!(status.code(), Some(130), "{name}; the terminal showed:\n{screen}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "", "{name} printed code for the hook to eval");
    }
}

#[test]
fn console_without_a_profile_opens_the_picker_too() {
    let env = profiles();
    let mut pty = env.pty(["console", "--stdout"]);
    pty.expect(READY, DEADLINE);
    pty.send("\x1b");
    let (status, screen) = pty.finish(DEADLINE);
    assert_eq!(status.code(), Some(130), "{screen}");
}

#[test]
fn without_a_terminal_a_missing_profile_is_a_usage_error_naming_the_form_to_type() {
    let env = profiles();
    for (args, form) in [
        (&["exec", "--", "true"][..], "rolesh exec PROFILE -- COMMAND"),
        (&["shell"], "rolesh shell PROFILE"),
        (&["use", "--shell-hook", "bash"], "rolesh use PROFILE"),
        (&["console"], "rolesh console PROFILE"),
    ] {
        let outcome = env.run(args);
        outcome.assert_error(2);
        assert!(outcome.error_line().ends_with(form), "{outcome}");
        assert!(outcome.stdout.is_empty(), "{outcome}");
    }
}

#[test]
fn exec_with_a_profile_and_no_command_is_still_a_usage_error() {
    let env = profiles();
    let outcome = env.run(["exec", "alpha"]);
    outcome.assert_error(2);
    assert!(outcome.error_line().contains("<COMMAND>"), "{outcome}");
}

#[test]
fn exec_keeps_taking_the_command_straight_after_the_profile() {
    let env = profiles();
    for args in [
        &["exec", "bravo", "printenv", "AWS_ACCESS_KEY_ID"][..],
        &["exec", "bravo", "--", "printenv", "AWS_ACCESS_KEY_ID"],
    ] {
        let outcome = env.run(args);
        outcome.assert_ok();
        assert_eq!(outcome.stdout(), format!("{BRAVO_KEY}\n"), "{outcome}");
    }
}

/// The real bash hook: `rolesh use` picks on the terminal while the hook captures stdout and
/// writes the saved environment to stdin. Switching with the picker and then `unuse` gives
/// back the environment from before the first `use`, so the record made it through.
#[test]
fn use_with_the_picker_through_the_bash_hook_switches_and_unuse_restores() {
    let home = aws_home();
    let dir = home.dir.path().to_path_buf();
    let rc = "PS1='[$?](${ROLESH_PROMPT})\\$ '\neval \"$(rolesh init bash)\"\nexport AWS_PROFILE='mine'\n";
    std::fs::write(dir.join("bashrc"), rc).unwrap();
    let mut env = home.env.clone();
    env.push(("SHELL".into(), "bash".into()));
    let rcfile = dir.join("bashrc").display().to_string();
    let t = Tmux::start(&["bash", "--noprofile", "--rcfile", &rcfile, "-i"], &env);
    t.wait_for("[0]()");
    let dump = |name: &str| {
        let path = dir.join(name);
        t.run(&format!("env -0 > {}", path.display()), name);
        let mut vars = parse_env0(&path);
        vars.remove(b"_".as_slice());
        vars
    };
    let before = dump("before");

    t.run("rolesh use dev", "use-dev");
    t.wait_for("(dev ");
    t.send("rolesh use");
    t.wait_for(READY);
    t.type_text("prod");
    t.keys(&["Enter"]);
    t.wait_for("(prod ");
    t.run(&format!("aws sts get-caller-identity --query Arn --output text > {}/arn", dir.display()), "arn");
    let arn = std::fs::read_to_string(dir.join("arn")).unwrap();
    assert!(arn.starts_with("arn:aws:sts::123456789012:assumed-role/prod/"), "{arn}");

    // Cancelled: `$?` is 130 and the session is still prod.
    t.send("rolesh use");
    t.wait_for(READY);
    t.keys(&["Escape"]);
    t.wait_for("[130](prod ");

    t.run("rolesh unuse", "unuse");
    let after = dump("after");
    assert_eq!(before, after, "unuse after a picked switch did not restore the environment");
    assert!(!t.screen().contains("command not found"), "{}", t.screen());
}

#[test]
fn init_without_a_shell_follows_dollar_shell_and_says_so_on_stderr() {
    let mut env = TestEnv::new(NO_STS);
    env.set("SHELL", "/usr/bin/fish");
    let outcome = env.run(["init"]);
    outcome.assert_ok();
    assert!(outcome.stdout().starts_with("# rolesh hook for fish"), "{outcome}");
    assert!(outcome.stderr.contains("the fish hook ($SHELL is /usr/bin/fish)"), "{outcome}");
    // Named, it says nothing: the startup-file line stays quiet.
    let outcome = env.run(["init", "zsh"]);
    assert!(outcome.stdout().starts_with("# rolesh hook for zsh"), "{outcome}");
    assert_eq!(outcome.stderr, "", "{outcome}");
}

/// `eval "$(rolesh init)"` in ~/.bashrc of a user whose login shell is fish: the shell that
/// evaluates the hook is the one that matters.
#[cfg(target_os = "linux")]
#[test]
fn init_without_a_shell_prefers_the_shell_that_runs_it() {
    let mut env = TestEnv::new(NO_STS);
    env.set("SHELL", "/usr/bin/fish");
    // `; :` keeps bash from replacing itself with rolesh, so bash stays the parent.
    let rolesh = support::rolesh_bin().display().to_string();
    let outcome = support::process::run(env.command_for("bash", ["--norc", "-c", "\"$0\" init; :", &rolesh]));
    outcome.assert_ok();
    assert!(outcome.stdout().starts_with("# shellcheck shell=bash"), "{outcome}");
    assert!(outcome.stderr.contains("the bash hook (the shell running rolesh)"), "{outcome}");
}
