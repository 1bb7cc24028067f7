//! Helpers for the interop tests: a throwaway HOME with AWS files, the rolesh binary, the
//! real aws CLI from the venv (`ROLESH_VENV`, default /tmp/venvtest) and a moto server.
//! Temporary until tests/support/ lands on main; then these tests move onto it.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn venv() -> PathBuf {
    PathBuf::from(std::env::var_os("ROLESH_VENV").unwrap_or_else(|| "/tmp/venvtest".into()))
}

pub fn rolesh_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rolesh")
}

/// A home directory with its own config, credentials and cache, and nothing from ours.
pub struct World {
    pub dir: tempfile::TempDir,
    pub endpoint: Option<String>,
}

impl World {
    pub fn new() -> Self {
        World { dir: tempfile::tempdir().unwrap(), endpoint: None }
    }

    pub fn with_moto(moto: &Moto) -> Self {
        World { endpoint: Some(moto.url()), ..World::new() }
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.home().join(".aws").join("config")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.home().join(".aws").join("credentials")
    }

    pub fn write_config(&self, text: &str) {
        std::fs::create_dir_all(self.home().join(".aws")).unwrap();
        std::fs::write(self.config_path(), text).unwrap();
    }

    pub fn write_credentials(&self, bytes: &[u8]) {
        std::fs::create_dir_all(self.home().join(".aws")).unwrap();
        std::fs::write(self.credentials_path(), bytes).unwrap();
    }

    /// A command with a clean environment pointing at this world.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("USER", "tester")
            .env("LANG", "C.UTF-8")
            .env("ROLESH_CACHE_DIR", self.home().join("cache"))
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null());
        if let Some(url) = &self.endpoint {
            cmd.env("AWS_ENDPOINT_URL", url);
        }
        cmd
    }

    pub fn rolesh(&self, args: &[&str]) -> Output {
        self.command(rolesh_bin()).args(args).output().unwrap()
    }

    pub fn aws(&self, args: &[&str]) -> Output {
        self.command(venv().join("bin").join("aws")).args(args).output().unwrap()
    }
}

/// stdout of a run that must succeed with nothing on stderr.
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A moto server on a free port, stopped when dropped.
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(venv().join("bin").join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server from the venv (ROLESH_VENV)");
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen on port {port} within 30s");
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Compares `actual` with the committed file `tests/snapshots/NAME`; `ROLESH_BLESS=1`
/// rewrites the file instead.
pub fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("snapshots").join(name);
    if std::env::var_os("ROLESH_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run ROLESH_BLESS=1 cargo test to create it", path.display()));
    assert_eq!(actual, expected, "{} is stale; check the diff, then ROLESH_BLESS=1 cargo test", path.display());
}
