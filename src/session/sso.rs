//! IAM Identity Center (SSO): the access token, kept in the cache the AWS CLI v2 and botocore
//! share (`~/.aws/sso/cache/<sha1>.json`, same fields, so a login by either tool serves both),
//! refreshed with its refresh token near expiry; role credentials from the portal; and the
//! OIDC device-authorization login. Nothing here opens a browser or prints: `commands/login`
//! does, from what [`login`] hands it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_ssooidc::config::{BehaviorVersion, Region};
use aws_sdk_ssooidc::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use crate::credentials::{Credentials, Secret};
use crate::env::Env;
use crate::error::{Error, StsFailure, StsKind, Warning};
use crate::fsutil;
use crate::profile::config::{Config, Profile, SsoSession};
use crate::profile::{SsoRole, resolve};

/// Refresh a token this close to its expiry (botocore and the CLI do the same).
const REFRESH_WINDOW: TimeDelta = TimeDelta::minutes(15);
/// A token file is a few hundred bytes.
const MAX_TOKEN_FILE: u64 = 64 * 1024;
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const DEFAULT_SCOPE: &str = "sso:account:access";

/// What a token is for: an `[sso-session NAME]`, or (legacy) a profile's start URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The session's name; `None` for the legacy form.
    pub session: Option<String>,
    pub start_url: String,
    pub region: String,
    pub scopes: Vec<String>,
    /// How the user names it to `rolesh login`.
    pub target: String,
}

impl Login {
    pub fn for_role(role: &SsoRole) -> Login {
        Login {
            session: role.session.clone(),
            start_url: role.start_url.clone(),
            region: role.region.clone(),
            scopes: role.scopes.clone(),
            target: role.session.clone().unwrap_or_else(|| role.profile.clone()),
        }
    }

    /// `rolesh login NAME`: an sso-session of that name, else a profile with SSO settings, else
    /// a profile whose chain starts at an SSO profile.
    pub fn named(cfg: &Config, env: &Env, name: &str) -> Result<Login, Error> {
        if let Some(session) = cfg.sso_sessions.get(name) {
            return Login::for_session(cfg, session);
        }
        let Some(profile) = cfg.get(name) else {
            let mut known: Vec<String> = cfg.sso_sessions.keys().cloned().collect();
            known.extend(cfg.profiles().filter(|p| p.logs_in_to_sso()).map(|p| p.name.clone()));
            let hint =
                if known.is_empty() { "none is set up".to_string() } else { format!("known: {}", known.join(", ")) };
            return Err(Error::config(format!(
                "no sso-session or profile `{name}` in {} ({hint}); run `aws configure sso` to set one up",
                cfg.config_path.display()
            )));
        };
        match cfg.sso_session_of(profile)? {
            Some(session) => Login::for_session(cfg, session),
            None if profile.has("sso_start_url") => Login::for_legacy(profile),
            None => match role_of(cfg, env, name) {
                Some(role) => Ok(Login::for_role(&role)),
                None => Login::for_legacy(profile),
            },
        }
    }

    fn for_session(cfg: &Config, s: &SsoSession) -> Result<Login, Error> {
        let missing = |key: &str| {
            Error::config(format!("[sso-session {}] in {} has no {key}; add it", s.name, cfg.config_path.display()))
        };
        Ok(Login {
            session: Some(s.name.clone()),
            start_url: s.start_url.clone().ok_or_else(|| missing("sso_start_url"))?,
            region: s.region.clone().ok_or_else(|| missing("sso_region"))?,
            scopes: s.scopes.clone(),
            target: s.name.clone(),
        })
    }

