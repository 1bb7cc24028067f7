//! `exec --server` and `shell --server`: the command gets no keys, only the address of a small
//! HTTP server on 127.0.0.1 and a token (the container credentials protocol every AWS SDK
//! speaks), and rolesh renews what it serves for as long as the command runs, so a long job
//! never meets an expired session.
//!
//! One thread accepts connections (a short-lived thread answers each); another keeps the
//! credentials fresh: it renews upstream when fewer than 20 minutes are left (SDKs refresh 15
//! minutes before expiry and would otherwise ask on every request), or at half the lifetime of
//! a shorter session, retries failures with backoff while serving what is still valid, and
//! never asks for an MFA code (the command owns the terminal).

mod http;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};

use crate::credentials::{Credentials, rfc3339};
use crate::error::Error;

/// Renew when fewer than this many minutes are left (more than the SDKs' 15).
const RENEW_MARGIN: TimeDelta = TimeDelta::minutes(20);
/// Say when the command will lose its credentials this long before.
const BOUND_NOTICE: TimeDelta = TimeDelta::minutes(10);
/// Connections served at once; more are refused at once (only local processes can connect).
const MAX_CONNECTIONS: usize = 64;

/// Gets a new set upstream, never asking the user.
pub type Renew = Box<dyn FnMut() -> Result<Credentials, Error> + Send>;

/// What the server starts with.
pub struct Serving {
    pub profile: String,
    pub credentials: Credentials,
    /// When STS issued `credentials`.
    pub issued: DateTime<Utc>,
    /// Until when renewals can work (the MFA session's end), if there is such a bound.
    pub bound: Option<DateTime<Utc>>,
    /// Tells the user something on stderr (the library does not print).
    pub tell: fn(&str),
}

/// A running server; stopped (port closed, renewals ended) by [`Server::stop`] or on drop.
pub struct Server {
    /// `http://127.0.0.1:PORT/`: the literal address, the one form every SDK accepts.
    pub uri: String,
    /// The value of `AWS_CONTAINER_AUTHORIZATION_TOKEN`: 32 random bytes, base64url.
    pub token: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    profile: String,
    token: String,
    connections: AtomicUsize,
}

struct State {
    credentials: Credentials,
    issued: DateTime<Utc>,
    stopped: bool,
    /// Renewal can still work (it stops for good when it would need an MFA code).
    renewable: bool,
    /// The last renewal error, while renewals fail.
    failure: Option<String>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Server {
    pub fn start(serving: Serving, renew: Renew) -> Result<Server, Error> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| {
                Error::Local(format!(
                    "could not listen on 127.0.0.1 for the credentials server: {e}; check that the loopback interface is up, or run without --server"
                ))
            })?;
        let addr =
            listener.local_addr().map_err(|e| Error::Local(format!("the credentials server has no address: {e}")))?;
        let token = new_token()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                credentials: serving.credentials,
                issued: serving.issued,
                stopped: false,
                renewable: true,
                failure: None,
            }),
            wake: Condvar::new(),
            profile: serving.profile,
            token: token.clone(),
            connections: AtomicUsize::new(0),
        });
        let accepting = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("credentials-server".into())
            .spawn(move || accept(&listener, &accepting))
            .map_err(|e| Error::Local(format!("could not start the credentials server: {e}")))?;
        let keeping = Arc::clone(&shared);
        let (bound, tell) = (serving.bound, serving.tell);
        // A deadline already this close is told now, before the command owns the terminal.
        let told = bound.is_some_and(|b| notice_due(&shared.profile, b, Utc::now(), tell));
        std::thread::Builder::new()
            .name("credentials-renewal".into())
            .spawn(move || keep_fresh(&keeping, renew, bound.filter(|_| !told), tell))
            .map_err(|e| Error::Local(format!("could not start the credentials server: {e}")))?;
        Ok(Server { uri: format!("http://{addr}/"), token, addr, shared })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.lock().stopped = true;
        self.shared.wake.notify_all();
        // Wakes the accept loop so that it sees `stopped` and drops the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

