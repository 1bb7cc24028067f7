//! A scripted STS stand-in: a small HTTP/1.1 server, std only, that answers
//! `AssumeRole`, `GetSessionToken`, `GetFederationToken` and `GetCallerIdentity` with STS's
//! own XML,
//! records every request, and lets a test script errors and delays.
//!
//! Where moto accepts anything, the stand-in checks what real STS checks and
//! a careless client gets wrong: a temporary key must come with its own
//! session token and must not have expired, `RoleSessionName` must be valid,
//! a chained `AssumeRole` may not ask for more than an hour, and
//! `GetSessionToken` and `GetFederationToken` refuse session credentials. Above all, every signed
//! request's SigV4 signature must be the one its key's secret makes: the
//! stand-in knows the secrets it issued and those a test registers.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use chrono::{DateTime, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
/// The account of the instance and container roles, and of [`DEFAULT_USER_ARN`].
pub const DEFAULT_ACCOUNT: &str = "123456789012";
/// The path that serves container (ECS) credentials as JSON.
pub const CONTAINER_PATH: &str = "/ecs-credentials";
/// EC2 instance metadata (IMDSv2): a token, the role's name, then its credentials.
pub const IMDS_TOKEN_PATH: &str = "/latest/api/token";
pub const IMDS_ROLES_PATH: &str = "/latest/meta-data/iam/security-credentials/";
pub const IMDS_ROLE: &str = "ec2-instance-role";
/// Whom a key registered without an ARN belongs to.
pub const DEFAULT_USER_ARN: &str = "arn:aws:iam::123456789012:user/stand-in";

/// One request as the stand-in received it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names are lower-cased.
    pub headers: Vec<(String, String)>,
    /// Query-string and form-body parameters, decoded. A request for
    /// container credentials gets the made-up action `ContainerCredentials`.
    pub params: BTreeMap<String, String>,
    /// From `Authorization: AWS4-HMAC-SHA256 Credential=KEY/date/region/…`.
    pub access_key_id: Option<String>,
    /// The region of the signature's credential scope.
    pub signing_region: Option<String>,
    /// The `X-Amz-Security-Token` header.
    pub security_token: Option<String>,
    /// The query string as received, still encoded.
    pub query: String,
    /// The body as received.
    pub body: Vec<u8>,
    /// Whether the SigV4 signature is the one the key's secret makes: `None`
    /// for a request that does not claim one (no `Authorization`, or instance
    /// and container metadata), `Some(false)` also for a key the stand-in
    /// does not know or an `Authorization` it cannot read.
    pub signature_ok: Option<bool>,
}

