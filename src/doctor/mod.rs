//! `rolesh doctor PROFILE`: why a profile does (or does not) get credentials. It walks the
//! profile's chain the way `exec` would and returns a list of checks, each `pass`, `fail` or
//! `unknown` with one line of explanation (an `unknown` names what would settle it), and a
//! verdict: the likely causes, most likely first, each with its fix. Nothing here prints.
//!
//! The checks, cheapest first:
//! 1. the profile itself, with no network: the chain, each role ARN, duration, `mfa_serial`
//!    and `external_id`;
//! 2. the source credentials (GetCallerIdentity, which needs no permission): valid or not,
//!    the clock against STS's `Date`, and what kind of caller they are;
//! 3. per hop, same account or cross-account;
//! 4. per hop, one real AssumeRole (or GetSessionToken for a profile without a role), its
//!    refusal classified;
//! 5. per hop, the role's trust policy read with `iam:GetRole` (own-account roles) and
//!    evaluated locally against the caller ([`policy`]), and its `MaxSessionDuration`;
//! 6. per hop, whether the caller's own identity policies allow `sts:AssumeRole` on the role.
//!
//! The doctor never reads or writes the credential cache: it makes the calls itself, and the
//! credentials it gets are dropped. It never puts a secret in a check: key ids are masked.

pub mod policy;

use chrono::Utc;
use serde::Serialize;

use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::{Error, StsFailure, StsKind, code};
use crate::profile::resolve::CHAINED_MAX_SECONDS;
use crate::profile::{Config, Hop, Overrides, Plan, Source, Step, resolve};
use crate::session::iam::{Failure, FailureKind, Iam};
use crate::session::{self, mfa, source, sts};
use crate::values::{MAX_SECONDS, MIN_SECONDS};
use policy::{Caller, CallerKind, Context, Decision, Evaluation, Policy, Request, Truth, Value, Via};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
        }
    }
}

/// What kind of trouble a failed check is: it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The profile or the files (exit 3).
    Config,
    /// AWS said no, or would (exit 5).
    Denied,
    /// STS or IAM did not answer, or throttled (exit 6).
    Network,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// A stable name: `trust-policy`, `assume-role`, …
    pub check: &'static str,
    /// The profile of the hop the check is about, for a chain of several roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    pub status: Status,
    /// One line.
    pub detail: String,
    /// For `unknown`: what would settle it, usually a permission (`iam:GetRole on arn:…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs: Option<String>,
    #[serde(skip)]
    pub fault: Fault,
}

/// One likely cause and its fix.
#[derive(Debug, Clone, Serialize)]
pub struct Cause {
    pub cause: String,
    pub fix: String,
    /// How likely, for ranking: higher first.
    #[serde(skip)]
    pub score: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub profile: String,
    /// How many roles the chain assumes (names hop checks when more than one).
    pub hops: usize,
    pub checks: Vec<Check>,
    /// Most likely first; empty when nothing failed.
    pub verdict: Vec<Cause>,
    pub exit_code: i32,
}

/// What the command line adds.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub mfa_token: Option<String>,
}

/// Runs every check for `name` (a profile or a role ARN) with the command line's overrides.
/// Errors are only what stops the doctor itself (a malformed `--mfa-token`, a misused flag,
/// no async runtime); a broken profile is a failed check.
pub fn run(env: &Env, name: &str, over: &Overrides, opts: &Options) -> Result<Report, Error> {
    if let Some(code) = &opts.mfa_token {
        mfa::validate(code)?;
    }
    let mut d = Doctor { profile: name.to_string(), hops: 0, base: None, checks: Vec::new(), causes: Vec::new() };
    let cfg = match Config::load(env) {
        Ok(cfg) => cfg,
        Err(e) => return Ok(d.unresolved(e)),
    };
    let resolved = match resolve(&cfg, env, name, over) {
        Ok(r) => r,
        Err(e) if e.exit_code() == i32::from(code::CONFIG) => return Ok(d.unresolved(e)),
        Err(e) => return Err(e),
    };
    d.hops = resolved.plan.hops().count();
    d.profile_checks(&cfg, &resolved.plan, over);
    let runtime = session::runtime()?;
    runtime.block_on(d.network_checks(&resolved, env, opts));
    Ok(d.finish())
}

struct Doctor {
    profile: String,
    hops: usize,
    /// Who the source credentials are, once STS said: the owner of any MFA device.
    base: Option<Caller>,
    checks: Vec<Check>,
    causes: Vec<Cause>,
}

/// The partitions AWS has; a role ARN in another is a typo.
const PARTITIONS: &[&str] =
    &["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"];

impl Doctor {
    fn push(&mut self, check: &'static str, hop: Option<&Hop>, status: Status, detail: String) -> &mut Check {
        self.checks.push(Check {
            check,
            hop: hop.filter(|_| self.hops > 1).map(|h| h.profile.clone()),
            role_arn: hop.map(|h| h.role_arn.clone()),
            status,
            detail,
            needs: None,
            fault: Fault::Denied,
        });
        self.checks.last_mut().expect("just pushed")
    }

    fn pass(&mut self, check: &'static str, hop: Option<&Hop>, detail: String) {
        self.push(check, hop, Status::Pass, detail);
    }

    fn fail(&mut self, check: &'static str, hop: Option<&Hop>, fault: Fault, detail: String) {
        self.push(check, hop, Status::Fail, detail).fault = fault;
    }

    fn unknown(&mut self, check: &'static str, hop: Option<&Hop>, detail: String, needs: Option<String>) {
        self.push(check, hop, Status::Unknown, detail).needs = needs;
    }

    fn cause(&mut self, score: u32, cause: String, fix: String) {
        if !self.causes.iter().any(|c| c.cause == cause) {
            self.causes.push(Cause { cause, fix, score });
        }
    }

    /// The profile did not resolve: one failed check, the error's own words as its fix.
    fn unresolved(mut self, e: Error) -> Report {
        let text = e.render();
        let fault = if e.exit_code() == i32::from(code::CONFIG) { Fault::Config } else { Fault::Denied };
        self.fail("profile", None, fault, text.clone());
        self.cause(100, format!("profile `{}` does not resolve", self.profile), text);
        self.finish()
    }

    fn finish(mut self) -> Report {
        let failed = |f: Fault| self.checks.iter().any(|c| c.status == Status::Fail && c.fault == f);
        let exit_code = if failed(Fault::Config) {
            code::CONFIG
        } else if failed(Fault::Denied) {
            code::DENIED
        } else if failed(Fault::Network) {
            code::NETWORK
        } else {
            0
        };
        // A cause only stands where a check failed: with every check passed, guesses are noise.
        if exit_code == 0 {
            self.causes.clear();
        }
        self.causes.sort_by_key(|c| std::cmp::Reverse(c.score));
        Report {
            profile: self.profile,
            hops: self.hops,
            checks: self.checks,
            verdict: self.causes,
            exit_code: i32::from(exit_code),
        }
    }

    // --- 1. The profile, with no network ------------------------------------------------------

