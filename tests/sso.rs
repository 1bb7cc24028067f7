//! IAM Identity Center (SSO) and the web console, against loopback stand-ins: the SSO portal,
//! sso-oidc and the federation endpoint (tests/support/sso.rs) beside the SigV4-verifying STS
//! stand-in. The token cache is the one the AWS CLI shares: token files are written here in
//! the CLI's format, and the real aws CLI from the venv (botocore) reads and writes them too.
#![cfg(unix)]

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use support::fixtures::{USER_KEY, child_env, exec_env, user_env};
use support::hostile::{files_under, is_private_cache_entry};
use support::process::{DEADLINE, Outcome, run};
use support::sso::{
    DEVICE_GRANT, DEVICE_PATH, PORTAL_PATH, REFRESH_GRANT, REGISTER_PATH, RoleKeys, SsoRequest, SsoStandIn, TOKEN_PATH,
};
use support::{StandIn, TestEnv};

const SESSION: &str = "corp";
const START_URL: &str = "https://d-9067c0ffee.awsapps.com/start";
const SSO_REGION: &str = "eu-west-1";
const ACCOUNT: &str = "111111111111";
const ROLE_NAME: &str = "Developer";
const MID_ROLE: &str = "arn:aws:iam::222222222222:role/mid";
const TOP_ROLE: &str = "arn:aws:iam::333333333333:role/top";

/// `[sso-session corp]` and `[profile dev]`, which gets `Developer` in 111111111111 from it.
fn sso_config() -> String {
    format!(
        "[sso-session {SESSION}]
         sso_start_url = {START_URL}
         sso_region = {SSO_REGION}
         sso_registration_scopes = sso:account:access
         [profile dev]
         sso_session = {SESSION}
         sso_account_id = {ACCOUNT}
         sso_role_name = {ROLE_NAME}
         region = eu-west-1
         "
    )
}

/// `[profile legacy]`: the same role in the legacy form, start URL and region in the profile.
fn legacy_config() -> String {
    format!(
        "[profile legacy]
         sso_start_url = {START_URL}
         sso_region = {SSO_REGION}
         sso_account_id = {ACCOUNT}
         sso_role_name = {ROLE_NAME}
         "
    )
}

/// An STS stand-in, the SSO stand-in with `Developer` assigned (its keys known to STS), and a
/// HOME whose endpoints are theirs: `AWS_ENDPOINT_URL_SSO` and `_SSO_OIDC` for rolesh and the
/// aws CLI alike, `ROLESH_SIGNIN_URL`, and a browser that only records what it was given.
struct Sso {
    sts: StandIn,
    sso: SsoStandIn,
    keys: RoleKeys,
    env: TestEnv,
}

impl Sso {
    fn new(extra_config: &str) -> Sso {
        let sts = StandIn::start();
        let sso = SsoStandIn::start();
        let keys = sso.assign(&sts, ACCOUNT, ROLE_NAME);
        let mut env = user_env(&sts);
        env.config(&format!("{}{extra_config}", sso_config()));
        let browser = env.root().join("browser");
        // The browser inherits rolesh's stderr: a run's output is complete only once the browser
        // has exited too, so its record is there when `run` returns (and absent if it never ran).
        std::fs::write(
            &browser,
            format!("#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{}'\n", env.root().join("browser.log").display()),
        )
        .unwrap();
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
        env.set("AWS_ENDPOINT_URL_SSO", sso.endpoint())
            .set("AWS_ENDPOINT_URL_SSO_OIDC", sso.endpoint())
            .set("ROLESH_SIGNIN_URL", sso.signin_url())
            .set("ROLESH_BROWSER", &browser)
            // aws CLI v1 reads the region only from AWS_DEFAULT_REGION.
            .set("AWS_DEFAULT_REGION", "us-east-1");
        Sso { sts, sso, keys, env }
    }

