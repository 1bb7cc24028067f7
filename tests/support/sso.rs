//! A loopback stand-in for IAM Identity Center and the console's federation endpoint: one
//! small HTTP/1.1 server, std only, that speaks restJson1 as the SDKs (and botocore) do.
//!
//! - The SSO portal: `GET /federation/credentials?account_id=…&role_name=…` with the access
//!   token in `x-amz-sso_bearer_token` (GetRoleCredentials). A token it never issued or
//!   accepted, or one past its expiry, is `UnauthorizedException` (401); a role the test did
//!   not [assign](SsoStandIn::assign) is `ForbiddenException` (403). Role keys are
//!   deterministic per assignment, so a test can make them known to the STS stand-in.
//! - sso-oidc: `POST /client/register`, `POST /device_authorization` and `POST /token`
//!   (device-code and refresh-token grants), each checking the client's id, secret and the
//!   registration's expiry. The device flow follows a [`Script`]: pending for N polls, one
//!   `slow_down`, or never approved (`ExpiredTokenException` once the code's `expiresIn` has
//!   passed). A refresh token is single use: refreshing rotates it.
//! - The federation endpoint: `GET /federation?Action=getSigninToken&Session=<json>` with an
//!   optional `SessionDuration`, checked as the real one checks its input.
//!
//! Every request is recorded, with the instant it arrived, for assertions.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::StandIn;
use super::stand_in::parse_form;

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const REFRESH_GRANT: &str = "refresh_token";
pub const PORTAL_PATH: &str = "/federation/credentials";
pub const REGISTER_PATH: &str = "/client/register";
pub const DEVICE_PATH: &str = "/device_authorization";
pub const TOKEN_PATH: &str = "/token";
pub const SIGNIN_PATH: &str = "/federation";

/// One request as the stand-in received it.
#[derive(Clone, Debug)]
pub struct SsoRequest {
    pub method: String,
    pub path: String,
    /// Query parameters, decoded.
    pub query: BTreeMap<String, String>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON; `Null` when there was none or it was not JSON.
    pub json: Value,
    /// When it arrived.
    pub at: Instant,
}

impl SsoRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// A string member of the JSON body.
    pub fn member(&self, name: &str) -> Option<&str> {
        self.json.get(name).and_then(Value::as_str)
    }
}

/// Role credentials the portal hands out for one assignment (account and role name).
#[derive(Clone, Debug)]
pub struct RoleKeys {
    pub account: String,
    pub role_name: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
}

impl RoleKeys {
    /// Who these keys are, as STS's GetCallerIdentity says it for a permission set's role.
    pub fn arn(&self) -> String {
        format!("arn:aws:sts::{}:assumed-role/AWSReservedSSO_{}_0123456789abcdef/tester", self.account, self.role_name)
    }

    /// Makes the keys known to `sts`, as IAM Identity Center's roles are to STS: requests
    /// signed with them verify, and GetCallerIdentity answers with [`RoleKeys::arn`].
    pub fn register_on(&self, sts: &StandIn) {
        sts.register_user(&self.access_key_id, &self.secret_access_key, &self.arn());
    }
}

/// A client registration (RegisterClient's answer).
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub secret: String,
    pub expires_at: DateTime<Utc>,
    /// The grant types it registered for; a refresh token is issued only with `refresh_token`.
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
}

/// How the device flow goes.
#[derive(Clone, Debug)]
pub struct Script {
    /// Polls answered `AuthorizationPendingException` before the login is approved.
    pub pending_polls: usize,
    /// Answer the first poll with `SlowDownException` (then count on as usual).
    pub slow_down_once: bool,
    /// `false`: never approved; polls are pending until the code expires, then
    /// `ExpiredTokenException`.
    pub approve: bool,
    /// StartDeviceAuthorization's `interval`, in seconds.
    pub interval: i64,
    /// StartDeviceAuthorization's `expiresIn`, in seconds.
    pub code_expires_in: i64,
    /// How long a registration lasts (`clientSecretExpiresAt`).
    pub registration_lifetime: chrono::Duration,
    /// CreateToken's `expiresIn`, in seconds.
    pub token_expires_in: i64,
}

impl Default for Script {
    fn default() -> Script {
        Script {
            pending_polls: 0,
            slow_down_once: false,
            approve: true,
            interval: 1,
            code_expires_in: 600,
            registration_lifetime: chrono::Duration::days(90),
            token_expires_in: 8 * 3600,
        }
    }
}