    fn for_legacy(p: &Profile) -> Result<Login, Error> {
        let name = &p.name;
        let get = |key: &str| {
            p.non_empty(key).map(String::from).ok_or_else(|| {
                Error::config_of(
                    name,
                    format!(
                        "profile `{name}` has no {key} (nor sso_session), so it cannot log in to SSO; run `aws configure sso --profile {name}`"
                    ),
                )
            })
        };
        Ok(Login {
            session: None,
            start_url: get("sso_start_url")?,
            region: get("sso_region")?,
            scopes: Vec::new(),
            target: name.clone(),
        })
    }

    /// `~/.aws/sso/cache/<sha1 of the session name, or of the start URL>.json`.
    pub fn cache_path(&self, env: &Env) -> PathBuf {
        let key = self.session.as_deref().unwrap_or(&self.start_url);
        let hash: String = Sha1::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        crate::profile::config::home_dir(env).join(".aws").join("sso").join("cache").join(format!("{hash}.json"))
    }

    fn needs_login(&self, why: &str) -> Error {
        let what = match &self.session {
            Some(s) => format!("sso-session `{s}`"),
            None => format!("profile `{}`", self.target),
        };
        Error::SsoToken {
            target: self.target.clone(),
            message: format!("the SSO token of {what} {why}; run `rolesh login {}`", self.target),
        }
    }
}

/// A token cache file's contents.
struct Token {
    access_token: Secret,
    expires_at: DateTime<Utc>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    registration_expires_at: Option<DateTime<Utc>>,
    refresh_token: Option<Secret>,
    /// Every field as read, so that what rolesh does not use is written back as it was.
    fields: Map<String, Value>,
}

/// The CLI's timestamps: RFC 3339 (`Z` or an offset), or the old `…UTC` suffix.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.strip_suffix("UTC").map_or_else(|| text.to_string(), |t| format!("{t}Z"));
    DateTime::parse_from_rfc3339(&text).ok().map(|t| t.with_timezone(&Utc))
}

fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Token {
    fn read(path: &Path) -> Result<Option<Token>, String> {
        let Some(bytes) = fsutil::read_private(path, MAX_TOKEN_FILE).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let fields: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|e| format!("is not JSON ({e})"))?;
        let text = |k: &str| fields.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
        let (Some(access), Some(expires)) = (text("accessToken"), text("expiresAt").and_then(parse_time)) else {
            return Err("has no accessToken or expiresAt".into());
        };
        Ok(Some(Token {
            access_token: Secret::new(access),
            expires_at: expires,
            client_id: text("clientId").map(String::from),
            client_secret: text("clientSecret").map(Secret::new),
            registration_expires_at: text("registrationExpiresAt").and_then(parse_time),
            refresh_token: text("refreshToken").map(Secret::new),
            fields,
        }))
    }

    fn write(&self, path: &Path, login: &Login) -> Result<(), Error> {
        let mut fields = self.fields.clone();
        let mut set = |k: &str, v: Option<String>| match v {
            Some(v) => {
                fields.insert(k.into(), Value::String(v));
            }
            None => {
                fields.remove(k);
            }
        };
        set("startUrl", Some(login.start_url.clone()));
        set("region", Some(login.region.clone()));
        set("accessToken", Some(self.access_token.expose().to_string()));
        set("expiresAt", Some(format_time(self.expires_at)));
        set("clientId", self.client_id.clone());
        set("clientSecret", self.client_secret.as_ref().map(|s| s.expose().to_string()));
        set("registrationExpiresAt", self.registration_expires_at.map(format_time));
        set("refreshToken", self.refresh_token.as_ref().map(|s| s.expose().to_string()));
        let dir = path.parent().unwrap_or(Path::new("."));
        // The directory is the AWS CLI's too: made private, never said.
        fsutil::ensure_private_dir(dir).map_err(|e| Error::state("create", dir, e.into()))?;
        let bytes = serde_json::to_vec(&Value::Object(fields)).map_err(|e| Error::Local(e.to_string()))?;
        fsutil::write_atomic(path, &bytes, 0o600).map_err(|e| Error::state("write", path, e))
    }

    fn registration_valid(&self, now: DateTime<Utc>) -> bool {
        self.client_id.is_some()
            && self.client_secret.is_some()
            && self.registration_expires_at.is_some_and(|e| e > now)
    }
}