    /// What the browser was asked to open, one argument a line.
    fn browser_calls(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.env.root().join("browser.log")).unwrap_or_default();
        log.lines().map(String::from).collect()
    }

    fn token_path(&self, key: &str) -> PathBuf {
        token_path(&self.env, key)
    }

    /// Writes a token file as the AWS CLI does (0600 in `~/.aws/sso/cache`).
    fn write_token(&self, key: &str, token: &Value) -> PathBuf {
        let path = self.token_path(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_vec_pretty(token).unwrap()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    fn read_token(&self, key: &str) -> Value {
        let path = self.token_path(key);
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
    }

    /// A token for `corp` the portal accepts, in the CLI v2's format with a registration and
    /// a refresh token (as `aws sso login` writes for an sso-session), valid for `left`.
    fn cli_token(&self, left: chrono::Duration) -> Value {
        let client = self.sso.register_client(chrono::Duration::days(60));
        json!({
            "startUrl": START_URL,
            "region": SSO_REGION,
            "accessToken": self.sso.accept_token(left),
            "expiresAt": cli_time(Utc::now() + left),
            "clientId": client.id,
            "clientSecret": client.secret,
            "registrationExpiresAt": cli_time(client.expires_at),
            "refreshToken": self.sso.accept_refresh_token(&client),
        })
    }

    /// The real aws CLI with this HOME's files and endpoints.
    fn aws(&self, args: &[&str]) -> Outcome {
        run(self.env.command_for("aws", args))
    }

    /// Fails if any token, refresh token, client secret or sign-in token reaches `outcomes`, the
    /// ledger or any file under the test's root but the SSO token cache, rolesh's own cache
    /// entries and (for `console`) the private redirect page. The `--stdout` URL is the one
    /// output allowed to hold a sign-in token: leave such an outcome out.
    #[track_caller]
    fn assert_no_token_leaks(&self, outcomes: &[&Outcome]) {
        let secrets = self.sso.secrets();
        assert!(!secrets.is_empty());
        for outcome in outcomes {
            for secret in &secrets {
                let leaked = outcome.stdout().contains(secret.as_str()) || outcome.stderr.contains(secret.as_str());
                assert!(!leaked, "{secret} reached the output:\n{outcome}");
            }
        }
        let sso_cache = self.env.home().join(".aws/sso/cache");
        // `<sha1>.json` in the SSO cache: the token files, which hold tokens by design.
        let token_file = |p: &Path| {
            p.parent() == Some(sso_cache.as_path())
                && p.file_stem().and_then(|s| s.to_str()).is_some_and(|s| s.len() == 40)
                && p.extension().is_some_and(|e| e == "json")
        };
        let console_pages = self.env.state_home().join("rolesh/console");
        let mut scanned = 0;
        for path in files_under(self.env.root()) {
            if token_file(&path) || path.starts_with(&console_pages) || is_private_cache_entry(&self.env, &path) {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            scanned += 1;
            for secret in &secrets {
                assert!(!text.contains(secret.as_str()), "{secret} is in {}", path.display());
            }
        }
        assert!(scanned > 0, "the scan looked at nothing");
    }
}

fn sha1_hex(text: &str) -> String {
    Sha1::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the CLI keeps the token of an sso-session (keyed by its name) or of a legacy profile
/// (keyed by its start URL).
fn token_path(env: &TestEnv, key: &str) -> PathBuf {
    env.home().join(".aws/sso/cache").join(format!("{}.json", sha1_hex(key)))
}

/// The CLI v2's (and botocore's) timestamp: `2026-01-15T08:00:00Z`.
fn cli_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text:?}: {e}")).with_timezone(&Utc)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o7777
}

fn hours(n: i64) -> chrono::Duration {
    chrono::Duration::hours(n)
}

fn minutes(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

/// The time between consecutive requests, as the stand-in received them.
fn gaps(requests: &[SsoRequest]) -> Vec<Duration> {
    requests.windows(2).map(|w| w[1].at.duration_since(w[0].at)).collect()
}

// --- Role credentials from the portal -----------------------------------------------------

#[test]
fn an_sso_profile_runs_with_a_token_the_cli_wrote_and_a_warm_exec_makes_no_call() {
    let s = Sso::new("");
    let token = s.cli_token(hours(8));
    let path = s.write_token(SESSION, &token);
    let written = std::fs::read(&path).unwrap();

    let vars = child_env(&s.env.run(exec_env("dev", &[])));
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], s.keys.access_key_id);
    assert_eq!(vars["AWS_SECRET_ACCESS_KEY"], s.keys.secret_access_key);
    assert_eq!(vars["AWS_SESSION_TOKEN"], s.keys.session_token);
    assert_eq!(vars["AWS_REGION"], "eu-west-1");
    // The portal's expiration is in milliseconds: read as seconds it would be millennia away.
    let expires: i64 = vars["ROLESH_EXPIRES"].parse().unwrap();
    let left = expires - Utc::now().timestamp();
    assert!((3500..=3600).contains(&left), "the portal's keys last an hour, not {left}s");

    let portal = s.sso.calls(PORTAL_PATH);
    assert_eq!(portal.len(), 1);
    assert_eq!(portal[0].header("x-amz-sso_bearer_token"), token["accessToken"].as_str());
    assert_eq!(portal[0].param("account_id"), Some(ACCOUNT));
    assert_eq!(portal[0].param("role_name"), Some(ROLE_NAME));
    // Portal keys are handed over as they are: no STS call, no login, no refresh.
    assert!(s.sts.requests().is_empty(), "{:?}", s.sts.requests());
    assert_eq!(s.sso.requests().len(), 1);
    assert_eq!(std::fs::read(&path).unwrap(), written, "a token far from expiry is left as the CLI wrote it");

    // Warm: rolesh's own cache answers.
    let again = child_env(&s.env.run(exec_env("dev", &[])));
    assert_eq!(again["AWS_ACCESS_KEY_ID"], s.keys.access_key_id);
    assert_eq!(s.sso.count(PORTAL_PATH), 1, "a warm exec called the portal");
    let (entry, _) = s.env.cache_entry(&s.keys.access_key_id);
    assert_eq!(mode(&entry), 0o600);
}

#[test]
fn a_legacy_profile_reads_the_token_the_old_cli_wrote_with_utc_timestamps() {
    let s = Sso::new(&legacy_config());
    // The legacy form is keyed by the start URL, and early CLI v2 releases wrote `…UTC` times
    // and no registration.
    let access = s.sso.accept_token(hours(8));
    let expires = (Utc::now() + hours(8)).format("%Y-%m-%dT%H:%M:%SUTC").to_string();
    s.write_token(
        START_URL,
        &json!({ "startUrl": START_URL, "region": SSO_REGION, "accessToken": access, "expiresAt": expires }),
    );
    let vars = child_env(&s.env.run(exec_env("legacy", &[])));
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], s.keys.access_key_id);
    let portal = s.sso.calls(PORTAL_PATH);
    assert_eq!(portal.len(), 1);
    assert_eq!(portal[0].header("x-amz-sso_bearer_token"), Some(access.as_str()));
}

#[test]
fn an_sso_profile_sources_a_two_hop_chain_whose_first_hop_is_capped_at_an_hour() {
    let s = Sso::new(&format!(
        "[profile mid]
         role_arn = {MID_ROLE}
         source_profile = dev
         duration_seconds = 7200
         [profile top]
         role_arn = {TOP_ROLE}
         source_profile = mid
         "
    ));
    s.write_token(SESSION, &s.cli_token(hours(8)));
    let outcome = s.env.run(exec_env("top", &[]));
    let vars = child_env(&outcome);

    let assumed = s.sts.calls("AssumeRole");
    assert_eq!(assumed.len(), 2, "{:?}", s.sts.requests());
    // The first hop is signed with the portal's keys and their session token...
    assert_eq!(assumed[0].param("RoleArn"), Some(MID_ROLE));
    assert_eq!(assumed[0].signer(), s.keys.access_key_id);
    assert_eq!(assumed[0].security_token.as_deref(), Some(s.keys.session_token.as_str()));
    assert_eq!(assumed[0].signature_ok, Some(true));
    // ...and is role chaining: an hour, whatever duration_seconds says (the stand-in does not
    // know the portal's keys are a role's, so this is asserted on the request itself).
    assert_eq!(assumed[0].param("DurationSeconds"), Some("3600"));
    assert!(outcome.stderr.contains("asking for 3600s instead of 7200s"), "{outcome}");
    // The next hop is signed by the first one's keys.
    let issued = s.sts.issued();
    assert_eq!(assumed[1].param("RoleArn"), Some(TOP_ROLE));
    assert_eq!(assumed[1].signer(), issued[0].access_key_id);
    assert_eq!(assumed[1].signature_ok, Some(true));
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], issued[1].access_key_id);
    assert_eq!(s.sso.count(PORTAL_PATH), 1);
}