#[derive(Clone, Debug)]
struct Device {
    client_id: String,
    polls: usize,
    expires_at: Instant,
    /// A token was issued for it: the code is spent.
    used: bool,
}

/// What StartDeviceAuthorization answered.
#[derive(Clone, Debug)]
pub struct DeviceGrant {
    pub device_code: String,
    pub user_code: String,
    /// `verificationUriComplete`: the page with the code filled in.
    pub url: String,
}

/// One getSigninToken request, as the federation endpoint understood it.
#[derive(Clone, Debug)]
pub struct Signin {
    /// The `Session` parameter, parsed.
    pub session: Value,
    pub session_duration: Option<String>,
    /// The sign-in token it answered with.
    pub signin_token: String,
}

#[derive(Default)]
struct State {
    script: Script,
    requests: Vec<SsoRequest>,
    clients: HashMap<String, Client>,
    /// Every registration, in order.
    registrations: Vec<Client>,
    grants: Vec<DeviceGrant>,
    /// Access token → its expiry.
    access_tokens: HashMap<String, DateTime<Utc>>,
    /// Refresh token → the client it was issued to. Spent tokens are removed.
    refresh_tokens: HashMap<String, String>,
    devices: HashMap<String, Device>,
    assignments: Vec<RoleKeys>,
    signins: Vec<Signin>,
    /// The access tokens CreateToken issued, in order.
    created: Vec<String>,
    /// Every access token, refresh token, client secret and sign-in token handed out, for
    /// leak scans.
    secrets: Vec<String>,
    counter: u64,
}

impl State {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn mint_access_token(&mut self, lifetime: chrono::Duration) -> String {
        let n = self.next();
        let token = format!("aoaAccessToken{n:04}StandIn0123456789abcdefDoNotLeak");
        self.access_tokens.insert(token.clone(), Utc::now() + lifetime);
        self.secrets.push(token.clone());
        token
    }

    fn mint_refresh_token(&mut self, client_id: &str) -> String {
        let n = self.next();
        let token = format!("aorRefreshToken{n:04}StandIn0123456789abcdefDoNotLeak");
        self.refresh_tokens.insert(token.clone(), client_id.to_owned());
        self.secrets.push(token.clone());
        token
    }

    fn register(&mut self, lifetime: chrono::Duration, grant_types: Vec<String>, scopes: Vec<String>) -> Client {
        let n = self.next();
        let client = Client {
            id: format!("client-{n:04}-standin"),
            secret: format!("ClientSecret{n:04}.eyJStandIn0123456789DoNotLeak"),
            // Whole seconds, as the service gives it (`clientSecretExpiresAt` is epoch seconds).
            expires_at: DateTime::from_timestamp((Utc::now() + lifetime).timestamp(), 0).unwrap(),
            grant_types,
            scopes,
        };
        self.secrets.push(client.secret.clone());
        self.clients.insert(client.id.clone(), client.clone());
        self.registrations.push(client.clone());
        client
    }

    /// The client named by a request's `clientId`/`clientSecret`, if both are right and its
    /// registration has not expired.
    fn client(&self, request: &SsoRequest) -> Result<Client, Response> {
        let invalid = |why: &str| Response::error(400, "InvalidClientException", "invalid_client", why);
        let id = request.member("clientId").ok_or_else(|| invalid("clientId is missing"))?;
        let client = self.clients.get(id).ok_or_else(|| invalid("unknown client"))?;
        if request.member("clientSecret") != Some(client.secret.as_str()) {
            return Err(invalid("the client secret does not match"));
        }
        if client.expires_at <= Utc::now() {
            return Err(invalid("the client registration has expired"));
        }
        Ok(client.clone())
    }
}