    fn profile_checks(&mut self, cfg: &Config, plan: &Plan, over: &Overrides) {
        let mut chain = vec![plan.source.describe()];
        chain.extend(plan.hops().map(|h| h.role_arn.clone()));
        let detail = if self.hops == 0 {
            format!("resolves to {} with no role (a session token of them)", chain[0])
        } else {
            format!("resolves with no cycle: {}", chain.join(" → "))
        };
        self.pass("profile", None, detail);
        let last = plan.hops().count().saturating_sub(1);
        for (i, hop) in plan.hops().enumerate() {
            let raw = cfg.get(&hop.profile);
            self.role_arn_check(hop);
            self.duration_check(hop, i == last && over.duration.is_some());
            let empty = |key: &str| raw.is_some_and(|p| p.get(key) == Some(""));
            if let Some(serial) = &hop.mfa_serial {
                self.mfa_serial_check(hop, serial);
            } else if empty("mfa_serial") {
                let text = format!("profile `{}` has an empty mfa_serial, so no MFA code is sent", hop.profile);
                self.fail("mfa-serial", Some(hop), Fault::Config, text.clone());
                self.cause(
                    100,
                    text,
                    format!("set mfa_serial in profile `{}` to your MFA device's ARN, or remove the line", hop.profile),
                );
            }
            if let Some(id) = &hop.external_id {
                self.external_id_check(hop, id);
            } else if empty("external_id") {
                let text = format!("profile `{}` has an empty external_id, so no ExternalId is sent", hop.profile);
                self.fail("external-id", Some(hop), Fault::Config, text.clone());
                self.cause(
                    100,
                    text,
                    format!(
                        "set external_id in profile `{}` to the value the role's owner gave you, or remove the line",
                        hop.profile
                    ),
                );
            }
        }
    }

