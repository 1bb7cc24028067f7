//! What rolesh asks of the operating system about processes: is a process still the one we
//! recorded, which terminal it is on, who our parent is, where a program is, and the signal
//! handling around a child. The only module with a `cfg(unix)`/`cfg(windows)` maze.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::env::Env;

/// The pid of rolesh's parent: the interactive shell when rolesh runs from a shell hook.
/// `None` where std cannot tell (Windows; the PowerShell hook passes `$PID` instead).
pub fn parent_pid() -> Option<u32> {
    #[cfg(unix)]
    return Some(std::os::unix::process::parent_id());
    #[cfg(not(unix))]
    None
}

/// The name of rolesh's parent program, where the OS tells it cheaply (Linux's /proc): the
/// shell that runs `eval "$(rolesh export p)"` or `rolesh init | source`.
pub fn parent_name() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        let ppid = std::os::unix::process::parent_id();
        let comm = std::fs::read_to_string(format!("/proc/{ppid}/comm")).ok()?;
        Some(comm.trim_end().to_string())
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// The controlling terminal, for input and for output, whatever stdin and stdout are (the
/// shell hooks capture stdout and write to stdin): `/dev/tty`; `CONIN$` and `CONOUT$` on
/// Windows. An error when the process has none.
pub fn terminal() -> std::io::Result<(std::fs::File, std::fs::File)> {
    let open = |path: &str| std::fs::OpenOptions::new().read(true).write(true).open(path);
    #[cfg(windows)]
    return Ok((open("CONIN$")?, open("CONOUT$")?));
    #[cfg(not(windows))]
    {
        let tty = open("/dev/tty")?;
        Ok((tty.try_clone()?, tty))
    }
}

/// When `pid` started, in the platform's own unit (Linux: clock ticks since boot, field 22 of
/// /proc/PID/stat; Windows: the creation FILETIME), so that a recycled pid is not mistaken
/// for the process we recorded. `None` where the platform does not tell.
pub fn start_time(pid: u32) -> Option<u64> {
    imp::start_time(pid)
}

/// Whether `pid` runs; when `start` is known, whether it is still the process that started
/// then.
pub fn alive(pid: u32, start: Option<u64>) -> bool {
    imp::alive(pid, start)
}

/// The terminal on the process's stdin, stdout or stderr, as `ps` shows it (`pts/3`).
pub fn tty(pid: u32) -> Option<String> {
    imp::tty(pid)
}

/// Where `program` is, when rolesh should name it to the OS itself; `None` means "let std
/// look". On Windows, `Command::new("aws")` tries only `aws.exe`, whereas cmd and PowerShell
/// also find `aws.cmd` through `PATHEXT`. On Unix, std must fork and search with `execvp`
/// whenever the child's `PATH` is set (always, since the child's environment is built from
/// `Env`); given a full path it uses `posix_spawn`, which does not copy rolesh's address
/// space (about 0.2 ms of a 3 ms cached `exec`).
pub fn find_program(program: &OsStr, env: &Env) -> Option<PathBuf> {
    let path = env.get_os("PATH")?;
    if cfg!(windows) {
        // `Path` on Windows: `Env` matches names in any case there.
        let pathext = env.get("PATHEXT").unwrap_or(".COM;.EXE;.BAT;.CMD");
        return search_path(Path::new(program), std::env::split_paths(path), pathext, |p| p.is_file());
    }
    #[cfg(unix)]
    return unix::search_path(program, path);
    #[cfg(not(unix))]
    None
}

/// The first `dir/program` + extension from `pathext` that `is_file` accepts, trying the
/// directories in order, as cmd does. A program with a directory part or an extension of its
/// own is left to std. An empty entry (`C:\bin;;C:\tools`) is skipped: joined to a name it
/// would search the current directory, which PowerShell never does.
fn search_path(
    program: &Path,
    dirs: impl IntoIterator<Item = PathBuf>,
    pathext: &str,
    is_file: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    let bare = program.components().count() == 1 && program.extension().is_none();
    if !bare {
        return None;
    }
    let exts: Vec<&str> = pathext.split(';').map(str::trim).filter(|e| e.starts_with('.')).collect();
    dirs.into_iter().filter(|dir| !dir.as_os_str().is_empty()).find_map(|dir| {
        exts.iter().map(|ext| dir.join(format!("{}{ext}", program.display()))).find(|candidate| is_file(candidate))
    })
}

