//! Per-directory roles (`rolesh init SHELL --auto-dir`, `.rolesh`, `rolesh allow/deny/trust`)
//! in real interactive bash, zsh and fish, driven through a pseudo-terminal (tmux) against
//! moto's STS: entering an allowed tree takes its role (`aws sts get-caller-identity` shows
//! it), nested trees switch to the inner profile and back, leaving gives back the environment
//! from before, compared variable by variable; files that are new, denied, edited, copied,
//! linked, writable by others or another user's change nothing and say so in one line; a
//! manual `use` outlives the tree; a changed `role_arn` takes the trust back; and no prompt
//! without a change of directory starts rolesh (counted through a wrapper).
#![cfg(unix)]

mod shell_support;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use shell_support::{AwsHome, Tmux, aws_home, parse_env0, rolesh, run_script};
use support::hostile::{chmod, give_to_nobody};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Sh {
    Bash,
    Zsh,
    Fish,
}

impl Sh {
    fn name(self) -> &'static str {
        match self {
            Sh::Bash => "bash",
            Sh::Zsh => "zsh",
            Sh::Fish => "fish",
        }
    }
}

/// A test home (moto, profiles `dev` and `prod`) with a `work` directory for projects.
struct World {
    home: AwsHome,
    /// The home directory, canonical (as the paths rolesh records and prints are).
    dir: PathBuf,
}

impl World {
    fn new() -> World {
        let home = aws_home();
        let dir = std::fs::canonicalize(home.dir.path()).unwrap();
        World { home, dir }
    }

    /// Creates `rel` (with its parents) holding a `.rolesh` with `text`, 0644 like a file
    /// from a checkout; returns the directory.
    fn project(&self, rel: &str, text: &str) -> PathBuf {
        let dir = self.dir.join(rel);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(".rolesh"), text).unwrap();
        chmod(&dir.join(".rolesh"), 0o644);
        dir
    }

    /// Runs `rolesh ARGS` outside any shell session, as the user would in another terminal.
    fn rolesh(&self, args: &str) -> shell_support::Output {
        run_script("sh", &[], &format!("cd '{}' && rolesh {args}", self.dir.display()), &self.home.env)
    }

    fn allow(&self, dir: &Path) {
        let out = self.rolesh(&format!("allow '{}'", dir.display()));
        assert_eq!(out.status, 0, "allow {}: {}", dir.display(), out.stderr);
    }

    /// Starts `sh` interactively in the home directory with the hook `rolesh init SH
    /// --auto-dir` prints, calling the binary at `exe` (the real one unless a test counts
    /// its calls through a wrapper). The prompt is `[STATUS](SESSION)`.
    fn start(&self, sh: Sh, exe: Option<&Path>) -> Tmux {
        let dir = &self.dir;
        let init = std::process::Command::new(rolesh()).args(["init", sh.name(), "--auto-dir"]).output().unwrap();
        assert!(init.status.success());
        let mut hook = String::from_utf8(init.stdout).unwrap();
        if let Some(exe) = exe {
            hook = hook.replace(rolesh(), &exe.display().to_string());
        }
        let hook_file = dir.join(format!("hook.{}", sh.name()));
        std::fs::write(&hook_file, hook).unwrap();
        let (hook_file, home) = (hook_file.display(), dir.display());
        let mut env = self.home.env.clone();
        let argv: Vec<String> = match sh {
            Sh::Bash => {
                let rc = format!("cd '{home}'\nPS1='[$?](${{ROLESH_PROMPT}})\\$ '\nsource '{hook_file}'\n");
                std::fs::write(dir.join("bashrc"), rc).unwrap();
                let rcfile = dir.join("bashrc").display().to_string();
                vec!["bash".into(), "--noprofile".into(), "--rcfile".into(), rcfile, "-i".into()]
            }
            Sh::Zsh => {
                let rc = format!(
                    "cd '{home}'\nsetopt prompt_subst\nPROMPT='[%?](${{ROLESH_PROMPT}})%# '\nsource '{hook_file}'\n"
                );
                std::fs::write(dir.join(".zshrc"), rc).unwrap();
                env.push(("ZDOTDIR".into(), home.to_string()));
                vec!["zsh".into(), "-i".into()]
            }
            Sh::Fish => {
                let conf = dir.join(".config/fish");
                std::fs::create_dir_all(&conf).unwrap();
                let rc = format!(
                    "cd '{home}'\nset -g fish_greeting\nsource '{hook_file}'\nfunction fish_prompt\n    printf '[%s](%s)> ' $status (__rolesh_prompt)\nend\n"
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

    /// The shell's environment, through `env -0` run in it (after every hook before it).
    fn env(&self, t: &Tmux, name: &str) -> BTreeMap<String, String> {
        let path = self.dir.join(name);
        t.run(&format!("env -0 > '{}'", path.display()), name);
        let mut env: BTreeMap<String, String> = parse_env0(&path)
            .into_iter()
            .map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), String::from_utf8_lossy(&v).into_owned()))
            .collect();
        // `_` (the last argument) and OLDPWD are the shell's own, not rolesh's to restore.
        env.remove("_");
        env.remove("OLDPWD");
        env
    }

    /// The ARN STS sees for the shell's credentials.
    fn caller(&self, t: &Tmux, name: &str) -> String {
        let path = self.dir.join(name);
        t.run(&format!("aws sts get-caller-identity --query Arn --output text > '{}' 2>&1", path.display()), name);
        std::fs::read_to_string(path).unwrap().trim().to_string()
    }

    /// Changes the shell's directory, and returns once the hooks that follow have run.
    fn cd(&self, t: &Tmux, to: &Path, marker: &str) {
        t.run(&format!("cd '{}'", to.display()), marker);
        // bash looks at the directory at its next prompt: wait for that prompt, so that
        // nothing typed next is echoed into the hook's messages.
        prompted(t);
    }
}

