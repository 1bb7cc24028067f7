//! The ledger of active sessions: one JSON file (`sessions.json`, 0600 in a 0700 dir) under
//! the platform state dir, read by `rolesh ls` and changed by `exec`, `shell`, `use` and
//! `unuse`.
//!
//! Every change takes an exclusive lock on `sessions.lock` (a separate file, so the lock
//! survives the swap), re-reads, prunes entries whose process is gone, changes, and writes
//! through a temp file swapped in atomically (no fsync: after a power loss none of the
//! processes it lists is alive anyway, and a file left empty by one is moved aside like any
//! unreadable one); readers take no lock and see the old or the new file, never half of one.
//! The kernel drops the lock when its holder dies, so a killed rolesh blocks nobody. A file rolesh cannot read (garbage, empty, truncated, another format) is
//! moved aside with a warning and the ledger starts afresh: it only describes processes, so
//! losing it costs a listing, never a session. Questions about processes go to [`crate::sys`];
//! warnings are returned to the caller, which prints them.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::error::{Error, Warning};
use crate::fsutil::{self, DirStatus, Durability, FileError};
use crate::sys;

/// The version of `sessions.json`; a file with any other is moved aside, not guessed at.
pub const FORMAT: u32 = 1;
const FILE: &str = "sessions.json";
const LOCK_FILE: &str = "sessions.lock";
/// Ledger changes take milliseconds; waiting longer than this means something is stuck, and
/// `exec` must not hang on bookkeeping.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// A session is about 300 bytes: a ledger of megabytes is damage, not data.
const MAX_LEN: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `rolesh exec`: the pid is rolesh's own, which waits for the command.
    Exec,
    /// `rolesh shell`: the pid is the subshell's.
    Shell,
    /// `rolesh use`: the pid is the interactive shell's (rolesh's parent, via the hook).
    Use,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Exec => "exec",
            Kind::Shell => "shell",
            Kind::Use => "use",
        }
    }
}

/// One active session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The `ROLESH_SESSION` value of the session.
    pub id: String,
    pub kind: Kind,
    pub profile: String,
    pub role_arn: Option<String>,
    /// The process whose life is the session's life.
    pub pid: u32,
    /// When `pid` started (Linux: field 22 of /proc/PID/stat), so a recycled pid is not
    /// mistaken for the session's process. `None` where the platform does not tell.
    pub pid_start: Option<u64>,
    /// The terminal of that process (`pts/3`), where known.
    pub tty: Option<String>,
    /// The session this one was started from (the caller's `ROLESH_SESSION`).
    pub parent: Option<String>,
    pub started: DateTime<Utc>,
    pub expires: Option<DateTime<Utc>>,
    /// Its command gets credentials from rolesh's credentials server (`--server`), renewed
    /// as it runs. Absent in older files.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub served: bool,
    /// The directory whose `.rolesh` started the session (a `use` by the `--auto-dir` hook).
    /// Absent in older files and for every other session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
}

impl Entry {
    /// An entry for a session living as long as process `pid`, started now, with no profile
    /// yet (callers fill in what the session is). Reads the process's start time and
    /// terminal, and takes the parent from `env`'s `ROLESH_SESSION`.
    pub fn new(id: &str, kind: Kind, pid: u32, env: &Env) -> Entry {
        Entry {
            id: id.to_string(),
            kind,
            profile: String::new(),
            role_arn: None,
            pid,
            pid_start: sys::start_time(pid),
            tty: sys::tty(pid),
            parent: env.get("ROLESH_SESSION").filter(|p| *p != id).map(String::from),
            started: Utc::now(),
            expires: None,
            served: false,
            dir: None,
        }
    }

    /// Whether the session's process still runs (and is the same process, not a pid reuse).
    pub fn is_alive(&self) -> bool {
        sys::alive(self.pid, self.pid_start)
    }
}

#[derive(Serialize, Deserialize)]
struct State {
    format: u32,
    sessions: Vec<Entry>,
}

/// Only the version, read first so that a file of another format is recognised as such.
#[derive(Deserialize)]
struct Header {
    format: u32,
}

enum Read {
    Missing,
    Good(Vec<Entry>),
    /// Read, but not understood: safe to move aside.
    Corrupt(String),
    /// Not readable at all (permissions, a directory in its place): moving it aside could
    /// lose a good file, so this is an error.
    Failed(std::io::Error),
}

pub struct Ledger {
    dir: PathBuf,
    lock_timeout: Duration,
}

impl Ledger {
    /// The ledger in [`crate::paths::state_dir`].
    pub fn open(env: &Env) -> Result<Ledger, Error> {
        crate::paths::state_dir(env).map(Ledger::at)
    }