#[test]
fn every_command_that_takes_a_profile_takes_an_sso_profile() {
    let s = Sso::new("");
    s.write_token(SESSION, &s.cli_token(hours(8)));
    let key = s.keys.access_key_id.as_str();

    let exported: Value =
        serde_json::from_slice(&s.env.run(["export", "dev", "-f", "json"]).assert_ok().stdout).unwrap();
    assert_eq!(exported["AccessKeyId"], key);
    let process: Value = serde_json::from_slice(&s.env.run(["credential-process", "dev"]).assert_ok().stdout).unwrap();
    assert_eq!((process["Version"].as_i64(), process["AccessKeyId"].as_str()), (Some(1), Some(key)));
    let whoami = s.env.run(["whoami", "dev", "--json"]);
    let identity: Value = serde_json::from_slice(&whoami.assert_ok().stdout).unwrap();
    assert_eq!(identity["Arn"], s.keys.arn(), "{whoami}");
    s.env.run(["save", "dev", "--as", "saved"]).assert_ok();
    let credentials = std::fs::read_to_string(s.env.credentials_path()).unwrap();
    assert!(credentials.contains("[saved]") && credentials.contains(key), "{credentials}");
    // The credentials server hands the same keys to a command that asks for them.
    let fetch = "import os, urllib.request as u; \
                 r = u.Request(os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'], \
                 headers={'Authorization': os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN']}); \
                 print(u.urlopen(r).read().decode())";
    let served = s.env.run(["exec", "--server", "dev", "--", "python3", "-c", fetch]);
    let served: Value = serde_json::from_slice(&served.assert_ok().stdout).unwrap();
    assert_eq!(served["AccessKeyId"], key);
    // A subshell (here a "shell" that prints its environment), and `use` in this shell.
    let shell = s.env.run(["shell", "dev", "--shell", "/usr/bin/env"]);
    assert!(shell.assert_ok().stdout().contains(&format!("AWS_ACCESS_KEY_ID={key}\n")), "{shell}");
    let script = format!(
        "eval \"$('{}' init bash)\"; rolesh use dev; printf '%s' \"$AWS_ACCESS_KEY_ID\"",
        support::rolesh_bin().display()
    );
    let used = run(s.env.command_for("bash", ["--norc", "--noprofile", "-c", &script]));
    assert_eq!(used.assert_ok().stdout(), key, "{used}");
    // GetCallerIdentity was signed with the portal's keys; everything else came from the cache.
    assert!(s.sts.calls("GetCallerIdentity").iter().all(|c| c.signer() == key && c.signature_ok == Some(true)));
    assert_eq!(s.sso.count(PORTAL_PATH), 1, "only the first command should call the portal");
}

#[test]
fn a_role_the_portal_does_not_give_is_access_denied_naming_the_assignment() {
    let s = Sso::new(&format!(
        "[profile other]
         sso_session = {SESSION}
         sso_account_id = 999999999999
         sso_role_name = Admin
         "
    ));
    s.write_token(SESSION, &s.cli_token(hours(8)));
    let outcome = s.env.run(exec_env("other", &[]));
    outcome.assert_error(5);
    assert!(outcome.error_line().contains("999999999999"), "{outcome}");
    assert!(outcome.stderr.contains("permission set"), "{outcome}");
    assert_eq!(s.sso.count(PORTAL_PATH), 1);
}

#[test]
fn a_token_the_portal_refuses_names_rolesh_login() {
    let s = Sso::new("");
    // Valid by its date, but the portal does not know it (signed out, revoked).
    let mut token = s.cli_token(hours(8));
    token["accessToken"] = "aoaRevokedToken".into();
    s.write_token(SESSION, &token);
    let outcome = s.env.run(exec_env("dev", &[]));
    outcome.assert_error(5);
    assert!(outcome.stderr.contains("rolesh login corp"), "{outcome}");
    assert!(s.browser_calls().is_empty(), "a browser was opened: {:?}", s.browser_calls());
}

// --- The token's expiry and refresh -------------------------------------------------------

#[test]
fn a_token_within_fifteen_minutes_of_expiry_is_refreshed_and_written_back_with_its_other_fields() {
    let s = Sso::new("");
    let mut token = s.cli_token(minutes(10));
    // A field rolesh has no use for (a newer CLI's) is written back as it was.
    token["futureField"] = json!({ "kept": true });
    let path = s.write_token(SESSION, &token);
    let inode = std::fs::metadata(&path).unwrap().ino();

    let vars = child_env(&s.env.run(exec_env("dev", &[])));
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], s.keys.access_key_id);

    let refreshes = s.sso.calls(TOKEN_PATH);
    assert_eq!(refreshes.len(), 1);
    assert_eq!(refreshes[0].member("grantType"), Some(REFRESH_GRANT));
    assert_eq!(refreshes[0].member("refreshToken"), token["refreshToken"].as_str());
    assert_eq!(refreshes[0].member("clientId"), token["clientId"].as_str());
    assert_eq!(refreshes[0].member("clientSecret"), token["clientSecret"].as_str());
    let fresh = s.sso.created_tokens().pop().expect("a token was issued");
    // The portal got the new token, not the old one.
    let portal = s.sso.calls(PORTAL_PATH);
    assert_eq!(portal.len(), 1);
    assert_eq!(portal[0].header("x-amz-sso_bearer_token"), Some(fresh.as_str()));

    let written = s.read_token(SESSION);
    assert_eq!(written["accessToken"], fresh.as_str());
    let left = parse_time(written["expiresAt"].as_str().unwrap()) - Utc::now();
    assert!(left > hours(7), "expiresAt should be the new token's: {written}");
    // The refresh token rotated; the registration and everything else stayed.
    assert_ne!(written["refreshToken"], token["refreshToken"]);
    assert!(written["refreshToken"].as_str().is_some_and(|t| s.sso.secrets().contains(&t.to_owned())), "{written}");
    for kept in ["startUrl", "region", "clientId", "clientSecret", "registrationExpiresAt", "futureField"] {
        assert_eq!(written[kept], token[kept], "{kept} changed: {written}");
    }
    // Atomically: a new file renamed into place, private, with no temp file left behind.
    assert_eq!(mode(&path), 0o600);
    assert_ne!(std::fs::metadata(&path).unwrap().ino(), inode, "the token file was rewritten in place");
    let dir: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(dir, std::slice::from_ref(&path), "something beside the token file");

    // The refreshed token serves the next cold run without another refresh.
    s.env.run(exec_env("dev", &["--no-cache"])).assert_ok();
    assert_eq!(s.sso.count(TOKEN_PATH), 1);
}