struct Shared {
    state: Mutex<State>,
    stopping: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running SSO and federation stand-in, stopped when dropped.
pub struct SsoStandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl SsoStandIn {
    pub fn start() -> SsoStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("could not bind the SSO stand-in");
        let addr = listener.local_addr().expect("SSO stand-in has no address");
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), stopping: AtomicBool::new(false) });
        let accepting = Arc::clone(&shared);
        thread::Builder::new()
            .name("sso-stand-in".into())
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
            .expect("could not start the SSO stand-in thread");
        SsoStandIn { addr, shared }
    }

    /// For `AWS_ENDPOINT_URL_SSO` and `AWS_ENDPOINT_URL_SSO_OIDC`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// For `ROLESH_SIGNIN_URL`.
    pub fn signin_url(&self) -> String {
        format!("{}{SIGNIN_PATH}", self.endpoint())
    }

    /// Changes how the device flow goes from now on.
    pub fn script(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.shared.lock().script);
    }

    /// Assigns `role_name` in `account` to the user: the portal hands out its keys, which are
    /// the same on every call (and made known to `sts`).
    pub fn assign(&self, sts: &StandIn, account: &str, role_name: &str) -> RoleKeys {
        let mut state = self.shared.lock();
        let n = state.assignments.len() + 1;
        let keys = RoleKeys {
            account: account.to_owned(),
            role_name: role_name.to_owned(),
            access_key_id: format!("ASIAPORTAL{n:010}"),
            secret_access_key: format!("PortalSecret{n:04}/{role_name}/DoNotLeak0000000000"),
            session_token: format!("PortalSessionToken{n:04}//////////IQoJb3JpZ2luX2VjEStandIn=="),
        };
        state.assignments.push(keys.clone());
        drop(state);
        keys.register_on(sts);
        keys
    }

    /// An access token the portal accepts until `lifetime` from now, as if a login had
    /// issued it (for token files the test writes itself).
    pub fn accept_token(&self, lifetime: chrono::Duration) -> String {
        self.shared.lock().mint_access_token(lifetime)
    }

    /// A client registration as RegisterClient makes it for an sso-session (with refresh
    /// tokens), lasting `lifetime` (negative: already expired).
    pub fn register_client(&self, lifetime: chrono::Duration) -> Client {
        let grants = vec![DEVICE_GRANT.to_owned(), REFRESH_GRANT.to_owned()];
        self.shared.lock().register(lifetime, grants, vec!["sso:account:access".to_owned()])
    }

    /// A refresh token for `client`, good for one refresh.
    pub fn accept_refresh_token(&self, client: &Client) -> String {
        self.shared.lock().mint_refresh_token(&client.id)
    }

    pub fn requests(&self) -> Vec<SsoRequest> {
        self.shared.lock().requests.clone()
    }

    /// Every request to `path`, in order.
    pub fn calls(&self, path: &str) -> Vec<SsoRequest> {
        self.shared.lock().requests.iter().filter(|r| r.path == path).cloned().collect()
    }

    pub fn count(&self, path: &str) -> usize {
        self.calls(path).len()
    }

    /// Every registration (RegisterClient's and [`SsoStandIn::register_client`]'s), in order.
    pub fn registrations(&self) -> Vec<Client> {
        self.shared.lock().registrations.clone()
    }

    /// What each StartDeviceAuthorization answered, in order.
    pub fn device_grants(&self) -> Vec<DeviceGrant> {
        self.shared.lock().grants.clone()
    }

    /// The getSigninToken requests the federation endpoint answered, in order.
    pub fn signins(&self) -> Vec<Signin> {
        self.shared.lock().signins.clone()
    }

    /// Every access token, refresh token, client secret and sign-in token the stand-in
    /// handed out or accepted: what no output, log or file but the token cache may hold.
    pub fn secrets(&self) -> Vec<String> {
        self.shared.lock().secrets.clone()
    }

    /// The access tokens CreateToken issued (logins and refreshes), in order.
    pub fn created_tokens(&self) -> Vec<String> {
        self.shared.lock().created.clone()
    }
}

impl Drop for SsoStandIn {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees `stopping`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

struct Response {
    status: u16,
    /// `x-amzn-ErrorType`, for an error.
    error_type: Option<String>,
    body: String,
}

impl Response {
    fn json(body: Value) -> Response {
        Response { status: 200, error_type: None, body: body.to_string() }
    }

    /// A restJson1 error: the type in `x-amzn-ErrorType`, the OAuth `error` and a message in
    /// the body, as sso-oidc answers them.
    fn error(status: u16, error_type: &str, error: &str, description: &str) -> Response {
        Response {
            status,
            error_type: Some(error_type.to_owned()),
            body: json!({ "error": error, "error_description": description }).to_string(),
        }
    }

    /// A restJson1 error of the portal: `{"message": …}`.
    fn portal_error(status: u16, error_type: &str, message: &str) -> Response {
        Response { status, error_type: Some(error_type.to_owned()), body: json!({ "message": message }).to_string() }
    }