    fn role_arn_check(&mut self, hop: &Hop) {
        let parts: Vec<&str> = hop.role_arn.splitn(6, ':').collect();
        let (partition, account) = (parts.get(1).copied().unwrap_or(""), parts.get(4).copied().unwrap_or(""));
        let name = hop.role_arn.rsplit('/').next().unwrap_or_default();
        let valid_name =
            (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c));
        if !PARTITIONS.contains(&partition) {
            let text = format!("{} is in partition `{partition}`, which AWS does not have", hop.role_arn);
            self.fail("role-arn", Some(hop), Fault::Config, text.clone());
            self.cause(
                100,
                text,
                format!("fix role_arn in profile `{}` (partitions: {})", hop.profile, PARTITIONS.join(", ")),
            );
        } else if !valid_name {
            let text = format!("{} has a role name IAM would not accept (1–64 of A–Z a–z 0–9 +=,.@-_)", hop.role_arn);
            self.fail("role-arn", Some(hop), Fault::Config, text.clone());
            self.cause(100, text, format!("fix role_arn in profile `{}`", hop.profile));
        } else {
            self.pass("role-arn", Some(hop), format!("partition {partition}, account {account}, role {name}"));
        }
    }

    fn duration_check(&mut self, hop: &Hop, from_flag: bool) {
        let setting =
            if from_flag { "--duration".to_string() } else { format!("duration_seconds in profile `{}`", hop.profile) };
        match hop.clamped_from {
            Some(asked) => {
                let text = format!(
                    "{setting} asks for {asked}s, but this hop is role chaining (assumed with role credentials), which AWS caps at {CHAINED_MAX_SECONDS}s; rolesh asks for {CHAINED_MAX_SECONDS}s instead"
                );
                self.fail("duration", Some(hop), Fault::Config, text.clone());
                let fix = if from_flag {
                    format!("pass --duration 1h or less for {}", self.profile)
                } else {
                    format!("set duration_seconds = {CHAINED_MAX_SECONDS} (or less) in profile `{}`", hop.profile)
                };
                self.cause(50, text, fix);
            }
            None if (MIN_SECONDS..=MAX_SECONDS).contains(&hop.duration) => {
                self.pass("duration", Some(hop), format!("{}s, within {MIN_SECONDS}–{MAX_SECONDS}s", hop.duration));
            }
            // Unreachable through the config or flags (both range-checked), kept for safety.
            None => {
                let text = format!("{}s is outside {MIN_SECONDS}–{MAX_SECONDS}s", hop.duration);
                self.fail("duration", Some(hop), Fault::Config, text.clone());
                self.cause(100, text, format!("fix {setting}"));
            }
        }
    }

    fn mfa_serial_check(&mut self, hop: &Hop, serial: &str) {
        let role_partition = hop.role_arn.split(':').nth(1).unwrap_or_default();
        let parts: Vec<&str> = serial.splitn(6, ':').collect();
        let fix = format!(
            "set mfa_serial in profile `{}` to your device's ARN, arn:{role_partition}:iam::ACCOUNT:mfa/NAME (IAM console: Security credentials)",
            hop.profile
        );
        match parts.as_slice() {
            ["arn", partition, "iam", "", account, resource]
                if account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && resource.strip_prefix("mfa/").is_some_and(|n| !n.is_empty()) =>
            {
                if partition == &role_partition {
                    self.pass("mfa-serial", Some(hop), format!("an MFA device of account {account}"));
                } else {
                    let text = format!("mfa_serial {serial} is in partition {partition}, the role in {role_partition}");
                    self.fail("mfa-serial", Some(hop), Fault::Config, text.clone());
                    self.cause(100, text, fix);
                }
            }
            // A hardware token's serial number (`GAHT12345678`) is not an ARN.
            _ if !serial.starts_with("arn:")
                && (9..=256).contains(&serial.len())
                && serial.chars().all(|c| c.is_ascii_alphanumeric() || "+=/:,.@-_".contains(c)) =>
            {
                self.pass("mfa-serial", Some(hop), format!("`{serial}`, a hardware token's serial number"));
            }
            _ => {
                let text =
                    format!("mfa_serial `{serial}` is not an MFA device ARN (arn:PARTITION:iam::ACCOUNT:mfa/NAME)");
                self.fail("mfa-serial", Some(hop), Fault::Config, text.clone());
                self.cause(100, text, fix);
            }
        }
    }

    fn external_id_check(&mut self, hop: &Hop, id: &str) {
        // AssumeRole's rule for ExternalId.
        let ok =
            (2..=1224).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c));
        if ok {
            self.pass("external-id", Some(hop), format!("set ({} characters)", id.len()));
        } else {
            let text = format!(
                "the ExternalId of profile `{}` is not one STS accepts (2–1224 of A–Z a–z 0–9 +=,.@:/-_)",
                hop.profile
            );
            self.fail("external-id", Some(hop), Fault::Config, text.clone());
            self.cause(100, text, format!("fix external_id in profile `{}` as the role's owner gave it", hop.profile));
        }
    }

    // --- 2–6. With the network ----------------------------------------------------------------

    async fn network_checks(&mut self, resolved: &crate::profile::Resolved, env: &Env, opts: &Options) {
        let plan = &resolved.plan;
        let region = plan.region.as_deref().or_else(|| env.get("AWS_REGION")).or_else(|| env.get("AWS_DEFAULT_REGION"));
        let endpoint = sts::Endpoint::from_env(env, region);
        let getting = source::Getting { interactive: true, warnings: None };
        let base = match source::base(&plan.source, resolved.keys.as_ref(), env, getting).await {
            Ok(c) => c,
            Err(e) => {
                self.source_failed(&plan.source, &e);
                return self.unknown(
                    "assume-role",
                    None,
                    "not tried: the source credentials are not usable".into(),
                    None,
                );
            }
        };
        let call = sts::Call { endpoint: &endpoint, source: &plan.source, profile: &plan.profile };
        let (who, date) = call.get_caller_identity_dated(&base).await;
        let identity = match who {
            Ok(i) => i,
            Err(e) => {
                self.source_failed(&plan.source, &e);
                self.clock_check(date, Some(&e));
                return self.unknown(
                    "assume-role",
                    None,
                    "not tried: the source credentials are not usable".into(),
                    None,
                );
            }
        };
        let kind = if base.session_token.is_some() { "temporary credentials" } else { "long-term keys" };
        self.pass(
            "source-credentials",
            None,
            format!(
                "{} are valid: {} (account {}; {kind}, {})",
                plan.source.describe(),
                identity.arn,
                identity.account,
                base.masked_id()
            ),
        );
        self.clock_check(date, None);
        let caller = Caller::new(&identity.arn, &identity.user_id, None);
        self.base = Some(caller.clone());
        self.caller_check(plan, &caller, &base);
        self.mfa_account_check(plan, &caller);

        let mut walk = Walk {
            creds: base,
            caller,
            reachable: true,
            readable: true,
            mfa: false,
            covered: None,
            codes: mfa::Codes::new(opts.mfa_token.clone()),
            region: endpoint.region.clone(),
            failed_at: None,
        };
        for step in &plan.steps {
            match step {
                Step::SessionToken { serial, duration } => {
                    self.session_token(&call, &mut walk, serial.as_deref(), *duration, self.hops == 0).await;
                }
                Step::AssumeRole(hop) => {
                    let hop_call = sts::Call { endpoint: &endpoint, source: &plan.source, profile: &hop.profile };
                    self.hop(&hop_call, env, plan, hop, &mut walk).await;
                }
            }
        }
    }

    fn source_failed(&mut self, source: &Source, e: &Error) {
        let text = e.render();
        let (fault, score, cause) = match e {
            Error::Sts(f) => match f.kind {
                StsKind::BadKeys => {
                    (Fault::Denied, 98, format!("STS does not accept the keys of {}", source.describe()))
                }
                StsKind::Expired => {
                    (Fault::Denied, 98, format!("the credentials of {} have expired", source.describe()))
                }
                StsKind::Unreachable | StsKind::ServerFault | StsKind::Throttled | StsKind::Malformed => {
                    (Fault::Network, 40, format!("STS could not be asked about {}", source.describe()))
                }
                _ => (Fault::Denied, 90, format!("STS refused the credentials of {}", source.describe())),
            },
            e if e.exit_code() == i32::from(code::CONFIG) => {
                (Fault::Config, 99, format!("the credentials of {} cannot be had", source.describe()))
            }
            _ => (Fault::Denied, 95, format!("the credentials of {} cannot be had", source.describe())),
        };
        self.fail("source-credentials", None, fault, text.clone());
        self.cause(score, cause, text);
    }

    fn clock_check(&mut self, date: Option<sts::ServerDate>, error: Option<&Error>) {
        let Some(date) = date else {
            if error.is_none() {
                self.unknown("clock", None, "STS's answer had no Date header to compare the clock with".into(), None);
            }
            return;
        };
        let skew = date.skew_seconds();
        let way = if skew >= 0 { "ahead of" } else { "behind" };
        let size = human(skew.unsigned_abs());
        let signature_expired = matches!(error, Some(Error::Sts(f)) if f.message.contains("Signature expired") || f.code == "RequestExpired");
        if skew.abs() > 300 || signature_expired {
            let text = format!(
                "this machine's clock is {size} {way} STS's (its Date header); AWS refuses requests signed more than 15 minutes off"
            );
            self.fail("clock", None, Fault::Denied, text.clone());
            self.cause(
                97,
                text,
                "set the clock right (e.g. `timedatectl set-ntp true`, or your system's time settings)".into(),
            );
        } else {
            self.pass("clock", None, format!("this machine's clock is within {size} of STS's"));
        }
    }

    fn caller_check(&mut self, plan: &Plan, caller: &Caller, creds: &Credentials) {
        let first = plan.hops().next();
        let (status, text) = match &caller.kind {
            CallerKind::User { .. } if first.is_none() => (Status::Pass, "an IAM user".to_string()),
            CallerKind::User { .. } => {
                (Status::Pass, "an IAM user: a first role session may last up to 12h (the role's maximum)".to_string())
            }
            CallerKind::AssumedRole { .. } => {
                let text = format!(
                    "a role session ({}): assuming a role with it is role chaining, which AWS caps at 1h",
                    caller.principal_arn
                );
                match first.filter(|h| h.duration > CHAINED_MAX_SECONDS) {
                    Some(h) => {
                        let text = format!("{text}, but {} asks for {}s", h.role_arn, h.duration);
                        self.cause(
                            50,
                            text.clone(),
                            format!(
                                "set duration_seconds = {CHAINED_MAX_SECONDS} (or less) in profile `{}`",
                                h.profile
                            ),
                        );
                        (Status::Fail, text)
                    }
                    None => (Status::Pass, text),
                }
            }
            CallerKind::Root if first.is_some() => {
                let text = "the account's root user: AWS does not let root credentials assume roles".to_string();
                self.cause(96, text.clone(), "use an IAM user's or a role's credentials as the source".into());
                (Status::Fail, text)
            }
            CallerKind::FederatedUser { .. } if first.is_some() => {
                let text = "a federation token session: it cannot call AssumeRole".to_string();
                self.cause(96, text.clone(), "use an IAM user's or a role's credentials as the source".into());
                (Status::Fail, text)
            }
            _ => (
                Status::Pass,
                format!("{} ({})", caller.arn, if creds.session_token.is_some() { "temporary" } else { "long-term" }),
            ),
        };
        let fault = if matches!(caller.kind, CallerKind::AssumedRole { .. }) { Fault::Config } else { Fault::Denied };
        match status {
            Status::Fail => self.fail("caller", None, fault, text),
            _ => self.pass("caller", None, text),
        }
    }

    /// An MFA device belongs to an IAM user: one named by `mfa_serial` must be in the account
    /// of the user whose keys start the chain.
    fn mfa_account_check(&mut self, plan: &Plan, caller: &Caller) {
        if !matches!(caller.kind, CallerKind::User { .. }) {
            return;
        }
        let serials = plan.steps.iter().filter_map(|s| match s {
            Step::SessionToken { serial, .. } => serial.as_deref(),
            Step::AssumeRole(h) => h.mfa_serial.as_deref(),
        });
        let mut seen = Vec::new();
        for serial in serials {
            let account = serial.split(':').nth(4).filter(|_| serial.starts_with("arn:")).unwrap_or_default();
            if account.is_empty() || seen.contains(&serial) {
                continue;
            }
            seen.push(serial);
            if account != caller.account {
                let text = format!(
                    "mfa_serial {serial} is a device of account {account}, but the source is {} of account {}",
                    caller.arn, caller.account
                );
                self.fail("mfa-account", None, Fault::Config, text.clone());
                self.cause(
                    99,
                    text,
                    format!(
                        "set mfa_serial to the device of {} (arn:{}:iam::{}:mfa/…)",
                        caller.arn, caller.partition, caller.account
                    ),
                );
            }
        }
    }

    /// GetSessionToken: the MFA session a chain starts from, or (`whole`) the only call of a
    /// profile without a role.
    async fn session_token(
        &mut self,
        call: &sts::Call<'_>,
        walk: &mut Walk,
        serial: Option<&str>,
        seconds: u32,
        whole: bool,
    ) {
        if walk.creds.session_token.is_some() || !walk.reachable {
            return;
        }
        let mfa = match serial {
            Some(s) => match walk.codes.take(s, call.profile) {
                Ok(code) => Some((s, code)),
                Err(e) => {
                    // What exec would send: the hops are judged as if the MFA session existed.
                    walk.mfa = true;
                    walk.covered = Some(s.to_string());
                    walk.reachable = false;
                    walk.failed_at =
                        Some(format!("the MFA session (GetSessionToken with {s}) was not made: {}", e.render()));
                    self.unknown(
                        "session-token",
                        None,
                        format!("GetSessionToken with {s} needs an MFA code, and none could be asked for"),
                        Some("an MFA code: pass --mfa-token CODE or run in a terminal".into()),
                    );
                    return;
                }
            },
            None => None,
        };
        match call.get_session_token(&walk.creds, seconds, mfa).await {
            Ok(c) => {
                let with = serial.map_or_else(|| "without MFA".to_string(), |s| format!("with MFA device {s}"));
                let what = if whole { "the profile's session" } else { "the MFA session the roles are assumed from" };
                self.pass("session-token", None, format!("STS issued {what} ({seconds}s, {with})"));
                walk.creds = c;
                walk.mfa = serial.is_some();
                walk.covered = serial.map(String::from);
            }
            Err(e) => {
                walk.reachable = false;
                walk.failed_at = Some("GetSessionToken failed".into());
                self.sts_refused("session-token", None, &e, None, serial);
            }
        }
    }

    /// Checks 3–6 for one AssumeRole.
    async fn hop(&mut self, call: &sts::Call<'_>, env: &Env, plan: &Plan, hop: &Hop, walk: &mut Walk) {
        let role_partition = hop.role_arn.split(':').nth(1).unwrap_or_default().to_string();
        let role_account = hop.role_arn.split(':').nth(4).unwrap_or_default().to_string();
        let caller = walk.caller.clone();
        let cross = caller.account != role_account;

        // 3. Same account or cross-account.
        if caller.partition != role_partition {
            let text = format!(
                "the role is in partition {role_partition}, the caller {} in {}: no role is assumed across partitions",
                caller.arn, caller.partition
            );
            self.fail("account", Some(hop), Fault::Denied, text.clone());
            self.cause(
                95,
                text,
                format!("use credentials of partition {role_partition} as the source of profile `{}`", hop.profile),
            );
        } else if cross {
            self.pass(
                "account",
                Some(hop),
                format!(
                    "cross-account: the caller is in {}, the role in {role_account}; both sides must allow it: the role's trust policy must name the caller or its account, and an identity policy in {} must allow sts:AssumeRole on the role",
                    caller.account, caller.account
                ),
            );
        } else {
            self.pass(
                "account",
                Some(hop),
                format!("same account ({role_account}): the trust policy decides (if it names the account rather than the caller, an identity policy must allow it too)"),
            );
        }

        // 4. One real AssumeRole.
        let sends_mfa = hop.mfa_serial.is_some() && walk.covered.as_deref() != hop.mfa_serial.as_deref();
        let mfa_present = walk.mfa || hop.mfa_serial.is_some();
        let mut assumed: Option<Credentials> = None;
        let mut refused: Option<StsFailure> = None;
        if !walk.reachable {
            let why = walk.failed_at.clone().unwrap_or_else(|| "an earlier step failed".into());
            self.unknown("assume-role", Some(hop), format!("not tried: {why}"), None);
        } else {
            let mfa = match (&hop.mfa_serial, sends_mfa) {
                (Some(serial), true) => match walk.codes.take(serial, &hop.profile) {
                    Ok(code) => Ok(Some((serial.as_str(), code))),
                    Err(e) => Err(e),
                },
                _ => Ok(None),
            };
            match mfa {
                Err(e) => {
                    self.unknown(
                        "assume-role",
                        Some(hop),
                        format!(
                            "not tried: it needs an MFA code for {} ({})",
                            hop.mfa_serial.as_deref().unwrap_or_default(),
                            e.render()
                        ),
                        Some("an MFA code: pass --mfa-token CODE or run in a terminal".into()),
                    );
                }
                Ok(mfa) => match call.assume_role(&walk.creds, hop, hop.duration, mfa.clone(), &plan.profile).await {
                    Ok(out) => {
                        let who = out.assumed_arn.clone().unwrap_or_else(|| hop.role_arn.clone());
                        self.pass("assume-role", Some(hop), format!("STS issued a {}s session as {who}", hop.duration));
                        assumed = Some(out.credentials);
                    }
                    Err(e) => {
                        self.sts_refused("assume-role", Some(hop), &e, Some(hop.duration), hop.mfa_serial.as_deref());
                        // As exec does, ask again for the hour role chaining allows, so the rest
                        // of the chain can be checked; the failure above stands.
                        if e.is_role_chaining_limit() && hop.duration > CHAINED_MAX_SECONDS {
                            let again = call.assume_role(&walk.creds, hop, CHAINED_MAX_SECONDS, mfa, &plan.profile);
                            assumed = again.await.ok().map(|out| out.credentials);
                        }
                        if let Error::Sts(f) = e {
                            refused = Some(*f);
                        }
                    }
                },
            }
        }
        let denied = refused.as_ref().is_some_and(|f| f.kind == StsKind::AccessDenied);

        // The request as AWS will see it.
        let long_term = walk.creds.session_token.is_none();
        let mut ctx = request_context(&caller, hop, mfa_present, long_term, &walk.region);

        // 5. The trust policy and MaxSessionDuration, read with GetRole.
        let trust = if !walk.readable {
            let why = walk.failed_at.clone().unwrap_or_default();
            self.unknown(
                "trust-policy",
                Some(hop),
                format!("not read: {why}"),
                Some(format!("iam:GetRole on {}", hop.role_arn)),
            );
            TrustOutcome::Unknown
        } else if cross {
            let needs = format!(
                "iam:GetRole on {} (by a principal of account {role_account}: IAM reads do not cross accounts)",
                hop.role_arn
            );
            self.unknown(
                "trust-policy",
                Some(hop),
                "the role is in another account, whose policies cannot be read from here".into(),
                Some(needs.clone()),
            );
            self.unknown(
                "max-session-duration",
                Some(hop),
                format!("asks for {}s; the role's maximum is not readable from here", hop.duration),
                Some(needs),
            );
            TrustOutcome::Unknown
        } else {
            let iam = Iam::new(env, &caller.partition, &caller.account, &walk.creds);
            match iam.role(&hop.role_arn).await {
                Err(f) => {
                    self.iam_unknown("trust-policy", hop, &f, "could not read the trust policy");
                    self.iam_unknown(
                        "max-session-duration",
                        hop,
                        &f,
                        &format!("asks for {}s; could not read the role's maximum", hop.duration),
                    );
                    if f.kind == FailureKind::NotFound {
                        let text = format!("role {} does not exist ({})", hop.role_arn, f.message);
                        self.cause(93, text, format!("fix role_arn in profile `{}`", hop.profile));
                    }
                    TrustOutcome::Unknown
                }
                Ok(role) => {
                    self.max_duration_check(hop, role.max_session_duration, refused.as_ref());
                    match Policy::parse(&format!("the trust policy of {}", hop.role_arn), &role.trust_policy) {
                        Err(e) => {
                            self.unknown("trust-policy", Some(hop), format!("could not read it: {e}"), None);
                            TrustOutcome::Unknown
                        }
                        Ok(trust) => {
                            if trust.mentions_key("aws:PrincipalTag/") {
                                self.principal_tags(&iam, &caller, &mut ctx).await;
                            }
                            let request = Request {
                                action: "sts:AssumeRole",
                                resource: None,
                                caller: Some(&caller),
                                context: &ctx,
                            };
                            let eval = policy::evaluate(std::slice::from_ref(&trust), &request);
                            self.trust_check(plan, hop, &caller, &eval, denied)
                        }
                    }
                }
            }
        };

        // 6. The caller's own policies.
        self.identity_check(env, hop, &caller, walk, &ctx, cross, &trust, assumed.is_some(), denied).await;

        // What STS said that no policy read explains.
        if denied && !self.explained(hop) {
            self.guesses(plan, hop, &caller, cross, &trust);
        }

        // The next hop's caller.
        match assumed {
            Some(creds) => {
                let (who, _) = call.get_caller_identity_dated(&creds).await;
                walk.caller = match who {
                    Ok(i) => Caller::new(&i.arn, &i.user_id, Some(&hop.role_arn)),
                    Err(_) => hypothetical_session(hop),
                };
                walk.creds = creds;
                walk.mfa = mfa_present;
                walk.covered = None;
            }
            None => {
                walk.caller = hypothetical_session(hop);
                if walk.reachable {
                    walk.failed_at = Some(format!("{} was not assumed", hop.role_arn));
                }
                walk.reachable = false;
                walk.readable = false;
                walk.mfa = mfa_present;
            }
        }
    }

    /// Whether a cause specific to `hop` (not a guess) has been found.
    fn explained(&self, hop: &Hop) -> bool {
        self.causes.iter().any(|c| c.score >= 75 && c.cause.contains(&hop.role_arn))
    }

    fn iam_unknown(&mut self, check: &'static str, hop: &Hop, f: &Failure, what: &str) {
        self.unknown(check, Some(hop), format!("{what}: {}", f.describe()), Some(f.permission()));
    }

    /// Reads the caller's tags into `ctx`; unreadable, they stay unknown, naming the permission.
    async fn principal_tags(&mut self, iam: &Iam, caller: &Caller, ctx: &mut Context) {
        let tags = match &caller.kind {
            CallerKind::User { name } => iam.user_tags(name).await,
            CallerKind::AssumedRole { role, .. } => iam.role_tags(role).await,
            _ => return,
        };
        match tags {
            Ok(tags) => {
                ctx.set_prefix("aws:PrincipalTag/", Value::Absent);
                for (k, v) in tags {
                    ctx.set(&format!("aws:PrincipalTag/{k}"), Value::one(v));
                }
            }
            Err(f) => {
                ctx.set_prefix("aws:PrincipalTag/", Value::Unknown(format!("needs {}", f.permission())));
            }
        }
    }

    fn max_duration_check(&mut self, hop: &Hop, max: Option<u32>, refused: Option<&StsFailure>) {
        let Some(max) = max else {
            self.unknown("max-session-duration", Some(hop), "GetRole gave no MaxSessionDuration".into(), None);
            return;
        };
        if hop.duration > max {
            let text = format!(
                "asks for {}s, but {} allows at most {max}s (its MaxSessionDuration)",
                hop.duration, hop.role_arn
            );
            self.fail("max-session-duration", Some(hop), Fault::Denied, text.clone());
            let corroborated = refused.is_some_and(|f| f.kind == StsKind::DurationTooLong);
            self.cause(
                if corroborated { 96 } else { 92 },
                text,
                format!(
                    "set duration_seconds = {max} (or less) in profile `{}` or pass --duration, or have the role's MaxSessionDuration raised",
                    hop.profile
                ),
            );
        } else {
            self.pass(
                "max-session-duration",
                Some(hop),
                format!("asks for {}s; the role allows up to {max}s", hop.duration),
            );
        }
    }

    /// Check 5's verdict on an evaluated trust policy, and the causes it shows.
    fn trust_check(
        &mut self,
        plan: &Plan,
        hop: &Hop,
        caller: &Caller,
        eval: &Evaluation,
        denied: bool,
    ) -> TrustOutcome {
        let bonus = if denied { 5 } else { 0 };
        let role = &hop.role_arn;
        match eval.decision {
            Decision::Allowed => {
                let s = eval.allowing().expect("an allowing statement");
                let how = match s.principal {
                    Some(Via::Account) => format!("through account {}", caller.account),
                    Some(Via::Everyone) => "through `*`".to_string(),
                    _ if caller.principal_arn != caller.arn => format!("by its role, {}", caller.principal_arn),
                    _ => "by name".to_string(),
                };
                let conditions = if s.conditions.is_empty() {
                    String::new()
                } else {
                    format!(", its {} condition(s) met", s.conditions.len())
                };
                self.pass("trust-policy", Some(hop), format!("{} allows {} {how}{conditions}", s.label, caller.arn));
                TrustOutcome::Allowed(s.principal.unwrap_or(Via::Name))
            }
            Decision::Denied => {
                let s = eval.denies(Truth::Yes).next().expect("a denying statement");
                let why: Vec<String> = s.conditions.iter().map(|c| c.describe()).collect();
                let text = if why.is_empty() {
                    format!("{} of the trust policy of {role} denies {}", s.label, caller.arn)
                } else {
                    format!("{} of the trust policy of {role} denies {}: {}", s.label, caller.arn, why.join("; "))
                };
                self.fail("trust-policy", Some(hop), Fault::Denied, text.clone());
                let fix = s.conditions.iter().find_map(|c| self.condition_fix(plan, hop, caller, c)).map_or_else(
                    || "ask the role's owner to change the Deny statement or make your request meet it".to_string(),
                    |(_, fix)| fix,
                );
                self.cause(90 + bonus, text, fix);
                TrustOutcome::Denied
            }
            Decision::NotAllowed => {
                let Some(s) = eval.closest_allow() else {
                    let text = format!("the trust policy of {role} allows sts:AssumeRole to no one");
                    self.fail("trust-policy", Some(hop), Fault::Denied, text.clone());
                    self.cause(
                        90 + bonus,
                        text,
                        "ask the role's owner to add an Allow statement for sts:AssumeRole naming you".into(),
                    );
                    return TrustOutcome::NotAllowed(None);
                };
                if s.principal.is_none() {
                    let names = s.principals.join(", ");
                    let text = format!("the trust policy of {role} names {names}; you are {}", caller.arn);
                    self.fail("trust-policy", Some(hop), Fault::Denied, text.clone());
                    self.cause(
                        90 + bonus,
                        text,
                        format!(
                            "use credentials of one of those, or ask the role's owner to add {} (or account {}) to the trust policy",
                            caller.principal_arn, caller.account
                        ),
                    );
                } else {
                    let failing: Vec<&policy::ConditionResult> = s.failing(Truth::No).collect();
                    let why: Vec<String> = failing.iter().map(|c| c.describe()).collect();
                    let admits = match s.principal {
                        Some(Via::Account) => format!("admits your account {}", caller.account),
                        Some(Via::Everyone) => "admits everyone (`*`)".to_string(),
                        _ => "names you".to_string(),
                    };
                    let text = format!("{} of the trust policy of {role} {admits}, but: {}", s.label, why.join("; "));
                    self.fail("trust-policy", Some(hop), Fault::Denied, text);
                    for c in failing {
                        match self.condition_fix(plan, hop, caller, c) {
                            Some((cause, fix)) => self.cause(90 + bonus, cause, fix),
                            None => self.cause(
                                85 + bonus,
                                format!("the trust policy of {role} requires {}", c.describe()),
                                "ask the role's owner which value it expects".into(),
                            ),
                        }
                    }
                    // What may still stand in the way once those are met.
                    for c in s.failing(Truth::Unknown) {
                        let (score, cause, fix) = unknown_condition_cause(hop, caller, c);
                        self.cause(score, cause, fix);
                    }
                }
                TrustOutcome::NotAllowed(s.principal)
            }
            Decision::Unknown => {
                let open: Vec<&policy::ConditionResult> = eval
                    .statements
                    .iter()
                    .filter(|s| s.applies == Truth::Unknown)
                    .flat_map(|s| s.failing(Truth::Unknown))
                    .collect();
                let why: Vec<String> = open.iter().map(|c| c.describe()).collect();
                let needs: Vec<String> = open
                    .iter()
                    .filter_map(|c| match &c.actual {
                        Value::Unknown(why) => Some(why.clone()),
                        _ => None,
                    })
                    .collect();
                self.unknown(
                    "trust-policy",
                    Some(hop),
                    format!("it turns on what rolesh cannot see: {}", why.join("; ")),
                    Some(dedup(needs).join("; ")),
                );
                for c in open {
                    let (score, cause, fix) = unknown_condition_cause(hop, caller, c);
                    self.cause(score + if denied { 20 } else { 0 }, cause, fix);
                }
                TrustOutcome::Unknown
            }
        }
    }

    /// Check 6: does an identity policy of the caller allow `sts:AssumeRole` on the role?
    #[allow(clippy::too_many_arguments)]
    async fn identity_check(
        &mut self,
        env: &Env,
        hop: &Hop,
        caller: &Caller,
        walk: &Walk,
        ctx: &Context,
        cross: bool,
        trust: &TrustOutcome,
        assumed: bool,
        denied: bool,
    ) {
        let role = &hop.role_arn;
        if !walk.readable {
            let why = walk.failed_at.clone().unwrap_or_default();
            self.unknown("identity-policy", Some(hop), format!("not read: {why}"), None);
            return;
        }
        let iam = Iam::new(env, &caller.partition, &caller.account, &walk.creds);
        let docs = match &caller.kind {
            CallerKind::User { name } => iam.user_policies(name).await,
            CallerKind::AssumedRole { role, .. } => iam.role_policies(role).await,
            _ => {
                self.unknown(
                    "identity-policy",
                    Some(hop),
                    format!("rolesh reads the policies of IAM users and roles only, not of {}", caller.arn),
                    None,
                );
                return;
            }
        };
        let docs = match docs {
            Ok(d) => d,
            Err(f) => return self.iam_unknown("identity-policy", hop, &f, "could not read your policies"),
        };
        let mut policies = Vec::new();
        for doc in &docs {
            match Policy::parse(&doc.name, &doc.text) {
                Ok(p) => policies.push(p),
                Err(e) => {
                    return self.unknown(
                        "identity-policy",
                        Some(hop),
                        format!("could not read {}: {e}", doc.name),
                        None,
                    );
                }
            }
        }
        let request = Request { action: "sts:AssumeRole", resource: Some(role), caller: None, context: ctx };
        let eval = policy::evaluate(&policies, &request);
        // A same-account trust policy that names the caller needs no identity policy; one that
        // names only the account, and any cross-account role, does.
        let needed = match trust {
            _ if cross => Some(true),
            TrustOutcome::Allowed(Via::Account) | TrustOutcome::NotAllowed(Some(Via::Account)) => Some(true),
            TrustOutcome::Allowed(_) | TrustOutcome::NotAllowed(Some(_)) => Some(false),
            _ if assumed => Some(false),
            _ => None,
        };
        let not_needed = match trust {
            TrustOutcome::Allowed(_) | TrustOutcome::NotAllowed(Some(_)) => "the trust policy names the caller",
            _ => "STS let the caller assume the role",
        };
        match eval.decision {
            Decision::Allowed => {
                let s = eval.allowing().expect("an allowing statement");
                self.pass(
                    "identity-policy",
                    Some(hop),
                    format!("{} of {} allows sts:AssumeRole on it", s.label, s.policy),
                );
            }
            Decision::Denied => {
                let s = eval.denies(Truth::Yes).next().expect("a denying statement");
                let text = format!("{} of {} denies sts:AssumeRole on {role}", s.label, s.policy);
                self.fail("identity-policy", Some(hop), Fault::Denied, text.clone());
                self.cause(88, text, format!("remove or narrow that statement for {}", caller.principal_arn));
            }
            Decision::Unknown => {
                let why: Vec<String> = eval
                    .statements
                    .iter()
                    .filter(|s| s.applies == Truth::Unknown)
                    .flat_map(|s| {
                        s.failing(Truth::Unknown).map(|c| format!("{} of {}: {}", s.label, s.policy, c.describe()))
                    })
                    .collect();
                self.unknown(
                    "identity-policy",
                    Some(hop),
                    format!("it turns on what rolesh cannot see: {}", why.join("; ")),
                    None,
                );
            }
            Decision::NotAllowed => {
                let none = match policies.len() {
                    0 => format!(
                        "{} has no identity policy, so none allows sts:AssumeRole on {role}",
                        caller.principal_arn
                    ),
                    n => format!(
                        "none of the {n} identity policies of {} allows sts:AssumeRole on {role}",
                        caller.principal_arn
                    ),
                };
                match needed {
                    Some(false) => {
                        self.pass("identity-policy", Some(hop), format!("{none}, and none needs to: {not_needed}"))
                    }
                    Some(true) => {
                        let why = if cross {
                            "a cross-account role needs that allow in the caller's own account too"
                        } else {
                            "the trust policy trusts the account, so the account's own policies must allow it"
                        };
                        let text = format!("{none}; {why}");
                        self.fail("identity-policy", Some(hop), Fault::Denied, text.clone());
                        self.cause(
                            if denied { 85 } else { 80 },
                            text,
                            format!("attach a policy allowing sts:AssumeRole on {role} to {}", caller.principal_arn),
                        );
                    }
                    None => self.unknown(
                        "identity-policy",
                        Some(hop),
                        format!("{none}; whether one must depends on the trust policy"),
                        Some(format!("iam:GetRole on {role}")),
                    ),
                }
            }
        }
    }

    /// STS refused, and no policy read says why: the usual causes, the likeliest first.
    fn guesses(&mut self, plan: &Plan, hop: &Hop, caller: &Caller, cross: bool, trust: &TrustOutcome) {
        let role = &hop.role_arn;
        if matches!(trust, TrustOutcome::Allowed(_)) {
            self.cause(
                70,
                format!("STS refused {role} although its trust policy and your policies allow it: a service control policy, a permission boundary or a session policy may deny it"),
                format!("ask your AWS administrator which policy denies sts:AssumeRole on {role} to {}", caller.principal_arn),
            );
            return;
        }
        self.cause(
            72,
            format!(
                "the trust policy of {role} may not name you ({}) or your account {}",
                caller.principal_arn, caller.account
            ),
            format!(
                "ask the role's owner to check that its trust policy names {} or account {}",
                caller.principal_arn, caller.account
            ),
        );
        if hop.mfa_serial.is_none()
            && plan.steps.iter().all(|s| !matches!(s, Step::SessionToken { serial: Some(_), .. }))
        {
            self.cause(
                68,
                format!("the trust policy of {role} may require MFA, and profile `{}` has no mfa_serial", hop.profile),
                format!(
                    "add `mfa_serial = {}` to profile `{}` if the role requires MFA",
                    mfa_device_guess(self.base.as_ref(), caller),
                    hop.profile
                ),
            );
        }
        if hop.external_id.is_none() {
            self.cause(
                64,
                format!(
                    "the trust policy of {role} may require an ExternalId, and profile `{}` sends none",
                    hop.profile
                ),
                format!("add `external_id = …` to profile `{}` with the value the role's owner gave you", hop.profile),
            );
        }
        if cross {
            self.cause(
                60,
                format!("your account {} may not allow sts:AssumeRole on {role}", caller.account),
                format!("attach a policy allowing sts:AssumeRole on {role} to {}", caller.principal_arn),
            );
        }
    }

    /// A failed STS call (check 4, or GetSessionToken), classified.
    fn sts_refused(
        &mut self,
        check: &'static str,
        hop: Option<&Hop>,
        e: &Error,
        seconds: Option<u32>,
        serial: Option<&str>,
    ) {
        let Error::Sts(f) = e else {
            self.fail(check, hop, Fault::Denied, e.render());
            return;
        };
        let target = hop.map_or_else(|| "the session token".to_string(), |h| h.role_arn.clone());
        let said = if f.code.is_empty() { f.message.clone() } else { format!("{}: {}", f.code, f.message) };
        let profile = hop.map_or(self.profile.as_str(), |h| h.profile.as_str()).to_string();
        let (fault, text, cause) = match f.kind {
            StsKind::AccessDenied => (Fault::Denied, format!("STS refused: {said}"), None),
            StsKind::MfaRejected => (
                Fault::Denied,
                format!("STS rejected the MFA code: {said}"),
                Some((
                    88,
                    format!(
                        "the MFA code for {} was wrong, already used, or from another device",
                        serial.unwrap_or("the MFA device")
                    ),
                    "wait for the next code and run again; check that mfa_serial names the device the code comes from"
                        .to_string(),
                )),
            ),
            StsKind::DurationTooLong if f.message.contains("role chaining") => (
                Fault::Denied,
                format!("STS refused {}s: {said}", seconds.unwrap_or_default()),
                Some((
                    90,
                    format!("{target} is assumed with role credentials (role chaining), which AWS caps at 1h"),
                    format!("set duration_seconds = {CHAINED_MAX_SECONDS} (or less) in profile `{profile}`"),
                )),
            ),
            StsKind::DurationTooLong => (
                Fault::Denied,
                format!("STS refused {}s: {said}", seconds.unwrap_or_default()),
                Some((
                    85,
                    format!("{}s is above the maximum session duration of {target}", seconds.unwrap_or_default()),
                    format!(
                        "lower duration_seconds in profile `{profile}` (or --duration) to the role's MaxSessionDuration"
                    ),
                )),
            ),
            StsKind::Expired => (
                Fault::Denied,
                format!("the signing credentials have expired: {said}"),
                Some((
                    95,
                    "the credentials the call is signed with have expired".to_string(),
                    "refresh the source's session token (or run `rolesh login` for SSO)".to_string(),
                )),
            ),
            StsKind::BadKeys => (
                Fault::Denied,
                format!("STS does not accept the signing keys: {said}"),
                Some((
                    95,
                    "STS does not accept the signing keys".to_string(),
                    "check the source's access key pair (`aws configure`)".to_string(),
                )),
            ),
            StsKind::Throttled => (
                Fault::Network,
                "STS kept throttling the request (3 tries)".to_string(),
                Some((40, format!("STS throttled the call for {target}"), "wait a moment and run again".to_string())),
            ),
            StsKind::Unreachable | StsKind::ServerFault | StsKind::Malformed => (
                Fault::Network,
                f.detail.clone(),
                Some((
                    40,
                    format!("STS could not be asked for {target}"),
                    "check the network and the STS endpoint, and run again".to_string(),
                )),
            ),
            StsKind::RegionDisabled | StsKind::Refused => (
                Fault::Denied,
                format!("STS refused: {said}"),
                Some((75, format!("STS refused the call for {target}: {said}"), f.detail.clone())),
            ),
        };
        self.fail(check, hop, fault, text);
        if let Some((score, cause, fix)) = cause {
            self.cause(score, cause, fix);
        }
    }
}