/// The program (and arguments) that opens a URL or a file in the user's browser.
pub fn browser() -> &'static [&'static str] {
    if cfg!(windows) {
        // Not `cmd /c start`: cmd would read `&` in a URL as the start of another command.
        &["rundll32", "url.dll,FileProtocolHandler"]
    } else if cfg!(target_os = "macos") {
        &["open"]
    } else {
        &["xdg-open"]
    }
}

#[cfg(target_os = "linux")]
mod imp {
    pub fn start_time(pid: u32) -> Option<u64> {
        stat(pid).map(|(_, start)| start)
    }

    /// The state letter (field 3) and start time (field 22) of /proc/PID/stat. One read into
    /// a buffer on the stack: the ledger asks this of every session it holds, twice per `exec`.
    fn stat(pid: u32) -> Option<(char, u64)> {
        use std::io::Read;
        let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
        // The file is about 300 bytes; 52 numeric fields and a 64-byte name stay under 2 KiB.
        let mut buf = [0u8; 2048];
        let mut len = 0;
        while len < buf.len() {
            match file.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        parse_stat(&buf[..len])
    }

    /// Field 2 is the command name in parentheses and may itself hold spaces and ')': the
    /// fields that follow start after the last ')'.
    pub(super) fn parse_stat(text: &[u8]) -> Option<(char, u64)> {
        let close = text.iter().rposition(|&b| b == b')')?;
        let mut fields = text[close + 1..].split(|&b| b == b' ').filter(|f| !f.is_empty());
        let state = char::from(*fields.next()?.first()?);
        let start = fields.nth(22 - 4)?;
        let start = std::str::from_utf8(start).ok()?.trim_end_matches('\n').parse().ok()?;
        Some((state, start))
    }

    pub fn alive(pid: u32, start: Option<u64>) -> bool {
        match start {
            // A zombie has finished; its session with it.
            Some(start) => stat(pid).is_some_and(|(state, s)| s == start && !matches!(state, 'Z' | 'X')),
            None => super::unix::exists(pid),
        }
    }

    pub fn tty(pid: u32) -> Option<String> {
        (0..3).find_map(|fd| {
            let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
            let name = target.to_str()?.strip_prefix("/dev/")?;
            (name.starts_with("pts/") || (name.starts_with("tty") && name != "tty")).then(|| name.to_string())
        })
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
mod imp {
    pub fn start_time(_pid: u32) -> Option<u64> {
        None
    }

    pub fn alive(pid: u32, _start: Option<u64>) -> bool {
        super::unix::exists(pid)
    }

    /// Without /proc only our own terminal is known.
    pub fn tty(pid: u32) -> Option<String> {
        if pid != std::process::id() {
            return None;
        }
        (0..3).find_map(|fd| {
            // SAFETY: ttyname returns null or a NUL-terminated string we copy at once.
            let name = unsafe {
                let p = libc::ttyname(fd);
                if p.is_null() {
                    return None;
                }
                std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
            };
            Some(name.strip_prefix("/dev/").unwrap_or(&name).to_string())
        })
    }
}

#[cfg(unix)]
mod unix {
    use std::ffi::OsStr;
    use std::io::Read;
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};

    /// `execvp`'s search, for the files the kernel starts itself: a regular, executable file
    /// beginning with `#!` or ELF's magic number, in the first absolute directory of `path`
    /// that has one. Anything else is left to std's `execvp` so that it behaves exactly as
    /// before: a script without `#!` (which `execvp` hands to /bin/sh), another binary format,
    /// an empty or relative entry before the match (the current directory), or nothing found
    /// (std reports it).
    pub fn search_path(program: &OsStr, path: &OsStr) -> Option<PathBuf> {
        if program.is_empty() || program.as_bytes().contains(&b'/') {
            return None;
        }
        for dir in path.as_bytes().split(|&b| b == b':') {
            let dir = Path::new(OsStr::from_bytes(dir));
            if !dir.is_absolute() {
                return None;
            }
            let candidate = dir.join(program);
            if is_executable_file(&candidate) {
                return starts_itself(&candidate).then_some(candidate);
            }
        }
        None
    }

    fn is_executable_file(path: &Path) -> bool {
        let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
        // With the effective ids, as execve checks them.
        // SAFETY: a NUL-terminated path; faccessat only reads it.
        let executable = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::X_OK, libc::AT_EACCESS) } == 0;
        executable && std::fs::metadata(path).is_ok_and(|m| m.is_file())
    }

