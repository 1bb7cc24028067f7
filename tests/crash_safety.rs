//! rolesh killed with SIGKILL at many points while it writes each of its files: a cache entry
//! (`exec --refresh`), the session ledger (`exec` on a warm cache) and `~/.aws/credentials`
//! (`save`). After every kill each file must be the old version or the new one, whole, and
//! read back by rolesh's own readers; after one more normal run no temp file (which may hold
//! live keys) may survive.
//!
//! Kill points are varied deterministically, two ways. Stepped: each writer's normal run is
//! timed first, then the kill comes after a delay stepped evenly from 0 to a little past that
//! time (the delay is deliberate, to move the kill point, never a wait for something to
//! happen). On a write: the kill comes as soon as inotify reports the run's Nth temp file,
//! so it lands inside that write (N cycles over the writer's writes). Whether a kill landed
//! mid-write shows afterwards: the writer's temp file is still there. The counts are printed
//! (run with `--nocapture`) for docs/reliability.md.
#![cfg(unix)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rolesh::ledger::Entry;
use rolesh::profile::config::Config;
use support::fixtures::user_env;
use support::hostile::{assert_no_secrets, mode, temp_files};
use support::process::{DEADLINE, Outcome, Spawned};
use support::{StandIn, TestEnv};

const ROLE: &str = "arn:aws:iam::111111111111:role/deployer";
/// The profile `save deployer` writes.
const SAVED: &str = "deployer-session";

fn deployer(stand_in: &StandIn) -> TestEnv {
    let env = user_env(stand_in);
    env.config(&format!("[profile deployer]\nrole_arn = {ROLE}\nsource_profile = user\n"));
    env
}

/// The files a run may write, and what each held before it.
struct Files {
    entry: PathBuf,
    ledger: PathBuf,
    credentials: PathBuf,
}

struct Before {
    entry: Vec<u8>,
    ledger: Vec<u8>,
    credentials: Vec<u8>,
}

impl Files {
    fn of(env: &TestEnv) -> Files {
        let entries: Vec<PathBuf> = env
            .cache_entries()
            .into_iter()
            .map(|(p, _)| p)
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        Files {
            entry: entries[0].clone(),
            ledger: env.state_home().join("rolesh/sessions.json"),
            credentials: env.credentials_path(),
        }
    }

    fn read(&self) -> Before {
        let read = |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("{} is gone: {e}", p.display()));
        Before { entry: read(&self.entry), ledger: read(&self.ledger), credentials: read(&self.credentials) }
    }

    /// Where a writer of each file leaves its temp files, and the file's name.
    fn temp_files(&self) -> Vec<PathBuf> {
        [&self.entry, &self.ledger, &self.credentials]
            .into_iter()
            .flat_map(|p| temp_files(p.parent().unwrap(), &p.file_name().unwrap().to_string_lossy()))
            .collect()
    }
}

/// How a kill went, told apart afterwards.
#[derive(Debug, Default)]
struct Counts {
    kill_points: usize,
    /// The run ended on its own before the kill.
    finished: usize,
    /// A temp file of the run was left: the kill came between creating it and the rename.
    mid_write: usize,
    /// A file changed to its new version.
    replaced: usize,
    /// Nothing was written yet.
    before_any_write: usize,
    /// Temp files left by a kill that held a secret key or token (then removed by the next
    /// normal run).
    temp_files_with_secrets: usize,
}

