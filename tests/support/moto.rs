//! One moto server per test binary, started on first use.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// How long moto may take to answer its first request; a cold Python start
/// on a busy two-core machine takes a few seconds.
const READY_DEADLINE: Duration = Duration::from_secs(60);

pub struct Moto {
    port: u16,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

impl Moto {
    /// The shared server, started by whichever test asks first.
    pub fn get() -> &'static Moto {
        MOTO.get_or_init(Moto::start)
    }

    /// A server of one test's own, for settings that apply to a whole server and would change
    /// what every other test sees (IAM enforcement). It lives as long as the test binary.
    pub fn start_private() -> Moto {
        Moto::start()
    }

    /// From now on moto checks each request's signature and the caller's IAM policies, as
    /// AWS does (`/moto-api/reset-auth` with no free requests): create users, keys and roles
    /// first, with any keys.
    pub fn enforce_iam(&self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("moto is not listening");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("could not set a read timeout");
        let request = format!(
            "POST /moto-api/reset-auth HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1\r\nConnection: close\r\n\r\n0"
        );
        stream.write_all(request.as_bytes()).expect("could not ask moto to enforce IAM");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("moto did not answer");
        assert!(answer.starts_with("HTTP/1.1 200"), "moto refused to enforce IAM:\n{answer}");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn start() -> Moto {
        let venv = super::venv();
        let mut last_error = String::new();
        // The free port is found by binding and releasing it, so another
        // process may grab it first: moto then exits, and we try another.
        for _ in 0..3 {
            let port = free_port();
            match spawn_and_wait(&venv.join("bin/moto_server"), port) {
                Ok(()) => return Moto { port },
                Err(e) => last_error = e,
            }
        }
        panic!("moto did not start: {last_error}");
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("could not find a free loopback port").port()
}

fn spawn_and_wait(moto_server: &Path, port: u16) -> Result<(), String> {
    let (started, child) = mpsc::channel::<std::io::Result<()>>();
    let (exited, exit_status) = mpsc::channel::<String>();
    let log = Arc::new(Mutex::new(VecDeque::<String>::new()));
    let program = moto_server.to_owned();
    let keeper_log = Arc::clone(&log);
    // PR_SET_PDEATHSIG fires when the *thread* that forked the child ends,
    // not the process; test threads end after each test, so moto is started
    // from a thread that lives as long as the test binary (it waits on moto).
    thread::Builder::new()
        .name("moto-keeper".into())
        .spawn(move || {
            let mut command = Command::new(&program);
            command
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            // SAFETY: prctl is async-signal-safe and touches no memory.
            unsafe {
                command.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            match command.spawn() {
                Ok(mut moto) => {
                    let stderr = moto.stderr.take().expect("moto's stderr is piped");
                    thread::spawn(move || keep_tail(stderr, &keeper_log));
                    let _ = started.send(Ok(()));
                    let status = moto.wait();
                    let _ = exited.send(format!("{status:?}"));
                }
                Err(e) => {
                    let _ = started.send(Err(e));
                }
            }
        })
        .expect("could not start the moto keeper thread");

    child.recv().map_err(|e| e.to_string())?.map_err(|e| format!("could not run {}: {e}", moto_server.display()))?;

    let tail = || {
        let lines = log.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    };
    let deadline = Instant::now() + READY_DEADLINE;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut pause = Duration::from_millis(20);
    loop {
        if let Ok(status) = exit_status.try_recv() {
            return Err(format!("moto_server exited ({status}) on port {port}; its stderr:\n{}", tail()));
        }
        if answers_http(addr) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "moto_server did not answer on port {port} within {READY_DEADLINE:?}; its stderr:\n{}",
                tail()
            ));
        }
        // Polling with a deadline: the pause only paces the retries.
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// Keeps moto's last lines of stderr for error messages, and keeps its pipe
/// drained so that a chatty moto never blocks on a full pipe.
fn keep_tail(stderr: impl Read, log: &Mutex<VecDeque<String>>) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let mut lines = log.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == 100 {
            lines.pop_front();
        }
        lines.push_back(line);
    }
}

/// True when something at `addr` accepts a connection and answers an HTTP GET.
pub fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /moto-api/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}