#[test]
fn an_expired_token_is_refreshed_when_its_registration_and_refresh_token_are_good() {
    let s = Sso::new("");
    let token = s.cli_token(minutes(-30));
    s.write_token(SESSION, &token);
    let vars = child_env(&s.env.run(exec_env("dev", &[])));
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], s.keys.access_key_id);
    assert_eq!(s.sso.calls(TOKEN_PATH)[0].member("grantType"), Some(REFRESH_GRANT));
    let fresh = s.sso.created_tokens().pop().unwrap();
    assert_eq!(s.sso.calls(PORTAL_PATH)[0].header("x-amz-sso_bearer_token"), Some(fresh.as_str()));
    assert_eq!(s.read_token(SESSION)["accessToken"], fresh.as_str());
    assert!(s.browser_calls().is_empty());
}

#[test]
fn a_token_near_expiry_whose_refresh_is_refused_is_used_while_it_lasts() {
    let s = Sso::new("");
    let mut token = s.cli_token(minutes(10));
    token["refreshToken"] = "aorNotKnownToTheService".into();
    let path = s.write_token(SESSION, &token);
    let before = std::fs::read(&path).unwrap();
    let vars = child_env(&s.env.run(exec_env("dev", &[])));
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], s.keys.access_key_id);
    assert_eq!(s.sso.count(TOKEN_PATH), 1, "the refresh should have been tried");
    assert_eq!(s.sso.calls(PORTAL_PATH)[0].header("x-amz-sso_bearer_token"), token["accessToken"].as_str());
    assert_eq!(std::fs::read(&path).unwrap(), before, "a failed refresh must not touch the file");
}

/// An expired token that cannot be refreshed: exit 5 naming `rolesh login corp`, nothing
/// called but (if `tries_refresh`) the refresh, no browser, the file as it was.
#[track_caller]
fn assert_needs_login(s: &Sso, token: &Value, tries_refresh: bool) {
    let path = s.write_token(SESSION, token);
    let before = std::fs::read(&path).unwrap();
    for args in [exec_env("dev", &[]), vec!["credential-process", "dev"], vec!["console", "dev"]] {
        let outcome = s.env.run(&args);
        outcome.assert_error(5);
        assert!(outcome.error_line().contains("rolesh login corp"), "{outcome}");
        assert!(outcome.error_line().contains("`corp`"), "the session should be named:\n{outcome}");
    }
    let called: Vec<String> = s.sso.requests().iter().map(|r| r.path.clone()).collect();
    let want: Vec<String> = if tries_refresh { vec![TOKEN_PATH.to_owned(); 3] } else { vec![] };
    assert_eq!(called, want);
    assert!(s.sts.requests().is_empty());
    assert!(s.browser_calls().is_empty(), "a browser was opened: {:?}", s.browser_calls());
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn an_expired_token_without_a_refresh_token_names_rolesh_login_and_opens_nothing() {
    let s = Sso::new("");
    let mut token = s.cli_token(minutes(-5));
    let map = token.as_object_mut().unwrap();
    for field in ["clientId", "clientSecret", "registrationExpiresAt", "refreshToken"] {
        map.remove(field);
    }
    assert_needs_login(&s, &token, false);
}

#[test]
fn an_expired_token_whose_registration_expired_names_rolesh_login_without_calling_anything() {
    let s = Sso::new("");
    let mut token = s.cli_token(minutes(-5));
    token["registrationExpiresAt"] = cli_time(Utc::now() - minutes(1)).into();
    assert_needs_login(&s, &token, false);
}

#[test]
fn an_expired_token_whose_refresh_is_refused_names_rolesh_login() {
    let s = Sso::new("");
    let mut token = s.cli_token(minutes(-5));
    token["refreshToken"] = "aorNotKnownToTheService".into();
    assert_needs_login(&s, &token, true);
}

#[test]
fn a_missing_token_names_rolesh_login_with_the_profile_for_the_legacy_form() {
    let s = Sso::new(&legacy_config());
    let outcome = s.env.run(exec_env("legacy", &[]));
    outcome.assert_error(5);
    assert!(outcome.error_line().contains("rolesh login legacy"), "{outcome}");
    assert!(s.sso.requests().is_empty());
    assert!(s.browser_calls().is_empty());
}

// --- rolesh login -------------------------------------------------------------------------

/// The token file `rolesh login` wrote, checked field by field against what the stand-in
/// issued: the CLI v2's fields, its timestamp format, 0600.
#[track_caller]
fn assert_cli_token_file(s: &Sso, key: &str) -> Value {
    let path = s.token_path(key);
    assert_eq!(mode(&path), 0o600, "{}", path.display());
    let token = s.read_token(key);
    let mut fields: Vec<&str> = token.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "accessToken",
            "clientId",
            "clientSecret",
            "expiresAt",
            "refreshToken",
            "region",
            "registrationExpiresAt",
            "startUrl"
        ]
    );
    assert_eq!(token["startUrl"], START_URL);
    assert_eq!(token["region"], SSO_REGION);
    assert_eq!(token["accessToken"].as_str(), s.sso.created_tokens().last().map(String::as_str));
    // The registration it used, with its expiry.
    let client =
        s.sso.registrations().into_iter().find(|c| token["clientId"] == c.id.as_str()).expect("a registration");
    assert_eq!(token["clientSecret"], client.secret.as_str());
    assert_eq!(token["registrationExpiresAt"], cli_time(client.expires_at).as_str());
    assert!(s.sso.secrets().contains(&token["refreshToken"].as_str().unwrap_or_default().to_owned()), "{token}");
    for time in ["expiresAt", "registrationExpiresAt"] {
        let text = token[time].as_str().unwrap();
        // botocore parses either; the CLI writes this form, so rolesh does too.
        assert!(text.len() == 20 && text.ends_with('Z') && text.as_bytes()[10] == b'T', "{time}: {text}");
    }
    let left = parse_time(token["expiresAt"].as_str().unwrap()) - Utc::now();
    assert!(left > hours(7) && left <= hours(8), "expiresAt: {token}");
    token
}

