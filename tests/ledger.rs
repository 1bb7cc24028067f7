//! The session ledger with real processes: many writers at once, writers killed with SIGKILL,
//! `rolesh ls` on good, missing and damaged files, and `rolesh exec` registering itself.
//!
//! Concurrent writers are this test binary run again as a child (aws-vault's trick): the
//! child runs only `a_helper_child_plays_its_role_only_when_asked`, which reads its role from
//! `ROLESH_LEDGER_TEST_ROLE` and calls the library. Children report progress as lines on
//! stdout and wait for their stdin to close, so every step is ordered by a pipe, not a sleep.
//! `rolesh exec` runs against moto (tests/support).
#![cfg(unix)]

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::Duration;

use chrono::Utc;
use rolesh::ledger::{Entry, Kind, Ledger};
use serde_json::Value;
use support::TestEnv;
use support::fixtures::user_credentials;

const ROLE: &str = "ROLESH_LEDGER_TEST_ROLE";
const HELPER: &str = "a_helper_child_plays_its_role_only_when_asked";

fn entry(id: &str, pid: u32, parent: Option<&str>) -> Entry {
    Entry {
        profile: "dev".into(),
        role_arn: Some("arn:aws:iam::123456789012:role/dev".into()),
        tty: None,
        parent: parent.map(String::from),
        expires: Some(Utc::now() + chrono::Duration::hours(1)),
        ..Entry::new(id, Kind::Exec, pid, &rolesh::env::Env::default())
    }
}

