//! Turns a profile name (or a bare role ARN) into a [`Plan`]: where the first credentials
//! come from and the STS calls that follow, in order. The rules are botocore's
//! AssumeRoleProvider: a top-level `role_arn` wins over static keys in the same profile; a
//! *source* profile with static keys uses them even if it has a `role_arn`; a profile may name
//! itself as `source_profile` to use its own keys; anything else that revisits a profile is a
//! cycle. Chains are walked with a loop and a depth limit, never by recursion, so no config
//! can overflow the stack.
//!
//! The plan holds no secrets (it is `Clone + Debug` and passed around); the static keys a
//! plan starts from travel beside it in [`Resolved`].

use super::config::{Config, Profile};
use crate::credentials::{Credentials, Secret};
use crate::env::Env;
use crate::error::Error;
use crate::values::{self, DEFAULT_SECONDS};

/// Far above any real chain (AWS users rarely chain more than three roles); deeper is a
/// broken or hostile config.
pub const MAX_CHAIN: usize = 64;
/// How long an MFA session from GetSessionToken lasts: a working day, so switching between
/// roles that share a source and an MFA device asks for a code about once a day.
pub const MFA_SESSION_SECONDS: u32 = 12 * 3600;
/// AWS caps a session assumed with role credentials ("role chaining") at one hour.
pub const CHAINED_MAX_SECONDS: u32 = 3600;

/// Where the first credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `aws_access_key_id`/`aws_secret_access_key` of a profile; the secret is in
    /// [`Resolved::keys`]. `session_token`: the profile also has `aws_session_token`.
    Static { profile: String, access_key_id: String, session_token: bool },
    /// `credential_process` of a profile.
    Process { profile: String, command: String },
    /// `credential_source = Environment`, or keys already in the environment for a bare ARN.
    Environment,
    /// `credential_source = Ec2InstanceMetadata`.
    Imds,
    /// `credential_source = EcsContainer`.
    Ecs,
    /// A bare ARN with no profile to source from: the container endpoint where one is
    /// configured, else instance metadata.
    DefaultChain,
    /// An IAM Identity Center (SSO) permission set: role credentials from the portal, with the
    /// token the `sso-session` (or, legacy, the start URL) logged in for.
    Sso(SsoRole),
}

/// Where an SSO profile's credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoRole {
    pub profile: String,
    /// `[sso-session NAME]`; `None` for the legacy form with the start URL in the profile.
    pub session: Option<String>,
    pub start_url: String,
    pub region: String,
    pub account_id: String,
    pub role_name: String,
    /// `sso_registration_scopes` of the session.
    pub scopes: Vec<String>,
}

impl Source {
    /// Role credentials for sure, so the next AssumeRole is "role chaining" (capped at 1h).
    pub fn is_role_session(&self) -> bool {
        matches!(self, Source::Imds | Source::Ecs | Source::DefaultChain | Source::Sso(_))
    }

    /// May these be long-term keys, which GetSessionToken can turn into a session? Where it
    /// depends on what the source returns, the step is planned and skipped at run time if the
    /// credentials carry a session token.
    pub fn may_be_long_term(&self) -> bool {
        match self {
            Source::Static { session_token, .. } => !session_token,
            Source::Process { .. } | Source::Environment => true,
            Source::Imds | Source::Ecs | Source::DefaultChain | Source::Sso(_) => false,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Source::Static { profile, .. } => format!("static keys of profile `{profile}`"),
            Source::Process { profile, .. } => format!("credential_process of profile `{profile}`"),
            Source::Environment => "credentials in the environment".into(),
            Source::Imds => "EC2 instance metadata".into(),
            Source::Ecs => "the ECS container credentials endpoint".into(),
            Source::DefaultChain => "the container or instance credentials".into(),
            Source::Sso(s) => {
                format!("the SSO role {} in account {} of profile `{}`", s.role_name, s.account_id, s.profile)
            }
        }
    }

    /// The profile whose keys are the source, for "check the keys of profile X" hints.
    pub fn profile(&self) -> Option<&str> {
        match self {
            Source::Static { profile, .. } | Source::Process { profile, .. } => Some(profile),
            Source::Sso(s) => Some(&s.profile),
            _ => None,
        }
    }
}

/// One AssumeRole call, every parameter decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The profile this hop comes from (the ARN itself for a bare ARN).
    pub profile: String,
    pub role_arn: String,
    pub mfa_serial: Option<String>,
    pub external_id: Option<String>,
    pub session_name: String,
    pub duration: u32,
    /// The duration the config or flags asked for when it was above the role-chaining
    /// limit and `duration` is that limit instead (the user is told).
    pub clamped_from: Option<u32>,
}

