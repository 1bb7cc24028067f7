//! Running rolesh with a deadline and no controlling terminal.

use std::fmt;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Long enough for rolesh to give up on an unreachable endpoint after its
/// retries, short enough that a hang fails the test instead of the suite.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Makes `command` run in a session of its own: no controlling terminal, so
/// nothing it starts can prompt on the terminal running the tests, and one
/// process group that a timed-out test can kill whole. Stdin is null.
pub fn detach(command: &mut Command) -> &mut Command {
    command.stdin(Stdio::null());
    // SAFETY: setsid and signal are async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            default_signals();
            Ok(())
        })
    }
}

/// Gives the signals a terminal sends their default action back. Ignored
/// signals survive exec, and a test run started in the background (as CI
/// may) ignores SIGINT: a shell started that way cannot even trap it.
///
/// # Safety
/// Only for `pre_exec`: it changes the whole process's signal handling.
pub unsafe fn default_signals() {
    for signal in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: restoring a default disposition is always valid.
        unsafe { libc::signal(signal, libc::SIG_DFL) };
    }
}

/// How a finished command went.
pub struct Outcome {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Outcome {
    fn new(what: String, status: ExitStatus, stdout: Vec<u8>, stderr: Vec<u8>) -> Outcome {
        let outcome = Outcome { what, status, stdout, stderr: String::from_utf8_lossy(&stderr).into_owned() };
        // Whatever else a test checks, rolesh must never panic.
        assert!(!outcome.stderr.contains("panicked"), "rolesh panicked:\n{outcome}");
        outcome
    }