    fn write_to(&self, writer: &mut impl Write, close: bool) -> std::io::Result<()> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            _ => "Status",
        };
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             x-amzn-RequestId: 5a1d0000-0000-4000-8000-000000000550\r\nConnection: {}\r\n",
            self.status,
            self.body.len(),
            if close { "close" } else { "keep-alive" },
        );
        if let Some(t) = &self.error_type {
            head.push_str(&format!("x-amzn-ErrorType: {t}\r\n"));
        }
        head.push_str("\r\n");
        writer.write_all(head.as_bytes())?;
        writer.write_all(self.body.as_bytes())?;
        writer.flush()
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let Ok(read_half) = stream.try_clone() else { return };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    // Keep-alive: the SDKs send several requests on one connection.
    loop {
        let request = match read_request(&mut reader) {
            Ok(Some(request)) => request,
            Ok(None) | Err(_) => return,
        };
        let close = request.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let response = answer(shared, request);
        if response.write_to(&mut writer, close).is_err() || close {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// One request, read as the STS stand-in reads one (request line, headers, a body of
/// `Content-Length` bytes); the SDKs and botocore send no chunked bodies to these services.
fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<SsoRequest>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let at = Instant::now();
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
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| v.parse().map_err(std::io::Error::other))
        .transpose()?
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Ok(Some(SsoRequest {
        method,
        path: path.to_owned(),
        query: parse_form(query.as_bytes()).into_iter().collect(),
        headers,
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at,
    }))
}

fn answer(shared: &Shared, request: SsoRequest) -> Response {
    let mut state = shared.lock();
    state.requests.push(request.clone());
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", PORTAL_PATH) => role_credentials(&mut state, &request),
        ("POST", REGISTER_PATH) => register_client(&mut state, &request),
        ("POST", DEVICE_PATH) => start_device_authorization(&mut state, &request),
        ("POST", TOKEN_PATH) => create_token(&mut state, &request),
        ("GET", SIGNIN_PATH) => signin_token(&mut state, &request),
        _ => Response::portal_error(404, "UnknownOperationException", "no such operation"),
    }
}

fn role_credentials(state: &mut State, request: &SsoRequest) -> Response {
    let unauthorized = || Response::portal_error(401, "UnauthorizedException", "Session token not found or invalid");
    let Some(token) = request.header("x-amz-sso_bearer_token") else { return unauthorized() };
    match state.access_tokens.get(token) {
        Some(expires) if *expires > Utc::now() => {}
        _ => return unauthorized(),
    }
    let (Some(account), Some(role)) = (request.param("account_id"), request.param("role_name")) else {
        return Response::portal_error(400, "InvalidRequestException", "account_id and role_name are required");
    };
    let Some(keys) = state.assignments.iter().find(|k| k.account == account && k.role_name == role) else {
        return Response::portal_error(403, "ForbiddenException", "No access");
    };
    // The portal gives an hour, in milliseconds since the epoch.
    let expiration = (Utc::now() + chrono::Duration::hours(1)).timestamp_millis();
    Response::json(json!({
        "roleCredentials": {
            "accessKeyId": keys.access_key_id,
            "secretAccessKey": keys.secret_access_key,
            "sessionToken": keys.session_token,
            "expiration": expiration,
        }
    }))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default()
}

fn register_client(state: &mut State, request: &SsoRequest) -> Response {
    let invalid = |why: &str| Response::error(400, "InvalidRequestException", "invalid_request", why);
    if request.member("clientName").is_none_or(str::is_empty) {
        return invalid("clientName is required");
    }
    if request.member("clientType") != Some("public") {
        return invalid("clientType must be public");
    }
    let lifetime = state.script.registration_lifetime;
    let client = state.register(lifetime, strings(request.json.get("grantTypes")), strings(request.json.get("scopes")));
    Response::json(json!({
        "clientId": client.id,
        "clientSecret": client.secret,
        "clientIdIssuedAt": Utc::now().timestamp(),
        "clientSecretExpiresAt": client.expires_at.timestamp(),
    }))
}