/// Waits until the shell shows a fresh prompt (`[STATUS](SESSION)` and its sign, nothing
/// typed after it): every hook before it has run. Panics with the screen after 30s.
fn prompted(t: &Tmux) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let screen = t.screen();
        let last = screen.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default().trim_end();
        if last.starts_with('[') && last.contains("](") && last.ends_with(['$', '#', '%', '>']) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no prompt came; the screen:\n{screen}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn assured_role(arn: &str, role: &str) {
    let want = format!("arn:aws:sts::123456789012:assumed-role/{role}/rolesh-");
    assert!(arn.starts_with(&want), "expected the role {role}, STS says: {arn}");
}

fn assert_same_env(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>, what: &str) {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let diff: Vec<String> = keys
        .into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| format!("{k}: {:?} -> {:?}", before.get(k), after.get(k)))
        .collect();
    assert!(diff.is_empty(), "{what}: the environment differs from before:\n{}", diff.join("\n"));
}

fn get<'a>(env: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name).map(String::as_str)
}

/// Enters an allowed tree, a nested one, back out to the first and out of both: each step
/// takes the right role (as STS sees it), and leaving gives back the environment exactly.
fn entering_and_leaving_trees(sh: Sh) {
    let w = World::new();
    let billing = w.project("work/billing", "# the billing account\nprofile = dev\n");
    let infra = w.project("work/billing/infra", "profile = prod\nregion = eu-central-1\n");
    std::fs::create_dir_all(billing.join("src")).unwrap();
    w.allow(&billing);
    w.allow(&infra);
    let t = w.start(sh, None);
    let before = w.env(&t, "before");
    assert_eq!(get(&before, "ROLESH_PROFILE"), None);

    w.cd(&t, &billing.join("src"), "cd-billing");
    assured_role(&w.caller(&t, "arn-billing"), "dev");
    let inside = w.env(&t, "in-billing");
    assert_eq!(get(&inside, "ROLESH_DIR"), Some(billing.to_str().unwrap()));
    assert_eq!(get(&inside, "AWS_REGION"), Some("eu-west-1"), "the profile's region");
    t.wait_for("rolesh: using `dev` (arn:aws:sts::123456789012:assumed-role/dev/");
    t.wait_for(&format!("for {}; leaving the directory leaves it", billing.display()));
    // `rolesh ls` says where the session came from.
    let ls = w.dir.join("ls.json");
    t.run(&format!("rolesh ls --json > '{}'", ls.display()), "ls");
    let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&ls).unwrap()).unwrap();
    assert_eq!(rows[0]["kind"], "use", "{rows}");
    assert_eq!(rows[0]["dir"].as_str(), billing.to_str(), "{rows}");
    let table = w.dir.join("ls.txt");
    t.run(&format!("rolesh ls > '{}'", table.display()), "ls-text");
    let table = std::fs::read_to_string(&table).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].ends_with(" DIR") && lines[1].ends_with(&format!(" {}", billing.display())), "{table}");

    w.cd(&t, &infra, "cd-infra");
    assured_role(&w.caller(&t, "arn-infra"), "prod");
    let nested = w.env(&t, "in-infra");
    assert_eq!(get(&nested, "ROLESH_DIR"), Some(infra.to_str().unwrap()));
    assert_eq!(get(&nested, "AWS_REGION"), Some("eu-central-1"), "the region in .rolesh");
    t.run(&format!("rolesh ls --json > '{}'", ls.display()), "ls-nested");
    let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&ls).unwrap()).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "a switch, not a second session: {rows}");

    w.cd(&t, &billing, "back-to-billing");
    assured_role(&w.caller(&t, "arn-billing-again"), "dev");
    assert_eq!(get(&w.env(&t, "in-billing-again"), "AWS_REGION"), Some("eu-west-1"));

    w.cd(&t, &w.dir, "out");
    assert_same_env(&before, &w.env(&t, "after"), "after leaving the trees");
    t.wait_for(&format!("rolesh: out of {}: left `dev`; the environment is as it was before", billing.display()));
    t.run(&format!("rolesh ls --json > '{}'", ls.display()), "ls-after");
    assert_eq!(std::fs::read_to_string(&ls).unwrap().trim(), "[]");
}

