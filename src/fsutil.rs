//! Private files on a shared, hostile machine. Every file rolesh reads from, writes to or locks
//! in its own directories goes through here, so one module enforces that:
//!
//! - a file is trusted only if it is a regular file owned by the current user (or root, for the
//!   user's AWS config) that nobody else can write, in a directory nobody else can write;
//! - nothing follows a planted symlink or blocks on a planted FIFO, and reads stop at a cap;
//! - writes go through a 0600 temp file + (optional) fsync + rename, so a reader sees the old
//!   or the new file, never half of one, and temp files left by killed writers are swept;
//! - locks have a deadline (std's `File::lock`, stable since Rust 1.89).
//!
//! On Windows ownership is the owner SID of the file's security descriptor; modes do not
//! apply (files under the profile directory are private by ACL).

use std::fs::{self, File, FileType, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Temp files this old are swept even if their writer's pid is alive: that pid is likely
/// reused, as no writer of a few kilobytes takes minutes.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(5 * 60);

/// Why a file or directory is not used. Each message is one line without the path: callers
/// prefix it (`could not read PATH: is a FIFO, ...`).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("is {kind}, not a regular file; remove it")]
    NotRegular { kind: &'static str },
    #[error("is {kind}, not a directory; remove it or choose another directory")]
    NotDirectory { kind: &'static str },
    /// `uid` is `None` on Windows, where the owner is a SID.
    #[error("is owned by another user{}; remove it, or if it is yours, make yourself its owner", uid_note(*.uid))]
    ForeignOwner { uid: Option<u32> },
    #[error("is writable by other users (mode {mode:04o}); run `chmod go-w` on it")]
    OpenToOthers { mode: u32 },
    /// A symlink's target is never chmodded: whoever planted the link chose it.
    #[error(
        "is a symlink to a directory other users can open (mode {mode:04o}); run `chmod 700` on its target or remove the link"
    )]
    OpenLinkedDir { mode: u32 },
    #[error("is too large ({len} bytes, the limit is {max}); check what wrote it")]
    TooLarge { len: u64, max: u64 },
    /// The file is fine but its directory is not: others could swap the file.
    #[error("its directory {0}")]
    Directory(Box<FileError>),
}

fn uid_note(uid: Option<u32>) -> String {
    uid.map(|u| format!(" (uid {u})")).unwrap_or_default()
}

/// For callers that report `io::Error`s: the message survives as the error's text.
impl From<FileError> for io::Error {
    fn from(e: FileError) -> io::Error {
        let kind = match &e {
            FileError::Io(_) => io::ErrorKind::Other,
            FileError::NotRegular { .. } => io::ErrorKind::InvalidInput,
            FileError::NotDirectory { .. } => io::ErrorKind::NotADirectory,
            FileError::TooLarge { .. } => io::ErrorKind::FileTooLarge,
            _ => io::ErrorKind::PermissionDenied,
        };
        match e {
            FileError::Io(e) => e,
            e => io::Error::new(kind, e),
        }
    }
}

/// What `ensure_private_dir` found, so the caller can warn once about a directory it fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirStatus {
    Created,
    Private,
    /// Was open to group or others (`was` is the old mode) and is now 0700.
    Tightened {
        was: u32,
    },
}

/// Whether `write_atomic_with` makes the new file durable before returning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync the file and its directory: for credentials and the user's AWS files.
    Fsync,
    /// Atomic but not durable (no fsync, no early write-out): for the ledger, which describes
    /// live processes, so after a power loss nothing in it is alive anyway; saves about a
    /// millisecond per write.
    NoFsync,
}

const REGULAR: &str = "a regular file";
const DIRECTORY: &str = "a directory";
const SYMLINK: &str = "a symlink";

/// Who may own a file for rolesh to trust it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trust {
    Me,
    /// The user's AWS files may come from an installer or image, owned by root.
    MeOrRoot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Me,
    Root,
    Other,
}

/// What the checks need to know about an opened file, taken from its handle (fstat), never
/// from its path, which may name another file by now.
#[derive(Debug)]
struct Facts {
    kind: &'static str,
    owner: Owner,
    uid: Option<u32>,
    /// `None` on Windows, where ACLs, not modes, decide.
    mode: Option<u32>,
    len: u64,
}

/// The one ownership and permission rule for files rolesh reads or locks.
fn check(f: &Facts, trust: Trust, max_len: u64) -> Result<(), FileError> {
    if f.kind != REGULAR {
        return Err(FileError::NotRegular { kind: f.kind });
    }
    check_owner(f, trust)?;
    if let Some(mode) = f.mode.filter(|m| m & 0o022 != 0) {
        return Err(FileError::OpenToOthers { mode });
    }
    if f.len > max_len {
        return Err(FileError::TooLarge { len: f.len, max: max_len });
    }
    Ok(())
}

fn check_owner(f: &Facts, trust: Trust) -> Result<(), FileError> {
    match (f.owner, trust) {
        (Owner::Me, _) | (Owner::Root, Trust::MeOrRoot) => Ok(()),
        _ => Err(FileError::ForeignOwner { uid: f.uid }),
    }
}

