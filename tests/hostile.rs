//! rolesh on a hostile shared machine, with the real binary: keys another user planted in the
//! cache, symlinks and FIFOs in place of its files, directories that are someone else's, temp
//! files with live keys that a killed writer left, configs built to crash, hang or mislead it,
//! and names built to drive the terminal. Every failing command is also scanned for leaked
//! secrets, in its output and in every file it could have written.
//!
//! Another user's file is made by chowning it to `nobody`, which needs root (as the suite runs
//! here and in CI); a test that cannot fails loudly instead of skipping. STS is the scripted
//! stand-in (tests/support/stand_in.rs), which records every call and issued key.
#![cfg(unix)]

mod support;

use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::fixtures::{MFA_SERIAL, USER_SECRET, child_env, exec_env, role_arn, user_env};
use support::hostile::{
    Immutable, NOBODY, assert_no_secrets, chmod, give_to_nobody, limit_memory, mkfifo, mode, temp_files,
};
use support::process::{Outcome, Spawned};
use support::{Rule, StandIn, StsError, TestEnv};

const ROLE: &str = "arn:aws:iam::111111111111:role/deployer";

/// Keys another user planted, valid far into the future: the child must never get them.
const PLANTED_KEY: &str = "ASIAPLANTED000000001";
const PLANTED_SECRET: &str = "PlantedSecret/NotOurs/000000000000000000";
const PLANTED_TOKEN: &str = "PlantedSessionToken/NotOurs/0000000000";

/// rolesh answers in milliseconds; only a hang gets anywhere near this.
const HANG: Duration = Duration::from_secs(20);
/// An address space a normal rolesh run fits in many times over, and reading `/dev/zero`
/// into memory does not.
const MEMORY_CAP: u64 = 256 << 20;

/// `[profile deployer]`, assumed from `user`'s static keys.
fn deployer(stand_in: &StandIn) -> TestEnv {
    let env = user_env(stand_in);
    env.config(&format!("[profile deployer]\nrole_arn = {ROLE}\nsource_profile = user\n"));
    env
}

/// Runs rolesh with a memory cap and a deadline that only a hang reaches.
#[track_caller]
fn run_bounded<'a>(env: &TestEnv, args: impl IntoIterator<Item = &'a str>) -> Outcome {
    let mut command = env.command(args);
    limit_memory(&mut command, MEMORY_CAP);
    Spawned::start(command).wait(HANG)
}

/// The `rolesh: warning:` lines of stderr.
fn warnings(outcome: &Outcome) -> Vec<&str> {
    outcome.stderr.lines().filter(|l| l.starts_with("rolesh: warning: ")).collect()
}

/// Exactly one warning, naming `path`, and nothing else on stderr.
#[track_caller]
fn assert_one_warning_naming(outcome: &Outcome, path: &Path) {
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line of stderr:\n{outcome}");
    assert!(lines[0].starts_with("rolesh: warning: "), "not a warning:\n{outcome}");
    assert!(lines[0].contains(&path.display().to_string()), "the warning does not name {}:\n{outcome}", path.display());
}

/// One warning naming `path`; any other warning line must contain `other` (a second thing
/// the run fixed, such as a directory it closed); nothing else on stderr.
#[track_caller]
fn assert_warned_once_about(outcome: &Outcome, path: &Path, other: &str) {
    let path = path.display().to_string();
    let about_path = warnings(outcome).into_iter().filter(|w| w.contains(&path)).count();
    assert_eq!(about_path, 1, "one warning should name {path}:\n{outcome}");
    for w in warnings(outcome) {
        assert!(w.contains(&path) || w.contains(other), "unexpected warning {w:?}:\n{outcome}");
    }
    assert_eq!(outcome.stderr.lines().count(), warnings(outcome).len(), "{outcome}");
}

/// Runs `check` on every case, then fails naming each case that failed: one bad case neither
/// hides the others nor stops the count of cases tried. Returns that count.
#[track_caller]
fn every_case<C: std::fmt::Debug>(what: &str, cases: impl IntoIterator<Item = C>, mut check: impl FnMut(&C)) -> usize {
    let (mut tried, mut failed) = (0, Vec::new());
    for case in cases {
        tried += 1;
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&case))).is_err() {
            failed.push(format!("{case:?}"));
        }
    }
    eprintln!("hostile cases: {what}: {tried} tried, {} failed", failed.len());
    assert!(
        failed.is_empty(),
        "{what}: {} of {tried} cases failed (each one's panic is above): {failed:?}",
        failed.len()
    );
    tried
}

/// An error of exit `code` on exactly one line.
#[track_caller]
fn assert_one_line_error(outcome: &Outcome, code: i32) {
    outcome.assert_error(code);
    assert_eq!(outcome.stderr.lines().count(), 1, "the error should take one line:\n{outcome}");
}

/// The one cache entry (`KEY.json`) in rolesh's cache.
#[track_caller]
fn the_entry(env: &TestEnv) -> PathBuf {
    let entries: Vec<PathBuf> = env
        .cache_entries()
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(entries.len(), 1, "expected one cache entry: {entries:?}");
    entries.into_iter().next().unwrap()
}

/// Runs `deployer` once so that its cache entry (and lock file) exist, and returns the entry's
/// path: the exact path rolesh reads for that profile.
#[track_caller]
fn warm(env: &TestEnv) -> PathBuf {
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    the_entry(env)
}