impl Request {
    pub fn action(&self) -> &str {
        self.param("Action").unwrap_or("")
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// The access key id that signed this request; panics if it was unsigned.
    pub fn signer(&self) -> &str {
        self.access_key_id.as_deref().unwrap_or_else(|| panic!("request was not signed: {self:?}"))
    }

    /// Instance metadata and the container endpoint: not STS, never SigV4-signed.
    fn is_metadata(&self) -> bool {
        self.path == CONTAINER_PATH || self.path.starts_with("/latest/")
    }

    /// Whether this request's SigV4 signature is the one `secret` makes, recomputed the way
    /// STS does: from the method, path, query, the headers named in `SignedHeaders`, the
    /// payload's hash, `X-Amz-Date` and the credential scope.
    ///
    /// The recomputing is aws-sigv4's (the version the SDK already pulls in) rather than
    /// HMAC code of our own: given only the headers named in `SignedHeaders`, nothing
    /// excluded, and `X-Amz-Date`'s time, its signer rebuilds a received request's canonical
    /// request as the client did. It is also what rolesh's SDK signs with, so for rolesh's
    /// requests this checks the secret rather than the SigV4 code; botocore's independent
    /// signer and AWS's published example (tests/harness.rs) check the canonicalisation.
    pub fn signature_verifies(&self, secret: &str) -> bool {
        let Some(claimed) = self.header("authorization").and_then(Authorization::parse) else {
            return false;
        };
        let Some(time) =
            self.header("x-amz-date").and_then(|d| NaiveDateTime::parse_from_str(d, "%Y%m%dT%H%M%SZ").ok())
        else {
            return false;
        };
        let [key, _date, region, service, "aws4_request"] = claimed.credential.split('/').collect::<Vec<_>>()[..]
        else {
            return false;
        };
        // The payload's hash is part of what is signed; a client that sends it as a header
        // must send the body it hashed (S3 answers XAmzContentSHA256Mismatch otherwise).
        if self.header("x-amz-content-sha256").is_some_and(|h| h != format!("{:x}", Sha256::digest(&self.body))) {
            return false;
        }
        // Only the headers the client signed: aws-sigv4 signs every header it is given,
        // less `excluded_headers`, which is emptied so that it drops none of them.
        let signed: Vec<&str> = claimed.signed_headers.split(';').collect();
        let headers = self.headers.iter().filter(|(n, _)| signed.contains(&n.as_str()));
        // aws-sigv4 wants an absolute URI; it reads the host from the Host header when
        // that is signed, and from this URI (which then differs) when it is not.
        let host = self.header("host").unwrap_or("host.invalid");
        let query = if self.query.is_empty() { String::new() } else { format!("?{}", self.query) };
        let uri = format!("http://{host}{}{query}", self.path);
        let identity = Credentials::new(key, secret, None, None, "stand-in").into();
        let mut settings = SigningSettings::default();
        settings.excluded_headers = None;
        let Ok(params) = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(service)
            .time(SystemTime::from(time.and_utc()))
            .settings(settings)
            .build()
        else {
            return false;
        };
        let headers = headers.map(|(n, v)| (n.as_str(), v.as_str()));
        let Ok(request) = SignableRequest::new(&self.method, uri, headers, SignableBody::Bytes(&self.body)) else {
            return false;
        };
        let Ok(output) = aws_sigv4::http_request::sign(request, &params.into()) else {
            return false;
        };
        // aws-sigv4 adds `host` and `x-amz-date` to what it signs and takes the scope's date
        // from `X-Amz-Date`: comparing its whole `Authorization` catches a client that
        // signed otherwise, not only a different signature.
        let ours =
            output.output().headers().find(|(n, _)| *n == "authorization").and_then(|(_, v)| Authorization::parse(v));
        ours.is_some_and(|ours| ours == claimed)
    }
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, PartialEq)]
struct Authorization {
    /// `KEY/DATE/REGION/SERVICE/aws4_request`.
    credential: String,
    signed_headers: String,
    signature: String,
}

impl Authorization {
    fn parse(header: &str) -> Option<Authorization> {
        let parts = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
        let mut found = HashMap::new();
        for part in parts.split(',') {
            let (name, value) = part.trim().split_once('=')?;
            found.insert(name, value.to_owned());
        }
        Some(Authorization {
            credential: found.remove("Credential")?,
            signed_headers: found.remove("SignedHeaders")?,
            signature: found.remove("Signature")?,
        })
    }
}

/// Credentials the stand-in handed out.
#[derive(Clone, Debug)]
pub struct Issued {
    /// `AssumeRole`, `GetSessionToken`, `GetFederationToken` or `ContainerCredentials`.
    pub action: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: DateTime<Utc>,
    /// Who these credentials are: `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`
    /// for a role, the IAM user's ARN for a session token.
    pub arn: String,
    pub user_id: String,
    pub account: String,
    /// The access key id that asked for them.
    pub signed_by: Option<String>,
}

/// An STS error, answered with STS's error XML and HTTP status.
#[derive(Clone, Debug)]
pub struct StsError {
    pub status: u16,
    /// `Sender` (the client's fault) or `Receiver` (the service's).
    pub kind: &'static str,
    pub code: String,
    pub message: String,
}