    pub fn at(dir: impl Into<PathBuf>) -> Ledger {
        Ledger { dir: dir.into(), lock_timeout: LOCK_TIMEOUT }
    }

    pub fn with_lock_timeout(self, lock_timeout: Duration) -> Ledger {
        Ledger { lock_timeout, ..self }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// Adds `entry`, replacing any entry with the same id.
    ///
    /// A `use` whose parent is a `use` of the same shell process switches that shell's session
    /// rather than nesting in it: the parent entry goes and the new one takes its parent.
    pub fn register(&self, mut entry: Entry) -> Result<Vec<Warning>, Error> {
        self.change(|entries| {
            let switched = entries.iter().position(|e| {
                entry.kind == Kind::Use
                    && e.kind == Kind::Use
                    && entry.parent.as_deref() == Some(e.id.as_str())
                    && (e.pid, e.pid_start) == (entry.pid, entry.pid_start)
            });
            if let Some(i) = switched {
                entry.parent = entries.remove(i).parent;
            }
            entries.retain(|e| e.id != entry.id);
            entries.push(entry);
        })
    }

    /// Removes the entry `id`; an id that is not there is not an error.
    pub fn deregister(&self, id: &str) -> Result<Vec<Warning>, Error> {
        self.change(|entries| entries.retain(|e| e.id != id))
    }

    /// The sessions whose process still runs, oldest first.
    pub fn active(&self) -> Result<(Vec<Entry>, Vec<Warning>), Error> {
        let path = self.path();
        let mut warnings = Vec::new();
        // Reading never creates the directory; one that is there is checked (and closed).
        if std::fs::symlink_metadata(&self.dir).is_err() {
            return Ok((vec![], warnings));
        }
        self.private_dir(&mut warnings)?;
        let mut entries = match read(&path) {
            Read::Missing => vec![],
            Read::Good(entries) => entries,
            Read::Failed(e) => return Err(Error::state("read", &path, e)),
            // Moving the file aside needs the lock: without it, a writer might just have
            // replaced the bad file with a good one, which we would then throw away.
            Read::Corrupt(_) => {
                let _lock = self.lock(&mut warnings)?;
                self.load_or_set_aside(&mut warnings)?
            }
        };
        entries.retain(Entry::is_alive);
        entries.sort_by(|a, b| a.started.cmp(&b.started).then_with(|| a.id.cmp(&b.id)));
        Ok((entries, warnings))
    }

    /// The state directory, created 0700 or made so (with a warning) if others could get in; one
    /// of another user's is an error.
    fn private_dir(&self, warnings: &mut Vec<Warning>) -> Result<(), Error> {
        match fsutil::ensure_private_dir(&self.dir) {
            Ok(DirStatus::Tightened { was }) => {
                warnings.push(Warning::Ledger(format!(
                    "the state directory {} was open to other users (mode {was:04o}); made it 0700",
                    self.dir.display()
                )));
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(Error::state("use the state directory", &self.dir, e.into())),
        }
    }

    fn lock(&self, warnings: &mut Vec<Warning>) -> Result<fs::File, Error> {
        self.private_dir(warnings)?;
        let path = self.lock_path();
        fsutil::lock(&path, self.lock_timeout).map_err(|e| Error::state("lock", &path, e))
    }

    fn change(&self, f: impl FnOnce(&mut Vec<Entry>)) -> Result<Vec<Warning>, Error> {
        let mut warnings = Vec::new();
        let _lock = self.lock(&mut warnings)?;
        // A writer killed between creating its temp file and renaming it leaves the temp file
        // behind; with the lock held no live writer owns one, whatever its age.
        fsutil::sweep_temp_files(&self.dir, Some(FILE), Duration::ZERO);
        let mut entries = self.load_or_set_aside(&mut warnings)?;
        entries.retain(Entry::is_alive);
        f(&mut entries);
        let state = State { format: FORMAT, sessions: entries };
        let mut bytes = serde_json::to_vec_pretty(&state)
            .map_err(|e| Error::Local(format!("could not encode the session ledger: {e}")))?;
        bytes.push(b'\n');
        let path = self.path();
        // No fsync: the ledger describes live processes, and after a power loss none of them is
        // alive; the atomic swap alone keeps every reader's view whole.
        fsutil::write_atomic_with(&path, &bytes, 0o600, Durability::NoFsync)
            .map_err(|e| Error::state("write", &path, e))?;
        Ok(warnings)
    }

    /// The entries on disk; a file that does not parse is renamed out of the way, with a
    /// warning. Call with the lock held.
    fn load_or_set_aside(&self, warnings: &mut Vec<Warning>) -> Result<Vec<Entry>, Error> {
        let path = self.path();
        Ok(match read(&path) {
            Read::Missing => vec![],
            Read::Good(entries) => entries,
            Read::Failed(e) => return Err(Error::state("read", &path, e)),
            Read::Corrupt(why) => {
                let stamp = Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
                let aside = self.dir.join(format!("{FILE}.corrupt-{stamp}"));
                warnings.push(Warning::Ledger(match fs::rename(&path, &aside) {
                    Ok(()) => format!(
                        "the session ledger {} could not be read ({why}); moved it to {} and started a new one",
                        path.display(),
                        aside.display()
                    ),
                    Err(e) => format!(
                        "the session ledger {} could not be read ({why}) nor moved aside ({e}); starting a new one",
                        path.display()
                    ),
                }));
                vec![]
            }
        })
    }
}

/// Reads the file without following a link or blocking on a FIFO, and only if it is safely
/// the user's; a huge one is damage to move aside.
fn read(path: &Path) -> Read {
    let bytes = match fsutil::read_private(path, MAX_LEN) {
        Ok(Some(b)) => b,
        Ok(None) => return Read::Missing,
        Err(FileError::TooLarge { len, max }) => {
            return Read::Corrupt(format!("it is {len} bytes, more than a ledger ever holds ({max})"));
        }
        Err(e) => return Read::Failed(e.into()),
    };
    match decode(&bytes) {
        Ok(entries) => Read::Good(entries),
        Err(why) => Read::Corrupt(why),
    }
}

/// The entries of a `sessions.json`, or why it cannot be read (the fuzzer's entry point too).
pub fn decode(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("it is empty".into());
    }
    match serde_json::from_slice::<Header>(bytes) {
        Ok(h) if h.format != FORMAT => return Err(format!("format {} is not {FORMAT}", h.format)),
        Ok(_) => {}
        Err(e) => return Err(e.to_string()),
    }
    serde_json::from_slice::<State>(bytes).map(|state| state.sessions).map_err(|e| e.to_string())
}

/// A registration that lasts until [`Registration::end`] (or, failing that, until it is
/// dropped): `exec` and `shell` hold one while their child runs.
pub struct Registration {
    ledger: Ledger,
    id: String,
    ended: bool,
}

impl Registration {
    /// Deregisters the session; trouble is a warning, as it never stops a command.
    pub fn end(mut self) -> Vec<Warning> {
        self.ended = true;
        self.ledger.deregister(&self.id).unwrap_or_else(|e| {
            vec![Warning::Ledger(format!("could not remove session {} from the ledger: {e}", self.id))]
        })
    }
}

impl Drop for Registration {
    /// A path that returned early still takes the session out of the ledger; there is no one
    /// left to tell about trouble by then.
    fn drop(&mut self) {
        if !self.ended {
            let _ = self.ledger.deregister(&self.id);
        }
    }
}

/// Registers `entry` in `env`'s ledger for a session that outlives rolesh (`use`); trouble
/// is a warning, as it never stops a command.
pub fn register_or_warn(env: &Env, entry: Entry) -> Vec<Warning> {
    let id = entry.id.clone();
    Ledger::open(env).and_then(|l| l.register(entry)).unwrap_or_else(|e| vec![not_registered(&id, &e)])
}

/// Removes session `id` from `env`'s ledger (`unuse`); trouble is a warning.
pub fn deregister_or_warn(env: &Env, id: &str) -> Vec<Warning> {
    Ledger::open(env)
        .and_then(|l| l.deregister(id))
        .unwrap_or_else(|e| vec![Warning::Ledger(format!("could not remove session {id} from the ledger: {e}"))])
}

/// Registers `entry` until the returned value is ended or dropped. On failure it returns
/// `None` and a warning: the session runs anyway, it is only missing from `rolesh ls`.
pub fn track(env: &Env, entry: Entry) -> (Option<Registration>, Vec<Warning>) {
    let id = entry.id.clone();
    match Ledger::open(env).and_then(|ledger| ledger.register(entry).map(|w| (ledger, w))) {
        Ok((ledger, warnings)) => (Some(Registration { ledger, id, ended: false }), warnings),
        Err(e) => (None, vec![not_registered(&id, &e)]),
    }
}

fn not_registered(id: &str, e: &Error) -> Warning {
    Warning::Ledger(format!("session {id} is not in the ledger: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, pid: u32) -> Entry {
        Entry {
            id: id.into(),
            kind: Kind::Exec,
            profile: "dev".into(),
            role_arn: Some("arn:aws:iam::123456789012:role/dev".into()),
            pid,
            pid_start: sys::start_time(pid),
            tty: None,
            parent: None,
            started: Utc::now(),
            expires: None,
            served: false,
            dir: None,
        }
    }

    fn me() -> u32 {
        std::process::id()
    }

    /// The pid of a process that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--list")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    fn ids(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.id.as_str()).collect()
    }

    fn corrupt_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("sessions.json.corrupt-"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_registered_session_is_active_until_it_is_deregistered() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path().join("state"));
        assert!(ledger.active().unwrap().0.is_empty(), "a missing file is an empty ledger");
        ledger.register(entry("a", me())).unwrap();
        ledger.register(entry("b", me())).unwrap();
        assert_eq!(ids(&ledger.active().unwrap().0), ["a", "b"]);
        ledger.deregister("a").unwrap();
        ledger.deregister("not-there").unwrap();
        assert_eq!(ids(&ledger.active().unwrap().0), ["b"]);
    }