    fn starts_itself(path: &Path) -> bool {
        let mut head = [0u8; 4];
        std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok()
            && (head.starts_with(b"#!") || head == *b"\x7fELF")
    }

    pub fn exists(pid: u32) -> bool {
        let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
        if pid <= 0 {
            return false;
        }
        // SAFETY: signal 0 only checks that the process exists and may be signalled.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

#[cfg(windows)]
mod imp {
    use windows_sys::Win32::Foundation::{CloseHandle, FILETIME, HANDLE, WAIT_TIMEOUT};
    use windows_sys::Win32::System::Threading::{
        GetProcessTimes, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE, WaitForSingleObject,
    };

    /// An open process handle, closed on drop.
    struct Process(HANDLE);

    impl Process {
        fn open(pid: u32) -> Option<Process> {
            // SAFETY: OpenProcess has no preconditions; a null handle means it failed.
            let handle = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_SYNCHRONIZE, 0, pid) };
            (!handle.is_null()).then_some(Process(handle))
        }

        /// The creation time as one number (100 ns since 1601).
        fn created(&self) -> Option<u64> {
            let zero = FILETIME { dwLowDateTime: 0, dwHighDateTime: 0 };
            let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
            // SAFETY: the handle is open and the four out-pointers are valid FILETIMEs.
            let ok = unsafe { GetProcessTimes(self.0, &mut created, &mut exited, &mut kernel, &mut user) } != 0;
            ok.then(|| (u64::from(created.dwHighDateTime) << 32) | u64::from(created.dwLowDateTime))
        }

        /// Still running: its handle is not yet signalled. (`GetExitCodeProcess` cannot tell:
        /// a process that exited with code 259 reads as STILL_ACTIVE.)
        fn running(&self) -> bool {
            // SAFETY: the handle is open with SYNCHRONIZE access; a zero timeout only polls.
            unsafe { WaitForSingleObject(self.0, 0) == WAIT_TIMEOUT }
        }
    }

    impl Drop for Process {
        fn drop(&mut self) {
            // SAFETY: the handle came from OpenProcess and is closed once.
            unsafe { CloseHandle(self.0) };
        }
    }

    pub fn start_time(pid: u32) -> Option<u64> {
        Process::open(pid)?.created()
    }

    /// Windows reuses pids quickly, so a recorded start time must match too.
    pub fn alive(pid: u32, start: Option<u64>) -> bool {
        let Some(p) = Process::open(pid) else { return false };
        p.running() && start.is_none_or(|s| p.created() == Some(s))
    }

    pub fn tty(_pid: u32) -> Option<String> {
        None
    }
}

/// Signal handling while rolesh waits for a child: the terminal's Ctrl-C and Ctrl-\ reach
/// the child (same process group) and rolesh ignores them; the same signals sent to rolesh
/// alone with `kill`, and TERM, HUP, USR1, USR2, are forwarded to the child.
#[cfg(unix)]
pub mod signals {
    use std::sync::Once;
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

    static CHILD: AtomicI32 = AtomicI32::new(0);
    /// A signal that arrived after spawn started but before its pid was known: the child may
    /// already be running (and be visible to whoever sent it), so it is delivered late
    /// rather than lost.
    static PENDING: AtomicI32 = AtomicI32::new(0);