fn oidc(login: &Login, env: &Env) -> aws_sdk_ssooidc::Client {
    let mut conf = aws_sdk_ssooidc::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(login.region.clone()))
        .timeout_config(super::sts::timeouts())
        .retry_config(aws_sdk_ssooidc::config::retry::RetryConfig::standard().with_max_attempts(3))
        .http_client(super::http::https());
    if let Some(url) = super::sts::configured_url(env, "SSO_OIDC") {
        conf = conf.endpoint_url(url);
    }
    aws_sdk_ssooidc::Client::from_conf(conf.build())
}

fn portal(region: &str, env: &Env) -> aws_sdk_sso::Client {
    let mut conf = aws_sdk_sso::Config::builder()
        .behavior_version(aws_sdk_sso::config::BehaviorVersion::latest())
        .region(aws_sdk_sso::config::Region::new(region.to_string()))
        .timeout_config(super::sts::timeouts())
        .retry_config(aws_sdk_sso::config::retry::RetryConfig::standard().with_max_attempts(3))
        .http_client(super::http::https());
    if let Some(url) = super::sts::configured_url(env, "SSO") {
        conf = conf.endpoint_url(url);
    }
    aws_sdk_sso::Client::from_conf(conf.build())
}

/// A usable access token for `login`: the cached one, refreshed (and written back) when it is
/// within 15 minutes of expiry and can be; an error naming `rolesh login` when there is none.
pub async fn access_token(login: &Login, env: &Env, warnings: Option<&mut Vec<Warning>>) -> Result<Secret, Error> {
    let path = login.cache_path(env);
    let token = match Token::read(&path) {
        Ok(Some(t)) => t,
        Ok(None) => return Err(login.needs_login("is not there (never logged in)")),
        Err(why) => return Err(login.needs_login(&format!("in {} {why}", path.display()))),
    };
    let now = Utc::now();
    if token.expires_at > now + REFRESH_WINDOW {
        return Ok(token.access_token);
    }
    if token.refresh_token.is_some() && token.registration_valid(now) {
        match refresh(login, env, &token).await {
            Ok(fresh) => {
                // The refresh token may be spent: the new token is used even if it cannot be
                // kept, and the user is told.
                if let Err(e) = fresh.write(&path, login)
                    && let Some(w) = warnings
                {
                    w.push(Warning::File(format!("could not keep the refreshed SSO token: {}", e.render())));
                }
                return Ok(fresh.access_token);
            }
            Err(e) => {
                // Another process (rolesh or the AWS CLI) may have refreshed it meanwhile, using
                // up the refresh token we read: what it wrote is as good.
                if let Ok(Some(now_there)) = Token::read(&path)
                    && now_there.expires_at > Utc::now() + REFRESH_WINDOW
                {
                    return Ok(now_there.access_token);
                }
                // Still good for a while: use it, and let a later run refresh it.
                if token.expires_at > now {
                    return Ok(token.access_token);
                }
                return Err(login.needs_login(&format!("has expired and could not be refreshed ({})", e.render())));
            }
        }
    }
    if token.expires_at > now { Ok(token.access_token) } else { Err(login.needs_login("has expired")) }
}