/// How the trust policy judged the caller.
enum TrustOutcome {
    Allowed(Via),
    Denied,
    /// With how the closest Allow statement names the caller, if it does.
    NotAllowed(Option<Via>),
    Unknown,
}

/// The walk along the plan: the credentials the next call is signed with, and as whom.
struct Walk {
    creds: Credentials,
    caller: Caller,
    /// The next STS call can be made: every step so far succeeded.
    reachable: bool,
    /// `creds` are the next hop's caller's own, for IAM reads (also when only a GetSessionToken
    /// could not be made: its keys are the same user's).
    readable: bool,
    /// The signing credentials carry MFA (an MFA session, or a role assumed with a code).
    mfa: bool,
    /// The MFA device the last GetSessionToken used: the next AssumeRole needs no code for it.
    covered: Option<String>,
    codes: mfa::Codes,
    region: String,
    /// Why the walk stopped, for the checks it could not make.
    failed_at: Option<String>,
}

/// The session a hop would have made, for judging the next hop when it was not made.
fn hypothetical_session(hop: &Hop) -> Caller {
    let parts: Vec<&str> = hop.role_arn.splitn(6, ':').collect();
    let (partition, account) = (parts.get(1).copied().unwrap_or("aws"), parts.get(4).copied().unwrap_or_default());
    let name = hop.role_arn.rsplit('/').next().unwrap_or_default();
    Caller::new(
        &format!("arn:{partition}:sts::{account}:assumed-role/{name}/{}", hop.session_name),
        "",
        Some(&hop.role_arn),
    )
}