/// A valid cache file, as rolesh wrote it, with the planted keys in and an expiry decades
/// away: what another user who could write the file would leave.
fn planted(entry_bytes: &[u8]) -> Vec<u8> {
    fn swap(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    match k.as_str() {
                        "AccessKeyId" => *v = PLANTED_KEY.into(),
                        "SecretAccessKey" => *v = PLANTED_SECRET.into(),
                        "SessionToken" => *v = PLANTED_TOKEN.into(),
                        "Expiration" => *v = "2099-01-01T00:00:00Z".into(),
                        _ => swap(v),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(swap),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_slice(entry_bytes).expect("a cache entry is JSON");
    swap(&mut v);
    let text = serde_json::to_vec(&v).unwrap();
    assert!(String::from_utf8_lossy(&text).contains(PLANTED_KEY), "the entry has no AccessKeyId: {v}");
    text
}

/// Replaces `entry`'s content with the planted keys, in place (same file, same mode).
fn plant(entry: &Path) {
    let bytes = std::fs::read(entry).unwrap();
    std::fs::write(entry, planted(&bytes)).unwrap();
}

/// The child got the newest key STS issued, not the planted one, and STS was asked again.
#[track_caller]
fn assert_fresh_from_sts(outcome: &Outcome, stand_in: &StandIn, assume_role_calls: usize) {
    let vars = child_env(outcome);
    assert_ne!(vars["AWS_ACCESS_KEY_ID"], PLANTED_KEY, "the child got the planted keys:\n{outcome}");
    assert_ne!(vars["AWS_SECRET_ACCESS_KEY"], PLANTED_SECRET);
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], stand_in.issued().last().unwrap().access_key_id);
    assert_eq!(stand_in.count("AssumeRole"), assume_role_calls, "STS was not asked for fresh credentials");
}

/// The entry holds the newest issued key again, as a private file of ours.
#[track_caller]
fn assert_entry_is_ours_and_fresh(env: &TestEnv, entry: &Path, stand_in: &StandIn) {
    let meta = std::fs::symlink_metadata(entry).unwrap();
    // SAFETY: geteuid has no preconditions and cannot fail.
    assert_eq!(meta.uid(), unsafe { libc::geteuid() }, "{} is not ours", entry.display());
    assert!(meta.is_file());
    assert_eq!(meta.mode() & 0o777, 0o600);
    assert_eq!(mode(&env.rolesh_cache()), 0o700);
    let cached = rolesh::session::cache::decode(&std::fs::read(entry).unwrap()).expect("the entry decodes");
    assert_eq!(cached.credentials.access_key_id, stand_in.issued().last().unwrap().access_key_id);
}

// --- 1. Planted credentials ----------------------------------------------------------------

#[test]
fn a_planted_entry_in_a_cache_left_open_to_all_is_ignored_and_the_directory_closed() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    let entry = warm(&env);
    // Another user, through the 0777 directory, put a file of their own making there: here
    // one everybody may write, which is how this works for any user running the tests.
    plant(&entry);
    chmod(&entry, 0o666);
    chmod(&env.rolesh_cache(), 0o777);

    let outcome = env.run(exec_env("deployer", &[]));
    assert_fresh_from_sts(&outcome, &stand_in, 2);
    assert_eq!(mode(&env.rolesh_cache()), 0o700, "the cache directory was left open");
    assert_entry_is_ours_and_fresh(&env, &entry, &stand_in);
    // Repaired: the next run is quiet and served from the new entry.
    let again = env.run(exec_env("deployer", &[]));
    assert_eq!(again.stderr, "", "{again}");
    assert_eq!(child_env(&again)["AWS_ACCESS_KEY_ID"], stand_in.issued()[1].access_key_id);
    assert_eq!(stand_in.count("AssumeRole"), 2);
    // Besides the one warning about the file, at most the note that the directory was closed.
    assert_warned_once_about(&outcome, &entry, "mode 0777");
}

#[test]
fn a_planted_entry_owned_by_another_user_in_an_open_cache_is_ignored() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    let entry = warm(&env);
    // The realistic plant: a 0600 file of the other user's, in the 0777 directory.
    plant(&entry);
    give_to_nobody(&entry);
    chmod(&env.rolesh_cache(), 0o777);

    let outcome = env.run(exec_env("deployer", &[]));
    assert_fresh_from_sts(&outcome, &stand_in, 2);
    assert_entry_is_ours_and_fresh(&env, &entry, &stand_in);
    assert!(outcome.stderr.contains("owned by another user"), "{outcome}");
    assert_warned_once_about(&outcome, &entry, "mode 0777");
}

#[test]
fn an_entry_owned_by_another_user_in_a_private_cache_is_ignored_with_one_warning() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    let entry = warm(&env);
    plant(&entry);
    give_to_nobody(&entry);

    let outcome = env.run(exec_env("deployer", &[]));
    assert_fresh_from_sts(&outcome, &stand_in, 2);
    assert_entry_is_ours_and_fresh(&env, &entry, &stand_in);
    assert!(outcome.stderr.contains("owned by another user"), "{outcome}");
    assert_one_warning_naming(&outcome, &entry);
}

#[test]
fn a_symlink_planted_in_place_of_an_entry_is_not_followed_and_its_target_not_touched() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    let entry = warm(&env);
    // A well-formed file of ours elsewhere, 0600: only the link itself gives the plant away.
    let elsewhere = env.root().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let target = elsewhere.join("planted.json");
    std::fs::write(&target, planted(&std::fs::read(&entry).unwrap())).unwrap();
    chmod(&target, 0o600);
    let before = std::fs::read(&target).unwrap();
    std::fs::remove_file(&entry).unwrap();
    symlink(&target, &entry).unwrap();

    let outcome = env.run(exec_env("deployer", &[]));
    assert_fresh_from_sts(&outcome, &stand_in, 2);
    assert_eq!(std::fs::read(&target).unwrap(), before, "the link's target was written");
    assert_entry_is_ours_and_fresh(&env, &entry, &stand_in);
    assert_one_warning_naming(&outcome, &entry);
}