async fn refresh(login: &Login, env: &Env, token: &Token) -> Result<Token, Error> {
    let (Some(id), Some(secret), Some(refresh)) = (&token.client_id, &token.client_secret, &token.refresh_token) else {
        return Err(Error::Local("no refresh token".into()));
    };
    let out = oidc(login, env)
        .create_token()
        .client_id(id)
        .client_secret(secret.expose())
        .grant_type("refresh_token")
        .refresh_token(refresh.expose())
        .send()
        .await
        .map_err(|e| oidc_error(login, e, "refreshing the token"))?;
    let access = out.access_token().ok_or_else(|| Error::Local("the token refresh returned no token".into()))?;
    Ok(Token {
        access_token: Secret::new(access),
        expires_at: Utc::now() + TimeDelta::seconds(i64::from(out.expires_in())),
        refresh_token: out.refresh_token().map(Secret::new).or_else(|| token.refresh_token.clone()),
        client_id: token.client_id.clone(),
        client_secret: token.client_secret.clone(),
        registration_expires_at: token.registration_expires_at,
        fields: token.fields.clone(),
    })
}

fn oidc_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    login: &Login,
    e: SdkError<E, aws_sdk_ssooidc::config::http::HttpResponse>,
    doing: &str,
) -> Error {
    if !matches!(e, SdkError::ServiceError(_)) {
        // No answer at all: the network, not the login (exit 6, as for STS).
        let why = crate::error::one_line(&e);
        return Error::Sts(Box::new(StsFailure {
            kind: StsKind::Unreachable,
            profile: login.target.clone(),
            doing: format!("SSO {doing}"),
            code: String::new(),
            message: why.clone(),
            detail: format!(
                "could not reach IAM Identity Center ({}) for `{}` while {doing}: {why}; check the network and sso_region",
                login.region, login.target
            ),
        }));
    }
    let message = match e.message() {
        Some(m) => format!("{}: {m}", e.code().unwrap_or("error")),
        None => crate::error::one_line(&e),
    };
    Error::SsoToken {
        target: login.target.clone(),
        message: format!(
            "SSO {doing} for `{t}` failed: {message}; check the network and the sso_start_url and sso_region of `{t}`, then run `rolesh login {t}` again",
            t = login.target
        ),
    }
}

/// Role credentials for an SSO profile from the portal (`GetRoleCredentials`).
pub async fn role_credentials(
    role: &SsoRole,
    env: &Env,
    warnings: Option<&mut Vec<Warning>>,
) -> Result<Credentials, Error> {
    let login = Login::for_role(role);
    let token = access_token(&login, env, warnings).await?;
    let out = portal(&role.region, env)
        .get_role_credentials()
        .role_name(&role.role_name)
        .account_id(&role.account_id)
        .access_token(token.expose())
        .send()
        .await
        .map_err(|e| portal_error(role, &login, e))?;
    let c = out
        .role_credentials()
        .ok_or_else(|| portal_failure(role, StsKind::Malformed, "answered without credentials", ""))?;
    let (Some(id), Some(secret)) = (c.access_key_id(), c.secret_access_key()) else {
        return Err(portal_failure(role, StsKind::Malformed, "answered without keys", ""));
    };
    Ok(Credentials {
        access_key_id: id.to_string(),
        secret_access_key: Secret::new(secret),
        session_token: c.session_token().map(Secret::new),
        // The portal gives milliseconds since the epoch.
        expiration: DateTime::from_timestamp_millis(c.expiration()),
    })
}

fn portal_failure(role: &SsoRole, kind: StsKind, what: &str, message: &str) -> Error {
    let doing = format!("getting role {} in account {} from the SSO portal", role.role_name, role.account_id);
    Error::Sts(Box::new(StsFailure {
        kind,
        profile: role.profile.clone(),
        doing: doing.clone(),
        code: String::new(),
        message: message.to_string(),
        detail: format!("{doing} (profile `{}`): {what}", role.profile),
    }))
}