/// Checks every file is the old version or a whole new one that rolesh's readers take, and
/// returns whether any changed. `pid` is the killed rolesh, the only process that may have
/// added a ledger entry.
#[track_caller]
fn assert_old_or_new(files: &Files, before: &Before, stand_in: &StandIn, pid: u32, what: &str) -> bool {
    let now = files.read();
    let mut changed = false;

    let cached = rolesh::session::cache::decode(&now.entry);
    let cached = cached.unwrap_or_else(|| panic!("{what}: the cache entry does not decode: {:?}", text(&now.entry)));
    if now.entry != before.entry {
        changed = true;
        let key = &cached.credentials.access_key_id;
        assert!(stand_in.issued_key(key).is_some(), "{what}: the cache entry holds {key}, which STS never issued");
        let old = rolesh::session::cache::decode(&before.entry).unwrap();
        assert_ne!(key, &old.credentials.access_key_id, "{what}: the entry changed but not its keys");
    }
    assert_eq!(mode(&files.entry), 0o600, "{what}");

    let sessions = rolesh::ledger::decode(&now.ledger)
        .unwrap_or_else(|e| panic!("{what}: the ledger does not decode ({e}): {:?}", text(&now.ledger)));
    if now.ledger != before.ledger {
        changed = true;
        let old: Vec<Entry> = rolesh::ledger::decode(&before.ledger).unwrap();
        let old: std::collections::BTreeMap<&str, &Entry> = old.iter().map(|e| (e.id.as_str(), e)).collect();
        for entry in &sessions {
            assert!(
                old.get(entry.id.as_str()) == Some(&entry) || entry.pid == pid,
                "{what}: the ledger has an entry neither old nor the killed rolesh's: {entry:?}"
            );
        }
    }
    assert_eq!(mode(&files.ledger), 0o600, "{what}");

    let credentials = String::from_utf8(now.credentials.clone()).expect("the credentials file is UTF-8");
    let config =
        Config::parse("", &credentials).unwrap_or_else(|e| panic!("{what}: the credentials file does not parse: {e}"));
    let user = config.get("user").unwrap_or_else(|| panic!("{what}: [user] is gone:\n{credentials}"));
    assert_eq!(user.get("aws_access_key_id"), Some(support::fixtures::USER_KEY), "{what}");
    if now.credentials != before.credentials {
        changed = true;
        let saved = config.get(SAVED).unwrap_or_else(|| panic!("{what}: no [{SAVED}] in the new file"));
        let key = saved.get("aws_access_key_id").unwrap_or_default();
        let issued = stand_in.issued_key(key).unwrap_or_else(|| panic!("{what}: [{SAVED}] holds {key}, never issued"));
        assert_eq!(saved.get("aws_secret_access_key"), Some(issued.secret_access_key.as_str()), "{what}");
        assert_eq!(saved.get("aws_session_token"), Some(issued.session_token.as_str()), "{what}");
    }
    assert_eq!(mode(&files.credentials), 0o600, "{what}");
    changed
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The median wall time of three normal runs of `args`, from start to exit.
fn time_of(env: &TestEnv, args: &[&str]) -> Duration {
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let started = Instant::now();
            Spawned::start(env.command(args)).wait(DEADLINE).assert_ok();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[1]
}

/// Where in a run the kill comes.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// This long after the start. Deliberate: the delay moves the kill point, it waits for
    /// nothing.
    After(Duration),
    /// As soon as the run has created its `n`th temp file (1-based): inside that write.
    TempFile(usize),
}

/// inotify on the directories the writers write in, to kill a writer as soon as one of its
/// temp files appears.
struct Watch {
    fd: std::os::fd::OwnedFd,
}

impl Watch {
    fn new(dirs: &[&Path]) -> Watch {
        use std::os::fd::FromRawFd;
        // SAFETY: plain syscall; the fd is owned from here on.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        assert!(fd >= 0, "inotify_init1: {}", std::io::Error::last_os_error());
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        for dir in dirs {
            let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: fd is valid and c is a NUL-terminated path.
            let wd =
                unsafe { libc::inotify_add_watch(std::os::fd::AsRawFd::as_raw_fd(&fd), c.as_ptr(), libc::IN_CREATE) };
            assert!(wd >= 0, "inotify_add_watch {}: {}", dir.display(), std::io::Error::last_os_error());
        }
        Watch { fd }
    }

    /// Waits until `n` temp files (`*.tmp`) have been created, while `pid` lives; false if it
    /// ended first.
    fn temp_files_created(&self, n: usize, pid: i32) -> bool {
        use std::os::fd::AsRawFd;
        let deadline = Instant::now() + DEADLINE;
        let mut seen = 0;
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd. The timeout only bounds how late an exit is noticed.
            unsafe { libc::poll(&mut pfd, 1, 5) };
            // SAFETY: reads into a buffer of the length given.
            let len = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if len <= 0 {
                if !support::process::process_exists(pid) {
                    return false;
                }
                continue;
            }
            let mut at = 0;
            while at + 16 <= len as usize {
                // struct inotify_event: wd, mask, cookie, len (4 bytes each), then the name.
                let name_len = u32::from_ne_bytes(buf[at + 12..at + 16].try_into().unwrap()) as usize;
                let name = &buf[at + 16..at + 16 + name_len];
                let name = name.split(|&b| b == 0).next().unwrap_or_default();
                if name.ends_with(b".tmp") {
                    seen += 1;
                    if seen == n {
                        return true;
                    }
                }
                at += 16 + name_len;
            }
        }
        false
    }
}