fn say(line: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

#[test]
fn a_helper_child_plays_its_role_only_when_asked() {
    let Ok(role) = std::env::var(ROLE) else { return };
    // These tests are about what ends up in the file, not about latency: a loaded CI machine
    // must not turn 64 queued writers into lock timeouts.
    let ledger = Ledger::at(std::env::var("ROLESH_STATE_DIR").unwrap()).with_lock_timeout(Duration::from_secs(60));
    let id = std::env::var("ROLESH_TEST_ID").unwrap();
    let me = std::process::id();
    let wait_for_eof = || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
    };
    match role.as_str() {
        // Register; deregister at once when asked; then stay alive until released.
        "churn" => {
            ledger.register(entry(&id, me, None)).unwrap();
            if std::env::var_os("ROLESH_TEST_DEREGISTER").is_some() {
                ledger.deregister(&id).unwrap();
            }
            say("done");
            wait_for_eof();
        }
        // Hold the lock with a half-written temp file beside the ledger, as a writer killed
        // between write and rename would.
        "hold-lock" => {
            let _lock = rolesh::fsutil::lock(&ledger.lock_path(), Duration::from_secs(5)).unwrap();
            let tmp = ledger.path().with_file_name(format!(".sessions.json.{me}.1.tmp"));
            std::fs::write(tmp, br#"{"format":1,"sessions":[{"id":"half"#).unwrap();
            say("locked");
            wait_for_eof();
        }
        // One register + deregister per byte on stdin, until EOF or SIGKILL.
        "writer" => {
            let mut stdin = std::io::stdin().lock();
            let mut byte = [0u8];
            for i in 0u64.. {
                if stdin.read(&mut byte).unwrap() == 0 {
                    return;
                }
                ledger.register(entry(&format!("{id}-{i}"), me, None)).unwrap();
                if i > 0 {
                    ledger.deregister(&format!("{id}-{}", i - 1)).unwrap();
                }
                say(i);
            }
        }
        "umask" => {
            // SAFETY: umask only changes this process's file creation mask.
            unsafe { libc::umask(0) };
            ledger.register(entry(&id, me, None)).unwrap();
            say("done");
        }
        other => panic!("unknown helper role {other}"),
    }
}

struct Helper {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Helper {
    fn start(role: &str, dir: &Path, id: &str, extra: &[(&str, &str)]) -> Helper {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([HELPER, "--exact", "--nocapture", "--test-threads=1", "-q"])
            .env(ROLE, role)
            .env("ROLESH_STATE_DIR", dir)
            .env("ROLESH_TEST_ID", id)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Helper { child, out }
    }

    /// Reads stdout up to the line `marker` (libtest prints a line or two of its own).
    fn expect(&mut self, marker: &str) {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.out.read_line(&mut line).unwrap();
            assert!(n > 0, "helper {} ended before saying {marker:?}", self.child.id());
            if line.trim_end() == marker {
                return;
            }
        }
    }

    /// Closes stdin and waits; the helper must have succeeded.
    fn release(mut self) {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "helper {} failed: {status}", self.child.id());
    }

    fn kill(mut self) {
        // SIGKILL: no destructor, no unlock, no cleanup.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

fn ids_on_disk(ledger: &Ledger) -> BTreeSet<String> {
    let v: Value = serde_json::from_slice(&std::fs::read(ledger.path()).unwrap()).expect("the ledger parses");
    assert_eq!(v["format"], 1);
    v["sessions"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

fn active_ids(ledger: &Ledger) -> BTreeSet<String> {
    ledger.active().unwrap().0.into_iter().map(|e| e.id).collect()
}

fn leftovers(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

fn rolesh(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rolesh")).args(args).env("ROLESH_STATE_DIR", dir).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn sixty_four_processes_registering_and_deregistering_at_once_leave_exactly_the_survivors() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::at(dir.path());
    for round in 0..4 {
        // Every odd helper deregisters right after registering; the even ones stay.
        let mut helpers: Vec<Helper> = (0..64)
            .map(|i| {
                let extra: &[(&str, &str)] = if i % 2 == 1 { &[("ROLESH_TEST_DEREGISTER", "1")] } else { &[] };
                Helper::start("churn", dir.path(), &format!("r{round}-{i}"), extra)
            })
            .collect();
        for h in &mut helpers {
            h.expect("done");
        }
        let survivors: BTreeSet<String> = (0..64).step_by(2).map(|i| format!("r{round}-{i}")).collect();
        // The previous round's processes have exited, so this round's writes pruned them.
        assert_eq!(ids_on_disk(&ledger), survivors, "round {round}");
        assert_eq!(active_ids(&ledger), survivors, "round {round}");
        for h in helpers {
            h.release();
        }
        assert!(leftovers(dir.path(), "sessions.json.corrupt").is_empty());
        assert!(leftovers(dir.path(), ".sessions.json.").is_empty(), "no temp file left behind");
    }
    assert!(ledger.active().unwrap().0.is_empty(), "every helper has exited");
}

#[test]
fn a_process_killed_while_holding_the_lock_leaves_the_old_file_and_the_next_rolesh_works() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::at(dir.path());
    ledger.register(entry("before", std::process::id(), None)).unwrap();
    let before = std::fs::read(ledger.path()).unwrap();

    let mut holder = Helper::start("hold-lock", dir.path(), "x", &[]);
    holder.expect("locked");
    // Readers take no lock: they go on seeing the last complete file.
    assert_eq!(active_ids(&ledger), BTreeSet::from(["before".to_string()]));
    holder.kill();

    assert_eq!(std::fs::read(ledger.path()).unwrap(), before, "the old state, untouched");
    let ls = rolesh(dir.path(), &["ls", "--json"]);
    assert!(ls.status.success(), "{}", text(&ls.stderr));
    assert!(text(&ls.stdout).contains("\"before\""));
    // The kernel released the dead holder's lock; the next write cleans its temp file.
    ledger.register(entry("after", std::process::id(), None)).unwrap();
    assert_eq!(ids_on_disk(&ledger), BTreeSet::from(["after".to_string(), "before".to_string()]));
    assert!(leftovers(dir.path(), ".sessions.json.").is_empty());
}

#[test]
fn writers_killed_at_arbitrary_points_never_leave_a_torn_file() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::at(dir.path());
    for round in 0..12 {
        let mut writers: Vec<Helper> =
            (0..4).map(|i| Helper::start("writer", dir.path(), &format!("w{round}-{i}"), &[])).collect();
        // Each writer gets a queue of operations and is killed as soon as the first is done,
        // so the kill lands wherever it happens to be: waiting for the lock, holding it,
        // mid-write, before the rename, between operations.
        for w in &mut writers {
            w.child.stdin.as_mut().unwrap().write_all(&[b'x'; 16]).unwrap();
        }
        for w in &mut writers {
            w.expect("0");
        }
        for w in writers {
            w.kill();
        }
        let on_disk = ids_on_disk(&ledger);
        // At most two entries per writer (its newest and the one before).
        assert!(on_disk.len() <= 4 * 2, "round {round}: {on_disk:?}");
        assert!(ledger.active().unwrap().0.is_empty(), "round {round}: every writer is dead");
    }
    assert!(leftovers(dir.path(), "sessions.json.corrupt").is_empty(), "no reader ever saw a torn file");
    let ls = rolesh(dir.path(), &["ls", "--json"]);
    assert!(ls.status.success(), "{}", text(&ls.stderr));
    assert_eq!(text(&ls.stdout).trim(), "[]");
    ledger.deregister("nothing").unwrap();
    assert!(ids_on_disk(&ledger).is_empty(), "the dead writers' entries are pruned");
    assert!(leftovers(dir.path(), ".sessions.json.").is_empty());
}

#[test]
fn the_ledger_stays_private_even_under_umask_000() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("state").join("rolesh");
    let mut h = Helper::start("umask", &dir, "u", &[]);
    h.expect("done");
    h.release();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("sessions.json")), 0o600);
    assert_eq!(mode(&dir.join("sessions.lock")), 0o600);
}