fn portal_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    role: &SsoRole,
    login: &Login,
    e: SdkError<E, aws_sdk_sso::config::http::HttpResponse>,
) -> Error {
    if !matches!(e, SdkError::ServiceError(_)) {
        let why = crate::error::one_line(&e);
        return portal_failure(
            role,
            StsKind::Unreachable,
            &format!("could not reach it: {why}; check the network"),
            &why,
        );
    }
    let message = e.message().unwrap_or_default().replace(['\n', '\r'], " ");
    match e.code().unwrap_or_default() {
        "UnauthorizedException" => login.needs_login("was refused by the portal"),
        "ForbiddenException" | "ResourceNotFoundException" => portal_failure(
            role,
            StsKind::AccessDenied,
            &format!("{message}; check that your permission set assignment gives you this role in this account"),
            &message,
        ),
        "TooManyRequestsException" => {
            portal_failure(role, StsKind::Throttled, &format!("{message}; wait a moment and try again"), &message)
        }
        code => portal_failure(role, StsKind::Refused, &format!("{code}: {message}"), &message),
    }
}

/// What the user must do to approve a login.
pub struct DeviceCode {
    /// The page with the code filled in.
    pub url: String,
    pub user_code: String,
}

/// The device-authorization login: register the client (reusing a registration still valid),
/// start the authorization, hand the code to `show` (which opens the browser or prints),
/// then poll for the token at the interval asked (longer after a `slow_down`) and write it
/// where the CLI looks. Returns when the token expires.
pub async fn login(login: &Login, env: &Env, show: impl FnOnce(&DeviceCode)) -> Result<DateTime<Utc>, Error> {
    let path = login.cache_path(env);
    let old = Token::read(&path).ok().flatten();
    let client = oidc(login, env);
    let now = Utc::now();
    let (client_id, client_secret, registration_expires_at) =
        match old.as_ref().filter(|t| t.registration_valid(now + REFRESH_WINDOW)) {
            Some(t) => (
                t.client_id.clone().unwrap_or_default(),
                t.client_secret.clone().unwrap_or(Secret::new("")),
                t.registration_expires_at,
            ),
            None => {
                let scopes =
                    if login.scopes.is_empty() { vec![DEFAULT_SCOPE.to_string()] } else { login.scopes.clone() };
                let mut register =
                    client.register_client().client_name(format!("rolesh-{}", now.timestamp())).client_type("public");
                if login.session.is_some() {
                    // Only a session's registration asks for refresh tokens, as the CLI does.
                    register = register.set_scopes(Some(scopes)).grant_types(DEVICE_GRANT).grant_types("refresh_token");
                }
                let out = register.send().await.map_err(|e| oidc_error(login, e, "registering rolesh"))?;
                let (Some(id), Some(secret)) = (out.client_id(), out.client_secret()) else {
                    return Err(Error::SsoToken {
                        target: login.target.clone(),
                        message: format!(
                            "the SSO registration returned no client; run `rolesh login {}` again",
                            login.target
                        ),
                    });
                };
                (id.to_string(), Secret::new(secret), DateTime::from_timestamp(out.client_secret_expires_at(), 0))
            }
        };
    let started = client
        .start_device_authorization()
        .client_id(&client_id)
        .client_secret(client_secret.expose())
        .start_url(&login.start_url)
        .send()
        .await
        .map_err(|e| oidc_error(login, e, "starting the authorization"))?;
    let device_code = started.device_code().unwrap_or_default().to_string();
    let user_code = started.user_code().unwrap_or_default().to_string();
    let url = started.verification_uri_complete().or(started.verification_uri()).unwrap_or_default().to_string();
    show(&DeviceCode { url, user_code });
    let mut interval = Duration::from_secs(u64::try_from(started.interval()).unwrap_or(5).max(1));
    let deadline = Utc::now() + TimeDelta::seconds(i64::from(started.expires_in().max(60)));
    loop {
        tokio::time::sleep(interval).await;
        let polled = client
            .create_token()
            .client_id(&client_id)
            .client_secret(client_secret.expose())
            .grant_type(DEVICE_GRANT)
            .device_code(&device_code)
            .send()
            .await;
        match polled {
            Ok(out) => {
                let access = out.access_token().ok_or_else(|| Error::SsoToken {
                    target: login.target.clone(),
                    message: format!("the SSO login returned no token; run `rolesh login {}` again", login.target),
                })?;
                let token = Token {
                    access_token: Secret::new(access),
                    expires_at: Utc::now() + TimeDelta::seconds(i64::from(out.expires_in())),
                    client_id: Some(client_id),
                    client_secret: Some(client_secret),
                    registration_expires_at,
                    refresh_token: out.refresh_token().map(Secret::new),
                    fields: old.map(|t| t.fields).unwrap_or_default(),
                };
                token.write(&path, login)?;
                return Ok(token.expires_at);
            }
            Err(SdkError::ServiceError(e)) if e.err().is_authorization_pending_exception() => {}
            Err(SdkError::ServiceError(e)) if e.err().is_slow_down_exception() => interval += Duration::from_secs(5),
            Err(SdkError::ServiceError(e)) if e.err().is_expired_token_exception() => {
                return Err(Error::SsoToken {
                    target: login.target.clone(),
                    message: format!(
                        "the login code expired before it was approved; run `rolesh login {}` again",
                        login.target
                    ),
                });
            }
            Err(e) => return Err(oidc_error(login, e, "waiting for the approval")),
        }
        if Utc::now() > deadline {
            return Err(Error::SsoToken {
                target: login.target.clone(),
                message: format!("the login was not approved in time; run `rolesh login {}` again", login.target),
            });
        }
    }
}

