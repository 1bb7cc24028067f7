//! What the hostile-machine and crash tests share: special files, another owner, an
//! immutable directory, a memory cap, and a scan of a test HOME for secret key material.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::fixtures::USER_SECRET;
use super::{Outcome, StandIn, TestEnv};

/// The uid (and gid) of `nobody`, the other user the tests hand files to.
pub const NOBODY: u32 = 65534;

/// Creates a FIFO at `path`. Opening it for reading blocks until a writer comes: a reader that
/// does not guard against it hangs.
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("a path without NUL");
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo {}: {}", path.display(), std::io::Error::last_os_error());
}

/// Whether the tests run as root, which alone can give a file to another user.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Gives `path` (not following a symlink) to `nobody`, as if another user had planted it.
/// Only root can: anyone else fails the test loudly rather than skipping it.
#[track_caller]
pub fn give_to_nobody(path: &Path) {
    assert!(
        is_root(),
        "this test plants a file owned by another user and needs root to chown it to nobody; \
         run the suite as root (as CI does)"
    );
    std::os::unix::fs::lchown(path, Some(NOBODY), Some(NOBODY))
        .unwrap_or_else(|e| panic!("could not chown {} to nobody: {e}", path.display()));
    assert_eq!(std::fs::symlink_metadata(path).unwrap().uid(), NOBODY);
}

pub fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display())).mode() & 0o7777
}

pub fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// A directory nobody, root included, can create, rename or remove files in (the ext4
/// immutable flag, `chattr +i`) until this is dropped. Permission bits cannot do that for
/// root, who runs the tests, nor for an owner, who may chmod the directory back (rolesh makes
/// its own directories 0700). Needs root; fails loudly otherwise.
pub struct Immutable {
    dir: PathBuf,
}

const FS_IOC_GETFLAGS: libc::c_ulong = 0x8008_6601;
const FS_IOC_SETFLAGS: libc::c_ulong = 0x4008_6602;
const FS_IMMUTABLE_FL: libc::c_long = 0x10;

impl Immutable {
    #[track_caller]
    pub fn set(dir: &Path) -> Immutable {
        assert!(is_root(), "making {} immutable needs root (CAP_LINUX_IMMUTABLE); run as root", dir.display());
        set_immutable(dir, true).unwrap_or_else(|e| {
            panic!(
                "could not make {} immutable (chattr +i): {e}; the test needs ext4 or a like filesystem",
                dir.display()
            )
        });
        // What the flag is for: even root cannot add a file now.
        let probe = dir.join(".immutable-probe");
        assert!(std::fs::write(&probe, b"").is_err(), "{} is still writable", dir.display());
        Immutable { dir: dir.to_path_buf() }
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        // Else the temp dir holding it could not be removed.
        let _ = set_immutable(&self.dir, false);
    }
}

fn set_immutable(dir: &Path, on: bool) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(dir)?;
    let mut flags: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one long through the pointer, which is valid.
    if unsafe { libc::ioctl(file.as_raw_fd(), FS_IOC_GETFLAGS as _, &mut flags) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    flags = if on { flags | FS_IMMUTABLE_FL } else { flags & !FS_IMMUTABLE_FL };
    // SAFETY: FS_IOC_SETFLAGS reads one long through the pointer, which is valid.
    if unsafe { libc::ioctl(file.as_raw_fd(), FS_IOC_SETFLAGS as _, &flags) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Caps `command`'s address space at `bytes` (RLIMIT_AS, inherited by what it starts): a
/// reader that slurps `/dev/zero` fails to allocate instead of eating the machine.
pub fn limit_memory(command: &mut Command, bytes: u64) -> &mut Command {
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Every secret a test could leak: the user's long-term secret and every secret key and
/// session token the stand-in issued.
pub fn secrets(stand_in: &StandIn) -> Vec<String> {
    let mut secrets = vec![USER_SECRET.to_owned()];
    for issued in stand_in.issued() {
        secrets.push(issued.secret_access_key);
        secrets.push(issued.session_token);
    }
    secrets
}

/// Every regular file and symlink under `dir`, symlinks not followed.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
            if meta.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Whether `path` is a cache entry rolesh wrote: a `*.json` regular file of ours, 0600, in
/// rolesh's own 0700 cache directory. Those hold issued keys by design.
pub fn is_private_cache_entry(env: &TestEnv, path: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return false };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    path.parent() == Some(env.rolesh_cache().as_path())
        && path.extension().is_some_and(|e| e == "json")
        && meta.is_file()
        && meta.uid() == me
        && meta.mode() & 0o777 == 0o600
        && mode(&env.rolesh_cache()) & 0o777 == 0o700
}

/// What one scan looked at, for the figures in docs/reliability.md.
#[derive(Debug, Default, Clone, Copy)]
pub struct Scanned {
    pub files: usize,
    pub secrets: usize,
    pub streams: usize,
}

/// Fails if any secret (see [`secrets`]) appears in the outcomes' stdout or stderr, or in any
/// file under the test's root (HOME, cache, state, XDG config), except the credentials file
/// the test wrote itself and the private cache entries rolesh wrote. Special files are named,
/// not read.
#[track_caller]
pub fn assert_no_secrets(env: &TestEnv, stand_in: &StandIn, outcomes: &[&Outcome]) -> Scanned {
    let secrets = secrets(stand_in);
    let mut scanned = Scanned { secrets: secrets.len(), streams: 2 * outcomes.len(), ..Scanned::default() };
    for outcome in outcomes {
        for secret in &secrets {
            let found = outcome.stdout.windows(secret.len()).any(|w| w == secret.as_bytes())
                || outcome.stderr.contains(secret.as_str());
            assert!(!found, "a secret ({}…) reached the output:\n{outcome}", &secret[..8]);
        }
    }
    for path in files_under(env.root()) {
        if path == env.credentials_path() || is_private_cache_entry(env, &path) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if !meta.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("could not read {}: {e}", path.display()));
        scanned.files += 1;
        for secret in &secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(
                !found,
                "a secret ({}…) is in {} (mode {:o}), which is not a private cache entry",
                &secret[..8],
                path.display(),
                meta.mode() & 0o7777
            );
        }
    }
    eprintln!("secret scan: {scanned:?}");
    scanned
}

/// The temp files in `dir` that a writer of `name` makes: `.{name}.{pid}.{nanos}.tmp`.
pub fn temp_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with(&prefix) && n.ends_with(".tmp")
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}