#[test]
fn a_cache_directory_owned_by_another_user_is_not_used_at_all() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    let entry = warm(&env);
    plant(&entry);
    let cache = env.rolesh_cache();
    give_to_nobody(&entry);
    give_to_nobody(&cache);
    chmod(&cache, 0o755);
    let before = snapshot(&cache);

    let outcome = env.run(exec_env("deployer", &[]));
    assert_fresh_from_sts(&outcome, &stand_in, 2);
    assert_eq!(snapshot(&cache), before, "rolesh wrote into another user's directory");
    assert_eq!(std::fs::metadata(&cache).unwrap().uid(), NOBODY);
    assert_eq!(mode(&cache), 0o755, "rolesh changed another user's directory");
    assert!(outcome.stderr.contains("owned by another user"), "{outcome}");
    assert!(outcome.stderr.contains("without the credential cache"), "{outcome}");
    assert_one_warning_naming(&outcome, &cache);
}

/// Every file under `dir` with its inode, owner and content: a file replaced by a rename
/// shows, even with the same content.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, u32, Vec<u8>)> {
    support::hostile::files_under(dir)
        .into_iter()
        .map(|p| {
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let bytes = std::fs::read(&p).unwrap();
            (p, meta.ino(), meta.uid(), bytes)
        })
        .collect()
}

/// A successful `exec` of the user's own keys (a GetSessionToken session, cached), so that
/// issued secrets exist for a later failing command to leak, and a cache and a ledger exist
/// for it to leak them into.
#[track_caller]
fn leave_secrets_around(env: &TestEnv) {
    env.run(["exec", "user", "--", "true"]).assert_ok();
}

/// The ledger's directory, made (0700) by a first exec.
fn state_dir(env: &TestEnv) -> PathBuf {
    env.state_home().join("rolesh")
}

#[test]
fn a_symlink_in_place_of_the_ledger_lock_creates_nothing_where_it_points() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    let elsewhere = env.root().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let lock = state_dir(&env).join("sessions.lock");
    // One link to a file that does not exist (taking the lock would create it), one to a file
    // that does (taking the lock would open it for writing).
    let missing = elsewhere.join("created-by-rolesh");
    let existing = elsewhere.join("victim");
    std::fs::write(&existing, "precious\n").unwrap();
    every_case("symlinked ledger lock", [&missing, &existing], |target| {
        let _ = std::fs::remove_file(&lock);
        symlink(target, &lock).unwrap();
        let outcome = env.run(["exec", "deployer", "--", "printf", "ran"]);
        outcome.assert_ok();
        assert_eq!(outcome.stdout(), "ran");
        assert!(!missing.exists(), "rolesh created the symlink's target");
        assert_eq!(std::fs::read_to_string(&existing).unwrap(), "precious\n");
        assert_one_warning_naming(&outcome, &lock);
    });
}

#[test]
fn a_symlink_in_place_of_the_ledger_is_neither_followed_nor_written_through() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    let elsewhere = env.root().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    // A ledger-shaped file, so that a reader following the link would take it as the ledger.
    let victim = elsewhere.join("victim.json");
    std::fs::write(&victim, "{\"format\":1,\"sessions\":[]}\n").unwrap();
    chmod(&victim, 0o600);
    let ledger = state_dir(&env).join("sessions.json");
    std::fs::remove_file(&ledger).unwrap();
    symlink(&victim, &ledger).unwrap();

    let outcome = env.run(["exec", "deployer", "--", "printf", "ran"]);
    outcome.assert_ok();
    assert_eq!(outcome.stdout(), "ran");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "{\"format\":1,\"sessions\":[]}\n");
    assert_eq!(
        support::hostile::files_under(&elsewhere),
        std::slice::from_ref(&victim),
        "rolesh wrote beside the target"
    );
    assert_one_warning_naming(&outcome, &ledger);
}

#[test]
fn a_symlink_in_place_of_a_cache_lock_creates_nothing_where_it_points() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    let entry = warm(&env);
    let lock = entry.with_extension("lock");
    assert!(lock.is_file(), "no lock file beside {}", entry.display());
    let elsewhere = env.root().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let target = elsewhere.join("created-by-rolesh");
    std::fs::remove_file(&lock).unwrap();
    symlink(&target, &lock).unwrap();
    // A miss, so that rolesh takes the lock to fetch.
    std::fs::remove_file(&entry).unwrap();

    let outcome = env.run(exec_env("deployer", &[]));
    assert_fresh_from_sts(&outcome, &stand_in, 2);
    assert!(!target.exists(), "rolesh created the symlink's target");
    assert_one_warning_naming(&outcome, &lock);
}

#[test]
fn a_state_directory_owned_by_another_user_is_not_used_and_ls_says_so() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    let dir = state_dir(&env);
    let ledger = dir.join("sessions.json");
    give_to_nobody(&ledger);
    give_to_nobody(&dir.join("sessions.lock"));
    give_to_nobody(&dir);
    let before = snapshot(&dir);

    let outcome = env.run(["exec", "deployer", "--", "printf", "ran"]);
    outcome.assert_ok();
    assert_eq!(outcome.stdout(), "ran");
    assert_eq!(snapshot(&dir), before, "rolesh wrote into another user's directory");
    assert_one_warning_naming(&outcome, &dir);

    let ls = env.run(["ls"]);
    assert_one_line_error(&ls, 7);
    assert!(ls.error_line().contains(&dir.display().to_string()), "{ls}");
}

#[test]
fn a_state_directory_open_to_all_is_closed_with_a_warning() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    let dir = state_dir(&env);
    chmod(&dir, 0o777);
    let outcome = env.run(["exec", "deployer", "--", "true"]);
    outcome.assert_ok();
    assert_eq!(mode(&dir), 0o700);
    assert_one_warning_naming(&outcome, &dir);
}

// --- 2. Special files ----------------------------------------------------------------------

/// What can be planted in place of a file: a FIFO (a blocking open hangs) or a symlink to
/// `/dev/zero` (a read never ends).
#[derive(Debug, Clone, Copy)]
enum Special {
    Fifo,
    DevZero,
}