impl StsError {
    pub fn new(status: u16, code: &str, message: &str) -> StsError {
        StsError {
            status,
            kind: if status >= 500 { "Receiver" } else { "Sender" },
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    pub fn access_denied(message: &str) -> StsError {
        StsError::new(403, "AccessDenied", message)
    }

    /// What STS says when the role's trust policy does not name the caller.
    pub fn not_trusted() -> StsError {
        StsError::access_denied(
            "User: arn:aws:iam::123456789012:user/stand-in is not authorized to perform: \
             sts:AssumeRole on resource: arn:aws:iam::123456789012:role/stand-in",
        )
    }

    pub fn invalid_client_token_id() -> StsError {
        StsError::new(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    }

    /// What STS says when a known key's signature is not the one its secret makes.
    pub fn signature_does_not_match() -> StsError {
        StsError::new(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        )
    }

    /// What STS says of an `Authorization` header that is not a whole SigV4 one.
    pub fn incomplete_signature() -> StsError {
        StsError::new(
            400,
            "IncompleteSignature",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters \
             and the existence of an 'X-Amz-Date' header.",
        )
    }

    pub fn expired_token() -> StsError {
        StsError::new(403, "ExpiredToken", "The security token included in the request is expired")
    }

    pub fn validation(message: &str) -> StsError {
        StsError::new(400, "ValidationError", message)
    }

    pub fn max_session_duration() -> StsError {
        StsError::validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    }

    pub fn throttling() -> StsError {
        StsError::new(400, "Throttling", "Rate exceeded")
    }

    pub fn internal_failure() -> StsError {
        StsError::new(
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }

    pub fn service_unavailable() -> StsError {
        StsError::new(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
    }
}

#[derive(Clone, Debug)]
enum Reply {
    /// The stand-in's normal answer, with an optional lifetime for the
    /// credentials it issues instead of the one asked for.
    Success {
        lifetime: Option<Duration>,
    },
    Error(StsError),
    Raw {
        status: u16,
        content_type: String,
        body: String,
    },
}

/// A scripted answer. Rules are tried in the order they were pushed; the
/// first that matches a request, and has uses left, answers it.
#[derive(Clone, Debug)]
pub struct Rule {
    action: Option<String>,
    param: Option<(String, String)>,
    remaining: Option<usize>,
    delay: Duration,
    reply: Reply,
}

impl Rule {
    /// A rule for one action (`AssumeRole`, …). On its own it answers as the
    /// stand-in would anyway; combine it with the builders below.
    pub fn on(action: &str) -> Rule {
        Rule { action: Some(action.to_owned()), ..Rule::any() }
    }

    /// A rule for every request.
    pub fn any() -> Rule {
        Rule {
            action: None,
            param: None,
            remaining: None,
            delay: Duration::ZERO,
            reply: Reply::Success { lifetime: None },
        }
    }

    /// Only for requests whose parameter `name` is `value` (e.g. `RoleArn`).
    pub fn when(mut self, name: &str, value: &str) -> Rule {
        self.param = Some((name.to_owned(), value.to_owned()));
        self
    }

    pub fn fail(mut self, error: StsError) -> Rule {
        self.reply = Reply::Error(error);
        self
    }

    /// Answer with exactly this status and body.
    pub fn raw(mut self, status: u16, content_type: &str, body: &str) -> Rule {
        self.reply = Reply::Raw { status, content_type: content_type.to_owned(), body: body.to_owned() };
        self
    }

    /// Issue credentials that expire after `lifetime`, whatever was asked.
    pub fn lifetime(mut self, lifetime: Duration) -> Rule {
        self.reply = Reply::Success { lifetime: Some(lifetime) };
        self
    }

    /// Wait this long before answering, to stand in for a slow service.
    pub fn delay(mut self, delay: Duration) -> Rule {
        self.delay = delay;
        self
    }

    /// Answer only the next `n` matching requests, then step aside.
    pub fn times(mut self, n: usize) -> Rule {
        self.remaining = Some(n);
        self
    }

    fn matches(&self, request: &Request) -> bool {
        self.remaining != Some(0)
            && self.action.as_deref().is_none_or(|a| a == request.action())
            && self.param.as_ref().is_none_or(|(name, value)| request.param(name) == Some(value))
    }
}

#[derive(Clone, Debug)]
struct Identity {
    arn: String,
    user_id: String,
    account: String,
    /// Set for credentials from `AssumeRole`: a further `AssumeRole` is a
    /// chained one.
    assumed_role: bool,
    /// Set for any temporary credentials.
    temporary: bool,
}

/// A static key a test registered.
#[derive(Clone, Debug)]
struct User {
    secret: String,
    arn: String,
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    rules: Vec<Rule>,
    issued: Vec<Issued>,
    /// Static keys by access key id.
    users: HashMap<String, User>,
    role_ids: HashMap<String, String>,
    request_ids: u64,
}

struct Shared {
    state: Mutex<State>,
    stopping: AtomicBool,
    /// Seconds added to the `Date` of every answer: a server whose clock is off.
    clock_offset: AtomicI64,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock must not hide the
        // stand-in's records from the others.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running stand-in, stopped when dropped.
pub struct StandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl StandIn {
    pub fn start() -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("could not bind the STS stand-in");
        let addr = listener.local_addr().expect("stand-in has no address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            stopping: AtomicBool::new(false),
            clock_offset: AtomicI64::new(0),
            wake: Condvar::new(),
        });
        let accepting = Arc::clone(&shared);
        thread::Builder::new()
            .name("sts-stand-in".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if accepting.stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let serving = Arc::clone(&accepting);
                    thread::spawn(move || serve(stream, &serving));
                }
            })
            .expect("could not start the stand-in thread");
        StandIn { addr, shared }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `AWS_EC2_METADATA_SERVICE_ENDPOINT` should point.
    pub fn imds_endpoint(&self) -> String {
        self.endpoint()
    }

    /// Where `AWS_CONTAINER_CREDENTIALS_FULL_URI` should point.
    pub fn container_credentials_uri(&self) -> String {
        format!("{}{CONTAINER_PATH}", self.endpoint())
    }

    /// Dates every answer `offset` away from the real time, as a server (or, seen from the
    /// server, a client) whose clock is off would.
    pub fn skew_clock(&self, offset: chrono::Duration) {
        self.shared.clock_offset.store(offset.num_seconds(), Ordering::SeqCst);
    }

    pub fn push(&self, rule: Rule) {
        self.shared.lock().rules.push(rule);
    }

    /// Makes a static key known, as an IAM user's key is to STS: requests signed with it
    /// verify only with `secret`, and `GetCallerIdentity` answers with `arn`. A key never
    /// registered (nor issued) is refused as STS refuses an unknown one.
    pub fn register_user(&self, access_key_id: &str, secret: &str, arn: &str) {
        let user = User { secret: secret.to_owned(), arn: arn.to_owned() };
        self.shared.lock().users.insert(access_key_id.to_owned(), user);
    }

    /// [`StandIn::register_user`] for a key whose owner does not matter: [`DEFAULT_USER_ARN`].
    pub fn register_key(&self, access_key_id: &str, secret: &str) {
        self.register_user(access_key_id, secret, DEFAULT_USER_ARN);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    /// Every request for `action`, in the order received.
    pub fn calls(&self, action: &str) -> Vec<Request> {
        self.shared.lock().requests.iter().filter(|r| r.action() == action).cloned().collect()
    }

    pub fn count(&self, action: &str) -> usize {
        self.calls(action).len()
    }

    /// Every set of credentials handed out, in order.
    pub fn issued(&self) -> Vec<Issued> {
        self.shared.lock().issued.clone()
    }

    pub fn issued_key(&self, access_key_id: &str) -> Option<Issued> {
        self.shared.lock().issued.iter().find(|i| i.access_key_id == access_key_id).cloned()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        // Wake the accept loop so that it sees `stopping`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    // HTTP keep-alive: the SDK sends several requests on one connection.
    loop {
        let request = match read_request(&mut reader, &mut writer) {
            Ok(Some(request)) => request,
            Ok(None) | Err(_) => return,
        };
        let close = request.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let response = answer(shared, request);
        let date = Utc::now() + chrono::Duration::seconds(shared.clock_offset.load(Ordering::SeqCst));
        if response.write_to(&mut writer, close, date).is_err() || close {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn read_request(reader: &mut impl BufRead, writer: &mut impl Write) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(std::io::Error::other(format!("bad request line {line:?}")));
    };
    let (method, target) = (method.to_owned(), target.to_owned());

    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        read_chunked(reader)?
    } else {
        let length: usize =
            header("content-length").map(|v| v.parse().map_err(std::io::Error::other)).transpose()?.unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        body
    };

    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut params = BTreeMap::new();
    params.extend(parse_form(query.as_bytes()));
    params.extend(parse_form(&body));
    if method == "GET" && path == CONTAINER_PATH {
        params.insert("Action".to_owned(), "ContainerCredentials".to_owned());
    }
    let imds_action = match (method.as_str(), path) {
        ("PUT", IMDS_TOKEN_PATH) => Some("ImdsToken"),
        ("GET", IMDS_ROLES_PATH) => Some("ImdsRoleName"),
        ("GET", p) if p == format!("{IMDS_ROLES_PATH}{IMDS_ROLE}") => Some("InstanceCredentials"),
        // Anything else under /latest (the "extended" credentials API, other metadata) is
        // absent, as on an instance that does not offer it.
        (_, p) if p.starts_with("/latest/") => Some("ImdsMissing"),
        _ => None,
    };
    if let Some(action) = imds_action {
        params.insert("Action".to_owned(), action.to_owned());
    }
    let authorization = header("authorization").unwrap_or_default();
    let scope = authorization
        .split_once("Credential=")
        .map(|(_, rest)| rest.split([',', ' ']).next().unwrap_or(""))
        .unwrap_or("");
    let mut scope_parts = scope.split('/');
    let access_key_id = scope_parts.next().filter(|k| !k.is_empty()).map(str::to_owned);
    let signing_region = scope_parts.nth(1).map(str::to_owned);
    Ok(Some(Request {
        method,
        path: path.to_owned(),
        security_token: header("x-amz-security-token"),
        headers,
        params,
        access_key_id,
        signing_region,
        query: query.to_owned(),
        body,
        signature_ok: None,
    }))
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size, 16).map_err(std::io::Error::other)?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?;
    }
}

/// Decodes `application/x-www-form-urlencoded`: `+` is a space, `%XX` a byte.
pub fn parse_form(input: &[u8]) -> Vec<(String, String)> {
    input
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut halves = pair.splitn(2, |&b| b == b'=');
            let name = percent_decode(halves.next().unwrap_or(b""));
            let value = percent_decode(halves.next().unwrap_or(b""));
            (name, value)
        })
        .collect()
}

fn percent_decode(input: &[u8]) -> String {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => {
                let hex = std::str::from_utf8(&input[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Response {
    status: u16,
    content_type: String,
    body: String,
    request_id: String,
}

impl Response {
    fn write_to(&self, writer: &mut impl Write, close: bool, date: DateTime<Utc>) -> std::io::Result<()> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Status",
        };
        // The TTL header is what an IMDSv2 token answer must carry; STS clients ignore it.
        let head = format!(
            "HTTP/1.1 {} {reason}\r\nx-amzn-RequestId: {}\r\nContent-Type: {}\r\n\
             Content-Length: {}\r\nDate: {}\r\nConnection: {}\r\n\
             x-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n",
            self.status,
            self.request_id,
            self.content_type,
            self.body.len(),
            date.format("%a, %d %b %Y %H:%M:%S GMT"),
            if close { "close" } else { "keep-alive" },
        );
        writer.write_all(head.as_bytes())?;
        writer.write_all(self.body.as_bytes())?;
        writer.flush()
    }
}

fn answer(shared: &Shared, mut request: Request) -> Response {
    let (reply, delay, request_id) = {
        let mut state = shared.lock();
        // Before any scripted rule, as STS authenticates a request before anything else.
        let authenticated = state.authenticate(&mut request);
        state.requests.push(request.clone());
        state.request_ids += 1;
        let request_id = format!("5a1d0000-0000-4000-8000-{:012x}", state.request_ids);
        if let Err(error) = authenticated {
            return error_response(&error, request_id);
        }
        let rule = state.rules.iter_mut().find(|r| r.matches(&request));
        let (reply, delay) = match rule {
            Some(rule) => {
                if let Some(n) = rule.remaining.as_mut() {
                    *n -= 1;
                }
                (rule.reply.clone(), rule.delay)
            }
            None => (Reply::Success { lifetime: None }, Duration::ZERO),
        };
        (reply, delay, request_id)
    };
    if !delay.is_zero() {
        let state = shared.lock();
        // Interrupted early only when the stand-in is dropped.
        let _ = shared.wake.wait_timeout_while(state, delay, |_| !shared.stopping.load(Ordering::SeqCst));
    }
    let result = match reply {
        Reply::Error(error) => Err(error),
        Reply::Raw { status, content_type, body } => {
            return Response { status, content_type, body, request_id };
        }
        Reply::Success { lifetime } => succeed(shared, &request, lifetime, &request_id),
    };
    match result {
        Ok(response) => response,
        Err(error) => error_response(&error, request_id),
    }
}

fn error_response(error: &StsError, request_id: String) -> Response {
    Response {
        status: error.status,
        content_type: "text/xml".to_owned(),
        body: error_xml(error, &request_id),
        request_id,
    }
}

fn error_xml(error: &StsError, request_id: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{XMLNS}\">\n  <Error>\n    <Type>{}</Type>\n    \
         <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  \
         <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
        error.kind,
        escape(&error.code),
        escape(&error.message),
    )
}

fn xml_response(action: &str, result: &str, request_id: &str) -> Response {
    Response {
        status: 200,
        content_type: "text/xml".to_owned(),
        body: format!(
            "<{action}Response xmlns=\"{XMLNS}\">\n  <{action}Result>\n{result}  </{action}Result>\n  \
             <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n\
             </{action}Response>\n"
        ),
        request_id: request_id.to_owned(),
    }
}

fn credentials_xml(issued: &Issued) -> String {
    format!(
        "    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      \
         <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      \
         <Expiration>{}</Expiration>\n    </Credentials>\n",
        issued.access_key_id,
        issued.secret_access_key,
        issued.session_token,
        timestamp(issued.expiration),
    )
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

fn succeed(
    shared: &Shared,
    request: &Request,
    lifetime: Option<Duration>,
    request_id: &str,
) -> Result<Response, StsError> {
    let mut state = shared.lock();
    let action = request.action();
    let plain = |status: u16, content_type: &str, body: &str| Response {
        status,
        content_type: content_type.to_owned(),
        body: body.to_owned(),
        request_id: request_id.to_owned(),
    };
    // Instance metadata and the ECS endpoint hand out a role's credentials as JSON: the same
    // keys, each service with its own extra fields.
    let mut role_credentials = |role: &str, session: &str, extra: serde_json::Value| {
        let issued = state.issue(
            action,
            None,
            lifetime.unwrap_or(Duration::from_secs(6 * 3600)),
            Identity {
                arn: format!("arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/{role}/{session}"),
                user_id: format!("AROA{}:{session}", role.to_uppercase().replace('-', "")),
                account: DEFAULT_ACCOUNT.to_owned(),
                assumed_role: true,
                temporary: true,
            },
        );
        let mut body = serde_json::json!({
            "AccessKeyId": issued.access_key_id,
            "SecretAccessKey": issued.secret_access_key,
            "Token": issued.session_token,
            "Expiration": timestamp(issued.expiration),
        });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        plain(200, "application/json", &body.to_string())
    };
    match action {
        "ImdsToken" => return Ok(plain(200, "text/plain", "stand-in-imds-token")),
        "ImdsMissing" => return Ok(plain(404, "text/plain", "")),
        "ImdsRoleName" => return Ok(plain(200, "text/plain", IMDS_ROLE)),
        "InstanceCredentials" => {
            let extra =
                serde_json::json!({ "Code": "Success", "LastUpdated": timestamp(Utc::now()), "Type": "AWS-HMAC" });
            return Ok(role_credentials(IMDS_ROLE, "i-0standin", extra));
        }
        "ContainerCredentials" => {
            let extra = serde_json::json!({ "RoleArn": format!("arn:aws:iam::{DEFAULT_ACCOUNT}:role/ecs-task") });
            return Ok(role_credentials("ecs-task", "stand-in-task", extra));
        }
        _ => {}
    }

    let caller = state.caller(request)?;
    match action {
        "GetCallerIdentity" => Ok(xml_response(
            action,
            &format!(
                "    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n",
                escape(&caller.arn),
                escape(&caller.user_id),
                caller.account
            ),
            request_id,
        )),
        "GetSessionToken" => {
            if caller.temporary {
                return Err(StsError::access_denied("Cannot call GetSessionToken with session credentials"));
            }
            let seconds = duration_param(request, 43_200, 129_600)?;
            let identity = Identity { temporary: true, ..caller };
            let issued = state.issue(
                action,
                request.access_key_id.clone(),
                lifetime.unwrap_or(Duration::from_secs(seconds)),
                identity,
            );
            Ok(xml_response(action, &credentials_xml(&issued), request_id))
        }
        "AssumeRole" => {
            let role_arn = request.param("RoleArn").ok_or_else(|| null_member("roleArn"))?.to_owned();
            let session = request.param("RoleSessionName").ok_or_else(|| null_member("roleSessionName"))?.to_owned();
            let valid_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c);
            if !(2..=64).contains(&session.len()) || !session.chars().all(valid_char) {
                return Err(StsError::validation(&format!(
                    "1 validation error detected: Value '{session}' at 'roleSessionName' failed to \
                     satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
                )));
            }
            let seconds = duration_param(request, 3_600, 43_200)?;
            if caller.assumed_role && seconds > 3_600 {
                return Err(StsError::validation(
                    "The requested DurationSeconds exceeds the 1 hour session limit for roles \
                     assumed by role chaining.",
                ));
            }
            let (account, name) =
                parse_role_arn(&role_arn).ok_or_else(|| StsError::validation(&format!("{role_arn} is invalid")))?;
            let next_id = state.role_ids.len() + 1;
            let role_id =
                state.role_ids.entry(role_arn.clone()).or_insert_with(|| format!("AROASTANDIN{next_id:06}")).clone();
            let identity = Identity {
                arn: format!("arn:aws:sts::{account}:assumed-role/{name}/{session}"),
                user_id: format!("{role_id}:{session}"),
                account,
                assumed_role: true,
                temporary: true,
            };
            let issued = state.issue(
                action,
                request.access_key_id.clone(),
                lifetime.unwrap_or(Duration::from_secs(seconds)),
                identity,
            );
            let result = format!(
                "    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      \
                 <Arn>{}</Arn>\n    </AssumedRoleUser>\n{}    <PackedPolicySize>0</PackedPolicySize>\n",
                escape(&issued.user_id),
                escape(&issued.arn),
                credentials_xml(&issued),
            );
            Ok(xml_response(action, &result, request_id))
        }
        "GetFederationToken" => {
            // Only an IAM user's long-term keys may: STS refuses any session's.
            if caller.temporary {
                return Err(StsError::access_denied("Cannot call GetFederationToken with session credentials"));
            }
            let name = request.param("Name").ok_or_else(|| null_member("name"))?.to_owned();
            let valid_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c);
            if !(2..=32).contains(&name.len()) || !name.chars().all(valid_char) {
                return Err(StsError::validation(&format!(
                    "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: \
                     Member must satisfy regular expression pattern: [\\w+=,.@-]* and length 2..32"
                )));
            }
            let seconds = duration_param(request, 43_200, 129_600)?;
            let partition = caller.arn.split(':').nth(1).unwrap_or("aws").to_owned();
            let identity = Identity {
                arn: format!("arn:{partition}:sts::{}:federated-user/{name}", caller.account),
                user_id: format!("{}:{name}", caller.account),
                account: caller.account,
                assumed_role: false,
                temporary: true,
            };
            let issued = state.issue(
                action,
                request.access_key_id.clone(),
                lifetime.unwrap_or(Duration::from_secs(seconds)),
                identity,
            );
            let result = format!(
                "{}    <FederatedUser>\n      <FederatedUserId>{}</FederatedUserId>\n      \
                 <Arn>{}</Arn>\n    </FederatedUser>\n    <PackedPolicySize>1</PackedPolicySize>\n",
                credentials_xml(&issued),
                escape(&issued.user_id),
                escape(&issued.arn),
            );
            Ok(xml_response(action, &result, request_id))
        }
        other => Err(StsError::new(
            400,
            "InvalidAction",
            &format!("Could not find operation {other} for version 2011-06-15"),
        )),
    }
}

fn null_member(member: &str) -> StsError {
    StsError::validation(&format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: \
         Member must not be null"
    ))
}