/// The condition keys of an AssumeRole of `hop` by `caller`, as AWS will see them: what rolesh
/// sends and knows, and `Unknown` for what only AWS sees (the source address, the caller's
/// organization).
fn request_context(caller: &Caller, hop: &Hop, mfa: bool, long_term: bool, region: &str) -> Context {
    let mut ctx = Context::default();
    let now = Utc::now();
    ctx.set("aws:PrincipalArn", Value::one(caller.principal_arn.clone()))
        .set("aws:PrincipalAccount", Value::one(caller.account.clone()))
        .set("aws:PrincipalType", Value::one(caller.principal_type()))
        .set(
            "aws:userid",
            if caller.user_id.is_empty() {
                Value::Unknown("the session was not made".into())
            } else {
                Value::one(caller.user_id.clone())
            },
        )
        .set(
            "aws:username",
            match &caller.kind {
                CallerKind::User { name } => Value::one(name.clone()),
                _ => Value::Absent,
            },
        )
        // Long-term keys carry no MFA key at all; temporary credentials without MFA carry `false`.
        .set(
            "aws:MultiFactorAuthPresent",
            if mfa {
                Value::one("true")
            } else if long_term {
                Value::Absent
            } else {
                Value::one("false")
            },
        )
        .set("aws:MultiFactorAuthAge", if mfa { Value::one("0") } else { Value::Absent })
        .set("sts:ExternalId", hop.external_id.clone().map_or(Value::Absent, Value::one))
        .set("sts:RoleSessionName", Value::one(hop.session_name.clone()))
        .set(
            "sts:SourceIdentity",
            match caller.kind {
                CallerKind::AssumedRole { .. } => {
                    Value::Unknown("a role session may carry a source identity set when it was made".into())
                }
                _ => Value::Absent,
            },
        )
        .set("sts:TransitiveTagKeys", Value::Absent)
        .set("aws:TagKeys", Value::Absent)
        .set_prefix("aws:RequestTag/", Value::Absent)
        .set("aws:SourceIp", Value::Unknown("rolesh cannot see the address AWS sees the request come from".into()))
        .set("aws:PrincipalOrgID", Value::Unknown("needs organizations:DescribeOrganization".into()))
        .set("aws:PrincipalOrgPaths", Value::Unknown("needs organizations:DescribeOrganization".into()))
        .set_prefix("aws:PrincipalTag/", Value::Unknown("the caller's tags were not read".into()))
        .set("aws:SecureTransport", Value::one("true"))
        .set("aws:CurrentTime", Value::one(policy::current_time(now)))
        .set("aws:EpochTime", Value::one(now.timestamp().to_string()))
        .set("aws:RequestedRegion", Value::one(region))
        .set("aws:PrincipalIsAWSService", Value::one("false"))
        .set("aws:ViaAWSService", Value::one("false"))
        .set("aws:CalledVia", Value::Absent)
        .set(
            "aws:TokenIssueTime",
            if long_term { Value::Absent } else { Value::Unknown("when the session was issued".into()) },
        );
    ctx
}