const SPECIALS: [Special; 2] = [Special::Fifo, Special::DevZero];

fn put_special(path: &Path, special: Special) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).unwrap(),
        Ok(_) => std::fs::remove_file(path).unwrap(),
        Err(_) => {}
    }
    match special {
        Special::Fifo => mkfifo(path),
        Special::DevZero => symlink("/dev/zero", path).unwrap(),
    }
}

#[test]
fn a_fifo_or_dev_zero_in_place_of_the_ledger_or_its_lock_is_a_warning_for_exec() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    let dir = state_dir(&env);
    let cases = ["sessions.json", "sessions.lock"].into_iter().flat_map(|f| SPECIALS.map(|s| (f, s)));
    every_case("special file as the ledger or its lock, exec", cases, |&(file, special)| {
        let path = dir.join(file);
        put_special(&path, special);
        let outcome = run_bounded(&env, ["exec", "deployer", "--", "printf", "ran"]);
        std::fs::remove_file(&path).unwrap();
        outcome.assert_ok();
        assert_eq!(outcome.stdout(), "ran");
        assert_one_warning_naming(&outcome, &path);
    });
}

#[test]
fn a_fifo_or_dev_zero_in_place_of_the_ledger_is_a_one_line_error_for_ls() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    let ledger = state_dir(&env).join("sessions.json");
    let cases = SPECIALS.into_iter().flat_map(|s| [(s, &["ls"][..]), (s, &["ls", "--json"][..])]);
    every_case("special file as the ledger, ls", cases, |&(special, args)| {
        put_special(&ledger, special);
        let outcome = run_bounded(&env, args.iter().copied());
        assert_one_line_error(&outcome, 7);
        assert!(outcome.error_line().contains(&ledger.display().to_string()), "{outcome}");
        assert!(outcome.stdout.is_empty(), "{outcome}");
        assert_no_secrets(&env, &stand_in, &[&outcome]);
    });
}

#[test]
fn a_fifo_or_dev_zero_in_place_of_a_cache_entry_or_lock_is_a_warning_and_fresh_credentials() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    let entry = warm(&env);
    let lock = entry.with_extension("lock");
    let cases = [&entry, &lock].into_iter().flat_map(|p| SPECIALS.map(|s| (p, s)));
    every_case("special file as a cache entry or lock", cases, |&(path, special)| {
        // Each case from a plain entry and lock.
        let _ = std::fs::remove_file(&entry);
        let _ = std::fs::remove_file(&lock);
        env.run(["exec", "deployer", "--", "true"]).assert_ok();
        put_special(path, special);
        if path == &lock {
            // Only a miss takes the lock.
            std::fs::remove_file(&entry).unwrap();
        }
        let calls = stand_in.count("AssumeRole");
        let outcome = run_bounded(&env, exec_env("deployer", &[]));
        assert_fresh_from_sts(&outcome, &stand_in, calls + 1);
        assert_one_warning_naming(&outcome, path);
    });
}

#[test]
fn a_fifo_or_dev_zero_in_place_of_the_aws_files_is_a_one_line_config_error() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    leave_secrets_around(&env);
    let calls = stand_in.requests().len();
    let config_text = std::fs::read(env.config_path()).unwrap();
    let credentials_text = std::fs::read(env.credentials_path()).unwrap();
    let paths = [env.config_path(), env.credentials_path()];
    let cases = paths.iter().flat_map(|p| SPECIALS.map(|s| (p, s))).flat_map(|c| [(c, "exec"), (c, "list")]);
    every_case("special file as an AWS file", cases, |&((path, special), command)| {
        // Both files plain again, whatever a failed case left (writing to a FIFO would block).
        for (file, text) in [(env.config_path(), &config_text), (env.credentials_path(), &credentials_text)] {
            let _ = std::fs::remove_file(&file);
            std::fs::write(file, text).unwrap();
        }
        put_special(path, special);
        let args = if command == "exec" { exec_env("deployer", &[]) } else { vec!["list"] };
        let outcome = run_bounded(&env, args);
        assert_one_line_error(&outcome, 3);
        assert!(outcome.error_line().contains(&path.display().to_string()), "{outcome}");
        assert_no_secrets(&env, &stand_in, &[&outcome]);
    });
    assert_eq!(stand_in.requests().len(), calls, "STS was called with an unreadable config");
}

/// `AWS_CONFIG_FILE=/dev/null` is how people run the AWS CLI without a config: the null device,
/// named or linked, reads as an empty file, while every other special file stays refused.
#[test]
fn the_null_device_as_an_aws_file_reads_as_empty_as_it_does_for_the_aws_cli() {
    let stand_in = StandIn::start();
    let mut env = user_env(&stand_in);
    env.config("[profile deployer]\nrole_arn = arn:aws:iam::111111111111:role/deployer\nsource_profile = user\n");
    env.set("AWS_CONFIG_FILE", "/dev/null");
    let listed = run_bounded(&env, ["list"]);
    listed.assert_ok();
    let names = listed.stdout();
    assert!(names.contains("user") && !names.contains("deployer"), "{listed}");
    run_bounded(&env, exec_env("user", &[])).assert_ok();
    env.unset("AWS_CONFIG_FILE");
    std::fs::remove_file(env.config_path()).unwrap();
    symlink("/dev/null", env.config_path()).unwrap();
    run_bounded(&env, ["list"]).assert_ok();
}

// --- 3. Cache trouble after STS answered ---------------------------------------------------

/// `[profile admin]`, a role behind MFA on the user's long-term keys: GetSessionToken with
/// the code, then AssumeRole.
fn mfa_admin(stand_in: &StandIn) -> TestEnv {
    let env = user_env(stand_in);
    env.config(&format!(
        "[profile admin]\nrole_arn = {}\nsource_profile = user\nmfa_serial = {MFA_SERIAL}\n",
        role_arn("111111111111", "admin")
    ));
    env
}

