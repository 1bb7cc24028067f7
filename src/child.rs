//! Runs a command with a session's environment and hands back its exit status. The child is
//! started from the [`Env`] value (see [`Env::spawn`]), so nothing private to rolesh
//! reaches it; while it runs, signals are handled as [`crate::sys::signals`] describes.

use std::ffi::OsString;
use std::process::Command;

use crate::env::Env;
use crate::error::Error;
use crate::session::EnvChanges;
use crate::sys::signals;

/// Runs `argv` with `changes` applied to `env`; returns its exit code, 128+N when it died
/// of signal N.
pub fn run(argv: &[OsString], env: &Env, changes: &EnvChanges) -> Result<i32, Error> {
    let (program, args) = argv.split_first().ok_or_else(|| Error::Usage("no command given".into()))?;
    let shown = program.to_string_lossy().into_owned();
    signals::install();
    let spawned = env.spawn(program, |cmd| {
        cmd.args(args);
        apply(cmd, changes);
    });
    let mut child = spawned.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::CommandNotFound(shown.clone()),
        std::io::ErrorKind::PermissionDenied => Error::NotExecutable(shown.clone()),
        // E2BIG: the environment (or the arguments) is more than the OS takes for one
        // process, a fault of what was asked, not of rolesh's files.
        std::io::ErrorKind::ArgumentListTooLong => {
            Error::Usage(format!("could not start {shown}: its arguments and environment are too long for the system"))
        }
        _ => Error::Local(format!("could not start {shown}: {e}")),
    })?;
    signals::forward_to(child.id());
    // Stop forwarding while the child is still a zombie, so its pid cannot have been reused
    // by the time a late signal is forwarded; only then reap it.
    signals::wait_exited(child.id());
    signals::forward_to(0);
    let status = child.wait().map_err(|e| Error::Local(format!("could not wait for {shown}: {e}")))?;
    #[cfg(unix)]
    signals::remember(status);
    Ok(exit_code(status))
}

/// Leaves rolesh with `code`; call it last, once every destructor (the ledger's deregistration)
/// has run. A command that died of Ctrl-C makes rolesh die of SIGINT too instead of exiting
/// 130: bash takes a plain exit 130 to mean the command handled ^C itself and carries on with
/// the script or loop around it, whereas a death by SIGINT stops it, as it would without
/// rolesh in between (<https://www.cons.org/cracauer/sigint.html>). `$?` is 130 either way.
pub fn exit(code: i32) -> ! {
    #[cfg(unix)]
    signals::die_like_the_child(code);
    std::process::exit(code)
}

fn apply(cmd: &mut Command, changes: &EnvChanges) {
    for (name, value) in changes {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
}

#[cfg(unix)]
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(1)
}

#[cfg(not(unix))]
fn exit_code(status: std::process::ExitStatus) -> i32 {
    status.code().unwrap_or(1)
}