    fn send(sig: libc::c_int) {
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

    extern "C" fn forward(sig: libc::c_int, _info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
        send(sig);
    }

    /// INT, QUIT and HUP: the terminal already delivered them to the child's process group,
    /// and a second copy makes programs such as terraform abort hard instead of stopping
    /// gracefully; sent by a process (`kill -INT PID`), they reached rolesh alone and are
    /// forwarded. The kernel marks its own signals (the terminal's among them) with a
    /// positive `si_code`; `kill`, `sigqueue` and `tkill` give zero or less (on Linux; other
    /// systems number them otherwise, so there these are not forwarded at all).
    extern "C" fn forward_if_sent(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
        let code = if info.is_null() { 1 } else { unsafe { (*info).si_code } };
        if cfg!(target_os = "linux") && code <= 0 {
            send(sig);
        }
    }

    /// Handlers, not SIG_IGN: exec resets caught signals to their default in the child,
    /// whereas an ignored SIGINT would stay ignored there.
    pub fn install() {
        type Handler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            for (sig, handler) in [
                (libc::SIGINT, forward_if_sent as Handler),
                (libc::SIGQUIT, forward_if_sent),
                (libc::SIGTERM, forward),
                // A hang-up reaches the child's group from the terminal too.
                (libc::SIGHUP, forward_if_sent),
                (libc::SIGUSR1, forward),
                (libc::SIGUSR2, forward),
            ] {
                // SAFETY: the handlers only touch atomics and call kill.
                unsafe {
                    let mut action: libc::sigaction = std::mem::zeroed();
                    action.sa_sigaction = handler as usize;
                    action.sa_flags = libc::SA_RESTART | libc::SA_SIGINFO;
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
pub mod signals {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_program_is_found_with_the_first_pathext_extension_present() {
        let (a, b) = (PathBuf::from("/a"), PathBuf::from("/b"));
        let dirs = || vec![a.clone(), PathBuf::new(), b.clone()];
        // Windows file names are case-insensitive; `join` puts `\` between the parts there.
        let present = |p: &Path| {
            let name = p.file_name().unwrap().to_string_lossy().to_lowercase();
            p.parent() == Some(b.as_path()) && ["aws.cmd", "aws.exe"].contains(&name.as_str())
        };
        let found = search_path(Path::new("aws"), dirs(), ".COM;.EXE;.BAT;.CMD", present);
        assert_eq!(found, Some(b.join("aws.EXE")), "PATHEXT order decides within a directory");
        let found = search_path(Path::new("aws"), dirs(), ".CMD;.EXE", present);
        assert_eq!(found, Some(b.join("aws.CMD")));
        assert_eq!(search_path(Path::new("aws.exe"), dirs(), ".CMD", present), None, "an extension is std's job");
        assert_eq!(search_path(Path::new("/b/aws"), dirs(), ".CMD", present), None, "a path is std's job");
        assert_eq!(search_path(Path::new("nope"), dirs(), ".CMD", present), None);
        let here = |p: &Path| p == Path::new("aws.cmd");
        assert_eq!(search_path(Path::new("aws"), dirs(), ".CMD", here), None, "an empty entry is not the current dir");
    }

    #[cfg(unix)]
    #[test]
    fn a_bare_program_is_found_on_the_childs_path_only_where_the_kernel_starts_it_itself() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let dir = |name: &str| {
            let d = root.path().join(name);
            std::fs::create_dir(&d).unwrap();
            d
        };
        let file = |path: &Path, text: &str, mode: u32| {
            std::fs::write(path, text).unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        let (a, b, c) = (dir("a"), dir("b"), dir("c"));
        file(&a.join("tool"), "#!/bin/sh\n", 0o644); // not executable: skipped, as by execvp
        std::fs::create_dir(b.join("tool")).unwrap(); // a directory: skipped
        file(&c.join("tool"), "#!/bin/sh\n", 0o755);
        file(&a.join("plain"), "echo no interpreter line\n", 0o755);
        let path = std::env::join_paths([&a, &b, &c]).unwrap();
        let found = |program: &str, path: &OsStr| unix::search_path(OsStr::new(program), path);
        assert_eq!(found("tool", &path), Some(c.join("tool")));
        assert_eq!(found("plain", &path), None, "a script without #! is execvp's to hand to /bin/sh");
        assert_eq!(found("missing", &path), None, "std reports what is missing");
        assert_eq!(found("c/tool", &path), None, "a path is std's job");
        let with_cwd = std::env::join_paths([a.as_path(), Path::new(""), c.as_path()]).unwrap();
        assert_eq!(found("tool", &with_cwd), None, "an empty entry (the current directory) is std's job");
        let sh = found("sh", OsStr::new("/bin:/usr/bin")).expect("/bin/sh is found");
        assert!(sh.is_absolute());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn proc_stat_is_read_past_a_command_name_holding_spaces_and_parentheses() {
        let tail = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20 21\n";
        assert_eq!(imp::parse_stat(format!("7 (a) b) c) {tail}").as_bytes()), Some(('S', 424242)));
        assert_eq!(imp::parse_stat(format!("7 (sleep) {}", tail.replace('S', "Z")).as_bytes()), Some(('Z', 424242)));
        assert_eq!(imp::parse_stat(b"7 (short) S 1 2 3\n"), None, "a truncated line has no start time");
        assert_eq!(imp::parse_stat(b"no parenthesis"), None);
    }

    #[test]
    fn our_own_process_is_alive_with_its_start_time_and_not_with_another() {
        let me = std::process::id();
        let start = start_time(me);
        assert!(alive(me, start));
        if let Some(s) = start {
            assert!(!alive(me, Some(s + 1)), "another start time is a reused pid");
        }
    }
}