/// The MFA code went to STS once and the child got the role's keys.
#[track_caller]
fn assert_code_used_once(outcome: &Outcome, stand_in: &StandIn) {
    let vars = child_env(outcome);
    let sessions = stand_in.calls("GetSessionToken");
    assert_eq!(sessions.len(), 1, "{outcome}");
    assert_eq!(sessions[0].param("TokenCode"), Some("123456"));
    assert_eq!(stand_in.count("AssumeRole"), 1);
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], stand_in.issued()[1].access_key_id);
}

#[test]
fn a_directory_in_place_of_the_cache_entry_costs_one_warning_not_the_credentials() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    let entry = warm(&env);
    std::fs::remove_file(&entry).unwrap();
    std::fs::create_dir(&entry).unwrap();

    let outcome = env.run(exec_env("deployer", &[]));
    assert_fresh_from_sts(&outcome, &stand_in, 2);
    assert_one_warning_naming(&outcome, &entry);
}

#[test]
fn a_directory_in_place_of_the_cache_entry_does_not_waste_an_mfa_code() {
    let stand_in = StandIn::start();
    let env = mfa_admin(&stand_in);
    // A first run names the role's entry (the MFA session has one of its own); then the cache
    // goes cold, with a directory at the role's entry.
    env.run(exec_env("admin", &["--mfa-token", "123456"])).assert_ok();
    let role_entry = role_entry_of(&env, &stand_in);
    for (path, _) in env.cache_entries() {
        if path.extension().is_some_and(|e| e == "json") {
            std::fs::remove_file(path).unwrap();
        }
    }
    std::fs::create_dir(&role_entry).unwrap();
    let stand_in_calls_before = stand_in.requests().len();

    let outcome = env.run(exec_env("admin", &["--mfa-token", "123456"]));
    let vars = child_env(&outcome);
    let calls: Vec<String> =
        stand_in.requests()[stand_in_calls_before..].iter().map(|r| r.action().to_owned()).collect();
    assert_eq!(calls, ["GetSessionToken", "AssumeRole"], "{outcome}");
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], stand_in.issued().last().unwrap().access_key_id);
    assert_one_warning_naming(&outcome, &role_entry);
}

/// The cache entry holding the role's keys (not the MFA session's): the one whose
/// AccessKeyId is the last one STS issued.
fn role_entry_of(env: &TestEnv, stand_in: &StandIn) -> PathBuf {
    let last = stand_in.issued().last().unwrap().access_key_id.clone();
    env.cache_entries()
        .into_iter()
        .map(|(p, _)| p)
        .find(|p| {
            p.extension().is_some_and(|e| e == "json")
                && rolesh::session::cache::decode(&std::fs::read(p).unwrap())
                    .is_some_and(|c| c.credentials.access_key_id == last)
        })
        .expect("no cache entry holds the role's keys")
}

#[test]
fn an_unwritable_cache_directory_costs_one_warning_not_the_credentials() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    let entry = warm(&env);
    let cache = env.rolesh_cache();
    // Cold: not even the lock file can be made. Warm lock, stale entry (--refresh): the
    // trouble comes only when the new keys are written, after STS answered.
    std::fs::remove_file(entry.with_extension("lock")).unwrap();
    std::fs::remove_file(&entry).unwrap();
    {
        let _frozen = Immutable::set(&cache);
        let outcome = env.run(exec_env("deployer", &[]));
        assert_fresh_from_sts(&outcome, &stand_in, 2);
        assert_eq!(warnings(&outcome).len(), 1, "{outcome}");
        assert!(outcome.stderr.contains(&cache.display().to_string()), "{outcome}");
    }
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    {
        let _frozen = Immutable::set(&cache);
        let outcome = env.run(exec_env("deployer", &["--refresh"]));
        assert_fresh_from_sts(&outcome, &stand_in, 4);
        assert_one_warning_naming(&outcome, &entry);
    }
    assert!(temp_files(&cache, &format!("{}", entry.file_name().unwrap().to_string_lossy())).is_empty());
}

#[test]
fn an_unwritable_cache_directory_does_not_waste_an_mfa_code() {
    let stand_in = StandIn::start();
    let env = mfa_admin(&stand_in);
    std::fs::create_dir_all(env.rolesh_cache()).unwrap();
    chmod(&env.rolesh_cache(), 0o700);
    let _frozen = Immutable::set(&env.rolesh_cache());
    let outcome = env.run(exec_env("admin", &["--mfa-token", "123456"]));
    assert_code_used_once(&outcome, &stand_in);
    assert_eq!(warnings(&outcome).len(), 1, "{outcome}");
}

// --- 4. Secrets left behind ----------------------------------------------------------------

/// A pid no process has: Linux caps pids at 2^22.
const DEAD_PID: i32 = i32::MAX;

#[test]
fn temp_files_a_killed_cache_writer_left_are_removed_by_the_next_write() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    let entry = warm(&env);
    let name = entry.file_name().unwrap().to_string_lossy().into_owned();
    let cache = env.rolesh_cache();
    let secret = format!("{{\"SecretAccessKey\":\"{USER_SECRET}\"}}");
    // A process that ran and was reaped: its pid is a writer that is gone.
    let mut reaped = std::process::Command::new("true").spawn().unwrap();
    reaped.wait().unwrap();
    let dead = [
        format!(".{name}.{}.5.tmp", reaped.id()),
        format!(".{name}.{DEAD_PID}.123456789.tmp"),
        format!(".{name}.0.1.tmp"),
        // Another entry's, of another profile: swept as well, it holds keys too.
        format!(".0123456789abcdef0123456789abcdef.json.{DEAD_PID}.42.tmp"),
    ];
    let kept = [
        // A live writer's (ours), fresh: it may be renamed any moment.
        format!(".{name}.{}.7.tmp", std::process::id()),
        // Not rolesh's naming.
        "notes.txt".to_string(),
        format!(".{name}.{DEAD_PID}.x.tmp"),
        format!("{name}.{DEAD_PID}.1.tmp"),
    ];
    for file in dead.iter().chain(&kept) {
        std::fs::write(cache.join(file), &secret).unwrap();
        chmod(&cache.join(file), 0o600);
    }

    // A cache hit writes nothing, so sweeps nothing; a refresh writes.
    env.run(exec_env("deployer", &["--refresh"])).assert_ok();
    for file in &dead {
        assert!(!cache.join(file).exists(), "{file} survived the next write");
    }
    for file in &kept {
        assert!(cache.join(file).exists(), "{file} was removed");
    }
}