#[test]
fn ls_on_a_missing_ledger_lists_nothing_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("never-created");
    let json = rolesh(&missing, &["ls", "--json"]);
    assert!(json.status.success());
    assert_eq!(text(&json.stdout), "[]\n");
    assert_eq!(text(&json.stderr), "");
    let plain = rolesh(&missing, &["ls"]);
    assert!(plain.status.success());
    assert_eq!(text(&plain.stdout), "");
    assert_eq!(text(&plain.stderr), "rolesh: no active sessions\n");
    assert!(!missing.exists(), "reading never creates the state dir");
}

#[test]
fn ls_on_an_empty_or_damaged_file_warns_once_moves_it_aside_and_succeeds() {
    for bytes in [&b""[..], b"{\"format\":1,\"sessions\":[{\"id\":", b"\xde\xad", b"{\"format\":99}"] {
        let dir = tempfile::tempdir().unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        std::fs::write(dir.path().join("sessions.json"), bytes).unwrap();
        let out = rolesh(dir.path(), &["ls", "--json"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "[]\n");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("rolesh: warning: ") && err.contains("sessions.json.corrupt-"), "{err}");
        assert_eq!(leftovers(dir.path(), "sessions.json.corrupt-").len(), 1);
        // The next call finds no file and says nothing.
        let again = rolesh(dir.path(), &["ls", "--json"]);
        assert_eq!(text(&again.stderr), "");
    }
}

#[test]
fn ls_json_gives_every_field_its_documented_name_and_type() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::at(dir.path());
    let me = std::process::id();
    ledger.register(entry("outer", me, None)).unwrap();
    ledger
        .register(Entry { kind: Kind::Use, role_arn: None, expires: None, ..entry("inner", me, Some("outer")) })
        .unwrap();
    let out = rolesh(dir.path(), &["ls", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Map<String, Value>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 2);
    let names = [
        "id",
        "kind",
        "profile",
        "role_arn",
        "pid",
        "tty",
        "parent",
        "started",
        "expires",
        "seconds_left",
        "served",
        "dir",
    ];
    for row in &rows {
        let keys: BTreeSet<&str> = row.keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(names));
        let string_or_null = |k: &str| row[k].is_string() || row[k].is_null();
        assert!(row["id"].is_string() && row["profile"].is_string() && row["started"].is_string());
        assert!(["exec", "shell", "use"].contains(&row["kind"].as_str().unwrap()));
        assert!(row["pid"].is_u64());
        assert!(["role_arn", "tty", "parent", "expires", "dir"].iter().all(|k| string_or_null(k)));
        assert!(row["seconds_left"].is_i64() || row["seconds_left"].is_null());
        chrono::DateTime::parse_from_rfc3339(row["started"].as_str().unwrap()).unwrap();
    }
    // Parents come before their children.
    assert_eq!(rows[0]["id"], "outer");
    assert_eq!(rows[0]["parent"], Value::Null);
    assert!(rows[0]["seconds_left"].as_i64().unwrap() > 3500);
    chrono::DateTime::parse_from_rfc3339(rows[0]["expires"].as_str().unwrap()).unwrap();
    assert_eq!(rows[0]["pid"], u64::from(me));
    assert_eq!(rows[1]["id"], "inner");
    assert_eq!(rows[1]["kind"], "use");
    assert_eq!(rows[1]["parent"], "outer");
    assert_eq!(rows[1]["expires"], Value::Null);
    assert_eq!(rows[1]["seconds_left"], Value::Null);
}

