//! The Windows build (`rolesh.exe`) run under Wine, from Linux: the private Wine prefix that
//! `scripts/setup tests` prepares, and a throw-away directory with AWS files for each test.
//!
//! `scripts/test` builds `rolesh.exe` and names it in `ROLESH_WINDOWS_EXE`, and names the
//! prefix in `ROLESH_WINEPREFIX`; either missing fails the test, never skips it.
//!
//! Wine behaviour this works around, all seen in practice:
//! - A Wine server, and the services the first Wine program starts, keep open the output they
//!   started with: started from a pipe (a test capturing output) they hold it for seconds, and
//!   forever when the server is persistent. So the server and its services are started once
//!   here with no output at all ([`Wine::get`]), and every later program finds them running.
//! - Wine passes the Linux environment on to Windows programs: each command starts from an
//!   empty one (no `SHELL`, no `HOME` for rolesh to read) and the AWS files are named by
//!   Windows paths (`Z:\…`, Wine's drive for `/`).
//! - Every Wine program runs under a deadline ([`super::process::DEADLINE`]), its whole
//!   process group killed if it outlives it.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tempfile::TempDir;

use super::StandIn;
use super::process::{self, Outcome, Spawned};

/// Debian's wine64 puts its loader and server here, not on `PATH`.
const LOADER: &str = "/usr/lib/wine/wine64";
const SERVER: &str = "/usr/lib/wine/wineserver";

/// How long starting the Wine server and its services may take.
const START_DEADLINE: Duration = Duration::from_secs(120);

pub struct Wine {
    prefix: PathBuf,
    exe: PathBuf,
}

impl Wine {
    /// The prefix with its server and services running, started on first use.
    pub fn get() -> &'static Wine {
        static WINE: OnceLock<Wine> = OnceLock::new();
        WINE.get_or_init(|| {
            let wine = Wine { prefix: required_path("ROLESH_WINEPREFIX"), exe: required_path("ROLESH_WINDOWS_EXE") };
            for tool in [LOADER, SERVER] {
                assert!(
                    Path::new(tool).is_file(),
                    "Wine is not installed ({tool} is missing): run scripts/setup tests"
                );
            }
            let shim = wine.prefix.join("drive_c/windows/system32/bcryptprimitives.dll");
            assert!(
                shim.is_file(),
                "the Wine prefix lacks the ProcessPrng shim ({}): run scripts/setup tests",
                shim.display()
            );
            wine.start();
            wine
        })
    }

    /// Starts the server unless one runs (exit status 2), then the services through
    /// `wineboot`, both with no output. `scripts/test` has done this already and stops the
    /// server at the end; one started here, for a run of this file alone, stops itself a
    /// minute after the last Wine program, as no test can stop it once all have run.
    fn start(&self) {
        let status = self.quiet(Command::new(SERVER).arg("--persistent=60"));
        assert!(status.success() || status.code() == Some(2), "wineserver --persistent=60 failed: {status:?}");
        let status = self.quiet(Command::new(LOADER).arg("wineboot"));
        assert!(status.success(), "wineboot failed: {status:?}");
    }

    /// Runs `command` to its end with no input or output, killed if it outlives the deadline.
    fn quiet(&self, command: &mut Command) -> std::process::ExitStatus {
        let command = self.wine_env(command).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let what = format!("{command:?}");
        let mut child = command.spawn().unwrap_or_else(|e| panic!("could not start {what}: {e}"));
        let pid = child.id();
        let (exited, exit) = std::sync::mpsc::channel();
        std::thread::spawn(move || exited.send(child.wait()));
        match exit.recv_timeout(START_DEADLINE) {
            Ok(status) => status.unwrap_or_else(|e| panic!("could not wait for {what}: {e}")),
            Err(_) => {
                process::kill_group(pid as i32);
                panic!("{what} still running after {START_DEADLINE:?}");
            }
        }
    }

    /// Only what Wine itself needs: its prefix, no diagnostics on stderr (tests read
    /// rolesh's), no offer to install Mono or Gecko, no menu entries in the home directory.
    fn wine_env<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command
            .env_clear()
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=;winemenubuilder.exe=d")
    }

    /// `program` (a Windows program: `cmd`, or a path) run by Wine with `args`, in an empty
    /// environment but for Wine's own variables.
    pub fn command<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(LOADER);
        self.wine_env(&mut command).arg(program).args(args);
        command
    }

    /// The Windows build under test, as Linux sees it.
    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// Where a Windows path (`C:\…` in the prefix, `Z:\…` for `/`) is on Linux.
    pub fn unix_path(&self, windows: &str) -> PathBuf {
        let (drive, rest) = windows.split_once(":\\").unwrap_or_else(|| panic!("not a drive path: {windows}"));
        let rest = rest.replace('\\', "/");
        match drive.to_ascii_uppercase().as_str() {
            "C" => self.prefix.join("drive_c").join(rest),
            "Z" => Path::new("/").join(rest),
            _ => panic!("no drive {drive}: in the prefix: {windows}"),
        }
    }

    /// `%NAME%` as Windows programs see it.
    pub fn windows_var(&self, name: &str) -> String {
        let outcome = process::run(self.command("cmd", ["/c", "echo", &format!("%{name}%")]));
        outcome.assert_ok();
        let value = outcome.stdout().trim_end().to_owned();
        assert!(!value.is_empty() && !value.contains('%'), "%{name}% is not set:\n{outcome}");
        value
    }
}