fn duration_param(request: &Request, default: u64, max: u64) -> Result<u64, StsError> {
    let Some(value) = request.param("DurationSeconds") else {
        return Ok(default);
    };
    let seconds: u64 =
        value.parse().map_err(|_| StsError::validation(&format!("DurationSeconds {value:?} is not a number")))?;
    if seconds < 900 {
        return Err(StsError::validation(&format!(
            "1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to \
             satisfy constraint: Member must have value greater than or equal to 900"
        )));
    }
    if seconds > max {
        return Err(StsError::max_session_duration());
    }
    Ok(seconds)
}

/// `arn:aws:iam::ACCOUNT:role/path/NAME` → (ACCOUNT, NAME).
fn parse_role_arn(arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_arn, _partition, "iam", "", account, resource] = parts.as_slice() else {
        return None;
    };
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    (!name.is_empty()).then(|| (account.to_string(), name.to_owned()))
}

impl State {
    /// Checks `request`'s signature, if it claims one, and records the verdict on it.
    fn authenticate(&self, request: &mut Request) -> Result<(), StsError> {
        if request.is_metadata() || request.header("authorization").is_none() {
            // Unsigned: `caller` refuses it where STS would.
            return Ok(());
        }
        let verdict = self.verify(request);
        request.signature_ok = Some(verdict.is_ok());
        verdict
    }