#[test]
fn bash_entering_a_trusted_tree_takes_its_role_and_leaving_restores_the_environment_exactly() {
    entering_and_leaving_trees(Sh::Bash);
}

#[test]
fn zsh_entering_a_trusted_tree_takes_its_role_and_leaving_restores_the_environment_exactly() {
    entering_and_leaving_trees(Sh::Zsh);
}

#[test]
fn fish_entering_a_trusted_tree_takes_its_role_and_leaving_restores_the_environment_exactly() {
    entering_and_leaving_trees(Sh::Fish);
}

/// Every file that is not allowed as it is: entering its tree switches nothing and prints
/// one line, once, not again at the prompts that follow.
fn untrusted_files_change_nothing(sh: Sh) {
    let w = World::new();
    let billing = w.project("work/billing", "profile = dev\n");
    w.allow(&billing);
    let fresh = w.project("work/fresh", "profile = dev\n");
    let denied = w.project("work/denied", "profile = dev\n");
    assert_eq!(w.rolesh(&format!("deny '{}'", denied.display())).status, 0);
    let edited = w.project("work/edited", "profile = dev\n");
    w.allow(&edited);
    std::fs::write(edited.join(".rolesh"), "profile = prod\n").unwrap();
    // The allowed file, copied or linked into another tree, is a file of that tree.
    let copied = w.project("work/copied", "profile = dev\n");
    let linked = w.dir.join("work/linked");
    std::fs::create_dir_all(&linked).unwrap();
    std::os::unix::fs::symlink(billing.join(".rolesh"), linked.join(".rolesh")).unwrap();
    let open = w.project("work/open", "profile = dev\n");
    w.allow(&open);
    chmod(&open.join(".rolesh"), 0o666);
    let foreign = w.project("work/foreign", "profile = dev\n");
    w.allow(&foreign);
    give_to_nobody(&foreign.join(".rolesh"));
    let bad = w.project("work/bad", "profile = dev\ncredential_process = sh -c 'curl evil'\n");

    let file = |d: &Path| d.join(".rolesh").display().to_string();
    let cases = [
        (&fresh, format!("{} is not allowed (profile `dev`); `rolesh allow` shows", file(&fresh))),
        (&denied, format!("{} is denied; `rolesh allow` to allow it", file(&denied))),
        (&edited, format!("{} has changed since it was allowed", file(&edited))),
        (&copied, format!("{} is not allowed (profile `dev`)", file(&copied))),
        (&linked, format!("ignoring {}: is a symlink, not a regular file", file(&linked))),
        (&open, format!("ignoring {}: is writable by other users (mode 0666)", file(&open))),
        (&foreign, format!("ignoring {}: is owned by another user (uid 65534)", file(&foreign))),
        (&bad, format!("{} is not allowed; `rolesh allow`", file(&bad))),
    ];
    let t = w.start(sh, None);
    let before = w.env(&t, "before");
    for (i, (dir, line)) in cases.iter().enumerate() {
        let messages = |screen: &str| screen.lines().filter(|l| l.starts_with("rolesh: ")).count();
        let said = messages(&t.screen());
        w.cd(&t, dir, &format!("cd-{i}"));
        // More prompts in the same directory say nothing more.
        t.keys(&["Enter"]);
        t.run("true", &format!("more-{i}"));
        prompted(&t);
        let screen = t.screen();
        let env = w.env(&t, &format!("env-{i}"));
        assert_eq!(get(&env, "ROLESH_PROFILE"), None, "{}: switched\n{screen}", dir.display());
        assert_eq!(get(&env, "AWS_ACCESS_KEY_ID"), None, "{}: switched\n{screen}", dir.display());
        assert_eq!(screen.matches(line.as_str()).count(), 1, "{}: want once: {line}\n{screen}", dir.display());
        assert_eq!(messages(&screen), said + 1, "{}: one line only\n{screen}", dir.display());
    }
    w.cd(&t, &w.dir, "out");
    assert_same_env(&before, &w.env(&t, "after"), "after the untrusted trees");
}