fn new_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Local(format!("no randomness for the server's token: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.lock().stopped {
            return;
        }
        let Ok(stream) = stream else { continue };
        if shared.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let serving = Arc::clone(shared);
        let spawned = std::thread::Builder::new().spawn(move || {
            serve(&stream, &serving);
            serving.connections.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

fn serve(stream: &TcpStream, shared: &Shared) {
    let (status, body) = match http::read_request(stream) {
        Ok(request) => answer(shared, &request, Utc::now()),
        Err(_) => (400, error_json("BadRequest", "not an HTTP request rolesh understands")),
    };
    let _ = http::respond(stream, status, &body);
}

/// The answer to one request: the credentials for the exact token, an error otherwise.
fn answer(shared: &Shared, request: &http::Request, now: DateTime<Utc>) -> (u16, String) {
    if request.method != "GET" {
        return (405, error_json("MethodNotAllowed", "only GET is served"));
    }
    if request.path != "/" {
        return (404, error_json("NotFound", "credentials are served at / only"));
    }
    let given = request.authorization.as_deref().unwrap_or_default();
    if !same(given.as_bytes(), shared.token.as_bytes()) {
        return (403, error_json("AccessDenied", "missing or wrong authorization token"));
    }
    let state = shared.lock();
    let c = &state.credentials;
    if c.expiration.is_some_and(|e| e <= now) {
        let why = state.failure.clone().unwrap_or_else(|| "they could not be renewed".into());
        let message = format!(
            "the credentials rolesh serves for profile `{}` have expired: {why}; run the command again",
            shared.profile
        );
        return (503, error_json("CredentialsExpired", &message));
    }
    let mut body = serde_json::json!({
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key.expose(),
        "Token": c.session_token.as_ref().map(|t| t.expose()),
    });
    if let Some(e) = c.expiration {
        body["Expiration"] = rfc3339(e).into();
    }
    (200, body.to_string())
}

fn error_json(code: &str, message: &str) -> String {
    serde_json::json!({ "code": code, "message": message }).to_string()
}

/// Equal without telling, by its timing, how much of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// When to renew a set issued at `issued` that expires at `expires`.
fn renew_at(issued: DateTime<Utc>, expires: DateTime<Utc>) -> DateTime<Utc> {
    let lifetime = expires - issued;
    if lifetime > RENEW_MARGIN { expires - RENEW_MARGIN } else { issued + lifetime / 2 }
}

/// Backoff after `failures` failed renewals in a row: 1 s, 2 s, 4 s … at most a minute, and
/// never past a quarter of what is left, so a short session still gets several tries.
fn retry_in(failures: u32, left: TimeDelta) -> TimeDelta {
    let backoff = TimeDelta::seconds(1 << failures.min(6)).min(TimeDelta::minutes(1));
    // Once expired, the plain backoff: STS must not be asked ten times a second.
    if left <= TimeDelta::zero() { backoff } else { backoff.min(left / 4).max(TimeDelta::milliseconds(100)) }
}

/// Tells the user when renewals end, if that is less than [`BOUND_NOTICE`] away; whether it did.
fn notice_due(profile: &str, bound: DateTime<Utc>, now: DateTime<Utc>, tell: fn(&str)) -> bool {
    let due = now >= bound - BOUND_NOTICE;
    if due {
        tell(&format!(
            "the MFA session of profile `{profile}` ends at {}; the command's credentials cannot be renewed after that and run out within the hour; run it again with a new code to go on",
            rfc3339(bound)
        ));
    }
    due
}

fn keep_fresh(shared: &Shared, mut renew: Renew, bound: Option<DateTime<Utc>>, tell: fn(&str)) {
    let mut failures = 0u32;
    let mut retry: Option<DateTime<Utc>> = None;
    let mut bound_told = false;
    loop {
        let mut state = shared.lock();
        let due = state
            .credentials
            .expiration
            .filter(|_| state.renewable)
            .map(|e| retry.unwrap_or(renew_at(state.issued, e)));
        let notice = bound.filter(|_| !bound_told).map(|b| b - BOUND_NOTICE);
        let next = due.into_iter().chain(notice).min();
        // Sleeps until the next thing to do, or until stopped.
        while !state.stopped {
            let wait = match next {
                Some(at) => match (at - Utc::now()).to_std() {
                    Ok(d) if !d.is_zero() => d,
                    _ => break,
                },
                None => Duration::from_secs(3600),
            };
            state = shared.wake.wait_timeout(state, wait).unwrap_or_else(|e| e.into_inner()).0;
        }
        if state.stopped {
            return;
        }
        let now = Utc::now();
        if let Some(b) = bound.filter(|_| !bound_told) {
            bound_told = notice_due(&shared.profile, b, now, tell);
        }
        if due.is_none_or(|d| now < d) {
            continue;
        }
        drop(state);
        let result = renew();
        let mut state = shared.lock();
        match result {
            Ok(credentials) => {
                state.credentials = credentials;
                state.issued = Utc::now();
                if state.failure.take().is_some() {
                    tell(&format!("renewed the credentials of profile `{}` again", shared.profile));
                }
                (failures, retry) = (0, None);
            }
            Err(e) => {
                let why = e.render();
                let expires = state.credentials.expiration.map(rfc3339).unwrap_or_default();
                if matches!(e, Error::Mfa { .. }) {
                    // It would need a code: no use trying again.
                    state.renewable = false;
                    tell(&format!("{why}; the command keeps its credentials until {expires}"));
                } else {
                    failures += 1;
                    if failures == 1 {
                        tell(&format!(
                            "could not renew the credentials of profile `{}`: {why}; serving the current ones until {expires} and trying again",
                            shared.profile
                        ));
                    }
                    let left = state.credentials.expiration.map_or(TimeDelta::minutes(4), |e| e - now);
                    retry = Some(Utc::now() + retry_in(failures, left));
                }
                state.failure = Some(why);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Secret;

    fn creds(expires: DateTime<Utc>) -> Credentials {
        Credentials {
            access_key_id: "ASIASERVED".into(),
            secret_access_key: Secret::new("served-secret"),
            session_token: Some(Secret::new("served-token")),
            expiration: Some(expires),
        }
    }

    fn shared(expires: DateTime<Utc>) -> Shared {
        Shared {
            state: Mutex::new(State {
                credentials: creds(expires),
                issued: Utc::now(),
                stopped: false,
                renewable: true,
                failure: None,
            }),
            wake: Condvar::new(),
            profile: "dev".into(),
            token: "the-token".into(),
            connections: AtomicUsize::new(0),
        }
    }

    fn request(method: &str, path: &str, authorization: Option<&str>) -> http::Request {
        http::Request { method: method.into(), path: path.into(), authorization: authorization.map(String::from) }
    }

    #[test]
    fn the_exact_token_gets_the_credentials_in_the_container_format() {
        let now = Utc::now();
        let s = shared(now + TimeDelta::hours(1));
        let (status, body) = answer(&s, &request("GET", "/", Some("the-token")), now);
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((v["AccessKeyId"].as_str(), v["Token"].as_str()), (Some("ASIASERVED"), Some("served-token")));
        assert_eq!(v["SecretAccessKey"], "served-secret");
        assert!(v["Expiration"].as_str().is_some_and(|e| e.ends_with('Z')));
    }

    #[test]
    fn a_wrong_or_missing_token_and_other_requests_get_errors_without_credentials() {
        let now = Utc::now();
        let s = shared(now + TimeDelta::hours(1));
        for (req, code) in [
            (request("GET", "/", None), 403),
            (request("GET", "/", Some("the-tokeN")), 403),
            (request("GET", "/", Some("the-token ")), 403),
            (request("POST", "/", Some("the-token")), 405),
            (request("GET", "/x", Some("the-token")), 404),
        ] {
            let (status, body) = answer(&s, &req, now);
            assert_eq!(status, code, "{body}");
            assert!(!body.contains("served-secret") && !body.contains("the-token"), "{body}");
        }
    }

    #[test]
    fn expired_credentials_are_an_error_naming_the_fix() {
        let now = Utc::now();
        let s = shared(now - TimeDelta::seconds(1));
        s.lock().failure = Some("STS is down".into());
        let (status, body) = answer(&s, &request("GET", "/", Some("the-token")), now);
        assert_eq!(status, 503);
        assert!(body.contains("STS is down; run the command again") && !body.contains("served-secret"), "{body}");
    }

    #[test]
    fn renewal_leaves_more_than_fifteen_minutes_or_half_a_short_session() {
        let t = Utc::now();
        assert_eq!(renew_at(t, t + TimeDelta::hours(1)), t + TimeDelta::minutes(40));
        assert_eq!(renew_at(t, t + TimeDelta::minutes(30)), t + TimeDelta::minutes(10));
        assert_eq!(renew_at(t, t + TimeDelta::seconds(8)), t + TimeDelta::seconds(4));
        assert_eq!(retry_in(1, TimeDelta::hours(1)), TimeDelta::seconds(2));
        assert_eq!(retry_in(20, TimeDelta::hours(1)), TimeDelta::minutes(1));
        assert_eq!(retry_in(3, TimeDelta::seconds(4)), TimeDelta::seconds(1));
        assert_eq!(retry_in(3, TimeDelta::seconds(-30)), TimeDelta::seconds(8), "expired: no fast loop");
    }

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 bytes in base64url without padding");
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{a}");
    }
}