/// One STS call of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// GetSessionToken on long-term keys: an MFA session (with `serial`) to assume roles
    /// from, or, for a profile without a role, a session so the command never sees the
    /// long-term keys. Skipped at run time when the source's credentials already carry a
    /// session token (STS refuses GetSessionToken with session credentials).
    SessionToken {
        serial: Option<String>,
        duration: u32,
    },
    AssumeRole(Hop),
}

/// What will happen to get credentials for a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The name the user asked for.
    pub profile: String,
    pub source: Source,
    /// In the order they are made; empty for temporary keys used as they are.
    pub steps: Vec<Step>,
    pub region: Option<String>,
}

impl Plan {
    /// The last role assumed, if any.
    pub fn role_arn(&self) -> Option<&str> {
        self.hops().last().map(|h| h.role_arn.as_str())
    }

    pub fn hops(&self) -> impl DoubleEndedIterator<Item = &Hop> {
        self.steps.iter().filter_map(|s| match s {
            Step::AssumeRole(h) => Some(h),
            Step::SessionToken { .. } => None,
        })
    }
}

/// A plan and the static keys it starts from (for [`Source::Static`]), kept apart so the
/// plan itself holds no secret.
#[derive(Debug)]
pub struct Resolved {
    pub plan: Plan,
    pub keys: Option<Credentials>,
}

/// What the command line adds to or overrides in the plan.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub source_profile: Option<String>,
    pub duration: Option<u32>,
    pub session_name: Option<String>,
    pub external_id: Option<String>,
    pub mfa_serial: Option<String>,
    pub region: Option<String>,
}

pub fn resolve(cfg: &Config, env: &Env, name: &str, over: &Overrides) -> Result<Resolved, Error> {
    let (chain, region) = if name.starts_with("arn:") {
        (chain_for_arn(cfg, env, name, over)?, None)
    } else {
        if over.source_profile.is_some() {
            return Err(Error::Usage("--source-profile goes with a role ARN, not a profile name".into()));
        }
        let profile = find(cfg, name)?;
        (walk(cfg, env, profile)?, region_of(cfg, profile)?)
    };
    let region = over.region.clone().or(region);
    Ok(chain.into_plan(name, region, over))
}

/// A profile's `region`, checked: it becomes part of the STS host name and the command's
/// environment.
fn region_of(cfg: &Config, p: &Profile) -> Result<Option<String>, Error> {
    let Some(region) = p.non_empty("region") else { return Ok(None) };
    values::parse_region(region).map(Some).map_err(|why| Error::BadValue {
        file: cfg.file_of(p, "region").display().to_string(),
        profile: p.name.clone(),
        key: "region",
        // A region of megabytes is not repeated in the one-line error.
        value: region.chars().take(64).collect(),
        why,
    })
}

fn find<'a>(cfg: &'a Config, name: &str) -> Result<&'a Profile, Error> {
    cfg.get(name).ok_or_else(|| Error::UnknownProfile {
        name: name.to_string(),
        suggestions: cfg.closest(name),
        files: cfg.files(),
    })
}

/// A profile chain as the config describes it, before the command line's overrides.
struct Chain {
    source: Source,
    keys: Option<Credentials>,
    /// In call order.
    hops: Vec<Hop>,
    /// `mfa_serial` of a profile used for its own keys (no role): an MFA session.
    base_mfa: Option<String>,
}

impl Chain {
    fn into_plan(mut self, name: &str, region: Option<String>, over: &Overrides) -> Resolved {
        let mut steps = Vec::new();
        if let Some(last) = self.hops.last_mut() {
            last.duration = over.duration.unwrap_or(last.duration);
            last.session_name = over.session_name.clone().unwrap_or(std::mem::take(&mut last.session_name));
            last.external_id = over.external_id.clone().or(last.external_id.take());
            last.mfa_serial = over.mfa_serial.clone().or(last.mfa_serial.take());
            let first_serial = self.hops[0].mfa_serial.clone();
            if first_serial.is_some() && self.source.may_be_long_term() {
                steps.push(Step::SessionToken { serial: first_serial, duration: MFA_SESSION_SECONDS });
            }
        } else if self.source.may_be_long_term() {
            let serial = over.mfa_serial.clone().or(self.base_mfa);
            steps.push(Step::SessionToken { serial, duration: over.duration.unwrap_or(DEFAULT_SECONDS) });
        }
        for (i, mut hop) in self.hops.into_iter().enumerate() {
            let chained = i > 0 || self.source.is_role_session();
            if chained && hop.duration > CHAINED_MAX_SECONDS {
                hop.clamped_from = Some(hop.duration);
                hop.duration = CHAINED_MAX_SECONDS;
            }
            steps.push(Step::AssumeRole(hop));
        }
        Resolved { plan: Plan { profile: name.to_string(), source: self.source, steps, region }, keys: self.keys }
    }
}