fn kind_of(t: &FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        } else if t.is_char_device() || t.is_block_device() {
            return "a device";
        } else if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_symlink() {
        SYMLINK
    } else if t.is_dir() {
        DIRECTORY
    } else if t.is_file() {
        REGULAR
    } else {
        "a special file"
    }
}

/// Reads a file rolesh wrote into its own directory (cache entries, the ledger). `Ok(None)` if
/// it is missing. Refuses a symlink, anything but a regular file, a file or directory that is
/// not the user's or that others can write (another user could have planted their own keys),
/// and more than `max_len` bytes.
pub fn read_private(path: &Path, max_len: u64) -> Result<Option<Vec<u8>>, FileError> {
    read_checked(path, max_len, false, Trust::Me)
}

/// Reads a file the user maintains (`~/.aws/config`, `~/.aws/credentials`). `Ok(None)` if it
/// is missing. Follows symlinks, as users link their dotfiles, but checks the final file: a
/// regular file of at most `max_len` bytes, owned by the user or root, that others cannot
/// write (a world-writable config could inject a `credential_process` command).
/// The null device (`AWS_CONFIG_FILE=/dev/null`, the usual way to run without a config) reads
/// as a missing file, as it does for the AWS CLI; every other special file is refused.
pub fn read_config(path: &Path, max_len: u64) -> Result<Option<Vec<u8>>, FileError> {
    if is_null_device(path) {
        return Ok(None);
    }
    read_checked(path, max_len, true, Trust::MeOrRoot)
}

#[cfg(unix)]
fn is_null_device(path: &Path) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let null = Path::new("/dev/null");
    match (fs::metadata(path), fs::metadata(null)) {
        // The same character device as /dev/null, however it is reached (a link, /dev/fd/...).
        (Ok(m), Ok(n)) => m.file_type().is_char_device() && m.rdev() == n.rdev(),
        _ => false,
    }
}

#[cfg(windows)]
fn is_null_device(path: &Path) -> bool {
    let name = path.to_string_lossy();
    let name = name.strip_prefix(r"\\.\").unwrap_or(&name);
    name.eq_ignore_ascii_case("nul")
}

/// Reads a small file the user keeps outside rolesh's directories (a project's `.rolesh`).
/// `Ok(None)` if it is missing. Refuses a symlink (a link could lend one directory's file to
/// another), anything but a regular file, a file not owned by the user (root included) or that
/// others can write, and more than `max_len` bytes. The directory is not checked: a project's
/// directory is often shared, and the file's own owner and mode are what the user vouches for.
pub fn read_owned(path: &Path, max_len: u64) -> Result<Option<Vec<u8>>, FileError> {
    read_checked_in(path, max_len, false, Trust::Me, false)
}

fn read_checked(path: &Path, max_len: u64, follow: bool, trust: Trust) -> Result<Option<Vec<u8>>, FileError> {
    read_checked_in(path, max_len, follow, trust, trust == Trust::Me)
}

fn read_checked_in(
    path: &Path,
    max_len: u64,
    follow: bool,
    trust: Trust,
    check_dir: bool,
) -> Result<Option<Vec<u8>>, FileError> {
    // A look before opening so that a device is never opened at all (opening some has side
    // effects); what counts is the fstat after opening.
    let pre = if follow { fs::metadata(path) } else { fs::symlink_metadata(path) };
    match pre {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
        Ok(m) if kind_of(&m.file_type()) != REGULAR => {
            return Err(FileError::NotRegular { kind: kind_of(&m.file_type()) });
        }
        Ok(_) => {}
    }
    if check_dir {
        check_parent(path).map_err(|e| FileError::Directory(Box::new(e)))?;
    }
    let Some((file, len)) = open_checked(path, follow, trust, max_len)? else { return Ok(None) };
    // One allocation of the right size (fstat's length, at most the cap; one byte more shows
    // that the file grew), where growing from empty would copy a large config several times.
    let mut bytes = Vec::with_capacity(len.saturating_add(1) as usize);
    // fstat says 0 bytes for /proc-like files, so the read itself stops just past the cap.
    (&file).take(max_len.saturating_add(1)).read_to_end(&mut bytes)?;
    let len = bytes.len() as u64;
    if len > max_len {
        return Err(FileError::TooLarge { len, max: max_len });
    }
    Ok(Some(bytes))
}

/// Opens without following a final symlink (unless `follow`) and without blocking on a FIFO,
/// then checks the opened file itself.
fn open_checked(path: &Path, follow: bool, trust: Trust, max_len: u64) -> Result<Option<(File, u64)>, FileError> {
    let file = match options(follow, false, 0).read(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(open_error(e, path, follow)),
    };
    let facts = facts(&file)?;
    check(&facts, trust, max_len)?;
    Ok(Some((file, facts.len)))
}

/// Whoever can write a file's directory can replace the file: the directory must be the
/// user's and closed to others' writes. (Its own parents are not checked.)
fn check_parent(path: &Path) -> Result<(), FileError> {
    let dir = parent_of(path);
    let f = facts(&options(true, true, 0).read(true).open(dir)?)?;
    if f.kind != DIRECTORY {
        return Err(FileError::NotDirectory { kind: f.kind });
    }
    check_owner(&f, Trust::Me)?;
    match f.mode.filter(|m| m & 0o022 != 0) {
        Some(mode) => Err(FileError::OpenToOthers { mode }),
        None => Ok(()),
    }
}

fn parent_of(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// O_NOFOLLOW reports a symlink as ELOOP (EMLINK or EFTYPE on some BSDs): name it plainly.
fn open_error(e: io::Error, path: &Path, follow: bool) -> FileError {
    if !follow && fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        FileError::NotRegular { kind: SYMLINK }
    } else {
        FileError::Io(e)
    }
}

/// Creates `dir` (and missing parents) 0700, or checks an existing one: it must be a
/// directory owned by the user; if group or others can get in, it is made 0700 and
/// `Tightened` tells the caller to warn. A symlink to a directory is accepted only if its
/// target is the user's and already private: it may have been planted, so it is never
/// chmodded through.
pub fn ensure_private_dir(dir: &Path) -> Result<DirStatus, FileError> {
    let created = match fs::symlink_metadata(dir) {
        Ok(_) => false,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            create_dirs(dir)?;
            true
        }
        Err(e) => return Err(e.into()),
    };
    let link = fs::symlink_metadata(dir)?.file_type().is_symlink();
    let target = fs::metadata(dir)?;
    if !target.is_dir() {
        return Err(FileError::NotDirectory { kind: kind_of(&target.file_type()) });
    }
    // Checked and chmodded through the open handle: a swap after the look above is refused by
    // O_NOFOLLOW and O_DIRECTORY instead of redirecting the chmod.
    let handle = options(link, true, 0).read(true).open(dir).map_err(|e| open_error(e, dir, link))?;
    let f = facts(&handle)?;
    if f.kind != DIRECTORY {
        return Err(FileError::NotDirectory { kind: f.kind });
    }
    check_owner(&f, Trust::Me)?;
    let Some(was) = f.mode else { return Ok(if created { DirStatus::Created } else { DirStatus::Private }) };
    let open = was & 0o077 != 0;
    if link && open {
        return Err(FileError::OpenLinkedDir { mode: was });
    }
    if !link && was & 0o777 != 0o700 {
        set_mode(&handle, 0o700)?;
    }
    Ok(if created {
        DirStatus::Created
    } else if open {
        DirStatus::Tightened { was }
    } else {
        DirStatus::Private
    })
}