fn start_device_authorization(state: &mut State, request: &SsoRequest) -> Response {
    let client = match state.client(request) {
        Ok(c) => c,
        Err(e) => return e,
    };
    if request.member("startUrl").is_none_or(str::is_empty) {
        return Response::error(400, "InvalidRequestException", "invalid_request", "startUrl is required");
    }
    let n = state.next();
    let device_code = format!("DeviceCode{n:04}StandIn");
    let user_code = format!("WXYZ-{n:04}");
    let script = state.script.clone();
    let expires_at = Instant::now() + Duration::from_secs(u64::try_from(script.code_expires_in).unwrap_or(0));
    state.devices.insert(device_code.clone(), Device { client_id: client.id, polls: 0, expires_at, used: false });
    let uri = "https://device.sso.eu-west-1.amazonaws.com/";
    let url = format!("{uri}?user_code={user_code}");
    state.grants.push(DeviceGrant { device_code: device_code.clone(), user_code: user_code.clone(), url: url.clone() });
    Response::json(json!({
        "deviceCode": device_code,
        "userCode": user_code,
        "verificationUri": uri,
        "verificationUriComplete": url,
        "expiresIn": script.code_expires_in,
        "interval": script.interval,
    }))
}

fn create_token(state: &mut State, request: &SsoRequest) -> Response {
    let client = match state.client(request) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let grant = |why: &str| Response::error(400, "InvalidGrantException", "invalid_grant", why);
    let script = state.script.clone();
    match request.member("grantType") {
        Some(DEVICE_GRANT) => {
            let Some(code) = request.member("deviceCode") else { return grant("deviceCode is required") };
            let Some(device) = state.devices.get_mut(code) else { return grant("unknown device code") };
            if device.client_id != client.id || device.used {
                return grant("the device code is not this client's, or was used");
            }
            device.polls += 1;
            if Instant::now() >= device.expires_at {
                return Response::error(400, "ExpiredTokenException", "expired_token", "the device code has expired");
            }
            if script.slow_down_once && device.polls == 1 {
                return Response::error(400, "SlowDownException", "slow_down", "poll less often");
            }
            let polls_before = device.polls - usize::from(script.slow_down_once);
            if !script.approve || polls_before <= script.pending_polls {
                return Response::error(
                    400,
                    "AuthorizationPendingException",
                    "authorization_pending",
                    "the user has not approved yet",
                );
            }
            device.used = true;
        }
        Some(REFRESH_GRANT) => {
            let Some(refresh) = request.member("refreshToken") else { return grant("refreshToken is required") };
            if state.refresh_tokens.get(refresh) != Some(&client.id) {
                return grant("unknown or spent refresh token");
            }
            // Single use: a refresh rotates it.
            state.refresh_tokens.remove(refresh);
        }
        _ => {
            return Response::error(400, "UnsupportedGrantTypeException", "unsupported_grant_type", "grantType");
        }
    }
    let access = state.mint_access_token(chrono::Duration::seconds(script.token_expires_in));
    state.created.push(access.clone());
    let mut body = json!({ "accessToken": access, "tokenType": "Bearer", "expiresIn": script.token_expires_in });
    if client.grant_types.iter().any(|g| g == REFRESH_GRANT) {
        body["refreshToken"] = state.mint_refresh_token(&client.id).into();
    }
    Response::json(body)
}

fn signin_token(state: &mut State, request: &SsoRequest) -> Response {
    // The real endpoint answers a bad request with a 400 page, not JSON.
    let bad = |why: &str| Response { status: 400, error_type: None, body: format!("bad request: {why}") };
    if request.param("Action") != Some("getSigninToken") {
        return bad("Action must be getSigninToken");
    }
    let Some(session) = request.param("Session").and_then(|s| serde_json::from_str::<Value>(s).ok()) else {
        return bad("Session is not JSON");
    };
    let fields = session.as_object().map(|o| {
        let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys == ["sessionId", "sessionKey", "sessionToken"]
            && o.values().all(|v| v.as_str().is_some_and(|s| !s.is_empty()))
    });
    if fields != Some(true) {
        return bad("Session must hold exactly sessionId, sessionKey and sessionToken");
    }
    let duration = request.param("SessionDuration").map(String::from);
    if let Some(d) = &duration
        && !d.parse::<u32>().is_ok_and(|d| (900..=43_200).contains(&d))
    {
        return bad("SessionDuration must be 900..43200");
    }
    let n = state.next();
    let token = format!("SigninToken{n:04}StandInXyZ0123456789DoNotLeak");
    state.secrets.push(token.clone());
    state.signins.push(Signin { session, session_duration: duration, signin_token: token.clone() });
    Response::json(json!({ "SigninToken": token }))
}