    fn verify(&self, request: &Request) -> Result<(), StsError> {
        let readable = request.header("authorization").and_then(Authorization::parse).is_some()
            && request.header("x-amz-date").is_some();
        let Some(key) = request.access_key_id.as_deref().filter(|_| readable) else {
            return Err(StsError::incomplete_signature());
        };
        // A temporary key is known only together with its own session token.
        let issued = self
            .issued
            .iter()
            .find(|i| i.access_key_id == key && request.security_token.as_deref() == Some(i.session_token.as_str()));
        let secret = match (issued, self.users.get(key)) {
            (Some(issued), _) => &issued.secret_access_key,
            (None, Some(user)) => &user.secret,
            (None, None) => return Err(StsError::invalid_client_token_id()),
        };
        if request.signature_verifies(secret) { Ok(()) } else { Err(StsError::signature_does_not_match()) }
    }

    /// Who signed `request`, checking what STS checks for temporary keys.
    fn caller(&self, request: &Request) -> Result<Identity, StsError> {
        let Some(key) = request.access_key_id.as_deref() else {
            return Err(StsError::new(403, "MissingAuthenticationToken", "Request is missing Authentication Token"));
        };
        if let Some(issued) = self.issued.iter().find(|i| i.access_key_id == key) {
            if request.security_token.as_deref() != Some(issued.session_token.as_str()) {
                return Err(StsError::invalid_client_token_id());
            }
            if issued.expiration <= Utc::now() {
                return Err(StsError::expired_token());
            }
            return Ok(Identity {
                arn: issued.arn.clone(),
                user_id: issued.user_id.clone(),
                account: issued.account.clone(),
                assumed_role: issued.action != "GetSessionToken",
                temporary: true,
            });
        }
        // `authenticate` let through only keys it knows.
        let arn = self.users.get(key).map(|u| u.arn.clone()).ok_or_else(StsError::invalid_client_token_id)?;
        let account = arn.split(':').nth(4).unwrap_or(DEFAULT_ACCOUNT).to_owned();
        let suffix: String =
            key.chars().skip(4).filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase();
        Ok(Identity {
            arn,
            user_id: format!("AIDA{suffix}"),
            account,
            assumed_role: false,
            temporary: request.security_token.is_some(),
        })
    }

    fn issue(&mut self, action: &str, signed_by: Option<String>, lifetime: Duration, identity: Identity) -> Issued {
        let n = self.issued.len() + 1;
        let lifetime = chrono::Duration::from_std(lifetime).expect("lifetime out of range");
        let issued = Issued {
            action: action.to_owned(),
            access_key_id: format!("ASIASTANDIN{n:06}"),
            secret_access_key: format!("StandInSecret{n:06}/aaaaaaaaaaaaaaaaaaaaa"),
            session_token: format!("StandInSessionToken{n:06}//////////wEaCXVzLWVhc3QtMSJHMEUCIQ=="),
            expiration: Utc::now() + lifetime,
            arn: identity.arn,
            user_id: identity.user_id,
            account: identity.account,
            signed_by,
        };
        self.issued.push(issued.clone());
        issued
    }
}