/// The old form of `ensure_private_dir`, for callers that do not warn about a tightened
/// directory.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    ensure_private_dir(dir).map(drop).map_err(io::Error::from)
}

/// Writes `bytes` to `path` atomically with `mode`, durably; see `write_atomic_with`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    write_atomic_with(path, bytes, mode, Durability::Fsync)
}

/// Writes `bytes` to `path` through a temp file `.{name}.{pid}.{nanos}.tmp` in the same
/// directory (created exclusively, never through a symlink, with `mode`), then renames it over
/// `path`: a reader sees the old file or the new one. Sweeps stale temp files of `path` first.
pub fn write_atomic_with(path: &Path, bytes: &[u8], mode: u32, durability: Durability) -> io::Result<()> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "has no file name"))?;
    sweep_temp_files(dir, Some(&name), STALE_TEMP_AGE);
    let (tmp, mut file) = create_temp(path, &name, mode)?;
    let result = (|| {
        // The umask may have narrowed what open() gave us.
        set_mode(&file, mode)?;
        file.write_all(bytes)?;
        if durability == Durability::Fsync {
            file.sync_all()?;
        }
        match durability {
            Durability::Fsync => {
                fs::rename(&tmp, path)?;
                sync_dir(dir);
            }
            Durability::NoFsync => replace_without_flush(&tmp, path)?,
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Puts `tmp` in place of `path` atomically, as `rename` does. On Linux it swaps the two
/// (`RENAME_EXCHANGE`) and then removes `tmp`, which then holds the old file: renaming over
/// an existing file makes ext4 start writing the new one out at once (its `auto_da_alloc`
/// guard against empty files after a crash), which costs more than the rest of the write and
/// buys nothing for a file whose content does not outlive a power loss. Where swapping is
/// not supported (another filesystem, no `path` yet) or `path` is not a regular file (a
/// directory there must fail as `rename` fails, not be swapped out of sight), a plain rename.
/// Killed between the two steps, the writer leaves a temp file with the old content for
/// [`sweep_temp_files`]. After a power loss the file may be empty: the ledger's reader moves
/// such a file aside with a warning.
fn replace_without_flush(tmp: &Path, path: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    if fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
        let (from, to) = (c(tmp)?, c(path)?);
        // The system call itself: glibc has a wrapper only since 2.28, Rust supports 2.17.
        // SAFETY: two NUL-terminated paths that the kernel only reads.
        let swapped = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        } == 0;
        if swapped {
            // Left behind, it is swept by the next write.
            let _ = fs::remove_file(tmp);
            return Ok(());
        }
    }
    fs::rename(tmp, path)
}

fn create_temp(path: &Path, name: &str, mode: u32) -> io::Result<(PathBuf, File)> {
    let mut attempt = 0;
    loop {
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let tmp = path.with_file_name(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
        match options(false, false, mode).write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            // Another thread of ours in the same nanosecond: try a new name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 8 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Removes temp files `.{name}.{pid}.{nanos}.tmp` in `dir` (of any name when `name` is
/// `None`, for a directory that is rolesh's alone) whose writer is gone (the pid is not a
/// live process) or that are older than `min_age`: a writer killed mid-write leaves live keys
/// in them. Only regular files of the user's with exactly that naming are touched, and
/// symlinks are never followed. Returns how many were removed.
pub fn sweep_temp_files(dir: &Path, name: Option<&str>, min_age: Duration) -> usize {
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| temp_pid(n, name)) else { continue };
        // DirEntry::metadata does not follow symlinks.
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() || !owned_by_me(&meta) {
            continue;
        }
        let old = meta.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age > min_age);
        if (old || !crate::sys::alive(pid, None)) && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The writer's pid if `file_name` is `.{name}.{pid}.{nanos}.tmp` (any non-empty name for
/// `None`), both numbers in digits.
fn temp_pid(file_name: &str, name: Option<&str>) -> Option<u32> {
    let (rest, nanos) = file_name.strip_suffix(".tmp")?.rsplit_once('.')?;
    let (target, pid) = rest.rsplit_once('.')?;
    let target = target.strip_prefix('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(nanos) || target.is_empty() || name.is_some_and(|n| n != target) {
        return None;
    }
    // Too many digits for a pid: no live process has it.
    Some(pid.parse().unwrap_or(0))
}

/// An exclusive lock on `path` (created 0600 if missing), held until the `File` is dropped.
/// Gives up after `timeout` with `ErrorKind::TimedOut`. Refuses a symlink (a planted one would
/// make us create a file where it points), anything but a regular file (a FIFO would hang a
/// blocking open) and a file another user owns or can write.
///
/// Waits in a blocking `lock()` on a helper thread rather than polling `try_lock`: the kernel
/// wakes a blocked waiter the moment the holder lets go, whereas a poller backing off to
/// 100 ms came late after every release and lost to newcomers polling faster (a waiter behind
/// a busy ledger could starve until its deadline). std has no timed lock, so the deadline is
/// the channel's; a waiter that gives up leaves its thread blocked, and when that thread gets
/// the lock it finds nobody listening and drops it at once.
pub fn lock(path: &Path, timeout: Duration) -> io::Result<File> {
    lock_reporting(path, timeout, |_| {})
}

/// [`lock`], calling `waiting` with the lock file (open for reading, where a holder may have
/// noted who it is) when another process holds it, before waiting: so the caller can say
/// what it waits for.
pub fn lock_reporting(path: &Path, timeout: Duration, waiting: impl FnOnce(&File)) -> io::Result<File> {
    let file = options(false, false, 0o600)
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| io::Error::from(open_error(e, path, false)))?;
    check(&facts(&file)?, Trust::Me, u64::MAX)?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(fs::TryLockError::WouldBlock) => waiting(&file),
        Err(fs::TryLockError::Error(e)) => return Err(e),
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new().name("lock-wait".into()).spawn(move || {
        let taken = file.lock().map(|()| file);
        // A send error means the caller timed out: the file (and its lock) is dropped here.
        let _ = tx.send(taken);
    })?;
    match rx.recv_timeout(timeout) {
        Ok(taken) => taken,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "another rolesh process holds the lock")),
    }
}

