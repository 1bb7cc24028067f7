//! Private files done right: 0700 directories, 0600 files written by temp file + fsync +
//! rename (a reader sees the old or the new file, never half of one), and exclusive locks with
//! a deadline (std's `File::lock`, stable since Rust 1.89, instead of the unmaintained fs2).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Creates `dir` (and missing parents) and makes `dir` itself 0700, whatever the umask.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    set_mode(dir, 0o700)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let perms = fs::metadata(path)?.permissions();
    if perms.mode() & 0o777 != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    // Windows: files under the user's profile directory are private by ACL already.
    Ok(())
}

fn open_private(path: &Path, opts: &mut OpenOptions, mode: u32) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    opts.open(path)
}

/// Writes `bytes` to `path` atomically with the given mode (0600 for secrets).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = temp_name(path);
    let result = (|| {
        let mut f = open_private(&tmp, OpenOptions::new().write(true).create_new(true), mode)?;
        // The umask may have narrowed or a pre-set mode widened what open() gave us.
        set_mode(&tmp, mode)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(dir);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn temp_name(path: &Path) -> PathBuf {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{nanos}.tmp", std::process::id()))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) {
    // Makes the rename itself durable; best effort, as not every filesystem allows it.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

/// An exclusive lock on `path` (created 0600 if missing), held until the `File` is dropped.
/// Gives up after `timeout` with `ErrorKind::TimedOut`.
///
/// Waits in a blocking `lock()` on a helper thread rather than polling `try_lock`: the kernel
/// wakes a blocked waiter the moment the holder lets go, whereas a poller backing off to
/// 100 ms came late after every release and lost to newcomers polling faster (a waiter behind
/// a busy ledger could starve until its deadline). std has no timed lock, so the deadline is
/// the channel's; a waiter that gives up leaves its thread blocked, and when that thread gets
/// the lock it finds nobody listening and drops it at once.
pub fn lock(path: &Path, timeout: Duration) -> io::Result<File> {
    let file = open_private(path, OpenOptions::new().read(true).write(true).create(true).truncate(false), 0o600)?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(fs::TryLockError::WouldBlock) => {}
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
    fn a_private_dir_is_0700_even_when_it_existed_wider() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a");
        fs::create_dir(&d).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
            private_dir(&d).unwrap();
            assert_eq!(fs::metadata(&d).unwrap().permissions().mode() & 0o777, 0o700);
        }
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
}