/// The likely ARN of an MFA device of the IAM user `owner` (the source), for a fix: virtual
/// devices are usually named after their user.
fn mfa_device_guess(owner: Option<&Caller>, caller: &Caller) -> String {
    match owner.map(|o| (o, &o.kind)) {
        Some((o, CallerKind::User { name })) => format!("arn:{}:iam::{}:mfa/{name}", o.partition, o.account),
        _ => format!("arn:{}:iam::ACCOUNT:mfa/YOUR-DEVICE", caller.partition),
    }
}

impl Doctor {
    /// The cause and fix of a failed condition of a trust policy, for the keys rolesh knows.
    fn condition_fix(
        &self,
        plan: &Plan,
        hop: &Hop,
        caller: &Caller,
        c: &policy::ConditionResult,
    ) -> Option<(String, String)> {
        let role = &hop.role_arn;
        let key = c.condition.key.to_ascii_lowercase();
        let expected = c.condition.values.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(" or ");
        let profile = &hop.profile;
        let has_mfa = hop.mfa_serial.is_some()
            || plan.steps.iter().any(|s| matches!(s, Step::SessionToken { serial: Some(_), .. }));
        let op = &c.condition.operator;
        Some(match key.as_str() {
        "aws:multifactorauthpresent" | "aws:multifactorauthage" if !has_mfa => (
            format!("the trust policy of {role} requires MFA ({} {op} {expected}), and profile `{profile}` has no mfa_serial", c.condition.key),
            format!("add `mfa_serial = {}` (your MFA device's ARN) to profile `{profile}`", mfa_device_guess(self.base.as_ref(), caller)),
        ),
        "aws:multifactorauthage" => (
            format!("the trust policy of {role} wants an MFA sign-in younger than {expected} seconds"),
            format!("run with --refresh to sign in with MFA anew (profile `{profile}`)"),
        ),
        "sts:externalid" => match &hop.external_id {
            None => (
                format!("the trust policy of {role} requires ExternalId {expected}, and profile `{profile}` sends none"),
                format!("add `external_id = {}` to profile `{profile}` (or pass --external-id)", c.condition.values.first().cloned().unwrap_or_default()),
            ),
            Some(sent) => (
                format!("profile `{profile}` sends ExternalId `{sent}`, but the trust policy of {role} wants {expected}"),
                format!("set `external_id = {}` in profile `{profile}`", c.condition.values.first().cloned().unwrap_or_default()),
            ),
        },
        "sts:rolesessionname" => (
            format!("the trust policy of {role} wants a session name {op} {expected}; rolesh sends `{}`", hop.session_name),
            format!("set role_session_name in profile `{profile}` (or pass --session-name) to match {expected}"),
        ),
        "aws:principalarn" => (
            format!("the trust policy of {role} admits only principals {op} {expected}; you are {}", caller.principal_arn),
            format!("use credentials of a matching principal, or ask the role's owner to admit {}", caller.principal_arn),
        ),
        "sts:sourceidentity" => (
            format!("the trust policy of {role} wants a source identity {op} {expected}; rolesh sets none"),
            "ask the role's owner to drop the sts:SourceIdentity condition, or assume the role with a tool that sets one".to_string(),
        ),
        k if k.starts_with("aws:principaltag/") => {
            let tag = &c.condition.key["aws:PrincipalTag/".len()..];
            (
                format!(
                    "the trust policy of {role} wants tag `{tag}` {op} {expected} on {}, which has {}",
                    caller.principal_arn,
                    c.actual.describe()
                ),
                format!("tag {} with {tag} = {} (iam:TagUser / iam:TagRole)", caller.principal_arn, c.condition.values.first().cloned().unwrap_or_default()),
            )
        }
        _ => return None,
    })
    }
}