// ---- Unix ----

#[cfg(all(test, unix))]
thread_local! {
    /// Lets a test pose as another user, so the ownership rule is tested without root.
    static FAKE_UID: std::cell::Cell<Option<u32>> = const { std::cell::Cell::new(None) };
}

#[cfg(unix)]
fn my_uid() -> u32 {
    #[cfg(test)]
    if let Some(uid) = FAKE_UID.get() {
        return uid;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Unix open flags: no blocking on a FIFO, no controlling terminal from a tty, no fd leaked to
/// children, and no following of a final symlink unless asked.
#[cfg(unix)]
fn options(follow: bool, dir: bool, mode: u32) -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    if dir {
        flags |= libc::O_DIRECTORY;
    }
    let mut opts = OpenOptions::new();
    opts.custom_flags(flags).mode(mode);
    opts
}

#[cfg(unix)]
fn facts(file: &File) -> io::Result<Facts> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata()?;
    let (uid, me) = (meta.uid(), my_uid());
    let owner = if uid == me {
        Owner::Me
    } else if uid == 0 {
        Owner::Root
    } else {
        Owner::Other
    };
    let mode = Some(meta.mode() & 0o7777);
    Ok(Facts { kind: kind_of(&meta.file_type()), owner, uid: Some(uid), mode, len: meta.len() })
}