/// The SSO role a profile name resolves to, if its chain starts at one (for `login PROFILE`).
pub fn role_of(cfg: &Config, env: &Env, profile: &str) -> Option<SsoRole> {
    match resolve(cfg, env, profile, &Default::default()).ok()?.plan.source {
        crate::profile::Source::Sso(role) => Some(role),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_file_is_named_as_the_cli_names_it() {
        // The names botocore gives them: sha1 of the session name, or of the start URL.
        let env = Env::from_pairs([("HOME", "/h")]);
        let session = Login {
            session: Some("my-sso".into()),
            start_url: "https://x".into(),
            region: "r".into(),
            scopes: vec![],
            target: "my-sso".into(),
        };
        assert_eq!(
            session.cache_path(&env),
            Path::new("/h/.aws/sso/cache/0ad374308c5a4e22f723adf10145eafad7c4031c.json")
        );
        let legacy = Login { session: None, start_url: "https://d-123.awsapps.com/start".into(), ..session };
        assert_eq!(
            legacy.cache_path(&env),
            Path::new("/h/.aws/sso/cache/2b829a45f04c9828cb45b7d092d8e4aa30818393.json")
        );
    }

    #[test]
    fn a_login_that_cannot_start_says_what_to_add_or_run() {
        let env = Env::from_pairs([("HOME", "/h")]);
        let error = |config: &str, name: &str| match Login::named(&Config::parse(config, "").unwrap(), &env, name) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("`rolesh login {name}` should fail"),
        };
        let dangling = error("[profile d]\nsso_session = gone\n", "d");
        assert!(dangling.contains("there is no [sso-session gone]; add it to"), "{dangling}");
        let legacy = error("[profile l]\nsso_start_url = https://x/start\n", "l");
        assert!(legacy.ends_with("run `aws configure sso --profile l`"), "{legacy}");
        let unknown = error("", "nope");
        assert!(unknown.ends_with("run `aws configure sso` to set one up"), "{unknown}");
    }

    #[test]
    fn the_clis_timestamps_are_read_in_all_their_forms() {
        let want = DateTime::from_timestamp(1_800_000_000, 0);
        assert_eq!(parse_time("2027-01-15T08:00:00Z"), want);
        assert_eq!(parse_time("2027-01-15T08:00:00+00:00"), want);
        assert_eq!(parse_time("2027-01-15T08:00:00UTC"), want);
        assert_eq!(format_time(want.unwrap()), "2027-01-15T08:00:00Z");
        assert_eq!(parse_time("soon"), None);
    }
}