#[test]
fn temp_files_a_killed_ledger_writer_left_are_removed_by_the_next_exec() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    let dir = state_dir(&env);
    let half = "{\"format\":1,\"sessions\":[{\"id\":\"half";
    let dead = [format!(".sessions.json.{DEAD_PID}.1.tmp"), ".sessions.json.0.2.tmp".to_string()];
    let kept = ["notes.txt".to_string(), "sessions.json.bak".to_string()];
    for file in dead.iter().chain(&kept) {
        std::fs::write(dir.join(file), half).unwrap();
    }
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    for file in &dead {
        assert!(!dir.join(file).exists(), "{file} survived the next exec");
    }
    for file in &kept {
        assert!(dir.join(file).exists(), "{file} was removed");
    }
}

// --- 5. Crashes ----------------------------------------------------------------------------

#[test]
fn aws_profile_naming_a_role_arn_is_a_usage_error_not_a_stack_overflow() {
    let stand_in = StandIn::start();
    let mut env = deployer(&stand_in);
    leave_secrets_around(&env);
    let calls = stand_in.requests().len();
    let other = role_arn("222222222222", "other");
    let cases: [(&str, Vec<&str>); 3] = [
        // The very ARN being assumed: its source is itself.
        (ROLE, exec_env(ROLE, &[])),
        // A cycle through bare ARNs: ROLE's source is `other`, whose source is AWS_PROFILE again.
        (other.as_str(), exec_env(ROLE, &[])),
        // --source-profile naming an ARN whose source, AWS_PROFILE, is the first.
        (ROLE, exec_env(ROLE, &["--source-profile", &other])),
    ];
    every_case("role ARN as AWS_PROFILE", cases, |(aws_profile, args)| {
        env.set("AWS_PROFILE", aws_profile);
        let outcome = run_bounded(&env, args.iter().copied());
        assert_one_line_error(&outcome, 2);
        assert!(outcome.error_line().contains("role ARN"), "{outcome}");
        assert_no_secrets(&env, &stand_in, &[&outcome]);
    });
    assert_eq!(stand_in.requests().len(), calls);
}

#[test]
fn a_source_profile_cycle_reached_from_a_bare_arn_is_named() {
    let stand_in = StandIn::start();
    let mut env = user_env(&stand_in);
    env.config(&format!(
        "[profile a]\nrole_arn = {}\nsource_profile = b\n[profile b]\nrole_arn = {}\nsource_profile = a\n",
        role_arn("111111111111", "a"),
        role_arn("222222222222", "b"),
    ));
    leave_secrets_around(&env);
    let calls = stand_in.requests().len();
    env.set("AWS_PROFILE", "a");
    let outcome = run_bounded(&env, exec_env(ROLE, &[]));
    assert_one_line_error(&outcome, 3);
    assert!(outcome.error_line().contains("cycle") && outcome.error_line().contains("a -> b -> a"), "{outcome}");
    assert_no_secrets(&env, &stand_in, &[&outcome]);
    assert_eq!(stand_in.requests().len(), calls);
}

#[test]
fn a_source_profile_chain_fifty_thousand_deep_is_refused_at_the_limit() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    leave_secrets_around(&env);
    let calls = stand_in.requests().len();
    let depth = 50_000;
    let mut config = String::with_capacity(depth * 100);
    for i in 0..depth {
        let source = if i + 1 == depth { "user".to_string() } else { format!("p{}", i + 1) };
        config.push_str(&format!(
            "[profile p{i}]\nrole_arn = arn:aws:iam::111111111111:role/r{i}\nsource_profile = {source}\n"
        ));
    }
    std::fs::write(env.config_path(), config).unwrap();
    let outcome = run_bounded(&env, exec_env("p0", &[]));
    assert_one_line_error(&outcome, 3);
    let limit = rolesh::profile::resolve::MAX_CHAIN.to_string();
    assert!(outcome.error_line().contains(&limit), "the error should name the limit ({limit}):\n{outcome}");
    assert!(outcome.error_line().contains("p0"), "{outcome}");
    assert_no_secrets(&env, &stand_in, &[&outcome]);
    assert_eq!(stand_in.requests().len(), calls);
}

// --- 6. Values -----------------------------------------------------------------------------

#[test]
fn out_of_range_duration_seconds_are_refused_before_any_sts_call() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    leave_secrets_around(&env);
    let base = format!("[profile deployer]\nrole_arn = {ROLE}\nsource_profile = user\n");
    let credentials = std::fs::read_to_string(env.credentials_path()).unwrap();
    let values = ["3000000000", "0", "-1", "43201", "99999999999999999999999"];
    // In the config file, then in the credentials file: the error names the right one.
    let cases = values.into_iter().flat_map(|v| [(v, "config"), (v, "credentials")]);
    every_case("duration_seconds out of range", cases, |&(value, file)| {
        let path = if file == "credentials" {
            env.config(&base);
            env.credentials(&format!("{credentials}\n[deployer]\nduration_seconds = {value}\n"));
            env.credentials_path()
        } else {
            env.config(&format!("{base}duration_seconds = {value}\n"));
            env.credentials(&credentials);
            env.config_path()
        };
        let before = stand_in.requests().len();
        let outcome = run_bounded(&env, exec_env("deployer", &[]));
        assert_eq!(stand_in.requests().len(), before, "STS was asked for {value}:\n{outcome}");
        assert_one_line_error(&outcome, 3);
        let line = outcome.error_line();
        assert!(line.contains(&path.display().to_string()), "the error should name {}:\n{outcome}", path.display());
        assert!(line.contains("deployer") && line.contains("duration_seconds"), "{outcome}");
        assert_no_secrets(&env, &stand_in, &[&outcome]);
    });
}