/// A condition rolesh could not settle: what it may mean, and what to do.
fn unknown_condition_cause(hop: &Hop, caller: &Caller, c: &policy::ConditionResult) -> (u32, String, String) {
    let role = &hop.role_arn;
    let key = c.condition.key.to_ascii_lowercase();
    let values = c.condition.values.join(", ");
    let negated = c.condition.operator.contains("Not");
    match key.as_str() {
        "aws:sourceip" if negated => (
            60,
            format!("the trust policy of {role} turns away requests from {values}"),
            format!("make sure you do not connect from {values}"),
        ),
        "aws:sourceip" => (
            60,
            format!("the trust policy of {role} only admits requests from {values}"),
            format!("connect from {values} (a VPN or office network) when you assume it"),
        ),
        "aws:principalorgid" | "aws:principalorgpaths" => (
            55,
            format!("the trust policy of {role} only admits principals of organization {values}"),
            format!("check that account {} belongs to {values}", caller.account),
        ),
        _ => (
            50,
            format!("the trust policy of {role} requires {}", c.describe()),
            "ask the role's owner what it expects".into(),
        ),
    }
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// `5m 10s`, `42s`, `2h 3m`.
fn human(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s => format!("{}h {}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(profile: &str, role: &str) -> Hop {
        Hop {
            profile: profile.into(),
            role_arn: role.into(),
            mfa_serial: None,
            external_id: None,
            session_name: "rolesh-alice".into(),
            duration: 3600,
            clamped_from: None,
        }
    }

    #[test]
    fn long_term_keys_carry_no_mfa_key_and_session_credentials_carry_false() {
        let alice = Caller::new("arn:aws:iam::123456789012:user/alice", "AIDAALICE", None);
        let h = hop("p", "arn:aws:iam::123456789012:role/r");
        assert_eq!(
            request_context(&alice, &h, false, true, "us-east-1").get("aws:MultiFactorAuthPresent"),
            Value::Absent
        );
        assert_eq!(
            request_context(&alice, &h, false, false, "us-east-1").get("aws:MultiFactorAuthPresent"),
            Value::one("false")
        );
        let ctx = request_context(&alice, &h, true, false, "us-east-1");
        assert_eq!(ctx.get("aws:MultiFactorAuthPresent"), Value::one("true"));
        assert_eq!(ctx.get("aws:username"), Value::one("alice"));
        assert_eq!(ctx.get("sts:RoleSessionName"), Value::one("rolesh-alice"));
        assert_eq!(ctx.get("sts:ExternalId"), Value::Absent);
        assert!(matches!(ctx.get("aws:SourceIp"), Value::Unknown(_)));
    }

    #[test]
    fn a_session_that_was_not_made_is_judged_as_the_role_it_would_be() {
        let c = hypothetical_session(&hop("p", "arn:aws:iam::111111111111:role/teams/ops"));
        assert_eq!(c.arn, "arn:aws:sts::111111111111:assumed-role/ops/rolesh-alice");
        assert_eq!(c.principal_arn, "arn:aws:iam::111111111111:role/teams/ops");
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(42), "42s");
        assert_eq!(human(310), "5m 10s");
        assert_eq!(human(7380), "2h 3m");
    }

    #[test]
    fn the_worst_failure_sets_the_exit_code_and_causes_rank_by_likelihood() {
        let mut d = Doctor { profile: "p".into(), hops: 1, base: None, checks: vec![], causes: vec![] };
        d.fail("assume-role", None, Fault::Network, "x".into());
        d.cause(40, "low".into(), "f".into());
        d.cause(90, "high".into(), "f".into());
        d.cause(90, "high".into(), "again".into());
        let mut config = Doctor { profile: "p".into(), hops: 1, base: None, checks: d.checks.clone(), causes: vec![] };
        let r = d.finish();
        assert_eq!(r.exit_code, 6);
        assert_eq!(r.verdict.iter().map(|c| c.cause.as_str()).collect::<Vec<_>>(), ["high", "low"]);
        config.fail("duration", None, Fault::Config, "y".into());
        assert_eq!(config.finish().exit_code, 3);
        let mut fine = Doctor { profile: "p".into(), hops: 1, base: None, checks: vec![], causes: vec![] };
        fine.unknown("trust-policy", None, "z".into(), Some("iam:GetRole on r".into()));
        fine.cause(70, "a guess".into(), "f".into());
        let r = fine.finish();
        assert_eq!((r.exit_code, r.verdict.len()), (0, 0), "an unknown is not a failure, and guesses need one");
    }
}
