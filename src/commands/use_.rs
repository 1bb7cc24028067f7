//! `rolesh use` / `rolesh unuse`: print shell code for the hook's `rolesh` function to eval.
//! stdout is only ever that code; every message goes to stderr.

use std::io::{IsTerminal, Read};

use chrono::Utc;

use crate::cli::{HookArgs, UnuseArgs, UseArgs};
use crate::credentials::rfc3339;
use crate::env::Env;
use crate::error::{Error, print_warnings};
use crate::ledger::{self, Entry, Kind};
use crate::session::{Session, expires_in, new_session_id};
use crate::shell::render::apply;
use crate::shell::restore::{self, DIR_VAR, Record};
use crate::shell::{Shell, init};

pub fn run_use(args: UseArgs, env: &Env) -> Result<i32, Error> {
    let shell = args.hook.shell_hook.ok_or_else(|| needs_hook("use", env))?;
    // Read the record before any STS call, so a damaged one fails fast.
    let record = saved_record(env)?;
    // Picked on the terminal itself: stdout is the code the hook evaluates, stdin the record.
    let profile = super::pick::profile_or_pick(args.profile, "use", env)?;
    let session = super::session_for(&profile, &args.session, env)?;
    switch_to(shell, record, &session, None, &args.hook, env)?;
    super::say(&format!("using {}; `rolesh unuse` to leave", describe(&session)));
    Ok(0)
}

/// Prints the code that switches the shell to `session` (keeping `record`, what `unuse` will
/// restore) and lists the session in the ledger. `origin` is the directory whose `.rolesh`
/// asked for it (the `--auto-dir` hook), else `None`: the session's `ROLESH_DIR`, which a
/// session from anywhere else removes, so that only a directory's own session is left when
/// the shell leaves that directory.
pub(super) fn switch_to(
    shell: Shell,
    record: Option<Record>,
    session: &Session,
    origin: Option<&str>,
    hook: &HookArgs,
    env: &Env,
) -> Result<(), Error> {
    let id = new_session_id();
    // The session lives as long as the interactive shell, whose pid the hook passes; a second
    // `use` in the same shell replaces its entry (a switch), see `Ledger::register`.
    if let Some(pid) = hook.shell_pid.or_else(crate::sys::parent_pid) {
        let entry = Entry { dir: origin.map(String::from), ..super::ledger_entry(&id, Kind::Use, session, pid, env) };
        print_warnings(&ledger::register_or_warn(env, entry));
    }
    let mut vars = session.environment(&id);
    for (_, value) in vars.iter_mut().filter(|(name, _)| *name == DIR_VAR) {
        *value = origin.map(String::from);
    }
    let (changes, record) = restore::switch(env, record, &vars);
    super::print_bytes(&apply(shell, &changes, &record.encode()))
}

pub fn run_unuse(args: UnuseArgs, env: &Env) -> Result<i32, Error> {
    let shell = args.hook.shell_hook.ok_or_else(|| needs_hook("unuse", env))?;
    let record = saved_record(env)?;
    let profile = env.get("ROLESH_PROFILE").unwrap_or("?").to_string();
    let why =
        if args.expired { format!("session `{profile}` expired{}", at(env)) } else { format!("left `{profile}`") };
    leave(shell, record, &why, env)?;
    Ok(0)
}

/// Prints the code that ends the shell's session: the environment from before its first `use`
/// comes back (or, for a session the shell inherited, its variables go). `why` starts what the
/// user is told.
pub(super) fn leave(shell: Shell, record: Option<Record>, why: &str, env: &Env) -> Result<(), Error> {
    let record = record.filter(|r| !r.is_empty());
    let (changes, told) = match record {
        Some(r) => {
            // Only a shell that ran `use` owns its session; an inherited one belongs to its parent.
            if let Some(id) = env.get("ROLESH_SESSION") {
                print_warnings(&ledger::deregister_or_warn(env, id));
            }
            (r.restore(), format!("{why}; the environment is as it was before `rolesh use`"))
        }
        // A session this shell inherited (from `rolesh shell` or a parent shell): nothing
        // was recorded here, so remove its credentials rather than keep them.
        None if env.get("ROLESH_SESSION").is_some() || env.get("ROLESH_PROFILE").is_some() => {
            let changes = restore::SESSION_VARS.iter().map(|n| (n.to_string(), None)).collect();
            (changes, format!("{why}; its credentials are removed (it began outside this shell: `exit` leaves it)"))
        }
        None => {
            super::say("no session to leave in this shell");
            return Ok(());
        }
    };
    super::print_bytes(&apply(shell, &changes, ""))?;
    super::say(&told);
    Ok(())
}

/// The saved environment the hook writes on stdin (never a terminal: run by hand, there is
/// nothing to read), capped, since a record is small.
pub(super) fn saved_record(env: &Env) -> Result<Option<Record>, Error> {
    let stdin = std::io::stdin();
    let mut input = String::new();
    if !stdin.is_terminal() {
        let mut bytes = Vec::new();
        stdin.lock().take(restore::MAX_LEN + 1).read_to_end(&mut bytes).map_err(|e| {
            Error::SavedEnvironment(format!("could not read the saved environment from the shell hook: {e}"))
        })?;
        if bytes.len() as u64 > restore::MAX_LEN {
            return Err(Error::SavedEnvironment(
                "the saved environment from the shell hook is too long; open a new shell".into(),
            ));
        }
        input = String::from_utf8(bytes).map_err(|_| {
            Error::SavedEnvironment("the saved environment from the shell hook is not text; open a new shell".into())
        })?;
    }
    Record::from_hook(&input, env)
}

/// `dev (arn:aws:sts::…:assumed-role/dev/rolesh-ana) until 2026-11-25T23:40:00Z, 59m left`
pub(super) fn describe(s: &Session) -> String {
    let mut text = format!("`{}`", s.profile);
    if let Some(arn) = s.assumed_arn.as_ref().or(s.role_arn.as_ref()) {
        text.push_str(&format!(" ({arn})"));
    }
    if let Some(e) = s.credentials.expiration {
        let left = super::prompt::left((e - Utc::now()).num_seconds());
        text.push_str(&format!(" until {}, {left} left", rfc3339(e)));
    }
    text
}

fn at(env: &Env) -> String {
    expires_in(env).map(|t| format!(" at {}", rfc3339(t))).unwrap_or_default()
}

/// Run as the plain binary, `use` cannot change the shell that started it: say how to load
/// the hook that can.
pub(super) fn needs_hook(cmd: &str, env: &Env) -> Error {
    let shell = init::guess(env.get("SHELL"));
    let (line, file) = init::setup_line(shell);
    let shown = if shell == Shell::Pwsh { "PowerShell" } else { shell.name() };
    Error::Usage(format!(
        "`rolesh {cmd}` changes the current shell, so it needs rolesh's {shown} hook; add this line to {file} and open a new shell: {line}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_hook_use_names_the_line_for_the_rc_file() {
        let e = needs_hook("use", &Env::from_pairs([("SHELL", "/usr/bin/zsh")]));
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().ends_with("~/.zshrc and open a new shell: eval \"$(rolesh init zsh)\""), "{e}");
        let e = needs_hook("unuse", &Env::from_pairs([("SHELL", "/usr/bin/fish")]));
        assert!(e.to_string().ends_with("rolesh init fish | source"), "{e}");
    }
}
