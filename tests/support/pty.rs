//! Running rolesh on a pseudo-terminal, to answer its MFA prompt as a person would.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::thread;
use std::time::{Duration, Instant};

#[derive(PartialEq)]
enum Got {
    Data,
    Nothing,
    End,
}

pub struct Pty {
    what: String,
    master: File,
    pid: i32,
    exit: Receiver<ExitStatus>,
    seen: Vec<u8>,
    finished: bool,
}

impl Pty {
    /// Starts `command` in a new session whose controlling terminal, stdin,
    /// stdout and stderr are all the slave side of a fresh pty.
    pub fn spawn(command: Command) -> Pty {
        Pty::spawn_with(command, None)
    }

    /// [`Pty::spawn`], but with stdin and stdout as given, as a shell hook's command
    /// substitution runs rolesh: only stderr and the controlling terminal are the pty.
    pub fn spawn_piped(command: Command, stdin: Stdio, stdout: Stdio) -> Pty {
        Pty::spawn_with(command, Some((stdin, stdout)))
    }

    fn spawn_with(mut command: Command, piped: Option<(Stdio, Stdio)>) -> Pty {
        let what = format!("{command:?}");
        let (mut master_fd, mut slave_fd) = (-1, -1);
        let size = libc::winsize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: openpty writes two descriptors; the name and termios
        // pointers may be null.
        let rc =
            unsafe { libc::openpty(&mut master_fd, &mut slave_fd, std::ptr::null_mut(), std::ptr::null_mut(), &size) };
        assert_eq!(rc, 0, "openpty failed: {}", std::io::Error::last_os_error());
        // SAFETY: openpty just returned these descriptors and nothing else owns them.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master_fd), OwnedFd::from_raw_fd(slave_fd)) };
        // Other tests spawn processes concurrently: keep both ends out of them,
        // or the master never sees the slave close.
        for fd in [master.as_raw_fd(), slave.as_raw_fd()] {
            // SAFETY: plain fcntl on descriptors we own.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("could not dup the pty slave"));
        match piped {
            Some((stdin, stdout)) => command.stdin(stdin).stdout(stdout),
            None => command.stdin(stdio(&slave)).stdout(stdio(&slave)),
        };
        command.stderr(stdio(&slave));
        // SAFETY: setsid, ioctl and signal are async-signal-safe; fd 2 is the slave
        // by the time pre_exec runs.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 || libc::ioctl(2, libc::TIOCSCTTY, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                super::process::default_signals();
                Ok(())
            });
        }
        let mut child = command.spawn().unwrap_or_else(|e| panic!("could not start {what} on a pty: {e}"));
        drop(command);
        drop(slave);
        let pid = i32::try_from(child.id()).expect("pid fits in i32");
        let (exited, exit) = mpsc::channel();
        thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = exited.send(status);
            }
        });
        Pty { what, master: File::from(master), pid, exit, seen: Vec::new(), finished: false }
    }

    /// Reads what arrives within `timeout`.
    fn read_some(&mut self, timeout: Duration) -> Got {
        let mut poll = libc::pollfd { fd: self.master.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, ms) };
        if ready == 0 {
            return Got::Nothing;
        }
        if ready < 0 {
            return match std::io::Error::last_os_error().kind() {
                std::io::ErrorKind::Interrupted => Got::Nothing,
                _ => Got::End,
            };
        }
        let mut chunk = [0u8; 4096];
        match self.master.read(&mut chunk) {
            // Linux answers EIO once every slave descriptor is closed.
            Ok(0) | Err(_) => Got::End,
            Ok(n) => {
                self.seen.extend_from_slice(&chunk[..n]);
                Got::Data
            }
        }
    }

    /// The process started on the terminal.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Everything the terminal showed so far.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// Waits until the terminal shows `needle` (ignoring case); returns the screen.
    #[track_caller]
    pub fn expect(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let needle = needle.to_lowercase();
        loop {
            if self.screen().to_lowercase().contains(&needle) {
                return self.screen();
            }
            let now = Instant::now();
            if now >= deadline || self.read_some(deadline - now) == Got::End {
                if self.screen().to_lowercase().contains(&needle) {
                    return self.screen();
                }
                self.kill();
                panic!(
                    "{} did not show {needle:?} on its terminal within {within:?}; it showed:\n{}",
                    self.what,
                    self.screen()
                );
            }
        }
    }

    /// Types `text` on the terminal.
    pub fn send(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).and_then(|()| self.master.flush()).expect("could not write to the pty");
    }

    /// Waits for the process to exit and returns its status and the screen.
    #[track_caller]
    pub fn finish(mut self, within: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + within;
        loop {
            match self.exit.try_recv() {
                Ok(status) => {
                    // Take what is still buffered on the master.
                    while self.read_some(Duration::ZERO) == Got::Data {}
                    self.finished = true;
                    return (status, self.screen());
                }
                Err(TryRecvError::Disconnected) => panic!("lost track of {}", self.what),
                Err(TryRecvError::Empty) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                self.kill();
                panic!("{} still running after {within:?}; its terminal showed:\n{}", self.what, self.screen());
            }
            // The poll timeout only bounds how late the exit is noticed.
            if self.read_some((deadline - now).min(Duration::from_millis(50))) == Got::End {
                // End of output: the exit status follows at once.
                if let Ok(status) = self.exit.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    self.finished = true;
                    return (status, self.screen());
                }
            }
        }
    }

    fn kill(&self) {
        super::process::kill_group(self.pid);
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if !self.finished {
            self.kill();
        }
    }
}