#[test]
fn bash_a_fresh_denied_edited_copied_linked_or_unsafe_file_changes_nothing_and_says_so_once() {
    untrusted_files_change_nothing(Sh::Bash);
}

#[test]
fn zsh_a_fresh_denied_edited_copied_linked_or_unsafe_file_changes_nothing_and_says_so_once() {
    untrusted_files_change_nothing(Sh::Zsh);
}

#[test]
fn fish_a_fresh_denied_edited_copied_linked_or_unsafe_file_changes_nothing_and_says_so_once() {
    untrusted_files_change_nothing(Sh::Fish);
}

/// A `use` typed inside a tree is the user's choice: neither cd-ing around in the tree nor
/// leaving it replaces or ends it, and its `unuse` goes back to before the directory's role.
fn a_manual_use_wins(sh: Sh) {
    let w = World::new();
    let billing = w.project("work/billing", "profile = dev\n");
    std::fs::create_dir_all(billing.join("src")).unwrap();
    w.allow(&billing);
    let t = w.start(sh, None);
    let before = w.env(&t, "before");
    w.cd(&t, &billing, "cd-billing");
    assured_role(&w.caller(&t, "arn-dir"), "dev");
    t.run("rolesh use prod", "use-prod");
    w.cd(&t, &billing.join("src"), "cd-src");
    assured_role(&w.caller(&t, "arn-src"), "prod");
    w.cd(&t, &w.dir, "out");
    assured_role(&w.caller(&t, "arn-out"), "prod");
    assert_eq!(get(&w.env(&t, "out-env"), "ROLESH_DIR"), None);
    w.cd(&t, &billing, "in-again");
    assured_role(&w.caller(&t, "arn-in-again"), "prod");
    t.run("rolesh unuse", "unuse");
    w.cd(&t, &w.dir, "out-again");
    assert_same_env(&before, &w.env(&t, "after"), "after unuse");
}

#[test]
fn bash_a_manual_use_inside_the_tree_survives_leaving_it() {
    a_manual_use_wins(Sh::Bash);
}

#[test]
fn zsh_a_manual_use_inside_the_tree_survives_leaving_it() {
    a_manual_use_wins(Sh::Zsh);
}

#[test]
fn fish_a_manual_use_inside_the_tree_survives_leaving_it() {
    a_manual_use_wins(Sh::Fish);
}