/// Kills `args` (a writer) at each of `points`, checking the files after each kill, and after
/// a kill that left a temp file (mid-write) runs the writer once more normally: that run must
/// remove it.
fn kill_repeatedly(env: &TestEnv, stand_in: &StandIn, args: &[&str], points: &[KillAt]) -> Counts {
    let files = Files::of(env);
    let dirs: Vec<&Path> = [&files.entry, &files.ledger, &files.credentials].map(|p| p.parent().unwrap()).to_vec();
    let mut counts = Counts::default();
    for (i, &at) in points.iter().enumerate() {
        let what = format!("{args:?} killed at {at:?} (point {i})");
        assert!(files.temp_files().is_empty(), "{what}: temp files before the run: {:?}", files.temp_files());
        let before = files.read();

        let watch = Watch::new(&dirs);
        let running = Spawned::start(env.command(args));
        let pid = running.pid();
        match at {
            KillAt::After(delay) => std::thread::sleep(delay),
            KillAt::TempFile(n) => {
                watch.temp_files_created(n, pid);
            }
        }
        // SAFETY: plain syscalls on the group this test started; ESRCH (already gone) is fine.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
            libc::kill(pid, libc::SIGKILL);
        }
        let outcome: Outcome = running.wait(DEADLINE);
        counts.kill_points += 1;
        if outcome.status.success() {
            counts.finished += 1;
        } else {
            assert_eq!(outcome.code(), 128 + libc::SIGKILL, "{what}: not killed, failed:\n{outcome}");
        }

        let changed = assert_old_or_new(&files, &before, stand_in, pid as u32, &what);
        let left = files.temp_files();
        if !left.is_empty() {
            counts.mid_write += 1;
            let secrets = support::hostile::secrets(stand_in);
            for tmp in &left {
                let bytes = std::fs::read(tmp).unwrap_or_default();
                if secrets.iter().any(|s| bytes.windows(s.len()).any(|w| w == s.as_bytes())) {
                    counts.temp_files_with_secrets += 1;
                }
            }
            // One more normal run of the same writer removes what the killed one left.
            Spawned::start(env.command(args)).wait(DEADLINE).assert_ok();
            assert!(files.temp_files().is_empty(), "{what}: temp files survived a normal run: {left:?}");
            assert_old_or_new(&files, &before, stand_in, pid as u32, &what);
        } else if changed {
            counts.replaced += 1;
        } else if !outcome.status.success() {
            counts.before_any_write += 1;
        }
    }
    // A last normal run, and nothing of the killed runs' may hold a secret outside the files
    // meant for it (the private cache entries and the credentials file).
    Spawned::start(env.command(args)).wait(DEADLINE).assert_ok();
    assert!(files.temp_files().is_empty(), "{:?}", files.temp_files());
    let scanned = assert_no_secrets(env, stand_in, &[]);
    eprintln!("crash safety {args:?}: {counts:?}; files scanned for secrets afterwards: {scanned:?}");
    counts
}

/// `stepped` kill points evenly spaced from 0 to 1.25 times the writer's normal run time,
/// then `on_write` points cycling over its `writes` temp files.
fn kill_points(env: &TestEnv, args: &[&str], stepped: usize, writes: usize, on_write: usize) -> Vec<KillAt> {
    let span = time_of(env, args).mul_f64(1.25);
    eprintln!("crash safety {args:?}: a normal run takes {:?}", span.div_f64(1.25));
    let stepped = (0..stepped).map(|i| KillAt::After(span.mul_f64(i as f64 / stepped as f64)));
    stepped.chain((0..on_write).map(|i| KillAt::TempFile(1 + i % writes))).collect()
}

/// A HOME where all three files exist: a cached session, a ledger, a saved session.
fn ready(stand_in: &StandIn) -> TestEnv {
    let env = deployer(stand_in);
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    env.run(["save", "deployer"]).assert_ok();
    env
}

#[test]
fn a_cache_write_killed_at_any_point_leaves_the_old_entry_or_the_new_one() {
    let stand_in = StandIn::start();
    let env = ready(&stand_in);
    // Writes the cache entry, then the ledger twice (the session's start and end).
    let args = ["exec", "--refresh", "deployer", "--", "true"];
    let counts = kill_repeatedly(&env, &stand_in, &args, &kill_points(&env, &args, 60, 3, 30));
    assert!(counts.mid_write > 0, "no kill landed inside a write: {counts:?}");
}

#[test]
fn a_ledger_write_killed_at_any_point_leaves_the_old_ledger_or_the_new_one() {
    let stand_in = StandIn::start();
    let env = ready(&stand_in);
    // A busy ledger: 300 live sessions (of this test process) make each write about 100 KB,
    // long enough for kills to land inside it (a small one is renamed within microseconds).
    let ledger = env.state_home().join("rolesh/sessions.json");
    let me = std::process::id();
    let mut sessions = rolesh::ledger::decode(&std::fs::read(&ledger).unwrap()).unwrap();
    sessions.extend((0..300).map(|i| Entry {
        profile: "deployer".into(),
        role_arn: Some(ROLE.into()),
        ..Entry::new(&format!("busy-{i}"), rolesh::ledger::Kind::Exec, me, &rolesh::env::Env::default())
    }));
    let state = serde_json::json!({ "format": rolesh::ledger::FORMAT, "sessions": sessions });
    std::fs::write(&ledger, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    // A cache hit: writes only the ledger, twice.
    let args = ["exec", "deployer", "--", "true"];
    let counts = kill_repeatedly(&env, &stand_in, &args, &kill_points(&env, &args, 60, 2, 30));
    assert!(counts.mid_write > 0, "no kill landed inside a write: {counts:?}");
}

#[test]
fn a_credentials_file_write_killed_at_any_point_leaves_the_old_file_or_the_new_one() {
    let stand_in = StandIn::start();
    let env = ready(&stand_in);
    // --refresh: every save writes new keys (the cache entry, then the credentials file), so a
    // new file differs from the old one.
    let args = ["save", "--refresh", "deployer"];
    let counts = kill_repeatedly(&env, &stand_in, &args, &kill_points(&env, &args, 60, 2, 30));
    assert!(counts.mid_write > 0, "no kill landed inside a write: {counts:?}");
}