// --- 7. Terminal injection -----------------------------------------------------------------

/// The brief's header: the name ends at its first `]`, so it reads as `evil ESC [2J ESC`.
const EVIL_HEADER: &str = "[profile evil\x1b[2J\x1b]0;owned\x07]";
const EVIL: &str = "evil\x1b[2J\x1b";
/// BEL, the C1 CSI (U+009B, bytes C2 9B) and a cursor move.
const BELL: &str = "bell\x07\u{9b}31m\x1b[H";

fn evil_env(stand_in: &StandIn) -> TestEnv {
    let env = user_env(stand_in);
    // Written byte for byte, as another user (or a careless paste) would leave it.
    std::fs::write(
        env.config_path(),
        format!(
            "{EVIL_HEADER}\nrole_arn = {ROLE}\nsource_profile = user\n\
             [profile {BELL}]\nrole_arn = {ROLE}\nsource_profile = user\n\
             [profile tinted]\nregion = eu-west-1\x1b[31m\n"
        ),
    )
    .unwrap();
    env
}

/// No byte that starts a terminal sequence (ESC, BEL, C1 CSI) reaches stdout or stderr.
#[track_caller]
fn assert_inert(outcome: &Outcome) {
    for (stream, bytes) in [("stdout", &outcome.stdout[..]), ("stderr", outcome.stderr.as_bytes())] {
        for bad in [0x1b_u8, 0x07, 0x9b] {
            assert!(!bytes.contains(&bad), "a raw {bad:#04x} reached {stream}:\n{outcome}");
        }
    }
}

#[test]
fn control_characters_in_profile_names_are_escaped_in_list_output() {
    let stand_in = StandIn::start();
    let env = evil_env(&stand_in);
    let outcome = env.run(["list"]);
    outcome.assert_ok();
    assert_inert(&outcome);
    let shown = outcome.stdout();
    assert!(shown.contains("evil\\x1b[2J\\x1b"), "{shown}");
    assert!(shown.contains("bell\\x07\\x9b31m\\x1b[H"), "{shown}");
    assert!(shown.contains("eu-west-1\\x1b[31m"), "a value is escaped too: {shown}");
    // JSON escapes C0 controls itself; it is for programs, not terminals.
    let json = env.run(["list", "--json"]);
    json.assert_ok();
    assert!(!json.stdout.contains(&0x1b) && !json.stdout.contains(&0x07), "{json}");
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let names: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(names.contains(&EVIL) && names.contains(&BELL), "JSON keeps the names exact: {names:?}");
}

#[test]
fn control_characters_in_an_unknown_profile_error_are_escaped() {
    let stand_in = StandIn::start();
    let env = evil_env(&stand_in);
    leave_secrets_around(&env);
    let outcome = env.run(exec_env("evil\x1b[2Jx", &[]));
    assert_one_line_error(&outcome, 3);
    assert_inert(&outcome);
    // The name asked for and the suggestion, both visible.
    assert!(outcome.error_line().contains("evil\\x1b[2Jx"), "{outcome}");
    assert!(outcome.error_line().contains("evil\\x1b[2J\\x1b"), "{outcome}");
    assert_no_secrets(&env, &stand_in, &[&outcome]);
}

/// Releases a session waiting in `read line < gate`: opens the FIFO for writing without
/// blocking, which works once its reader has opened it (polled, with a deadline), and writes
/// a line.
fn open_gate(gate: &Path) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let deadline = std::time::Instant::now() + HANG;
    loop {
        match std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(gate) {
            Ok(mut writer) => {
                writer.write_all(b"go\n").unwrap();
                return;
            }
            // ENXIO: no reader yet.
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) && std::time::Instant::now() < deadline => {
                // A poll interval, not a wait for anything in particular.
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("could not open the gate {}: {e}", gate.display()),
        }
    }
}

#[test]
fn control_characters_in_a_session_profile_are_escaped_in_ls() {
    let stand_in = StandIn::start();
    let env = evil_env(&stand_in);
    // Sessions that run until the test opens their gate (a FIFO each), after `ls`.
    let running: Vec<(Spawned, PathBuf)> = [EVIL, BELL]
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let gate = env.root().join(format!("gate{i}"));
            mkfifo(&gate);
            let wait = ["exec", name, "--", "sh", "-c", "echo ready; read line < \"$1\"", "sh"];
            let session = env.spawn(wait.into_iter().chain([gate.to_str().unwrap()]));
            session.expect_stdout("ready", HANG);
            (session, gate)
        })
        .collect();

    let outcome = env.run(["ls"]);
    outcome.assert_ok();
    assert_inert(&outcome);
    let shown = outcome.stdout();
    assert!(shown.contains("evil\\x1b[2J\\x1b"), "{shown}");
    assert!(shown.contains("bell\\x07\\x9b31m\\x1b[H"), "{shown}");
    let json = env.run(["ls", "--json"]);
    json.assert_ok();
    assert!(!json.stdout.contains(&0x1b) && !json.stdout.contains(&0x07), "{json}");

    for (session, gate) in running {
        open_gate(&gate);
        session.wait(HANG).assert_ok();
    }
}

// --- 8. Repeated sections and settings -----------------------------------------------------