/// A bare role ARN: its source is `--source-profile`, else keys in the environment, else
/// `AWS_PROFILE` or `[default]`, else the container or instance credentials.
fn chain_for_arn(cfg: &Config, env: &Env, arn: &str, over: &Overrides) -> Result<Chain, Error> {
    validate_role_arn(arn, arn)?;
    let env_keys = env.get("AWS_ACCESS_KEY_ID").is_some();
    let (from_profile, via) = match &over.source_profile {
        Some(p) => (Some(p.as_str()), "--source-profile"),
        None if env_keys => (None, ""),
        None => match env.get("AWS_PROFILE") {
            Some(p) => (Some(p), "AWS_PROFILE"),
            None => (cfg.get("default").map(|_| "default"), ""),
        },
    };
    let hop = Hop {
        profile: arn.to_string(),
        role_arn: arn.to_string(),
        mfa_serial: None,
        external_id: None,
        session_name: values::default_session_name(env),
        duration: DEFAULT_SECONDS,
        clamped_from: None,
    };
    let Some(name) = from_profile else {
        let source = if env_keys { Source::Environment } else { Source::DefaultChain };
        return Ok(Chain { source, keys: None, hops: vec![hop], base_mfa: None });
    };
    // A source named by an ARN would start this walk again (AWS_PROFILE set to the very
    // ARN being assumed overflowed the stack once): a source must be a profile.
    if name.starts_with("arn:") {
        return Err(Error::Usage(format!(
            "{via} is a role ARN (`{name}`); the credentials that assume {arn} must come from a profile name"
        )));
    }
    let mut chain = walk(cfg, env, find(cfg, name)?)?;
    // An IAM user source with mfa_serial guards the role the way mfa_serial on a role
    // profile does.
    let mfa_serial = chain.base_mfa.take();
    chain.hops.push(Hop { mfa_serial, ..hop });
    Ok(chain)
}

/// Walks `profile`'s chain down to its base credentials, with a loop (never recursion), a
/// cycle check and a depth limit.
fn walk(cfg: &Config, env: &Env, profile: &Profile) -> Result<Chain, Error> {
    if !profile.has_role() {
        let (source, keys) = base_source(cfg, profile, true)?;
        return Ok(Chain { source, keys, hops: vec![], base_mfa: profile.non_empty("mfa_serial").map(String::from) });
    }
    let mut visited = vec![profile.name.clone()];
    // Outermost first while walking; reversed into call order at the end.
    let mut hops = Vec::new();
    let mut current = profile;
    let (source, keys) = loop {
        let name = &current.name;
        let role_arn = current.get("role_arn").unwrap_or_default();
        validate_role_arn(role_arn, name)?;
        hops.push(hop_of(cfg, env, current, role_arn)?);
        let src = match (current.non_empty("source_profile"), current.non_empty("credential_source")) {
            (Some(_), Some(_)) => {
                return Err(Error::config_of(
                    name,
                    format!("profile `{name}` has both source_profile and credential_source; keep only one"),
                ));
            }
            (None, None) => {
                return Err(Error::config_of(
                    name,
                    format!(
                        "profile `{name}` has role_arn but neither source_profile nor credential_source; add one of them"
                    ),
                ));
            }
            (None, Some(cs)) => break (credential_source(name, cs)?, None),
            (Some(src), None) => src,
        };
        let chain = || visited.iter().cloned().chain([src.to_string()]).collect::<Vec<_>>();
        let Some(source) = cfg.get(src) else {
            return Err(Error::DanglingSource {
                profile: name.clone(),
                missing: src.into(),
                chain: chain().join(" -> "),
            });
        };
        if visited.iter().any(|v| v == src) {
            // Only a profile naming itself, with keys of its own, may revisit.
            if src == name && source.has_static_keys() {
                break base_source(cfg, source, false)?;
            }
            return Err(Error::Cycle { chain: chain() });
        }
        visited.push(src.to_string());
        if source.has_static_keys() || !source.has_role() {
            break base_source(cfg, source, false)?;
        }
        if hops.len() >= MAX_CHAIN {
            return Err(Error::config_of(
                &profile.name,
                format!(
                    "profile `{}` has a source_profile chain of more than {MAX_CHAIN} roles; check the source_profile settings for a mistake",
                    profile.name
                ),
            ));
        }
        current = source;
    };
    hops.reverse();
    Ok(Chain { source, keys, hops, base_mfa: None })
}