fn required_path(var: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        panic!(
            "{var} is not set: scripts/test builds rolesh.exe and sets it (the Windows tests never skip); by hand: \
             scripts/setup tests && cargo build --target x86_64-pc-windows-gnu, then set ROLESH_WINDOWS_EXE to \
             target/x86_64-pc-windows-gnu/debug/rolesh.exe and ROLESH_WINEPREFIX to target/wine/prefix"
        )
    });
    assert!(path.exists(), "{var} names {}, which does not exist: run scripts/test", path.display());
    path
}

/// `path` as Windows programs under Wine name it: on drive `Z:`, Wine's drive for `/`.
pub fn windows_path(path: &Path) -> String {
    let path = path.to_str().expect("test paths are UTF-8");
    assert!(path.starts_with('/'), "not an absolute path: {path}");
    format!("Z:{}", path.replace('/', "\\"))
}

/// Where the AWS files are: a name with a space and a letter outside ASCII, as a Windows
/// profile directory (`C:\Users\José Silva`) may have.
const AWS_DIR: &str = "AWS files é";

/// A throw-away directory with the AWS files, the credential cache and the session ledger for
/// `rolesh.exe`, and the STS endpoint it talks to.
pub struct WinEnv {
    dir: TempDir,
    endpoint: String,
    /// Changes to the environment every command gets: `None` removes a variable.
    vars: BTreeMap<OsString, Option<OsString>>,
}

impl WinEnv {
    pub fn new(endpoint: &str) -> WinEnv {
        let dir = tempfile::Builder::new().prefix("rolesh-wine-").tempdir().expect("could not create a temp dir");
        let env = WinEnv { dir, endpoint: endpoint.to_owned(), vars: BTreeMap::new() };
        for sub in [AWS_DIR, "cache", "state", "bin"] {
            std::fs::create_dir_all(env.root().join(sub)).expect("could not create the test directory");
        }
        env.config("").credentials("");
        env
    }

    pub fn stand_in(stand_in: &StandIn) -> WinEnv {
        WinEnv::new(&stand_in.endpoint())
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.root().join(AWS_DIR).join("config")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.root().join(AWS_DIR).join("credentials")
    }

    /// `ROLESH_STATE_DIR`: this test's own session ledger.
    pub fn state_dir(&self) -> PathBuf {
        self.root().join("state")
    }

    /// `ROLESH_CACHE_DIR`, unless a test removes it.
    pub fn cache_dir(&self) -> PathBuf {
        self.root().join("cache")
    }

    /// A directory on the Windows `PATH` (through `WINEPATH`), for programs a test provides.
    pub fn bin_dir(&self) -> PathBuf {
        self.root().join("bin")
    }

    /// Writes the AWS config file with CRLF line ends, as a Windows editor would.
    pub fn config(&self, text: &str) -> &WinEnv {
        std::fs::write(self.config_path(), crlf(text)).expect("could not write the config file");
        self
    }

    pub fn credentials(&self, text: &str) -> &WinEnv {
        std::fs::write(self.credentials_path(), crlf(text)).expect("could not write the credentials file");
        self
    }

    pub fn set(&mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut WinEnv {
        self.vars.insert(name.as_ref().to_owned(), Some(value.as_ref().to_owned()));
        self
    }

    pub fn unset(&mut self, name: impl AsRef<OsStr>) -> &mut WinEnv {
        self.vars.insert(name.as_ref().to_owned(), None);
        self
    }

    /// `rolesh.exe` with `args`.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command_for(Wine::get().exe(), args)
    }

    /// Any Windows program with this test's environment.
    pub fn command_for<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Wine::get().command(program, args);
        command
            .current_dir(self.root())
            .env("WINEPATH", windows_path(&self.bin_dir()))
            .env("AWS_CONFIG_FILE", windows_path(&self.config_path()))
            .env("AWS_SHARED_CREDENTIALS_FILE", windows_path(&self.credentials_path()))
            .env("ROLESH_CACHE_DIR", windows_path(&self.cache_dir()))
            .env("ROLESH_STATE_DIR", windows_path(&self.state_dir()))
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

    /// Runs `rolesh.exe` with `args` to the end, under the deadline.
    #[track_caller]
    pub fn run<I, S>(&self, args: I) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        process::run(self.command(args))
    }

    /// Starts `rolesh.exe` with `args`, to talk to it while it runs.
    pub fn spawn<I, S>(&self, args: I) -> Spawned
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Spawned::start(self.command(args))
    }
}

fn crlf(text: &str) -> String {
    text.lines().map(|line| format!("{}\r\n", line.trim())).collect()
}

/// The variables `cmd /c set` printed, one `NAME=value` a line. Windows names are
/// case-insensitive; these keep the case cmd shows.
pub fn cmd_set(outcome: &Outcome) -> BTreeMap<String, String> {
    outcome.assert_ok();
    outcome
        .stdout()
        .lines()
        .filter_map(|line| line.trim_end_matches('\r').split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}
