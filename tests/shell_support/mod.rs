//! Helpers for the shell tests: running real shells with a clean environment, a moto STS
//! stand-in, and interactive shells in tmux. A missing program fails the test: it is part of
//! the test suite's requirements (see README), never a reason to skip.
//!
//! moto and the venv come from the shared tests/support; each test file using this module
//! declares `mod support;` too. Interactive shells run in tmux, whose screen capture suits
//! prompts better than a raw pty stream.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn rolesh() -> &'static str {
    env!("CARGO_BIN_EXE_rolesh")
}

fn spawn_err(program: &str, e: std::io::Error) -> ! {
    panic!(
        "could not run `{program}` ({e}); the tests need bash, zsh, fish, tmux, shellcheck, shfmt and fish_indent installed"
    )
}

pub fn write_temp(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// Runs `program args`; panics with its output unless it succeeds.
pub fn run_ok(program: &str, args: &[&OsStr]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| spawn_err(program, e));
    assert!(
        out.status.success(),
        "`{program} {args:?}` failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// PATH with the rolesh under test first, then the system's.
pub fn test_path() -> String {
    let dir = Path::new(rolesh()).parent().unwrap().display().to_string();
    format!("{dir}:/usr/local/bin:/usr/bin:/bin")
}

/// A clean environment: nothing from the developer's shell or AWS setup leaks in.
pub fn base_env(home: &Path) -> Vec<(String, String)> {
    vec![
        ("PATH".into(), test_path()),
        ("HOME".into(), home.display().to_string()),
        ("USER".into(), "tester".into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("TERM".into(), "xterm-256color".into()),
        ("XDG_CONFIG_HOME".into(), home.join(".config").display().to_string()),
        ("XDG_DATA_HOME".into(), home.join(".local/share").display().to_string()),
        ("XDG_CACHE_HOME".into(), home.join(".cache").display().to_string()),
    ]
}

/// Runs `script` with `shell flags -c`, in a clean environment plus `env`.
pub fn run_script(shell: &str, flags: &[&str], script: &str, env: &[(String, String)]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(shell);
    cmd.env_clear().envs(base_env(home.path())).envs(env.iter().cloned()).args(flags).arg("-c").arg(script);
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| spawn_err(shell, e));
    Output {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Feeds `input` to an interactive `shell` ("bash" or "zsh") whose startup file is `rc`, so
/// the prompt hooks run between its lines as they do at a terminal. Prompts and job-control
/// notices go to stderr; stdout holds only what `input` prints.
pub fn run_interactive(shell: &str, rc: &str, input: &str, env: &[(String, String)]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let rc_file = write_temp(home.path(), if shell == "zsh" { ".zshrc" } else { "bashrc" }, rc);
    let mut cmd = Command::new(shell);
    cmd.env_clear().envs(base_env(home.path())).envs(env.iter().cloned());
    match shell {
        "zsh" => cmd.env("ZDOTDIR", home.path()).arg("-i"),
        _ => cmd.args(["--noprofile", "--rcfile"]).arg(&rc_file).arg("-i"),
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| spawn_err(shell, e));
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Output {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A home directory with AWS config for profiles `dev` and `prod` (roles assumed from static
/// keys in `base`), and the variables that point rolesh and the aws CLI at moto.
pub struct AwsHome {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

pub fn aws_home() -> AwsHome {
    let endpoint = crate::support::Moto::get().endpoint();
    let venv_bin = crate::support::venv().join("bin");
    let dir = tempfile::tempdir().unwrap();
    let config = "[profile base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\
        [profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = base\nregion = eu-west-1\n\
        [profile prod]\nrole_arn = arn:aws:iam::123456789012:role/prod\nsource_profile = base\n";
    let config_file = write_temp(dir.path(), "aws-config", config);
    let mut env = base_env(dir.path());
    // The pinned aws CLI first.
    for (_, v) in env.iter_mut().filter(|(k, _)| k == "PATH") {
        *v = format!("{}:{v}", venv_bin.display());
    }
    for (k, v) in [
        ("AWS_CONFIG_FILE", config_file.display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("aws-credentials").display().to_string()),
        ("ROLESH_CACHE_DIR", dir.path().join("cache").display().to_string()),
        ("ROLESH_STATE_DIR", dir.path().join("state").display().to_string()),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
    ] {
        env.push((k.into(), v));
    }
    AwsHome { dir, env }
}

/// An interactive shell in a tmux pane: send lines, wait for text with a deadline.
pub struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    /// Starts `argv` in a 200x50 pane with exactly the environment `env`.
    pub fn start(argv: &[&str], env: &[(String, String)]) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("tmux.sock");
        let mut cmd = Command::new("tmux");
        cmd.env_clear().envs(env.iter().cloned());
        cmd.arg("-S").arg(&socket).args([
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "200",
            "-y",
            "50",
            "--",
            "env",
            "-i",
        ]);
        cmd.args(env.iter().map(|(k, v)| format!("{k}={v}")));
        cmd.args(argv);
        let status = cmd.status().unwrap_or_else(|e| spawn_err("tmux", e));
        assert!(status.success(), "tmux did not start");
        let t = Tmux { socket, _dir: dir };
        t.tmux(&["set-option", "-g", "remain-on-exit", "on"]);
        t
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").arg("-S").arg(&self.socket).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `line` and Enter.
    pub fn send(&self, line: &str) {
        self.tmux(&["send-keys", "-l", line]);
        self.tmux(&["send-keys", "Enter"]);
    }

    /// Presses keys, named as tmux names them (`Enter`, `Escape`, `Down`), without Enter.
    pub fn keys(&self, keys: &[&str]) {
        self.tmux(&[&["send-keys"][..], keys].concat());
    }

    /// Types `text` literally, without Enter.
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
    }

    /// The pane's text, scrollback included, with wrapped lines joined.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-2000"])
    }

    /// Waits until `text` is on the screen `times` times; panics with the screen after 30s.
    pub fn wait_for_n(&self, text: &str, times: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= times {
                return screen;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {text:?} x{times}; the screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.wait_for_n(text, 1)
    }

    /// Runs `line` and waits for it to finish: it prints a marker built at run time, so the
    /// typed command line itself never matches.
    pub fn run(&self, line: &str, marker: &str) -> String {
        self.send(&format!("{line}; printf 'END-%s\\n' {marker}"));
        self.wait_for(&format!("END-{marker}\n"))
    }

    /// Waits for the pane's program to exit; its exit status.
    pub fn wait_exit(&self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.tmux(&["display-message", "-p", "#{pane_dead} #{pane_dead_status}"]);
            let mut parts = out.split_whitespace();
            if parts.next() == Some("1") {
                return parts.next().and_then(|s| s.parse().ok()).unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "the shell did not exit; the screen:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-S").arg(&self.socket).arg("kill-server").stderr(Stdio::null()).status();
    }
}

/// `env -0` output as name → value bytes.
pub fn parse_env0(path: &Path) -> std::collections::BTreeMap<Vec<u8>, Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path).unwrap().read_to_end(&mut bytes).unwrap();
    bytes
        .split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let at = e.iter().position(|&b| b == b'=').unwrap_or(e.len());
            (e[..at].to_vec(), e.get(at + 1..).unwrap_or_default().to_vec())
        })
        .collect()
}