fn hop_of(cfg: &Config, env: &Env, p: &Profile, role_arn: &str) -> Result<Hop, Error> {
    let duration = match p.non_empty("duration_seconds") {
        None => DEFAULT_SECONDS,
        Some(d) => values::parse_config_seconds(d).map_err(|why| Error::BadValue {
            file: cfg.file_of(p, "duration_seconds").display().to_string(),
            profile: p.name.clone(),
            key: "duration_seconds",
            value: d.to_string(),
            why,
        })?,
    };
    Ok(Hop {
        profile: p.name.clone(),
        role_arn: role_arn.to_string(),
        mfa_serial: p.non_empty("mfa_serial").map(String::from),
        external_id: p.non_empty("external_id").map(String::from),
        session_name: match p.non_empty("role_session_name") {
            None => values::default_session_name(env),
            Some(name) => values::parse_session_name(name).map_err(|why| Error::BadValue {
                file: cfg.file_of(p, "role_session_name").display().to_string(),
                profile: p.name.clone(),
                key: "role_session_name",
                value: name.chars().take(64).collect(),
                why,
            })?,
        },
        duration,
        clamped_from: None,
    })
}

fn credential_source(profile: &str, value: &str) -> Result<Source, Error> {
    match value {
        "Environment" => Ok(Source::Environment),
        "Ec2InstanceMetadata" => Ok(Source::Imds),
        "EcsContainer" => Ok(Source::Ecs),
        other => Err(Error::config_of(
            profile,
            format!(
                "profile `{profile}` has credential_source = {other}; use Environment, Ec2InstanceMetadata or EcsContainer"
            ),
        )),
    }
}

/// A profile used for its own credentials (no AssumeRole from it), in botocore's order of
/// providers: SSO, keys in the credentials file, then `credential_process`, then keys in the
/// config file.
fn base_source(cfg: &Config, p: &Profile, top_level: bool) -> Result<(Source, Option<Credentials>), Error> {
    if p.is_sso() {
        return Ok((Source::Sso(sso_role(cfg, p)?), None));
    }
    if uses_static_keys(cfg, p) {
        return static_source(p);
    }
    if p.has("web_identity_token_file") {
        return Err(Error::config_of(
            &p.name,
            format!("profile `{}` uses web_identity_token_file: not supported yet; use the aws CLI for it", p.name),
        ));
    }
    if let Some(cmd) = p.non_empty("credential_process") {
        return Ok((Source::Process { profile: p.name.clone(), command: cmd.to_string() }, None));
    }
    let what = if top_level { "profile" } else { "source profile" };
    Err(Error::config_of(
        &p.name,
        format!(
            "{what} `{}` has no credentials (aws_access_key_id, credential_process or role_arn); run `aws configure --profile {}` or add role_arn",
            p.name, p.name
        ),
    ))
}

/// An SSO profile's settings, from its `sso-session` or (legacy) its own keys, checked as
/// botocore checks them: all four present, and a value in both places the same.
fn sso_role(cfg: &Config, p: &Profile) -> Result<SsoRole, Error> {
    let name = &p.name;
    let session = cfg.sso_session_of(p)?;
    let from_session = |key: &str| match (session, key) {
        (Some(s), "sso_start_url") => s.start_url.as_deref(),
        (Some(s), "sso_region") => s.region.as_deref(),
        _ => None,
    };
    let mut missing = Vec::new();
    let mut value = |key: &'static str| -> Result<String, Error> {
        match (p.non_empty(key), from_session(key)) {
            (Some(a), Some(b)) if a != b => Err(Error::config_of(
                name,
                format!("profile `{name}` has {key} = {a} but its sso-session has {b}; keep one"),
            )),
            (Some(v), _) | (None, Some(v)) => Ok(v.to_string()),
            (None, None) => {
                missing.push(key);
                Ok(String::new())
            }
        }
    };
    let (start_url, region) = (value("sso_start_url")?, value("sso_region")?);
    let (account_id, role_name) = (value("sso_account_id")?, value("sso_role_name")?);
    if !missing.is_empty() {
        return Err(Error::config_of(
            name,
            format!(
                "profile `{name}` is set up for SSO but lacks {}; run `aws configure sso --profile {name}` or add them",
                missing.join(", ")
            ),
        ));
    }
    Ok(SsoRole {
        profile: name.clone(),
        session: session.map(|s| s.name.clone()),
        start_url,
        region,
        account_id,
        role_name,
        scopes: session.map(|s| s.scopes.clone()).unwrap_or_default(),
    })
}