/// The trust is for the role the profile resolved to: pointing the profile at another role
/// in the AWS config takes it back until the file is allowed again.
#[test]
fn changing_the_profiles_role_arn_after_allow_drops_the_trust() {
    let w = World::new();
    let billing = w.project("work/billing", "profile = dev\n");
    w.allow(&billing);
    let config = w.dir.join("aws-config");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("role/dev\n", "role/admin\n")).unwrap();
    let t = w.start(Sh::Bash, None);
    w.cd(&t, &billing, "cd-billing");
    assert_eq!(get(&w.env(&t, "env"), "ROLESH_PROFILE"), None);
    t.wait_for(&format!(
        "rolesh: {}: profile `dev` is now arn:aws:iam::123456789012:role/admin, not arn:aws:iam::123456789012:role/dev as when it was allowed",
        billing.join(".rolesh").display()
    ));
    // Allowed again (from inside the shell, as a user would), the next entry takes the new role.
    t.run("rolesh allow", "allow");
    w.cd(&t, &w.dir, "out");
    w.cd(&t, &billing, "in-again");
    assured_role(&w.caller(&t, "arn"), "admin");
}

/// A directory's session that expires is cleared at the next prompt, as any session is, and
/// the directory, still allowed, gives its role again; leaving still restores everything.
fn expiry_inside_a_tree(sh: Sh) {
    let w = World::new();
    let billing = w.project("work/billing", "profile = dev\n");
    w.allow(&billing);
    let t = w.start(sh, None);
    let before = w.env(&t, "before");
    w.cd(&t, &billing, "cd-billing");
    let expire = if sh == Sh::Fish { "set -gx ROLESH_EXPIRES 1" } else { "export ROLESH_EXPIRES=1" };
    t.run(expire, "expire");
    prompted(&t);
    let screen = t.wait_for("rolesh: session `dev` expired at 1970-01-01T00:00:01Z");
    assert_eq!(screen.matches("rolesh: using `dev`").count(), 2, "taken again:\n{screen}");
    let env = w.env(&t, "again");
    assert_eq!(get(&env, "ROLESH_DIR"), Some(billing.to_str().unwrap()));
    assert!(get(&env, "ROLESH_EXPIRES").is_some_and(|e| e.len() >= 10), "{env:?}");
    assured_role(&w.caller(&t, "arn"), "dev");
    w.cd(&t, &w.dir, "out");
    assert_same_env(&before, &w.env(&t, "after"), "after leaving");
}

#[test]
fn bash_an_expired_directory_session_is_taken_again_at_the_next_prompt() {
    expiry_inside_a_tree(Sh::Bash);
}

#[test]
fn zsh_an_expired_directory_session_is_taken_again_at_the_next_prompt() {
    expiry_inside_a_tree(Sh::Zsh);
}

#[test]
fn fish_an_expired_directory_session_is_taken_again_at_the_next_prompt() {
    expiry_inside_a_tree(Sh::Fish);
}

/// Counted through a wrapper the hook calls instead of the binary: rolesh runs once at the
/// first prompt (the directory the shell starts in) and once per change of directory, never
/// at a prompt in the same directory.
fn counts_calls(sh: Sh) {
    let w = World::new();
    let count = w.dir.join("calls");
    let wrapper = w.dir.join("counting-rolesh");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\nexec '{}' \"$@\"\n", count.display(), rolesh()),
    )
    .unwrap();
    chmod(&wrapper, 0o755);
    let elsewhere = w.dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let t = w.start(sh, Some(&wrapper));
    let calls = |marker: &str| {
        // Read in the shell, after every prompt before it has run its hooks.
        let out = w.dir.join(marker);
        t.run(&format!("cat '{}' > '{}'", count.display(), out.display()), marker);
        std::fs::read_to_string(out).unwrap()
    };
    for _ in 0..3 {
        t.keys(&["Enter"]);
    }
    t.run("true", "true");
    t.run("echo hi", "echo");
    assert_eq!(calls("first"), "dir-changed\n", "{sh:?}: only the first prompt looks at the directory");
    t.run(&format!("cd '{}'", elsewhere.display()), "cd");
    for _ in 0..3 {
        t.keys(&["Enter"]);
    }
    t.run("true", "true-again");
    assert_eq!(calls("second"), "dir-changed\ndir-changed\n", "{sh:?}: one more for the change of directory");
}

#[test]
fn bash_no_rolesh_process_starts_at_a_prompt_without_a_directory_change() {
    counts_calls(Sh::Bash);
}

#[test]
fn zsh_no_rolesh_process_starts_at_a_prompt_without_a_directory_change() {
    counts_calls(Sh::Zsh);
}