#[test]
fn login_polls_while_pending_then_writes_the_token_in_the_clis_format() {
    let s = Sso::new("");
    s.sso.script(|script| script.pending_polls = 2);
    let outcome = s.env.run(["login", "corp", "--no-browser"]);
    outcome.assert_ok();

    let register = s.sso.calls(REGISTER_PATH);
    assert_eq!(register.len(), 1);
    assert_eq!(register[0].member("clientType"), Some("public"));
    // An sso-session asks for refresh tokens with its scopes, as the CLI does.
    assert_eq!(register[0].json["scopes"], json!(["sso:account:access"]));
    let grants = &register[0].json["grantTypes"];
    assert!(grants.as_array().is_some_and(|g| g.contains(&DEVICE_GRANT.into()) && g.contains(&REFRESH_GRANT.into())));
    let device = s.sso.calls(DEVICE_PATH);
    assert_eq!(device.len(), 1);
    assert_eq!(device[0].member("startUrl"), Some(START_URL));
    let grant = s.sso.device_grants().pop().unwrap();
    let polls = s.sso.calls(TOKEN_PATH);
    assert_eq!(polls.len(), 3, "two pending answers, then the token");
    for poll in &polls {
        assert_eq!(poll.member("grantType"), Some(DEVICE_GRANT));
        assert_eq!(poll.member("deviceCode"), Some(grant.device_code.as_str()));
    }
    // At the interval the service asked for (1 s), never faster.
    let since_start = polls[0].at.duration_since(device[0].at);
    for gap in std::iter::once(since_start).chain(gaps(&polls)) {
        assert!(gap >= Duration::from_millis(950), "polled after {gap:?}");
    }
    // The code and the page to approve it are shown; nothing is opened.
    assert!(outcome.stderr.contains(&grant.user_code), "{outcome}");
    assert!(outcome.stderr.contains(&grant.url), "{outcome}");
    assert!(s.browser_calls().is_empty(), "--no-browser opened {:?}", s.browser_calls());

    let token = assert_cli_token_file(&s, SESSION);
    s.assert_no_token_leaks(&[&outcome]);

    // The token works: exec calls the portal with it.
    child_env(&s.env.run(exec_env("dev", &[])));
    assert_eq!(s.sso.calls(PORTAL_PATH)[0].header("x-amz-sso_bearer_token"), token["accessToken"].as_str());
}

#[test]
fn login_by_profile_opens_the_page_with_the_code_and_reuses_the_registration_until_it_expires() {
    let s = Sso::new("");
    // A profile name logs in to its session: the same file as `rolesh login corp`.
    let first = s.env.run(["login", "dev"]);
    first.assert_ok();
    assert_eq!(s.browser_calls(), [s.sso.device_grants()[0].url.clone()]);
    let token = assert_cli_token_file(&s, SESSION);

    // A second login reuses the registration in the file.
    s.env.run(["login", "corp", "--no-browser"]).assert_ok();
    assert_eq!(s.sso.count(REGISTER_PATH), 1, "the registration is still good for 90 days");
    let second = assert_cli_token_file(&s, SESSION);
    assert_eq!(second["clientId"], token["clientId"]);
    assert_ne!(second["accessToken"], token["accessToken"]);
    let reused = s.sso.calls(DEVICE_PATH);
    assert_eq!(reused[1].member("clientId"), token["clientId"].as_str());

    // Once the registration has expired, the next login registers anew.
    let mut expired = second.clone();
    expired["registrationExpiresAt"] = cli_time(Utc::now() - minutes(1)).into();
    s.write_token(SESSION, &expired);
    s.env.run(["login", "corp", "--no-browser"]).assert_ok();
    assert_eq!(s.sso.count(REGISTER_PATH), 2);
    let third = assert_cli_token_file(&s, SESSION);
    assert_ne!(third["clientId"], token["clientId"]);
    assert!(parse_time(third["registrationExpiresAt"].as_str().unwrap()) > Utc::now() + chrono::Duration::days(89));
}

#[test]
fn login_waits_longer_after_slow_down() {
    let s = Sso::new("");
    s.sso.script(|script| script.slow_down_once = true);
    s.env.run(["login", "corp", "--no-browser"]).assert_ok();
    let polls = s.sso.calls(TOKEN_PATH);
    assert_eq!(polls.len(), 2, "slow_down, then the token");
    // RFC 8628: after slow_down the interval grows by 5 s, here from 1 s to 6 s.
    let gap = gaps(&polls)[0];
    assert!(gap >= Duration::from_millis(5950), "polled again after {gap:?}");
    assert_cli_token_file(&s, SESSION);
}

#[test]
fn a_login_never_approved_ends_with_a_clear_error_and_writes_nothing() {
    let s = Sso::new("");
    s.sso.script(|script| {
        script.approve = false;
        script.code_expires_in = 2;
    });
    let outcome = s.env.run(["login", "corp", "--no-browser"]);
    outcome.assert_error(5);
    // After the line with the code, the error.
    let error = outcome.stderr.lines().last().unwrap_or_default();
    assert!(error.starts_with("rolesh: ") && error.contains("expired"), "{outcome}");
    assert!(error.contains("rolesh login corp"), "{outcome}");
    assert!(s.sso.count(TOKEN_PATH) >= 2);
    assert!(!s.token_path(SESSION).exists());
    assert!(files_under(&s.env.home().join(".aws/sso")).is_empty(), "{:?}", files_under(&s.env.home()));
}

#[test]
fn ctrl_c_during_login_stops_it_at_once_and_writes_nothing() {
    let s = Sso::new("");
    // Never approved, and the code lasts: only Ctrl-C ends this login.
    s.sso.script(|script| script.approve = false);
    let mut pty = s.env.pty(["login", "corp", "--no-browser"]);
    pty.expect("WXYZ-", DEADLINE);
    pty.send("\x03");
    let (status, screen) = pty.finish(DEADLINE);
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}\n{screen}");
    assert!(files_under(&s.env.home().join(".aws/sso")).is_empty(), "{:?}", files_under(&s.env.home()));
}