#[cfg(unix)]
fn owned_by_me(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.uid() == my_uid()
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(unix)]
fn create_dirs(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) {
    // Makes the rename itself durable; best effort, as not every filesystem allows it.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

// ---- Windows ----

#[cfg(windows)]
fn options(follow: bool, dir: bool, _mode: u32) -> OpenOptions {
    use std::os::windows::fs::OpenOptionsExt;
    use windows_sys::Win32::Storage::FileSystem::{FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT};
    let mut flags = 0;
    if !follow {
        // Opens a symlink or junction itself, which `facts` then reports as a symlink.
        flags |= FILE_FLAG_OPEN_REPARSE_POINT;
    }
    if dir {
        flags |= FILE_FLAG_BACKUP_SEMANTICS;
    }
    let mut opts = OpenOptions::new();
    opts.custom_flags(flags);
    opts
}

#[cfg(windows)]
fn facts(file: &File) -> io::Result<Facts> {
    let meta = file.metadata()?;
    Ok(Facts { kind: kind_of(&meta.file_type()), owner: win::owner(file)?, uid: None, mode: None, len: meta.len() })
}

#[cfg(windows)]
fn owned_by_me(_meta: &fs::Metadata) -> bool {
    // Checking would take a handle per file; the directory's own check covers it.
    true
}

#[cfg(windows)]
fn set_mode(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(windows)]
fn create_dirs(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(windows)]
fn sync_dir(_dir: &Path) {}

#[cfg(windows)]
mod win {
    use super::Owner;
    use std::fs::File;
    use std::io;
    use std::os::windows::io::AsRawHandle;
    use std::ptr::null_mut;
    use windows_sys::Win32::Foundation::{CloseHandle, ERROR_SUCCESS, HANDLE, LocalFree};
    use windows_sys::Win32::Security::Authorization::{GetSecurityInfo, SE_FILE_OBJECT};
    use windows_sys::Win32::Security::{
        EqualSid, GetTokenInformation, IsWellKnownSid, OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID,
        TOKEN_INFORMATION_CLASS, TOKEN_OWNER, TOKEN_QUERY, TOKEN_USER, TokenOwner, TokenUser,
        WinBuiltinAdministratorsSid, WinLocalSystemSid,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

    /// Who owns the file behind `file`'s handle, from its security descriptor's owner SID.
    pub(super) fn owner(file: &File) -> io::Result<Owner> {
        let mut token: HANDLE = null_mut();
        // SAFETY: GetCurrentProcess returns a pseudo-handle; `token` is an out-pointer.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return Err(io::Error::last_os_error());
        }
        let (user, default_owner) = (token_info(token, TokenUser), token_info(token, TokenOwner));
        // SAFETY: `token` was opened above and is closed once.
        unsafe { CloseHandle(token) };
        let (user, default_owner) = (user?, default_owner?);
        let mut sid: PSID = null_mut();
        let mut sd: PSECURITY_DESCRIPTOR = null_mut();
        // SAFETY: the handle is open while `file` lives; `sid` and `sd` are out-pointers that
        // GetSecurityInfo fills on success, `sid` pointing into `sd`.
        let rc = unsafe {
            GetSecurityInfo(
                file.as_raw_handle() as HANDLE,
                SE_FILE_OBJECT,
                OWNER_SECURITY_INFORMATION,
                &mut sid,
                null_mut(),
                null_mut(),
                null_mut(),
                &mut sd,
            )
        };
        if rc != ERROR_SUCCESS {
            return Err(io::Error::from_raw_os_error(rc as i32));
        }
        // SAFETY: the buffers hold a TOKEN_USER and a TOKEN_OWNER as GetTokenInformation wrote
        // them (8-byte aligned), whose SIDs point into the same live buffers; `sid` points into
        // `sd`, freed only after its last use.
        unsafe {
            let me = (*user.as_ptr().cast::<TOKEN_USER>()).User.Sid;
            // An elevated administrator's new files are owned by its token's default owner,
            // the Administrators group, not by the user.
            let mine = (*default_owner.as_ptr().cast::<TOKEN_OWNER>()).Owner;
            let owner = if EqualSid(sid, me) != 0 || EqualSid(sid, mine) != 0 {
                Owner::Me
            } else if IsWellKnownSid(sid, WinLocalSystemSid) != 0
                || IsWellKnownSid(sid, WinBuiltinAdministratorsSid) != 0
            {
                Owner::Root
            } else {
                Owner::Other
            };
            LocalFree(sd);
            Ok(owner)
        }
    }

    /// One class of information about a token, in a buffer aligned for the struct it holds.
    fn token_info(token: HANDLE, class: TOKEN_INFORMATION_CLASS) -> io::Result<Vec<u64>> {
        let mut len = 0u32;
        // SAFETY: a null buffer of length 0 only asks for the length needed; `token` is open.
        unsafe { GetTokenInformation(token, class, null_mut(), 0, &mut len) };
        let mut buf = vec![0u64; (len as usize).div_ceil(8)];
        // SAFETY: `buf` holds at least `len` bytes; `token` is open.
        if unsafe { GetTokenInformation(token, class, buf.as_mut_ptr().cast(), len, &mut len) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn an_atomic_write_leaves_only_the_target_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        write_atomic(&target, b"one", 0o600).unwrap();
        write_atomic(&target, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn a_missing_file_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_private(&dir.path().join("nope"), 100).unwrap().is_none());
        assert!(read_config(&dir.path().join("nope"), 100).unwrap().is_none());
    }

    #[test]
    fn a_private_file_written_by_us_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomic_with(&p, b"keys", 0o600, Durability::Fsync).unwrap();
        assert_eq!(read_private(&p, 4).unwrap().unwrap(), b"keys");
        assert_eq!(read_config(&p, 4).unwrap().unwrap(), b"keys");
    }

    #[test]
    fn a_file_over_the_cap_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomic(&p, b"12345", 0o600).unwrap();
        assert!(matches!(read_private(&p, 4), Err(FileError::TooLarge { len: 5, max: 4 })));
        assert!(matches!(read_config(&p, 4), Err(FileError::TooLarge { len: 5, max: 4 })));
    }

    #[test]
    fn a_write_without_fsync_still_replaces_the_file_by_rename() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger");
        write_atomic_with(&p, b"old", 0o600, Durability::NoFsync).unwrap();
        // A link to the old file keeps the old content only if the new one was renamed over
        // it, never written in place.
        let old = dir.path().join("old");
        fs::hard_link(&p, &old).unwrap();
        write_atomic_with(&p, b"new", 0o600, Durability::NoFsync).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(fs::read(&old).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2, "the old file's temp name is gone");
    }

    #[test]
    fn a_write_without_fsync_over_a_directory_fails_as_a_rename_would_and_leaves_it_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger");
        fs::create_dir(&p).unwrap();
        assert!(write_atomic_with(&p, b"new", 0o600, Durability::NoFsync).is_err());
        assert!(fs::symlink_metadata(&p).unwrap().is_dir(), "not swapped out of sight");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left");
    }

    #[test]
    fn every_error_message_is_one_lowercase_line() {
        let errors = [
            FileError::NotRegular { kind: "a FIFO" },
            FileError::NotDirectory { kind: REGULAR },
            FileError::ForeignOwner { uid: Some(65534) },
            FileError::ForeignOwner { uid: None },
            FileError::OpenToOthers { mode: 0o666 },
            FileError::OpenLinkedDir { mode: 0o755 },
            FileError::TooLarge { len: 5, max: 4 },
            FileError::Directory(Box::new(FileError::OpenToOthers { mode: 0o777 })),
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.contains('\n') && text.starts_with(|c: char| c.is_ascii_lowercase()), "{text}");
            assert_eq!(io::Error::from(e).to_string(), text);
        }
        assert_eq!(
            FileError::OpenToOthers { mode: 0o666 }.to_string(),
            "is writable by other users (mode 0666); run `chmod go-w` on it"
        );
    }

    #[test]
    fn a_config_file_may_be_owned_by_root_but_a_private_one_may_not() {
        let root = Facts { kind: REGULAR, owner: Owner::Root, uid: Some(0), mode: Some(0o644), len: 1 };
        assert!(check(&root, Trust::MeOrRoot, 1).is_ok());
        assert!(matches!(check(&root, Trust::Me, 1), Err(FileError::ForeignOwner { uid: Some(0) })));
        let other = Facts { owner: Owner::Other, uid: Some(1001), ..root };
        assert!(matches!(check(&other, Trust::MeOrRoot, 1), Err(FileError::ForeignOwner { uid: Some(1001) })));
    }

    #[test]
    fn a_held_lock_times_out_for_the_second_taker() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l");
        let held = lock(&p, Duration::from_secs(1)).unwrap();
        let err = lock(&p, Duration::from_millis(30)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        // The waiter that gave up must not keep the lock once it is free.
        drop(held);
        let _again = lock(&p, Duration::from_secs(2)).unwrap();
        assert!(matches!(File::open(&p).unwrap().try_lock(), Err(fs::TryLockError::WouldBlock)));
    }

    #[test]
    fn a_waiter_gets_the_lock_as_soon_as_it_is_released() {
        // Polling with a growing pause would see a lock released after 240 ms only at its
        // next poll, about 326 ms in: late, and beaten by any newcomer polling faster.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l");
        let held = lock(&p, Duration::from_secs(1)).unwrap();
        let released = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(240));
            drop(held);
            Instant::now()
        });
        let _taken = lock(&p, Duration::from_secs(5)).unwrap();
        let taken = Instant::now();
        let late = taken.saturating_duration_since(released.join().unwrap());
        assert!(late < Duration::from_millis(40), "took the lock {late:?} after its release");
    }

    #[cfg(unix)]
    mod unix {
        use super::super::*;
        use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

        fn mode(p: &Path) -> u32 {
            fs::symlink_metadata(p).unwrap().mode() & 0o7777
        }

        fn chmod(p: &Path, mode: u32) {
            fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
        }

        fn mkfifo(p: &Path) {
            let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: `c` is a NUL-terminated path that outlives the call.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "{}", io::Error::last_os_error());
        }

        /// Poses as a user who owns none of the files, for the rest of this test's thread.
        fn pose_as_someone_else(p: &Path) {
            let real = fs::metadata(p).unwrap().uid();
            FAKE_UID.set(Some(if real == 4242 { 4243 } else { 4242 }));
        }

        /// Runs `f` on a thread and fails the test if it takes seconds, instead of hanging.
        fn quickly<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || tx.send(f()));
            rx.recv_timeout(Duration::from_secs(10)).expect("blocked instead of refusing")
        }

        #[test]
        fn a_fifo_in_place_of_a_file_is_refused_without_hanging() {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("ledger");
            mkfifo(&p);
            let q = p.clone();
            let r = quickly(move || read_private(&q, 100));
            assert!(matches!(r, Err(FileError::NotRegular { kind: "a FIFO" })), "{r:?}");
            let q = p.clone();
            let r = quickly(move || read_config(&q, 100));
            assert!(matches!(r, Err(FileError::NotRegular { kind: "a FIFO" })), "{r:?}");
            // Past the look before opening: the open must not block and the fstat must refuse.
            let q = p.clone();
            let r = quickly(move || open_checked(&q, false, Trust::Me, 100).map(|_| ()));
            assert!(matches!(r, Err(FileError::NotRegular { kind: "a FIFO" })), "{r:?}");
            let q = p.clone();
            let r = quickly(move || lock(&q, Duration::from_secs(1)).map(|_| ()));
            assert!(r.unwrap_err().to_string().contains("a FIFO"));
        }

        #[test]
        fn dev_zero_is_refused_as_a_path_or_through_a_symlink() {
            let dir = tempfile::tempdir().unwrap();
            let link = dir.path().join("cache.json");
            symlink("/dev/zero", &link).unwrap();
            let r = read_private(Path::new("/dev/zero"), 100);
            assert!(matches!(r, Err(FileError::NotRegular { kind: "a device" })), "{r:?}");
            let r = read_private(&link, 100);
            assert!(matches!(r, Err(FileError::NotRegular { kind: SYMLINK })), "{r:?}");
            let r = read_config(&link, 100);
            assert!(matches!(r, Err(FileError::NotRegular { kind: "a device" })), "{r:?}");
            let r = open_checked(&link, true, Trust::MeOrRoot, 100).map(|_| ());
            assert!(matches!(r, Err(FileError::NotRegular { kind: "a device" })), "{r:?}");
        }

        #[cfg(target_os = "linux")]
        #[test]
        fn a_file_that_reports_size_zero_is_still_cut_off_at_the_cap() {
            let p = Path::new("/proc/self/status");
            assert_eq!(fs::metadata(p).unwrap().len(), 0);
            assert!(matches!(read_config(p, 10), Err(FileError::TooLarge { len: 11, max: 10 })));
        }

        #[test]
        fn a_symlink_is_refused_by_read_private_and_lock_and_nothing_is_created_at_its_target() {
            let dir = tempfile::tempdir().unwrap();
            let real = dir.path().join("real");
            fs::write(&real, b"x").unwrap();
            chmod(&real, 0o600);
            let link = dir.path().join("cache.json");
            symlink(&real, &link).unwrap();
            assert!(matches!(read_private(&link, 100), Err(FileError::NotRegular { kind: SYMLINK })));
            assert_eq!(read_config(&link, 100).unwrap().unwrap(), b"x");

            let target = dir.path().join("planted");
            let lock_link = dir.path().join("sessions.lock");
            symlink(&target, &lock_link).unwrap();
            let err = lock(&lock_link, Duration::from_secs(1)).unwrap_err();
            assert!(err.to_string().contains(SYMLINK), "{err}");
            assert!(!target.exists());
        }

        #[test]
        fn a_file_or_directory_others_can_write_is_refused() {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("f");
            write_atomic(&p, b"x", 0o600).unwrap();
            chmod(&p, 0o666);
            assert!(matches!(read_private(&p, 100), Err(FileError::OpenToOthers { mode: 0o666 })));
            assert!(matches!(read_config(&p, 100), Err(FileError::OpenToOthers { mode: 0o666 })));
            assert!(lock(&p, Duration::from_secs(1)).is_err());

            chmod(&p, 0o600);
            chmod(dir.path(), 0o777);
            let r = read_private(&p, 100);
            assert!(
                matches!(&r, Err(FileError::Directory(e)) if matches!(**e, FileError::OpenToOthers { mode: 0o777 }))
            );
            assert_eq!(
                r.unwrap_err().to_string(),
                "its directory is writable by other users (mode 0777); run `chmod go-w` on it"
            );
            chmod(dir.path(), 0o700);
        }

        #[test]
        fn a_file_owned_by_another_user_is_refused() {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("f");
            write_atomic(&p, b"x", 0o600).unwrap();
            let real = fs::metadata(&p).unwrap().uid();
            pose_as_someone_else(&p);
            // The directory is checked first: it is not "ours" either.
            let r = read_private(&p, 100);
            assert!(
                matches!(&r, Err(FileError::Directory(e)) if matches!(**e, FileError::ForeignOwner { .. })),
                "{r:?}"
            );
            let r = open_checked(&p, false, Trust::Me, 100).map(|_| ());
            assert!(matches!(r, Err(FileError::ForeignOwner { uid: Some(u) }) if u == real), "{r:?}");
            assert!(lock(&p, Duration::from_secs(1)).unwrap_err().to_string().contains("owned by another user"));
            let r = read_config(&p, 100);
            assert_eq!(r.is_ok(), real == 0, "only root may own a config file besides the user: {r:?}");
        }

        /// A project's `.rolesh`: the file's own owner and mode decide, its directory does not
        /// (projects live in shared trees), and a symlink is never followed.
        #[test]
        fn read_owned_checks_the_file_but_not_its_directory_and_never_follows_a_link() {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join(".rolesh");
            fs::write(&p, b"profile = dev\n").unwrap();
            chmod(&p, 0o644);
            chmod(dir.path(), 0o777);
            assert_eq!(read_owned(&p, 100).unwrap().unwrap(), b"profile = dev\n");
            assert!(read_owned(&dir.path().join("missing"), 100).unwrap().is_none());
            chmod(&p, 0o664);
            assert!(matches!(read_owned(&p, 100), Err(FileError::OpenToOthers { mode: 0o664 })));
            chmod(&p, 0o644);
            assert!(matches!(read_owned(&p, 5), Err(FileError::TooLarge { .. })));
            let link = dir.path().join("link");
            symlink(&p, &link).unwrap();
            assert!(matches!(read_owned(&link, 100), Err(FileError::NotRegular { kind: SYMLINK })));
            chmod(dir.path(), 0o700);
            pose_as_someone_else(&p);
            assert!(matches!(read_owned(&p, 100), Err(FileError::ForeignOwner { .. })));
        }

        #[test]
        fn a_missing_private_dir_is_created_0700_with_its_parents() {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path().join("a/b");
            assert_eq!(ensure_private_dir(&d).unwrap(), DirStatus::Created);
            assert_eq!(mode(&d), 0o700);
            assert_eq!(mode(&dir.path().join("a")), 0o700);
            assert_eq!(ensure_private_dir(&d).unwrap(), DirStatus::Private);
        }

        #[test]
        fn a_0755_dir_we_own_is_tightened_to_0700_and_says_so() {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path().join("a");
            fs::create_dir(&d).unwrap();
            chmod(&d, 0o755);
            assert_eq!(ensure_private_dir(&d).unwrap(), DirStatus::Tightened { was: 0o755 });
            assert_eq!(mode(&d), 0o700);
            chmod(&d, 0o777);
            private_dir(&d).unwrap();
            assert_eq!(mode(&d), 0o700);
        }

        #[test]
        fn a_dir_owned_by_another_user_is_refused_and_left_alone() {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path().join("a");
            fs::create_dir(&d).unwrap();
            chmod(&d, 0o777);
            pose_as_someone_else(&d);
            assert!(matches!(ensure_private_dir(&d), Err(FileError::ForeignOwner { uid: Some(_) })));
            assert_eq!(mode(&d), 0o777);
        }

        #[test]
        fn a_symlinked_dir_is_accepted_only_when_its_target_is_private() {
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("target");
            fs::create_dir(&target).unwrap();
            chmod(&target, 0o700);
            let link = dir.path().join("cache");
            symlink(&target, &link).unwrap();
            assert_eq!(ensure_private_dir(&link).unwrap(), DirStatus::Private);
            chmod(&target, 0o755);
            assert!(matches!(ensure_private_dir(&link), Err(FileError::OpenLinkedDir { mode: 0o755 })));
            assert_eq!(mode(&target), 0o755, "a link's target must not be chmodded");
        }

        #[test]
        fn a_file_in_place_of_a_private_dir_is_refused() {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path().join("a");
            fs::write(&d, b"").unwrap();
            assert!(matches!(ensure_private_dir(&d), Err(FileError::NotDirectory { kind: REGULAR })));
        }

        #[test]
        fn the_sweep_removes_dead_and_old_temp_files_and_nothing_else() {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            // No process has pid i32::MAX (Linux caps pids at 2^22); nor 0, nor an oversized one.
            let dead = i32::MAX;
            let me = std::process::id();
            let removed = [format!(".f.{dead}.1.tmp"), ".f.0.2.tmp".into(), ".f.99999999999.3.tmp".into()];
            let kept = [
                format!(".f.{me}.4.tmp"), // a live writer's fresh file
                format!(".f.x{dead}.1.tmp"),
                format!(".f.{dead}.1.tmp.bak"),
                format!(".f.{dead}.1.2.tmp"),
                format!(".f.g.{dead}.1.tmp"), // another file's, named `f.g`
                format!(".g.{dead}.1.tmp"),
                "f".into(),
            ];
            for name in removed.iter().chain(&kept) {
                fs::write(d.join(name), b"secret").unwrap();
            }
            let link = d.join(format!(".f.{dead}.5.tmp"));
            symlink(d.join("f"), &link).unwrap();
            let old = d.join(format!(".f.{me}.6.tmp"));
            fs::write(&old, b"secret").unwrap();
            File::options()
                .write(true)
                .open(&old)
                .unwrap()
                .set_modified(SystemTime::now() - 2 * STALE_TEMP_AGE)
                .unwrap();

            assert_eq!(sweep_temp_files(d, Some("f"), STALE_TEMP_AGE), removed.len() + 1);
            for name in &kept {
                assert!(d.join(name).exists(), "{name} was removed");
            }
            assert!(fs::symlink_metadata(&link).is_ok(), "a symlink was removed");
            assert!(d.join("f").exists() && !old.exists());
            // A directory that is rolesh's alone is swept whatever the target's name.
            assert_eq!(sweep_temp_files(d, None, STALE_TEMP_AGE), 2);
            assert!(!d.join(format!(".g.{dead}.1.tmp")).exists() && !d.join(format!(".f.g.{dead}.1.tmp")).exists());
            assert!(d.join(format!(".f.{me}.4.tmp")).exists());
        }

        #[test]
        fn a_write_sweeps_temp_files_left_by_a_killed_writer() {
            let dir = tempfile::tempdir().unwrap();
            let left = dir.path().join(format!(".f.{}.1.tmp", i32::MAX));
            fs::write(&left, b"secret").unwrap();
            write_atomic_with(&dir.path().join("f"), b"x", 0o600, Durability::NoFsync).unwrap();
            assert!(!left.exists());
        }
    }
}
