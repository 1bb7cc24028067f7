//! Shell completion through clap_complete's dynamic engine: the script a shell loads is a
//! small stub that calls `ROLESH_COMPLETE=<shell> rolesh -- <words>` on every TAB, so
//! profile names come fresh from the config files in bash, zsh, fish and PowerShell alike.
//! The stubs are committed in `completions/`; `tests/completions.rs` fails when they differ
//! from what the binary prints (`ROLESH_BLESS=1 cargo test --test completions` rewrites them).

use clap_complete::CompletionCandidate;
use clap_complete::env::{CompleteEnv, Shells};

use crate::env::Env;
use crate::error::Error;
use crate::profile::Config;
use crate::shell::Shell;

/// The variable that turns a run of rolesh into a completion request.
pub const VAR: &str = crate::env::COMPLETE;

/// Answers a completion request and exits, if this run is one; call first thing in `main`
/// with the command line's definition (`Cli::command`).
pub fn complete_if_asked(command: fn() -> clap::Command) {
    CompleteEnv::with_factory(command).var(VAR).complete();
}

/// The registration script for `shell`, calling `rolesh` from `PATH`.
pub fn script(shell: Shell) -> Result<String, Error> {
    let shells = Shells::builtins();
    let completer =
        shells.completer(shell.name()).ok_or_else(|| Error::Usage(format!("no completions for {}", shell.name())))?;
    let mut buf = Vec::new();
    completer
        .write_registration(VAR, "rolesh", "rolesh", "rolesh", &mut buf)
        .map_err(|e| Error::Local(format!("could not write the completion script: {e}")))?;
    let mut text = String::from_utf8(buf).map_err(|e| Error::Local(format!("completion script is not UTF-8: {e}")))?;
    if shell == Shell::Zsh {
        // Installed as `_rolesh` in $fpath, the file is autoloaded as the completion
        // function itself: without this, the first TAB would only define the completer.
        text.push_str("if [[ ${funcstack[1]-} == _rolesh ]]; then\n    _clap_dynamic_completer_rolesh \"$@\"\nfi\n");
    }
    Ok(text)
}

/// `[sso-session]` names and the profiles that log in to SSO, for `rolesh login`.
pub fn sso_names() -> Vec<CompletionCandidate> {
    let Ok(cfg) = Config::load(&Env::from_process()) else {
        return Vec::new();
    };
    let profiles = cfg.profiles().filter(|p| p.logs_in_to_sso()).map(|p| p.name.clone());
    cfg.sso_sessions.keys().cloned().chain(profiles).map(CompletionCandidate::new).collect()
}

/// Profile names from the config files, for completing a PROFILE argument. A broken
/// config file completes nothing rather than printing errors into the command line.
pub fn profiles() -> Vec<CompletionCandidate> {
    let Ok(cfg) = Config::load(&Env::from_process()) else {
        return Vec::new();
    };
    cfg.names().map(CompletionCandidate::new).collect()
}