#[test]
fn login_of_a_role_profile_logs_in_to_the_sso_session_its_chain_starts_at() {
    let s = Sso::new(&format!(
        "[profile mid]
         role_arn = {MID_ROLE}
         source_profile = dev
         "
    ));
    // The profile a user runs is the role; its credentials come from `corp`.
    let outcome = s.env.run(["login", "mid", "--no-browser"]);
    outcome.assert_ok();
    assert_cli_token_file(&s, SESSION);
}

#[test]
fn login_of_a_name_that_is_neither_session_nor_sso_profile_lists_what_is() {
    let s = Sso::new("");
    let outcome = s.env.run(["login", "nope", "--no-browser"]);
    outcome.assert_error(3);
    assert!(outcome.error_line().contains("corp") && outcome.error_line().contains("dev"), "{outcome}");
    assert!(s.sso.requests().is_empty());
}

// --- The aws CLI and rolesh share the token -------------------------------------------------

#[test]
fn the_aws_cli_calls_the_portal_with_the_token_rolesh_logged_in_for() {
    let s = Sso::new("");
    s.env.run(["login", "corp", "--no-browser"]).assert_ok();
    let token = s.read_token(SESSION);

    let aws = s.aws(&["sts", "get-caller-identity", "--profile", "dev", "--output", "json"]);
    aws.assert_ok();
    let identity: Value = serde_json::from_slice(&aws.stdout).unwrap();
    assert_eq!(identity["Arn"], s.keys.arn(), "{aws}");
    // The CLI made no login of its own: it went straight to the portal with rolesh's token.
    assert_eq!(s.sso.count(REGISTER_PATH), 1);
    assert_eq!(s.sso.count(TOKEN_PATH), 1);
    let portal = s.sso.calls(PORTAL_PATH);
    assert_eq!(portal.len(), 1);
    assert_eq!(portal[0].header("x-amz-sso_bearer_token"), token["accessToken"].as_str());
    let call = &s.sts.calls("GetCallerIdentity")[0];
    assert_eq!((call.signer(), call.signature_ok), (s.keys.access_key_id.as_str(), Some(true)));
}

#[test]
fn a_legacy_profile_logs_in_by_its_start_url_and_the_aws_cli_uses_that_token() {
    let s = Sso::new(&legacy_config());
    let outcome = s.env.run(["login", "legacy", "--no-browser"]);
    outcome.assert_ok();
    // As the CLI registers for the legacy form: no scopes, no refresh token.
    let register = s.sso.calls(REGISTER_PATH);
    assert_eq!(register.len(), 1);
    assert!(register[0].json.get("scopes").is_none() && register[0].json.get("grantTypes").is_none(), "{register:?}");
    let path = s.token_path(START_URL);
    assert_eq!(mode(&path), 0o600);
    let token = s.read_token(START_URL);
    assert_eq!(token["accessToken"].as_str(), s.sso.created_tokens().last().map(String::as_str));
    assert_eq!((token["startUrl"].as_str(), token["region"].as_str()), (Some(START_URL), Some(SSO_REGION)));
    assert!(token.get("refreshToken").is_none(), "{token}");
    assert!(!s.token_path(SESSION).exists(), "a legacy login wrote the session's file");

    let aws = s.aws(&["sts", "get-caller-identity", "--profile", "legacy", "--output", "json"]);
    let identity: Value = serde_json::from_slice(&aws.assert_ok().stdout).unwrap();
    assert_eq!(identity["Arn"], s.keys.arn(), "{aws}");
    let portal = s.sso.calls(PORTAL_PATH);
    assert_eq!(portal.len(), 1);
    assert_eq!(portal[0].header("x-amz-sso_bearer_token"), token["accessToken"].as_str());
    assert_eq!(s.sso.count(REGISTER_PATH), 1, "the aws CLI logged in on its own");
    s.assert_no_token_leaks(&[&outcome, &aws]);
}

#[test]
fn rolesh_uses_the_token_the_aws_cli_refreshed_and_wrote() {
    let s = Sso::new("");
    let token = s.cli_token(minutes(10));
    s.write_token(SESSION, &token);
    // botocore refreshes a token within 15 minutes of expiry, and writes the file itself.
    s.aws(&["sts", "get-caller-identity", "--profile", "dev"]).assert_ok();
    assert_eq!(s.sso.count(TOKEN_PATH), 1);
    let refreshed = s.sso.created_tokens().pop().unwrap();
    let written = s.read_token(SESSION);
    assert_eq!(written["accessToken"], refreshed.as_str(), "botocore did not write the token");

    child_env(&s.env.run(exec_env("dev", &["--no-cache"])));
    let portal = s.sso.calls(PORTAL_PATH);
    assert_eq!(portal.len(), 2);
    assert_eq!(portal[1].header("x-amz-sso_bearer_token"), Some(refreshed.as_str()));
    assert_eq!(s.sso.count(TOKEN_PATH), 1, "rolesh refreshed what botocore had just refreshed");
}

// --- list and completions -----------------------------------------------------------------

#[test]
fn list_shows_sso_profiles_with_their_account_and_role() {
    let s = Sso::new(&format!(
        "[profile legacy]
         sso_start_url = {START_URL}
         sso_region = {SSO_REGION}
         sso_account_id = 222222222222
         sso_role_name = ReadOnly
         [profile mid]
         role_arn = {MID_ROLE}
         source_profile = dev
         "
    ));
    let rows: Vec<Value> = serde_json::from_slice(&s.env.run(["list", "--json"]).assert_ok().stdout).unwrap();
    let row = |name: &str| rows.iter().find(|r| r["name"] == name).cloned().unwrap_or_else(|| panic!("{rows:?}"));
    let dev = row("dev");
    assert_eq!((dev["kind"].as_str(), dev["source"].as_str()), (Some("sso"), Some(SESSION)));
    assert_eq!((dev["sso_account_id"].as_str(), dev["sso_role_name"].as_str()), (Some(ACCOUNT), Some(ROLE_NAME)));
    let legacy = row("legacy");
    assert_eq!(legacy["kind"], "sso");
    assert_eq!(
        (legacy["sso_account_id"].as_str(), legacy["sso_role_name"].as_str()),
        (Some("222222222222"), Some("ReadOnly"))
    );
    assert_eq!(row("mid")["kind"], "role");
    let table = s.env.run(["list"]).assert_ok().stdout();
    assert!(
        table.lines().any(|l| l.starts_with("dev") && l.contains("sso") && l.contains("Developer@111111111111")),
        "{table}"
    );
    assert!(s.sso.requests().is_empty() && s.sts.requests().is_empty());
}

