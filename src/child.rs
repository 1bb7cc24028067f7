//! Runs a command with a session's environment and hands back its exit status. While the
//! child runs, rolesh ignores the terminal's Ctrl-C/Ctrl-\ (they reach the child, which is in
//! the same process group) and forwards TERM, HUP, USR1 and USR2 sent to rolesh itself.

use std::ffi::OsString;
use std::process::Command;

use crate::error::Error;
use crate::session::EnvChanges;

/// Runs `argv` with `changes` applied to the inherited environment; returns its exit code,
/// 128+N when it died of signal N.
pub fn run(argv: &[OsString], changes: &EnvChanges) -> Result<i32, Error> {
    let (program, args) = argv.split_first().ok_or_else(|| Error::Usage("no command given".into()))?;
    let mut cmd = Command::new(program);
    cmd.args(args);
    apply(&mut cmd, changes);
    let shown = program.to_string_lossy().into_owned();
    signals::install();
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::CommandNotFound(shown.clone()),
        std::io::ErrorKind::PermissionDenied => Error::NotExecutable(shown.clone()),
        _ => Error::State(format!("could not start {shown}: {e}")),
    })?;
    signals::forward_to(child.id());
    // Stop forwarding while the child is still a zombie, so its pid cannot have been reused
    // by the time a late signal is forwarded; only then reap it.
    signals::wait_exited(child.id());
    signals::forward_to(0);
    let status = child.wait().map_err(|e| Error::State(format!("could not wait for {shown}: {e}")))?;
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

pub fn apply(cmd: &mut Command, changes: &EnvChanges) {
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

#[cfg(unix)]
mod signals {
    use std::sync::Once;
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

    static CHILD: AtomicI32 = AtomicI32::new(0);
    /// A signal that arrived after spawn started but before its pid was known: the child may
    /// already be running (and be visible to whoever sent it), so it is delivered late
    /// rather than lost.
    static PENDING: AtomicI32 = AtomicI32::new(0);

    extern "C" fn forward(sig: libc::c_int) {
        let pid = CHILD.load(Ordering::SeqCst);
        // 0 means no child yet (or we are the forked child before exec): never signal our
        // own process group by accident.
        if pid > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe {
                libc::kill(pid, sig);
            }
        } else {
            PENDING.store(sig, Ordering::SeqCst);
        }
    }

    extern "C" fn ignore(_sig: libc::c_int) {}

    /// Handlers, not SIG_IGN: exec resets caught signals to their default in the child,
    /// whereas an ignored SIGINT would stay ignored there.
    pub fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            for (sig, handler) in [
                (libc::SIGINT, ignore as extern "C" fn(libc::c_int)),
                (libc::SIGQUIT, ignore),
                (libc::SIGTERM, forward),
                (libc::SIGHUP, forward),
                (libc::SIGUSR1, forward),
                (libc::SIGUSR2, forward),
            ] {
                // SAFETY: the handlers only touch an atomic and call kill.
                unsafe {
                    let mut action: libc::sigaction = std::mem::zeroed();
                    action.sa_sigaction = handler as usize;
                    action.sa_flags = libc::SA_RESTART;
                    libc::sigemptyset(&mut action.sa_mask);
                    libc::sigaction(sig, &action, std::ptr::null_mut());
                }
            }
        });
    }

    static DIED_OF_SIGINT: AtomicBool = AtomicBool::new(false);

    pub fn remember(status: std::process::ExitStatus) {
        use std::os::unix::process::ExitStatusExt;
        DIED_OF_SIGINT.store(status.signal() == Some(libc::SIGINT), Ordering::SeqCst);
    }

    /// Returns only when the child did not die of SIGINT (or `code` is not its status).
    pub fn die_like_the_child(code: i32) {
        if code == 128 + libc::SIGINT && DIED_OF_SIGINT.load(Ordering::SeqCst) {
            // SAFETY: restores the default action (our handler only ignored ^C) and raises
            // it, which ends the process.
            unsafe {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::raise(libc::SIGINT);
            }
        }
    }

    /// Blocks until `pid` has exited without reaping it (`WNOWAIT`); errors (none expected)
    /// fall through to the caller's own wait.
    pub fn wait_exited(pid: u32) {
        loop {
            // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waits for our own child; WNOWAIT leaves it to be reaped by Child::wait.
            let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT) };
            if r == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                return;
            }
        }
    }

    pub fn forward_to(pid: u32) {
        CHILD.store(pid as i32, Ordering::SeqCst);
        let pending = PENDING.swap(0, Ordering::SeqCst);
        if pid > 0 && pending != 0 {
            // SAFETY: a plain kill of our own child.
            unsafe {
                libc::kill(pid as i32, pending);
            }
        }
    }
}

#[cfg(windows)]
mod signals {
    unsafe extern "system" fn handled(_ctrl_type: u32) -> windows_sys::core::BOOL {
        1
    }

    /// Ctrl-C goes to every process on the console: the child handles it, rolesh waits. A
    /// handler rather than `SetConsoleCtrlHandler(NULL, TRUE)`, whose "ignore" flag the child
    /// would inherit.
    pub fn install() {
        // SAFETY: registers a handler that only returns TRUE.
        unsafe {
            windows_sys::Win32::System::Console::SetConsoleCtrlHandler(Some(handled), 1);
        }
    }

    pub fn forward_to(_pid: u32) {}

    /// Windows does not recycle a process id while rolesh holds the child's handle.
    pub fn wait_exited(_pid: u32) {}
}