#[test]
fn ls_indents_nested_sessions_under_their_parents() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::at(dir.path());
    let me = std::process::id();
    ledger.register(entry("outer", me, None)).unwrap();
    ledger.register(entry("other", me, None)).unwrap();
    ledger.register(entry("inner", me, Some("outer"))).unwrap();
    let out = rolesh(dir.path(), &["ls"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert!(lines[0].starts_with("ID ") && lines[0].contains("ROLE") && lines[0].contains("LEFT"), "{lines:?}");
    assert!(lines[1].starts_with("outer "), "{lines:?}");
    assert!(lines[2].starts_with("  inner "), "{lines:?}");
    assert!(lines[3].starts_with("other "), "{lines:?}");
    assert!(lines[1].contains("arn:aws:iam::123456789012:role/dev") && lines[1].contains(&me.to_string()));
}

const DEV_ROLE: &str = "arn:aws:iam::123456789012:role/dev";

/// A HOME on moto with `[profile dev]`, a role assumed from the `user` profile's keys.
fn dev_env() -> TestEnv {
    let env = TestEnv::moto();
    env.credentials(&user_credentials());
    env.config(&format!("[profile dev]\nrole_arn = {DEV_ROLE}\nsource_profile = user\nregion = eu-west-1\n"));
    env
}

/// Where rolesh keeps its ledger in a [`TestEnv`]: `$XDG_STATE_HOME/rolesh`.
fn state_dir(env: &TestEnv) -> PathBuf {
    env.state_home().join("rolesh")
}

#[test]
fn a_held_lock_fails_ls_on_a_damaged_file_with_exit_7_and_only_delays_exec() {
    let env = dev_env();
    let state = state_dir(&env);
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("sessions.json"), b"garbage").unwrap();
    let _held = rolesh::fsutil::lock(&state.join("sessions.lock"), Duration::from_secs(1)).unwrap();
    // Both wait out the lock timeout at the same time.
    let ls = env.command(["ls"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let exec = env.command(["exec", "dev", "--", "sh", "-c", "exit 3"]).stderr(Stdio::piped()).spawn().unwrap();
    let ls = ls.wait_with_output().unwrap();
    assert_eq!(ls.status.code(), Some(7));
    let err = text(&ls.stderr);
    assert!(err.starts_with("rolesh: could not lock ") && err.contains("sessions.lock"), "{err}");
    let exec = exec.wait_with_output().unwrap();
    assert_eq!(exec.status.code(), Some(3), "the command ran and its status came back");
    let err = text(&exec.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("rolesh: warning: session ") && err.contains("sessions.lock"), "{err}");
}

#[test]
fn exec_runs_even_when_the_state_dir_cannot_be_created() {
    let mut env = dev_env();
    let blocker = env.root().join("a-file");
    std::fs::write(&blocker, b"").unwrap();
    env.set("XDG_STATE_HOME", &blocker);
    let out = env.run(["exec", "dev", "--", "sh", "-c", "echo ran; exit 4"]);
    assert_eq!(out.code(), 4);
    assert_eq!(out.stdout(), "ran\n");
    let err = &out.stderr;
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("rolesh: warning: ") && err.contains("a-file"), "{err}");
}

#[test]
fn exec_is_in_ls_while_its_command_runs_nested_under_its_caller_and_gone_afterwards() {
    let env = dev_env();
    // The outer command prints its session id and execs an inner `rolesh exec`, whose command
    // prints its own id and blocks reading stdin, which this test holds open.
    let script =
        r#"echo "$ROLESH_SESSION"; exec "$ROLESH_BIN" exec dev -- sh -c 'echo "$ROLESH_SESSION"; read line || true'"#;
    let mut outer = env
        .command(["exec", "dev", "--", "sh", "-c", script])
        .env("ROLESH_BIN", support::rolesh_bin())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(outer.stdout.take().unwrap()).lines();
    let outer_id = lines.next().unwrap().unwrap();
    let inner_id = lines.next().unwrap().unwrap();
    assert_ne!(outer_id, inner_id);

    let ls = env.run(["ls", "--json"]);
    ls.assert_ok();
    let rows: Vec<Value> = serde_json::from_slice(&ls.stdout).unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["id"], outer_id.as_str());
    assert_eq!(rows[0]["kind"], "exec");
    assert_eq!(rows[0]["profile"], "dev");
    assert_eq!(rows[0]["role_arn"], DEV_ROLE);
    assert_eq!(rows[0]["pid"], outer.id(), "exec registers the rolesh process that waits for the command");
    assert_eq!(rows[0]["parent"], Value::Null);
    assert!(rows[0]["seconds_left"].as_i64().unwrap() > 3000);
    assert_eq!(rows[1]["id"], inner_id.as_str());
    assert_eq!(rows[1]["parent"], outer_id.as_str());
    let plain = env.run(["ls"]);
    assert!(plain.stdout().contains(&format!("\n  {inner_id} ")), "{}", plain.stdout());

    drop(outer.stdin.take());
    assert!(outer.wait().unwrap().success());
    assert_eq!(env.run(["ls", "--json"]).stdout(), "[]\n");
    assert!(ids_on_disk(&Ledger::at(state_dir(&env))).is_empty(), "both sessions deregistered themselves");
}