#[test]
fn fish_no_rolesh_process_starts_at_a_prompt_without_a_directory_change() {
    counts_calls(Sh::Fish);
}

const MFA_PROFILE: &str = "[profile mfa]\nrole_arn = arn:aws:iam::123456789012:role/mfa\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/tester\n";

fn with_mfa_profile(w: &World) {
    let config = w.dir.join("aws-config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(MFA_PROFILE);
    std::fs::write(&config, text).unwrap();
}

/// In an interactive shell the hook's rolesh asks for the MFA code on the terminal.
#[test]
fn an_mfa_code_is_asked_on_the_terminal_when_entering_the_tree() {
    let w = World::new();
    with_mfa_profile(&w);
    let secure = w.project("work/secure", "profile = mfa\n");
    w.allow(&secure);
    let t = w.start(Sh::Bash, None);
    t.send(&format!("cd '{}'", secure.display()));
    t.wait_for("MFA code for arn:aws:iam::123456789012:mfa/tester: ");
    t.send("123456");
    t.wait_for("rolesh: using `mfa`");
    assured_role(&w.caller(&t, "arn"), "mfa");
}

/// Without a terminal to ask on, nothing changes and one line says what to run.
#[test]
fn without_a_terminal_an_mfa_profile_says_what_to_run() {
    let w = World::new();
    with_mfa_profile(&w);
    let secure = w.project("work/secure", "profile = mfa\n");
    w.allow(&secure);
    // setsid: a session without a controlling terminal, so /dev/tty cannot be opened.
    let script = format!("cd '{}' && setsid -w rolesh dir-changed --shell-hook bash </dev/null", secure.display());
    let out = run_script("sh", &[], &script, &w.home.env);
    assert_eq!((out.status, out.stdout.as_str()), (4, ""), "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "rolesh: {}: profile `mfa` needs an MFA code and there is no terminal to ask on; run `rolesh use mfa`\n",
            secure.join(".rolesh").display()
        )
    );
}

/// `allow` shows what the file switches to, from the user's own config; `trust` lists the
/// decisions with where each file stands, and forgets the files that are gone.
#[test]
fn allow_shows_the_role_and_account_and_trust_lists_decisions_and_forgets_gone_files() {
    let w = World::new();
    let billing = w.project("work/billing", "profile = dev\nregion = eu-north-1\n");
    let out = w.rolesh(&format!("allow '{}'", billing.display()));
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "{}\n  profile  dev\n  role     arn:aws:iam::123456789012:role/dev\n  account  123456789012\n  region   eu-north-1\n",
            billing.join(".rolesh").display()
        )
    );
    assert!(out.stderr.starts_with(&format!("rolesh: allowed: entering {} switches", billing.display())));
    let gone = w.project("work/gone", "profile = prod\n");
    w.allow(&gone);
    let refused = w.project("work/refused", "profile = prod\n");
    assert_eq!(w.rolesh(&format!("deny '{}'", refused.display())).status, 0);
    std::fs::write(billing.join(".rolesh"), "profile = dev\n").unwrap();
    std::fs::remove_dir_all(&gone).unwrap();
    let out = w.rolesh("trust");
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stderr, format!("rolesh: forgot {}: the file is gone\n", gone.join(".rolesh").display()));
    let rows: Vec<Vec<&str>> = out.stdout.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["STATE", "FILE", "PROFILE", "ROLE", "SINCE"]);
    assert_eq!(rows.len(), 3, "{}", out.stdout);
    assert_eq!(
        rows[1][..4],
        ["edited", billing.join(".rolesh").to_str().unwrap(), "dev", "arn:aws:iam::123456789012:role/dev"]
    );
    assert_eq!(rows[2][..4], ["denied", refused.join(".rolesh").to_str().unwrap(), "prod", "-"]);
    // A file that asks for more than a profile and a region cannot be allowed at all.
    let evil = w.project("work/evil", "profile = dev\nrole_arn = arn:aws:iam::999999999999:role/x\n");
    let out = w.rolesh(&format!("allow '{}'", evil.display()));
    assert_eq!((out.status, out.stdout.as_str()), (3, ""));
    assert!(out.stderr.contains("line 2: `role_arn` is not a setting of .rolesh"), "{}", out.stderr);
}