#[test]
fn a_section_or_setting_repeated_in_a_file_is_refused_as_the_aws_cli_refuses_it() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    leave_secrets_around(&env);
    let calls = stand_in.requests().len();
    let profile = format!("[profile deployer]\nrole_arn = {ROLE}\nsource_profile = user\nregion = eu-west-1\n");
    let credentials = std::fs::read_to_string(env.credentials_path()).unwrap();
    // (config, credentials, the file named, the section named)
    let cases = [
        (
            format!("{profile}[profile deployer]\nregion = us-east-2\n"),
            credentials.clone(),
            "config",
            "[profile deployer]",
        ),
        (format!("{profile}Region = us-east-2\n"), credentials.clone(), "config", "[profile deployer]"),
        (profile.clone(), format!("{credentials}[user]\naws_access_key_id = AKIAOTHER\n"), "credentials", "[user]"),
        (profile.clone(), format!("{credentials}aws_access_key_id = AKIAOTHER\n"), "credentials", "[user]"),
    ];
    every_case("repeated section or setting", cases, |(config, creds, file, section)| {
        std::fs::write(env.config_path(), config).unwrap();
        std::fs::write(env.credentials_path(), creds).unwrap();
        let path = if *file == "config" { env.config_path() } else { env.credentials_path() };
        let outcome = run_bounded(&env, exec_env("deployer", &[]));
        assert_one_line_error(&outcome, 3);
        assert!(outcome.error_line().contains(&path.display().to_string()), "{outcome}");
        assert!(outcome.error_line().contains(section), "the error should name {section}:\n{outcome}");
        assert_no_secrets(&env, &stand_in, &[&outcome]);
        // The real aws CLI refuses the same file.
        let aws =
            support::process::run(env.command_for("aws", ["configure", "get", "region", "--profile", "deployer"]));
        assert_ne!(aws.code(), 0, "the aws CLI read the file rolesh refused:\n{aws}");
    });
    assert_eq!(stand_in.requests().len(), calls);
}

// --- 9. A credentials file others can read -------------------------------------------------

#[test]
fn save_into_a_credentials_file_others_can_read_makes_it_0600_with_a_warning() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in);
    chmod(&env.credentials_path(), 0o644);
    let outcome = env.run(["save", "deployer"]);
    outcome.assert_ok();
    let warned: Vec<&str> = warnings(&outcome);
    assert_eq!(warned.len(), 1, "{outcome}");
    assert!(
        warned[0].contains(&env.credentials_path().display().to_string()) && warned[0].contains("0600"),
        "{outcome}"
    );
    assert_eq!(mode(&env.credentials_path()), 0o600);
    let text = std::fs::read_to_string(env.credentials_path()).unwrap();
    assert!(text.contains(&stand_in.issued()[0].session_token), "the session was not saved");
}

// --- 10. An environment too big to start the child -----------------------------------------

#[test]
fn a_value_too_long_for_the_environment_is_a_one_line_error_not_a_panic() {
    use std::os::unix::fs::PermissionsExt;
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    // A credential_process whose session token is 200 KB: Linux takes at most 128 KiB per
    // environment string (MAX_ARG_STRLEN), so the command cannot start (E2BIG).
    let script = env.root().join("big-token.sh");
    let token = "t".repeat(200 * 1024);
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '{{\"Version\": 1, \"AccessKeyId\": \"ASIABIGTOKEN\", \"SecretAccessKey\": \"s\", \"SessionToken\": \"%s\"}}' '{token}'\n"),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.config(&format!("[profile big]\ncredential_process = {}\n", script.display()));
    let outcome = run_bounded(&env, ["exec", "big", "--", "true"]);
    assert_one_line_error(&outcome, 2);
    assert!(outcome.error_line().contains("too long"), "{outcome}");
    assert!(outcome.stderr.len() < 1024, "the error should not carry the value:\n{}", &outcome.stderr[..1024]);
    assert_no_secrets(&env, &stand_in, &[&outcome]);
}

#[test]
fn a_region_that_is_no_region_name_is_refused_naming_file_profile_and_key() {
    let stand_in = StandIn::start();
    let env = user_env(&stand_in);
    for region in ["eu west 1".to_string(), "r".repeat(200 * 1024)] {
        env.config(&format!("[profile bad]\nrole_arn = {ROLE}\nsource_profile = user\nregion = {region}\n"));
        let outcome = run_bounded(&env, ["exec", "bad", "--", "true"]);
        assert_one_line_error(&outcome, 3);
        let line = outcome.error_line();
        assert!(line.contains("profile `bad` has region = ") && line.contains("not a region name"), "{outcome}");
        assert!(line.contains(&env.config_path().display().to_string()), "{outcome}");
        assert!(outcome.stderr.len() < 1024, "the error should not carry the value");
    }
    assert!(stand_in.requests().is_empty(), "STS was called with a bad region");
}

// --- 11. Secrets never leak ----------------------------------------------------------------

#[test]
fn a_rejected_mfa_code_or_an_access_denied_leaks_no_secret() {
    let stand_in = StandIn::start();
    let env = mfa_admin(&stand_in);
    env.config(&format!(
        "[profile admin]\nrole_arn = {}\nsource_profile = user\nmfa_serial = {MFA_SERIAL}\n\
         [profile deployer]\nrole_arn = {ROLE}\nsource_profile = user\n",
        role_arn("111111111111", "admin")
    ));
    // A working run first, so that issued keys exist to be leaked.
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    stand_in.push(
        Rule::on("GetSessionToken")
            .fail(StsError::access_denied("MultiFactorAuthentication failed with invalid MFA one time pass code.")),
    );
    let wrong_code = env.run(exec_env("admin", &["--mfa-token", "000000"]));
    assert_one_line_error(&wrong_code, 4);
    stand_in.push(Rule::on("AssumeRole").fail(StsError::not_trusted()));
    let denied = env.run(exec_env("deployer", &["--refresh"]));
    assert_one_line_error(&denied, 5);
    assert_no_secrets(&env, &stand_in, &[&wrong_code, &denied]);
}
