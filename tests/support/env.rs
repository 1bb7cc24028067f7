//! A throw-away HOME with AWS config files, and rolesh commands that see
//! nothing of the environment running the tests.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};

use tempfile::TempDir;

use super::process::{self, Outcome, Spawned};
use super::pty::Pty;
use super::{Moto, StandIn};

pub struct TestEnv {
    dir: TempDir,
    venv: PathBuf,
    endpoint: String,
    /// Changes to the clean environment: `None` removes a variable.
    vars: BTreeMap<OsString, Option<OsString>>,
}

impl TestEnv {
    /// A HOME whose STS endpoint is `endpoint`. Fails loudly without the venv.
    pub fn new(endpoint: &str) -> TestEnv {
        let venv = super::venv();
        let dir = tempfile::Builder::new().prefix("rolesh-test-").tempdir().expect("could not create a temp dir");
        let env = TestEnv { dir, venv, endpoint: endpoint.to_owned(), vars: BTreeMap::new() };
        for sub in ["home/.aws", "cache", "state", "config"] {
            std::fs::create_dir_all(env.root().join(sub)).expect("could not create the test HOME");
        }
        env.config("");
        env.credentials("");
        env
    }

    /// A HOME talking to this test binary's moto server.
    pub fn moto() -> TestEnv {
        TestEnv::new(&Moto::get().endpoint())
    }

    /// A HOME talking to `stand_in`.
    pub fn stand_in(stand_in: &StandIn) -> TestEnv {
        TestEnv::new(&stand_in.endpoint())
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn config_path(&self) -> PathBuf {
        self.home().join(".aws/config")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.home().join(".aws/credentials")
    }

    /// `$XDG_CACHE_HOME`.
    pub fn cache_home(&self) -> PathBuf {
        self.root().join("cache")
    }

    /// `$XDG_STATE_HOME`.
    pub fn state_home(&self) -> PathBuf {
        self.root().join("state")
    }

    /// Where rolesh keeps its cache: `$XDG_CACHE_HOME/rolesh`.
    pub fn rolesh_cache(&self) -> PathBuf {
        self.cache_home().join("rolesh")
    }

    /// Writes the AWS config file. Each line's indentation is removed, so
    /// tests can indent their INI text (the INI format would otherwise read
    /// an indented line as a continuation).
    pub fn config(&self, text: &str) -> &TestEnv {
        std::fs::write(self.config_path(), dedent(text)).expect("could not write the config file");
        self
    }

    /// Writes the AWS credentials file, dedented like [`TestEnv::config`].
    pub fn credentials(&self, text: &str) -> &TestEnv {
        std::fs::write(self.credentials_path(), dedent(text)).expect("could not write the credentials file");
        self
    }

    /// Sets a variable in every command this env makes.
    pub fn set(&mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut TestEnv {
        self.vars.insert(name.as_ref().to_owned(), Some(value.as_ref().to_owned()));
        self
    }

    /// Removes a variable from every command this env makes.
    pub fn unset(&mut self, name: impl AsRef<OsStr>) -> &mut TestEnv {
        self.vars.insert(name.as_ref().to_owned(), None);
        self
    }

    /// `PATH` for rolesh and its children: the venv first, so `aws` is the
    /// pinned CLI, then the system's directories.
    pub fn path_var(&self) -> OsString {
        let mut path = self.venv.join("bin").into_os_string();
        path.push(":/usr/local/bin:/usr/bin:/bin");
        path
    }

    /// The rolesh binary with a clean environment and `args`.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command_for(super::rolesh_bin(), args)
    }

    /// Any program with rolesh's clean environment (e.g. the aws CLI).
    pub fn command_for<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .current_dir(self.root())
            .env("PATH", self.path_var())
            .env("HOME", self.home())
            .env("USER", "tester")
            .env("XDG_CACHE_HOME", self.cache_home())
            .env("XDG_STATE_HOME", self.state_home())
            .env("XDG_CONFIG_HOME", self.root().join("config"))
            .env("AWS_CONFIG_FILE", self.config_path())
            .env("AWS_SHARED_CREDENTIALS_FILE", self.credentials_path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL_STS", &self.endpoint);
        for (name, value) in &self.vars {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        command
    }

    /// Runs rolesh with `args`, detached from any terminal, stdin null, and
    /// a deadline.
    #[track_caller]
    pub fn run<I, S>(&self, args: I) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        process::run(self.command(args))
    }

    /// Starts rolesh with `args` detached, to talk to it while it runs.
    pub fn spawn<I, S>(&self, args: I) -> Spawned
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Spawned::start(self.command(args))
    }

    /// Starts rolesh with `args` on a pseudo-terminal.
    pub fn pty<I, S>(&self, args: I) -> Pty
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.command(args);
        command.env("TERM", "xterm");
        Pty::spawn(command)
    }

    /// Every file under rolesh's cache, with its permission bits.
    pub fn cache_entries(&self) -> Vec<(PathBuf, u32)> {
        use std::os::unix::fs::PermissionsExt;
        let mut found = Vec::new();
        let mut pending = vec![self.rolesh_cache()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let meta = std::fs::symlink_metadata(&path).expect("could not stat a cache entry");
                if meta.is_dir() {
                    pending.push(path.clone());
                }
                found.push((path, meta.permissions().mode() & 0o7777));
            }
        }
        found.sort();
        found
    }

    /// The cache entry (rolesh's JSON file) holding the set whose key id is `access_key_id`.
    pub fn cache_entry(&self, access_key_id: &str) -> (std::path::PathBuf, serde_json::Value) {
        let mut found: Vec<_> = self
            .cache_entries()
            .into_iter()
            .filter(|(path, _)| path.extension().is_some_and(|e| e == "json"))
            .filter_map(|(path, _)| {
                let entry: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
                (entry["credentials"]["AccessKeyId"] == access_key_id).then_some((path, entry))
            })
            .collect();
        assert_eq!(found.len(), 1, "want one cache entry for {access_key_id}: {:?}", self.cache_entries());
        found.pop().unwrap()
    }

    /// Rewrites the cache entry of `access_key_id` as if STS had issued it `ago` ago with `left`
    /// to live. Only the times change: the keys stay the ones the stand-in knows.
    pub fn age_cache_entry(&self, access_key_id: &str, ago: Duration, left: Duration) -> DateTime<Utc> {
        let (path, mut entry) = self.cache_entry(access_key_id);
        let now = Utc::now();
        let expires = now + chrono::Duration::from_std(left).unwrap();
        let issued = now - chrono::Duration::from_std(ago).unwrap();
        let rfc3339 = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        entry["credentials"]["Expiration"] = rfc3339(expires).into();
        entry["issued"] = rfc3339(issued).into();
        // Written in place, so the file keeps the 0600 mode rolesh insists on.
        std::fs::write(&path, serde_json::to_vec(&entry).unwrap()).unwrap();
        DateTime::from_timestamp(expires.timestamp(), 0).unwrap()
    }
}

fn dedent(text: &str) -> String {
    let mut out: String = text.trim().lines().map(|line| format!("{}\n", line.trim())).collect();
    if out.is_empty() {
        out.push('\n');
    }
    out
}