fn static_source(p: &Profile) -> Result<(Source, Option<Credentials>), Error> {
    let id = p.get("aws_access_key_id").unwrap_or_default();
    let secret = p.get("aws_secret_access_key").unwrap_or_default();
    if id.is_empty() || secret.is_empty() {
        return Err(Error::config_of(
            &p.name,
            format!(
                "profile `{}` has an empty aws_access_key_id or aws_secret_access_key; run `aws configure --profile {}`",
                p.name, p.name
            ),
        ));
    }
    let token = p.non_empty("aws_session_token");
    let keys = Credentials {
        access_key_id: id.to_string(),
        secret_access_key: Secret::new(secret),
        session_token: token.map(Secret::new),
        expiration: None,
    };
    let source =
        Source::Static { profile: p.name.clone(), access_key_id: id.to_string(), session_token: token.is_some() };
    Ok((source, Some(keys)))
}

/// Whether a profile used for its own credentials signs with its static keys: keys in the
/// credentials file come before a `credential_process`, keys in the config file after it.
pub fn uses_static_keys(cfg: &Config, p: &Profile) -> bool {
    let in_credentials_file =
        ["aws_access_key_id", "aws_secret_access_key"].iter().all(|k| cfg.file_of(p, k) == cfg.credentials_path);
    p.has_static_keys() && (in_credentials_file || p.non_empty("credential_process").is_none())
}