#[test]
fn completion_offers_sso_sessions_and_sso_profiles_to_login() {
    let s = Sso::new("[profile keys]\nregion = x\n");
    let mut cmd = s.env.command(["--", "rolesh", "login", ""]);
    cmd.env("ROLESH_COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .env("_CLAP_IFS", "\n");
    let out = run(cmd);
    out.assert_ok();
    // The flags come with the names; the names are what this is about.
    let offered: Vec<String> = out.stdout().lines().filter(|l| !l.starts_with('-')).map(String::from).collect();
    assert_eq!(offered, ["corp", "dev"], "{out}");
}

// --- rolesh console ----------------------------------------------------------------------

/// The `--stdout` URL's parameters, decoded, after checking it goes to the federation
/// endpoint's `Action=login`.
#[track_caller]
fn login_url(s: &Sso, outcome: &Outcome) -> std::collections::BTreeMap<String, String> {
    outcome.assert_ok();
    let out = outcome.stdout();
    let url = out.strip_suffix('\n').unwrap_or_else(|| panic!("one line: {outcome}"));
    let (base, query) = url.split_once('?').unwrap();
    assert_eq!(base, s.sso.signin_url());
    let params: std::collections::BTreeMap<String, String> =
        support::stand_in::parse_form(query.as_bytes()).into_iter().collect();
    assert_eq!(params["Action"], "login");
    let signin = s.sso.signins().last().cloned().expect("a sign-in token was asked for");
    assert_eq!(params["SigninToken"], signin.signin_token);
    // The URL is console access: not on stderr, not in any file but the private page.
    assert!(!outcome.stderr.contains(&signin.signin_token), "{outcome}");
    params
}

/// The keys the last getSigninToken request carried.
fn signed_in_as(s: &Sso) -> (String, String, String) {
    let session = s.sso.signins().last().unwrap().session.clone();
    let field = |k: &str| session[k].as_str().unwrap().to_owned();
    (field("sessionId"), field("sessionKey"), field("sessionToken"))
}

#[test]
fn console_stdout_for_a_role_signs_in_as_the_role_for_its_duration_in_its_region() {
    let s = Sso::new(
        "[profile deployer]
         role_arn = arn:aws:iam::111111111111:role/deployer
         source_profile = user
         duration_seconds = 7200
         region = eu-central-1
         ",
    );
    let outcome = s.env.run(["console", "deployer", "--stdout"]);
    let params = login_url(&s, &outcome);
    assert_eq!(params["Destination"], "https://console.aws.amazon.com/console/home?region=eu-central-1");
    let issued = &s.sts.issued()[0];
    assert_eq!(issued.action, "AssumeRole");
    assert_eq!(
        signed_in_as(&s),
        (issued.access_key_id.clone(), issued.secret_access_key.clone(), issued.session_token.clone())
    );
    // A role assumed with an IAM user's own keys may have a console session of its duration.
    assert_eq!(s.sso.signins()[0].session_duration.as_deref(), Some("7200"));
    assert!(s.browser_calls().is_empty());

    // --destination picks the page.
    let page = "https://console.aws.amazon.com/s3/home?region=eu-central-1#/buckets";
    let params = login_url(&s, &s.env.run(["console", "deployer", "--stdout", "--destination", page]));
    assert_eq!(params["Destination"], page);
}

#[test]
fn console_for_chained_and_sso_sessions_leaves_the_session_duration_out() {
    let s = Sso::new(&format!(
        "[profile mid]
         role_arn = {MID_ROLE}
         source_profile = user
         [profile top]
         role_arn = {TOP_ROLE}
         source_profile = mid
         [profile from-sso]
         role_arn = {MID_ROLE}
         source_profile = dev
         "
    ));
    s.write_token(SESSION, &s.cli_token(hours(8)));
    // Two hops from user keys: the last is role chaining, whose console session AWS keeps at
    // its hour.
    login_url(&s, &s.env.run(["console", "top", "--stdout"]));
    let issued = s.sts.issued();
    assert_eq!(signed_in_as(&s).0, issued[1].access_key_id);
    assert_eq!(s.sso.signins()[0].session_duration, None);
    // One hop from the portal's role keys is role chaining too.
    login_url(&s, &s.env.run(["console", "from-sso", "--stdout"]));
    assert_eq!(signed_in_as(&s).0, s.sts.issued()[2].access_key_id);
    assert_eq!(s.sso.signins()[1].session_duration, None);
    // The SSO profile itself signs in with the portal's keys.
    let params = login_url(&s, &s.env.run(["console", "dev", "--stdout"]));
    assert_eq!(
        signed_in_as(&s),
        (s.keys.access_key_id.clone(), s.keys.secret_access_key.clone(), s.keys.session_token.clone())
    );
    assert_eq!(s.sso.signins()[2].session_duration, None);
    assert_eq!(params["Destination"], "https://console.aws.amazon.com/console/home?region=eu-west-1");
}

#[test]
fn console_for_iam_user_keys_signs_in_through_a_federation_token() {
    let s = Sso::new("[profile user]\nregion = us-west-2\n");
    let outcome = s.env.run(["console", "user", "--stdout"]);
    let params = login_url(&s, &outcome);
    assert_eq!(params["Destination"], "https://console.aws.amazon.com/console/home?region=us-west-2");

    let calls = s.sts.calls("GetFederationToken");
    assert_eq!(calls.len(), 1, "{:?}", s.sts.requests());
    // With the user's long-term keys (STS refuses a session's), no GetSessionToken first.
    assert_eq!((calls[0].signer(), calls[0].security_token.as_deref()), (USER_KEY, None));
    assert_eq!(calls[0].signature_ok, Some(true));
    assert_eq!(s.sts.count("GetSessionToken"), 0);
    let name = calls[0].param("Name").unwrap();
    assert!((2..=32).contains(&name.len()), "{name}");
    // A policy is needed (without one the federated user may do nothing); it grants all the
    // user has, as the intersection with the user's own policies.
    let policy: Value = serde_json::from_str(calls[0].param("Policy").unwrap()).unwrap();
    assert_eq!(policy["Statement"][0]["Effect"], "Allow");
    assert_eq!(policy["Statement"][0]["Action"], "*");
    let issued = s.sts.issued();
    assert_eq!(issued[0].action, "GetFederationToken");
    assert!(issued[0].arn.starts_with("arn:aws:sts::123456789012:federated-user/"), "{}", issued[0].arn);
    assert_eq!(signed_in_as(&s).0, issued[0].access_key_id);
    // AWS: SessionDuration is for credentials from AssumeRole*; with a federation token's it
    // fails ("Invalid credentials parameter"). The console session lasts as the token does.
    assert_eq!(s.sso.signins()[0].session_duration, None, "SessionDuration sent with a federation token");
}

#[test]
fn console_hosts_follow_the_partition_of_the_role() {
    let s = Sso::new(
        "[profile cn-role]
         role_arn = arn:aws-cn:iam::111111111111:role/deployer
         source_profile = user
         region = cn-north-1
         [profile gov-role]
         role_arn = arn:aws-us-gov:iam::111111111111:role/deployer
         source_profile = user
         region = us-gov-west-1
         ",
    );
    let params = login_url(&s, &s.env.run(["console", "cn-role", "--stdout"]));
    assert_eq!(params["Destination"], "https://console.amazonaws.cn/console/home?region=cn-north-1");
    let params = login_url(&s, &s.env.run(["console", "gov-role", "--stdout"]));
    assert_eq!(params["Destination"], "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1");
}

#[test]
fn console_hosts_follow_the_partition_of_a_user_or_an_sso_profile_without_a_role() {
    let s = Sso::new(&format!(
        "[profile cn-user]
         region = cn-north-1
         [sso-session cn]
         sso_start_url = https://start.home.awsapps.cn/directory/d-90670c0ffe
         sso_region = cn-north-1
         [profile cn-sso]
         sso_session = cn
         sso_account_id = {ACCOUNT}
         sso_role_name = {ROLE_NAME}
         region = cn-north-1
         "
    ));
    s.env.credentials(&format!(
        "{}[cn-user]\naws_access_key_id = AKIACNUSER0000000001\naws_secret_access_key = cn-secret\n",
        support::fixtures::user_credentials()
    ));
    s.sts.register_user("AKIACNUSER0000000001", "cn-secret", "arn:aws-cn:iam::123456789012:user/li");
    let mut token = s.cli_token(hours(8));
    token["startUrl"] = "https://start.home.awsapps.cn/directory/d-90670c0ffe".into();
    token["region"] = "cn-north-1".into();
    s.write_token("cn", &token);
    // No role ARN tells the partition here: the region does (and for the user, the
    // federated user's ARN too).
    let user = login_url(&s, &s.env.run(["console", "cn-user", "--stdout"]));
    let sso = login_url(&s, &s.env.run(["console", "cn-sso", "--stdout"]));
    let want = "https://console.amazonaws.cn/console/home?region=cn-north-1";
    assert_eq!((user["Destination"].as_str(), sso["Destination"].as_str()), (want, want));
}

#[test]
fn console_hands_the_browser_a_private_page_never_the_url() {
    let s = Sso::new("");
    s.write_token(SESSION, &s.cli_token(hours(8)));
    let outcome = s.env.run(["console", "dev"]);
    outcome.assert_ok();
    assert_eq!(outcome.stdout(), "", "{outcome}");
    let signin = s.sso.signins().pop().expect("a sign-in token");
    let opened = s.browser_calls();
    assert_eq!(opened.len(), 1, "{opened:?}");
    // The browser's command line (which every user can read in /proc) holds a path.
    let page = PathBuf::from(&opened[0]);
    assert!(page.is_absolute() && page.starts_with(s.env.state_home()), "{opened:?}");
    assert!(!opened[0].contains(&signin.signin_token));
    assert_eq!(mode(&page), 0o600);
    assert_eq!(mode(page.parent().unwrap()) & 0o077, 0, "the page's directory is others'");
    let html = std::fs::read_to_string(&page).unwrap();
    let url = format!("{}?Action=login&amp;Issuer=rolesh&amp;Destination=", s.sso.signin_url());
    assert!(html.contains(&format!("http-equiv=\"refresh\" content=\"0;url={url}")), "{html}");
    assert!(html.contains(&format!("SigninToken={}", signin.signin_token)), "{html}");
    assert!(!outcome.stderr.contains(&signin.signin_token), "{outcome}");
}

// --- Secrets -------------------------------------------------------------------------------

#[test]
fn no_token_secret_or_signin_token_reaches_output_logs_or_the_ledger() {
    let s = Sso::new(&format!(
        "[profile mid]
         role_arn = {MID_ROLE}
         source_profile = dev
         "
    ));
    s.sso.script(|script| script.pending_polls = 1);
    let login = s.env.run(["login", "corp"]);
    login.assert_ok();
    // A refresh too: make the token near its end, then use it.
    let mut token = s.read_token(SESSION);
    token["expiresAt"] = cli_time(Utc::now() + minutes(5)).into();
    s.write_token(SESSION, &token);
    let exec = s.env.run(exec_env("mid", &[]));
    exec.assert_ok();
    assert_eq!(s.sso.count(TOKEN_PATH), 3, "two polls and a refresh");
    let console = s.env.run(["console", "mid"]);
    console.assert_ok();
    let whoami = s.env.run(["whoami", "dev"]);
    whoami.assert_ok();
    let failed = s.env.run(exec_env("nope", &[]));
    // And the errors: a token the portal refuses, and an expired one it cannot refresh.
    token["accessToken"] = "aoaRevoked".into();
    token["expiresAt"] = cli_time(Utc::now() + hours(1)).into();
    s.write_token(SESSION, &token);
    let refused = s.env.run(exec_env("dev", &["--no-cache"]));
    refused.assert_error(5);
    token["expiresAt"] = cli_time(Utc::now() - minutes(5)).into();
    token["refreshToken"] = "aorUnknown".into();
    s.write_token(SESSION, &token);
    let expired = s.env.run(exec_env("dev", &["--no-cache"]));
    expired.assert_error(5);
    s.assert_no_token_leaks(&[&login, &exec, &console, &whoami, &failed, &refused, &expired]);
    // The ledger is among the files scanned; make sure it exists to be scanned.
    assert!(files_under(&s.env.state_home()).iter().any(|p| p.ends_with("sessions.json")));
}