    #[test]
    fn registering_an_id_again_replaces_its_entry() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path());
        ledger.register(entry("a", me())).unwrap();
        ledger.register(Entry { profile: "prod".into(), ..entry("a", me()) }).unwrap();
        let active = ledger.active().unwrap().0;
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].profile, "prod");
    }

    #[test]
    fn a_second_use_in_the_same_shell_replaces_the_first_instead_of_nesting_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path());
        let use_ = |id: &str, parent: Option<&str>| Entry {
            kind: Kind::Use,
            parent: parent.map(String::from),
            ..entry(id, me())
        };
        ledger.register(entry("outer-exec", me())).unwrap();
        ledger.register(use_("dev", Some("outer-exec"))).unwrap();
        ledger.register(use_("prod", Some("dev"))).unwrap();
        let active = ledger.active().unwrap().0;
        assert_eq!(ids(&active), ["outer-exec", "prod"]);
        assert_eq!(active[1].parent.as_deref(), Some("outer-exec"), "prod takes dev's place");
        // Under a session of another kind, even of the same process, a use nests.
        ledger.register(Entry { kind: Kind::Shell, ..entry("sub", me()) }).unwrap();
        ledger.register(use_("in-sub", Some("sub"))).unwrap();
        let active = ledger.active().unwrap().0;
        assert_eq!(ids(&active), ["outer-exec", "prod", "sub", "in-sub"]);
        assert_eq!(active[3].parent.as_deref(), Some("sub"));
    }

    #[test]
    fn a_session_whose_process_is_gone_is_ignored_on_read_and_pruned_on_write() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path());
        let dead = dead_pid();
        ledger.register(entry("dead", dead)).unwrap();
        ledger.register(entry("alive", me())).unwrap();
        assert_eq!(ids(&ledger.active().unwrap().0), ["alive"]);
        ledger.deregister("alive").unwrap();
        let on_disk: State = serde_json::from_slice(&fs::read(ledger.path()).unwrap()).unwrap();
        assert!(on_disk.sessions.is_empty(), "the dead entry was pruned from the file");
    }

    #[test]
    fn a_session_without_a_start_time_falls_back_to_a_liveness_check() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path());
        ledger.register(Entry { pid_start: None, ..entry("alive", me()) }).unwrap();
        ledger.register(Entry { pid_start: None, ..entry("dead", dead_pid()) }).unwrap();
        assert_eq!(ids(&ledger.active().unwrap().0), ["alive"]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_live_pid_with_another_start_time_is_a_reused_pid_and_counts_as_dead() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path());
        let start = sys::start_time(me()).expect("/proc gives our start time");
        ledger.register(Entry { pid_start: Some(start + 1), ..entry("reused", me()) }).unwrap();
        ledger.register(Entry { pid_start: Some(start), ..entry("same", me()) }).unwrap();
        assert_eq!(ids(&ledger.active().unwrap().0), ["same"]);
    }

    #[test]
    fn an_unreadable_ledger_is_moved_aside_and_rolesh_goes_on() {
        let cases: [(&str, &[u8]); 7] = [
            ("garbage", b"\x00\xffnot json at all"),
            ("empty", b""),
            ("whitespace", b"  \n"),
            ("truncated", br#"{"format":1,"sessions":[{"id":"a","kind":"exec","prof"#),
            ("unknown version", br#"{"format":2,"sessions":[],"hosts":{}}"#),
            ("older format without a version", br#"[{"id":"a","pid":1}]"#),
            ("wrong field types", br#"{"format":1,"sessions":[{"id":7}]}"#),
        ];
        for (what, bytes) in cases {
            for via_write in [false, true] {
                let dir = tempfile::tempdir().unwrap();
                let ledger = Ledger::at(dir.path());
                fs::write(ledger.path(), bytes).unwrap();
                let warnings = if via_write {
                    let warnings = ledger.register(entry("new", me())).unwrap();
                    assert_eq!(ids(&ledger.active().unwrap().0), ["new"], "{what}");
                    warnings
                } else {
                    let (entries, warnings) = ledger.active().unwrap();
                    assert!(entries.is_empty(), "{what}");
                    assert!(!ledger.path().exists(), "{what}: the bad file is out of the way");
                    warnings
                };
                let moved = warnings.iter().filter(|w| matches!(w, Warning::Ledger(m) if m.contains("moved it to")));
                assert_eq!(moved.count(), 1, "{what}: {warnings:?}");
                let aside = corrupt_files(dir.path());
                assert_eq!(aside.len(), 1, "{what}: {aside:?}");
                assert_eq!(fs::read(dir.path().join(&aside[0])).unwrap(), bytes, "{what}: kept for inspection");
            }
        }
    }

    #[test]
    fn a_ledger_that_cannot_be_read_at_all_is_an_error_and_left_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path());
        fs::create_dir(ledger.path()).unwrap();
        for err in [ledger.active().unwrap_err(), ledger.register(entry("a", me())).unwrap_err()] {
            assert!(
                matches!(&err, Error::State { doing, path, .. } if doing == "read" && *path == ledger.path()),
                "{err}"
            );
        }
        assert!(ledger.path().is_dir());
        assert!(corrupt_files(dir.path()).is_empty());
    }

    #[test]
    fn a_held_lock_makes_a_change_fail_quickly_with_an_error_naming_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path()).with_lock_timeout(Duration::from_millis(50));
        let _held = fsutil::lock(&ledger.lock_path(), Duration::from_secs(1)).unwrap();
        let err = ledger.register(entry("a", me())).unwrap_err();
        assert!(matches!(&err, Error::State { path, .. } if *path == ledger.lock_path()), "{err}");
        assert_eq!(err.exit_code(), 7);
        // Reading a good file needs no lock.
        drop(_held);
        ledger.register(entry("a", me())).unwrap();
        let _held = fsutil::lock(&ledger.lock_path(), Duration::from_secs(1)).unwrap();
        assert_eq!(ids(&ledger.active().unwrap().0), ["a"]);
    }

    #[test]
    fn a_temp_file_left_by_a_killed_writer_is_removed_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path());
        let stale = dir.path().join(".sessions.json.4242.17.tmp");
        fs::write(&stale, b"{\"format\":1,\"sess").unwrap();
        ledger.register(entry("a", me())).unwrap();
        assert!(!stale.exists());
        assert_eq!(ids(&ledger.active().unwrap().0), ["a"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_0600_in_a_0700_directory() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::at(dir.path().join("rolesh"));
        ledger.register(entry("a", me())).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("rolesh")), 0o700);
        assert_eq!(mode(&ledger.path()), 0o600);
        assert_eq!(mode(&ledger.lock_path()), 0o600);
    }

    #[test]
    fn the_state_dir_comes_from_rolesh_state_dir_then_xdg_state_home() {
        let both = Env::from_pairs([("ROLESH_STATE_DIR", "/r"), ("XDG_STATE_HOME", "/x")]);
        assert_eq!(Ledger::open(&both).unwrap().path(), Path::new("/r/sessions.json"));
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            let xdg = Env::from_pairs([("XDG_STATE_HOME", "/x")]);
            assert_eq!(Ledger::open(&xdg).unwrap().path(), Path::new("/x/rolesh/sessions.json"));
            assert_eq!(Ledger::open(&xdg).unwrap().lock_path(), Path::new("/x/rolesh/sessions.lock"));
        }
    }

    #[test]
    fn a_new_entry_records_its_parent_session_and_its_process_start() {
        let env = Env::from_pairs([("ROLESH_SESSION", "outer")]);
        let e = Entry::new("inner", Kind::Shell, me(), &env);
        assert_eq!(e.parent.as_deref(), Some("outer"));
        assert!(e.is_alive());
        #[cfg(target_os = "linux")]
        assert!(e.pid_start.is_some());
        let top = Entry::new("top", Kind::Exec, me(), &Env::default());
        assert_eq!(top.parent, None);
        let itself = Entry::new("same", Kind::Exec, me(), &Env::from_pairs([("ROLESH_SESSION", "same")]));
        assert_eq!(itself.parent, None, "a session is never its own parent");
    }
}