/// `arn:PARTITION:iam::ACCOUNT:role/NAME`, checked before any network call.
pub fn validate_role_arn(arn: &str, profile: &str) -> Result<(), Error> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|n| !n.is_empty());
    if ok {
        Ok(())
    } else if arn.is_empty() {
        Err(Error::config_of(
            profile,
            format!("profile `{profile}` has an empty role_arn; set it to arn:aws:iam::ACCOUNT:role/NAME"),
        ))
    } else {
        Err(Error::config_of(
            profile,
            format!("`{arn}` (profile `{profile}`) is not a role ARN; expected arn:aws:iam::ACCOUNT:role/NAME"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(config: &str, creds: &str, name: &str) -> Result<Resolved, Error> {
        resolve(&Config::parse(config, creds).unwrap(), &Env::default(), name, &Overrides::default())
    }

    fn plan(config: &str, creds: &str, name: &str) -> Result<Plan, Error> {
        resolved(config, creds, name).map(|r| r.plan)
    }

    const USER: &str = "[user]\naws_access_key_id = AKIAUSER\naws_secret_access_key = s\n";
    const R1: &str = "arn:aws:iam::111111111111:role/one";
    const R2: &str = "arn:aws:iam::222222222222:role/two";
    const MFA: &str = "arn:aws:iam::123456789012:mfa/u";

    fn arns(p: &Plan) -> Vec<&str> {
        p.hops().map(|h| h.role_arn.as_str()).collect()
    }

    fn is_config_error(r: Result<Plan, Error>, needle: &str) -> bool {
        matches!(r, Err(Error::Config { message, .. }) if message.contains(needle))
    }

    #[test]
    fn a_two_hop_chain_is_called_innermost_first() {
        let cfg = format!(
            "[profile a]\nrole_arn = {R2}\nsource_profile = b\nregion = eu-west-1\n[profile b]\nrole_arn = {R1}\nsource_profile = user\n"
        );
        let p = plan(&cfg, USER, "a").unwrap();
        assert_eq!(arns(&p), [R1, R2]);
        assert!(matches!(p.source, Source::Static { ref profile, .. } if profile == "user"));
        assert_eq!(p.region.as_deref(), Some("eu-west-1"));
        assert!(matches!(p.steps[0], Step::AssumeRole(_)), "no MFA, no session token step");
    }

    #[test]
    fn the_plan_holds_no_secret_and_the_keys_travel_beside_it() {
        let creds = "[user]\naws_access_key_id = AKIAUSER\naws_secret_access_key = TopSecret/Value\n";
        let r = resolved("", creds, "user").unwrap();
        assert!(!format!("{:?}", r.plan).contains("TopSecret"), "{:?}", r.plan);
        assert_eq!(r.keys.unwrap().secret_access_key.expose(), "TopSecret/Value");
    }

    #[test]
    fn mfa_on_the_first_hop_over_long_term_keys_plans_a_twelve_hour_session_first() {
        let cfg = format!("[profile a]\nrole_arn = {R1}\nsource_profile = user\nmfa_serial = {MFA}\n");
        let p = plan(&cfg, USER, "a").unwrap();
        assert_eq!(p.steps[0], Step::SessionToken { serial: Some(MFA.into()), duration: MFA_SESSION_SECONDS });
        assert!(matches!(&p.steps[1], Step::AssumeRole(h) if h.mfa_serial.as_deref() == Some(MFA)));
        // Temporary keys in the file cannot get a session token: MFA goes on AssumeRole.
        let creds = format!("{USER}aws_session_token = t\n");
        let p = plan(&cfg, &creds, "a").unwrap();
        assert_eq!(p.steps.len(), 1);
    }

    #[test]
    fn a_profile_without_a_role_plans_a_session_token_of_the_asked_length() {
        let cfg = Config::parse("", USER).unwrap();
        let over = Overrides { duration: Some(7200), ..Default::default() };
        let p = resolve(&cfg, &Env::default(), "user", &over).unwrap().plan;
        assert_eq!(p.steps, [Step::SessionToken { serial: None, duration: 7200 }]);
        let p = plan("", USER, "user").unwrap();
        assert_eq!(p.steps, [Step::SessionToken { serial: None, duration: DEFAULT_SECONDS }]);
    }

    #[test]
    fn a_chained_hop_is_clamped_to_an_hour_in_the_plan() {
        let cfg = format!(
            "[profile a]\nrole_arn = {R2}\nsource_profile = b\nduration_seconds = 7200\n[profile b]\nrole_arn = {R1}\nsource_profile = user\nduration_seconds = 7200\n"
        );
        let p = plan(&cfg, USER, "a").unwrap();
        let hops: Vec<&Hop> = p.hops().collect();
        assert_eq!((hops[0].duration, hops[0].clamped_from), (7200, None), "the first hop is not chained");
        assert_eq!((hops[1].duration, hops[1].clamped_from), (3600, Some(7200)));
        let cfg =
            format!("[profile a]\nrole_arn = {R1}\ncredential_source = Ec2InstanceMetadata\nduration_seconds = 7200\n");
        assert_eq!(plan(&cfg, "", "a").unwrap().hops().next().unwrap().duration, 3600, "instance roles chain");
    }

    #[test]
    fn a_profile_naming_itself_uses_its_own_keys() {
        let cfg = format!("[profile me]\nrole_arn = {R1}\nsource_profile = me\n");
        let creds = "[me]\naws_access_key_id = AKIAME\naws_secret_access_key = s\n";
        let p = plan(&cfg, creds, "me").unwrap();
        assert_eq!(arns(&p), [R1]);
        assert!(matches!(p.source, Source::Static { ref access_key_id, .. } if access_key_id == "AKIAME"));
    }

    #[test]
    fn a_source_with_keys_uses_them_even_with_its_own_role() {
        let cfg = format!(
            "[profile top]\nrole_arn = {R2}\nsource_profile = mid\n[profile mid]\nrole_arn = {R1}\nsource_profile = user\n"
        );
        let creds = format!("{USER}[mid]\naws_access_key_id = AKIAMID\naws_secret_access_key = s\n");
        let p = plan(&cfg, &creds, "top").unwrap();
        assert_eq!(arns(&p), [R2]);
        assert!(matches!(p.source, Source::Static { ref profile, .. } if profile == "mid"));
    }

    #[test]
    fn a_cycle_names_the_whole_chain() {
        let cfg = format!(
            "[profile a]\nrole_arn = {R1}\nsource_profile = b\n[profile b]\nrole_arn = {R2}\nsource_profile = a\n"
        );
        assert!(matches!(plan(&cfg, "", "a"), Err(Error::Cycle { chain }) if chain == ["a", "b", "a"]));
    }

    #[test]
    fn a_self_reference_without_keys_is_a_cycle() {
        let cfg = format!("[profile a]\nrole_arn = {R1}\nsource_profile = a\n");
        assert!(matches!(plan(&cfg, "", "a"), Err(Error::Cycle { chain }) if chain == ["a", "a"]));
    }

    #[test]
    fn a_chain_deeper_than_the_limit_is_an_error_not_a_stack_overflow() {
        let mut cfg = String::new();
        for i in 0..50_000 {
            cfg.push_str(&format!("[profile p{i}]\nrole_arn = {R1}\nsource_profile = p{}\n", i + 1));
        }
        cfg.push_str(&format!("[profile p50000]\nrole_arn = {R1}\nsource_profile = user\n"));
        assert!(is_config_error(plan(&cfg, USER, "p0"), "more than 64 roles"));
        // At the limit it still works.
        let mut cfg = String::new();
        for i in 0..MAX_CHAIN - 1 {
            cfg.push_str(&format!("[profile p{i}]\nrole_arn = {R1}\nsource_profile = p{}\n", i + 1));
        }
        cfg.push_str(&format!("[profile p{}]\nrole_arn = {R1}\nsource_profile = user\n", MAX_CHAIN - 1));
        assert_eq!(plan(&cfg, USER, "p0").unwrap().hops().count(), MAX_CHAIN);
    }

    #[test]
    fn a_dangling_source_profile_names_the_chain() {
        let cfg = format!(
            "[profile a]\nrole_arn = {R1}\nsource_profile = b\n[profile b]\nrole_arn = {R2}\nsource_profile = gone\n"
        );
        match plan(&cfg, "", "a") {
            Err(Error::DanglingSource { missing, chain, .. }) => {
                assert_eq!(missing, "gone");
                assert_eq!(chain, "a -> b -> gone");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn credential_source_and_source_profile_together_are_refused() {
        let cfg = format!("[profile a]\nrole_arn = {R1}\nsource_profile = user\ncredential_source = Environment\n");
        assert!(is_config_error(plan(&cfg, USER, "a"), "both"));
        let cfg = format!("[profile a]\nrole_arn = {R1}\ncredential_source = Ec2InstanceMetadata\n");
        assert!(plan(&cfg, "", "a").unwrap().source.is_role_session());
        let cfg = format!("[profile a]\nrole_arn = {R1}\ncredential_source = Bogus\n");
        assert!(is_config_error(plan(&cfg, "", "a"), "EcsContainer"));
    }

    #[test]
    fn sso_profiles_resolve_from_their_session_or_their_own_keys() {
        let session = "[sso-session corp]\nsso_start_url = https://corp/start\nsso_region = eu-west-1\n";
        let cfg =
            format!("{session}[profile s]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Dev\n");
        let p = plan(&cfg, "", "s").unwrap();
        let Source::Sso(role) = &p.source else { panic!("{p:?}") };
        assert_eq!((role.session.as_deref(), role.start_url.as_str()), (Some("corp"), "https://corp/start"));
        assert_eq!((role.account_id.as_str(), role.role_name.as_str()), ("111111111111", "Dev"));
        assert!(p.steps.is_empty(), "portal credentials are handed as they are");
        // As the source of a chain, the first hop is role chaining.
        let chained = format!("{cfg}[profile r]\nrole_arn = {R1}\nsource_profile = s\nduration_seconds = 7200\n");
        assert_eq!(plan(&chained, "", "r").unwrap().hops().next().unwrap().duration, 3600);
        // The legacy form.
        let legacy = "[profile l]\nsso_start_url = https://old/start\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = R\n";
        assert!(matches!(plan(legacy, "", "l").unwrap().source, Source::Sso(SsoRole { session: None, .. })));
    }

    #[test]
    fn incomplete_or_inconsistent_sso_settings_are_named() {
        let missing = "[profile s]\nsso_start_url = https://x\nsso_region = r\n";
        assert!(is_config_error(plan(missing, "", "s"), "lacks sso_account_id, sso_role_name"));
        let dangling = "[profile s]\nsso_session = nope\nsso_account_id = 1\nsso_role_name = R\n";
        assert!(is_config_error(plan(dangling, "", "s"), "no [sso-session nope]"));
        let clash = "[sso-session c]\nsso_start_url = https://a\nsso_region = r\n[profile s]\nsso_session = c\nsso_start_url = https://b\nsso_account_id = 1\nsso_role_name = R\n";
        assert!(is_config_error(plan(clash, "", "s"), "sso_start_url = https://b but its sso-session has https://a"));
    }

    #[test]
    fn a_credential_process_wins_over_config_file_keys_but_not_over_credentials_file_keys() {
        let cfg =
            "[profile p]\ncredential_process = get-creds\naws_access_key_id = AKIACFG\naws_secret_access_key = s\n";
        assert!(matches!(plan(cfg, "", "p").unwrap().source, Source::Process { .. }));
        let creds = "[p]\naws_access_key_id = AKIACRED\naws_secret_access_key = s\n";
        let cfg = "[profile p]\ncredential_process = get-creds\n";
        assert!(matches!(plan(cfg, creds, "p").unwrap().source, Source::Static { .. }));
    }

    #[test]
    fn a_top_level_role_wins_over_keys_in_the_same_profile() {
        let cfg = format!("[profile both]\nrole_arn = {R1}\nsource_profile = user\n");
        let creds = format!("{USER}[both]\naws_access_key_id = AKIABOTH\naws_secret_access_key = s\n");
        let p = plan(&cfg, &creds, "both").unwrap();
        assert_eq!(arns(&p), [R1]);
        assert!(matches!(p.source, Source::Static { ref profile, .. } if profile == "user"));
    }

    #[test]
    fn hop_settings_come_from_their_own_profile_and_flags_override_the_last() {
        let cfg = format!(
            "[profile a]\nrole_arn = {R2}\nsource_profile = b\nduration_seconds = 7200\nexternal_id = ext-a\nrole_session_name = alice\n[profile b]\nrole_arn = {R1}\nsource_profile = user\nexternal_id = ext-b\n"
        );
        let over = Overrides { duration: Some(900), region: Some("ap-south-1".into()), ..Default::default() };
        let p =
            resolve(&Config::parse(&cfg, USER).unwrap(), &Env::from_pairs([("USER", "bob")]), "a", &over).unwrap().plan;
        let hops: Vec<&Hop> = p.hops().collect();
        assert_eq!(hops[0].external_id.as_deref(), Some("ext-b"));
        assert_eq!(hops[0].session_name, "rolesh-bob", "the default session name is resolved in the plan");
        assert_eq!(hops[1].external_id.as_deref(), Some("ext-a"));
        assert_eq!(hops[1].session_name, "alice");
        assert_eq!(hops[1].duration, 900);
        assert_eq!(p.region.as_deref(), Some("ap-south-1"));
    }

    #[test]
    fn a_bare_arn_sources_from_the_environment_or_the_default_profile() {
        let env = Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKIAENV")]);
        let cfg = Config::parse("", USER).unwrap();
        let p = resolve(&cfg, &env, R1, &Overrides::default()).unwrap().plan;
        assert!(matches!(p.source, Source::Environment));
        let cfg = Config::parse("", "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = s\n").unwrap();
        let p = resolve(&cfg, &Env::default(), R1, &Overrides::default()).unwrap().plan;
        assert!(matches!(p.source, Source::Static { ref profile, .. } if profile == "default"));
        let over = Overrides { source_profile: Some("user".into()), ..Default::default() };
        let p = resolve(&Config::parse("", USER).unwrap(), &Env::default(), R1, &over).unwrap().plan;
        assert!(matches!(p.source, Source::Static { ref profile, .. } if profile == "user"));
        let p = resolve(&Config::default(), &Env::default(), R1, &Overrides::default()).unwrap().plan;
        assert!(matches!(p.source, Source::DefaultChain));
        assert_eq!(arns(&p), [R1]);
    }

    #[test]
    fn aws_profile_set_to_the_arn_itself_is_an_error_not_a_stack_overflow() {
        let env = Env::from_pairs([("AWS_PROFILE", R1)]);
        let err = resolve(&Config::default(), &env, R1, &Overrides::default()).unwrap_err();
        assert!(matches!(&err, Error::Usage(m) if m.starts_with("AWS_PROFILE is a role ARN")), "{err}");
        let over = Overrides { source_profile: Some(R2.into()), ..Default::default() };
        assert!(matches!(resolve(&Config::default(), &Env::default(), R1, &over), Err(Error::Usage(_))));
    }

    #[test]
    fn malformed_role_arns_and_durations_are_config_errors() {
        let cfg = "[profile a]\nrole_arn = arn:aws:iam::12:role/x\nsource_profile = user\n";
        assert!(is_config_error(plan(cfg, USER, "a"), "not a role ARN"));
        assert!(matches!(plan("", "", "nope"), Err(Error::UnknownProfile { .. })));
    }

    #[test]
    fn a_role_session_name_sts_would_refuse_is_refused_here() {
        let cfg = format!("[profile a]\nrole_arn = {R1}\nsource_profile = user\nrole_session_name = has space\n");
        assert!(matches!(plan(&cfg, USER, "a"), Err(Error::BadValue { key: "role_session_name", .. })));
    }

    #[test]
    fn an_out_of_range_duration_seconds_names_file_profile_and_key() {
        for value in ["1h", "0", "3000000000", "43201", "-5"] {
            let cfg = format!("[profile a]\nrole_arn = {R1}\nsource_profile = user\nduration_seconds = {value}\n");
            match plan(&cfg, USER, "a") {
                Err(Error::BadValue { profile, key, value: v, .. }) => {
                    assert_eq!((profile.as_str(), key, v.as_str()), ("a", "duration_seconds", value));
                }
                other => panic!("{value}: {other:?}"),
            }
        }
    }
}