    /// The exit code, or 128+N when killed by signal N, as a shell reports it.
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .or_else(|| self.status.signal().map(|s| 128 + s))
            .expect("a finished process has a code or a signal")
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Outcome {
        assert!(self.status.success(), "expected success:\n{self}");
        self
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Outcome {
        assert_eq!(self.status.code(), Some(code), "wrong exit status:\n{self}");
        self
    }

    /// Exit `code`, with a first stderr line `rolesh: …` (an optional `hint:`
    /// may follow) and nothing resembling a debug dump or backtrace.
    #[track_caller]
    pub fn assert_error(&self, code: i32) -> &Outcome {
        self.assert_code(code);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(
            lines.first().is_some_and(|l| l.starts_with("rolesh: ")),
            "stderr should start with `rolesh: `:\n{self}"
        );
        assert!(lines.len() <= 3, "an error should take a line or two of stderr, not {}:\n{self}", lines.len());
        assert!(
            !self.stderr.contains("stack backtrace") && !self.stderr.contains("Caused by"),
            "stderr should not dump internals:\n{self}"
        );
        self
    }

    /// The first line of stderr, where rolesh puts its error.
    pub fn error_line(&self) -> &str {
        self.stderr.lines().next().unwrap_or("")
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.what)?;
        writeln!(f, "status:  {:?} (code {})", self.status, self.code())?;
        writeln!(f, "stdout:\n{}", self.stdout())?;
        write!(f, "stderr:\n{}", self.stderr)
    }
}

/// Output captured from one pipe, readable while the process runs.
#[derive(Default)]
struct Capture {
    data: Mutex<(Vec<u8>, bool)>,
    grew: Condvar,
}

impl Capture {
    fn fill(self: Arc<Self>, mut pipe: impl Read + Send + 'static) {
        thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                let n = pipe.read(&mut chunk).unwrap_or(0);
                let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner());
                if n == 0 {
                    data.1 = true;
                    self.grew.notify_all();
                    return;
                }
                data.0.extend_from_slice(&chunk[..n]);
                self.grew.notify_all();
            }
        });
    }

    /// Waits until `done(bytes so far, closed)` holds; false on the deadline.
    fn wait_until(&self, deadline: Instant, done: impl Fn(&[u8], bool) -> bool) -> bool {
        let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if done(&data.0, data.1) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            data = self.grew.wait_timeout(data, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    fn bytes(&self) -> Vec<u8> {
        self.data.lock().unwrap_or_else(|e| e.into_inner()).0.clone()
    }
}

/// A detached process that is still running.
pub struct Spawned {
    what: String,
    pid: i32,
    exit: Receiver<ExitStatus>,
    stdout: Arc<Capture>,
    stderr: Arc<Capture>,
    finished: bool,
}

impl Spawned {
    /// Starts `command` detached (see [`detach`]) with stdout and stderr captured.
    pub fn start(command: Command) -> Spawned {
        Spawned::start_with(command, Stdio::null()).0
    }

    /// [`Spawned::start`] with stdin a pipe, for the caller to write to and close.
    pub fn start_with_stdin(command: Command) -> (Spawned, ChildStdin) {
        let (spawned, stdin) = Spawned::start_with(command, Stdio::piped());
        (spawned, stdin.expect("stdin is piped"))
    }

    fn start_with(mut command: Command, stdin: Stdio) -> (Spawned, Option<ChildStdin>) {
        let what = format!("{command:?}");
        detach(&mut command).stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child: Child = command.spawn().unwrap_or_else(|e| panic!("could not start {what}: {e}"));
        let input = child.stdin.take();
        let pid = i32::try_from(child.id()).expect("pid fits in i32");
        let stdout = Arc::new(Capture::default());
        let stderr = Arc::new(Capture::default());
        Arc::clone(&stdout).fill(child.stdout.take().expect("stdout is piped"));
        Arc::clone(&stderr).fill(child.stderr.take().expect("stderr is piped"));
        let (exited, exit) = mpsc::channel();
        thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = exited.send(status);
            }
        });
        (Spawned { what, pid, exit, stdout, stderr, finished: false }, input)
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Waits until stdout contains `needle`, and returns stdout so far.
    #[track_caller]
    pub fn expect_stdout(&self, needle: &str, within: Duration) -> String {
        let found =
            self.stdout.wait_until(Instant::now() + within, |bytes, _| String::from_utf8_lossy(bytes).contains(needle));
        let seen = String::from_utf8_lossy(&self.stdout.bytes()).into_owned();
        assert!(
            found,
            "{} did not print {needle:?} within {within:?}; stdout:\n{seen}\nstderr:\n{}",
            self.what,
            String::from_utf8_lossy(&self.stderr.bytes())
        );
        seen
    }

    /// Waits until stderr contains `needle`, and returns stderr so far.
    #[track_caller]
    pub fn expect_stderr(&self, needle: &str, within: Duration) -> String {
        let found =
            self.stderr.wait_until(Instant::now() + within, |bytes, _| String::from_utf8_lossy(bytes).contains(needle));
        let seen = String::from_utf8_lossy(&self.stderr.bytes()).into_owned();
        assert!(found, "{} did not print {needle:?} on stderr within {within:?}; stderr:\n{seen}", self.what);
        seen
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: plain syscall on a pid we started and have not reaped.
        let rc = unsafe { libc::kill(self.pid, signal) };
        assert_eq!(rc, 0, "kill({}, {signal}) failed", self.pid);
    }

    /// Sends `signal` to the whole process group, as a terminal does for ^C.
    pub fn signal_group(&self, signal: i32) {
        // SAFETY: the process leads its own group (it called setsid).
        let rc = unsafe { libc::kill(-self.pid, signal) };
        assert_eq!(rc, 0, "kill(-{}, {signal}) failed", self.pid);
    }

    /// Waits for the process to exit; kills its group and fails the test if
    /// it outlives `within`.
    #[track_caller]
    pub fn wait(mut self, within: Duration) -> Outcome {
        let status = match self.exit.recv_timeout(within) {
            Ok(status) => status,
            Err(_) => {
                self.kill_group();
                panic!(
                    "{} still running after {within:?}; stdout:\n{}\nstderr:\n{}",
                    self.what,
                    String::from_utf8_lossy(&self.stdout.bytes()),
                    String::from_utf8_lossy(&self.stderr.bytes())
                );
            }
        };
        self.finished = true;
        // A grandchild left running may hold the pipes open: take what
        // arrived within a moment rather than waiting for it.
        let grace = Instant::now() + Duration::from_secs(5);
        self.stdout.wait_until(grace, |_, closed| closed);
        self.stderr.wait_until(grace, |_, closed| closed);
        Outcome::new(std::mem::take(&mut self.what), status, self.stdout.bytes(), self.stderr.bytes())
    }

    fn kill_group(&self) {
        kill_group(self.pid);
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // A test that failed half-way must not leave rolesh and its child behind.
        if !self.finished && self.exit.try_recv().is_err() {
            self.kill_group();
        }
    }
}

/// Runs `command` detached, with a deadline.
#[track_caller]
/// SIGKILL to `pid`'s process group and to `pid` itself: every process a test starts leads its
/// own session, so this ends it and whatever it started.
pub fn kill_group(pid: i32) {
    // SAFETY: plain syscalls; errors (already gone) are irrelevant here.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
        libc::kill(pid, libc::SIGKILL);
    }
}

pub fn run(command: Command) -> Outcome {
    Spawned::start(command).wait(DEADLINE)
}

/// True while a process with this pid exists (a zombie counts).
pub fn process_exists(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
