//! `rolesh shell`: a subshell holding the session; leaving it leaves the parent untouched.

use std::ffi::OsString;

use crate::cli::ShellArgs;
use crate::env::Env;
use crate::error::Error;
use crate::ledger::Kind;

pub fn run(args: ShellArgs, env: &Env) -> Result<i32, Error> {
    let profile = super::pick::profile_or_pick(args.profile, "shell", env)?;
    let program = args.shell.clone().map(OsString::from).unwrap_or_else(|| default_shell(env));
    if args.serve.server {
        super::say(&format!("subshell served credentials for `{profile}`; `exit` to leave"));
        return super::served::run(Kind::Shell, &profile, &args.session, &args.serve, &[program], env);
    }
    let session = super::session_for(&profile, &args.session, env)?;
    super::say(&format!("subshell with {}; `exit` to leave", super::use_::describe(&session)));
    super::run_with_session(Kind::Shell, &session, &[program], env)
}

/// `$SHELL`, else `/bin/sh`.
#[cfg(not(windows))]
fn default_shell(env: &Env) -> OsString {
    env.get_os("SHELL").filter(|s| !s.is_empty()).map_or_else(|| "/bin/sh".into(), OsString::from)
}

/// PowerShell 7 (`pwsh`), else Windows PowerShell, else `%COMSPEC%` (cmd.exe).
#[cfg(windows)]
fn default_shell(env: &Env) -> OsString {
    let path = env.get_os("PATH").unwrap_or_default();
    for name in ["pwsh.exe", "powershell.exe"] {
        if std::env::split_paths(path).any(|dir| dir.join(name).is_file()) {
            return name.into();
        }
    }
    env.get_os("COMSPEC").filter(|s| !s.is_empty()).map_or_else(|| "cmd.exe".into(), OsString::from)
}
