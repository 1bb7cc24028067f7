//! Turns a profile name (or a bare role ARN) into a [`Plan`]: a base credential source and
//! the roles to assume from it, in order. The rules are botocore's AssumeRoleProvider:
//! a top-level `role_arn` wins over static keys in the same profile; a *source* profile with
//! static keys uses them even if it has a `role_arn`; a profile may name itself as
//! `source_profile` to use its own keys; anything else that revisits a profile is a cycle.

use super::config::{Config, Profile};
use crate::env::Env;
use crate::error::Error;
use crate::session::Secret;

/// Where the first credentials come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// `aws_access_key_id`/`aws_secret_access_key` (and maybe `aws_session_token`) of a profile.
    Static { profile: String, access_key_id: String, secret_access_key: Secret, session_token: Option<Secret> },
    /// `credential_process` of a profile.
    Process { profile: String, command: String },
    /// `credential_source = Environment`, or keys already in the environment for a bare ARN.
    Environment,
    /// `credential_source = Ec2InstanceMetadata`.
    Imds,
    /// `credential_source = EcsContainer`.
    Ecs,
    /// A bare ARN with no profile to source from: the SDK's default chain (container, IMDS).
    DefaultChain,
}

impl Source {
    /// Role credentials already, so the next AssumeRole is "role chaining" (capped at 1h).
    pub fn is_role_session(&self) -> bool {
        matches!(self, Source::Imds | Source::Ecs)
    }

    pub fn describe(&self) -> String {
        match self {
            Source::Static { profile, .. } => format!("static keys of profile `{profile}`"),
            Source::Process { profile, .. } => format!("credential_process of profile `{profile}`"),
            Source::Environment => "credentials in the environment".into(),
            Source::Imds => "EC2 instance metadata".into(),
            Source::Ecs => "the ECS container credentials endpoint".into(),
            Source::DefaultChain => "the default credential chain".into(),
        }
    }

    /// The profile whose keys are the source, for "check the keys of profile X" hints.
    pub fn profile(&self) -> Option<&str> {
        match self {
            Source::Static { profile, .. } | Source::Process { profile, .. } => Some(profile),
            _ => None,
        }
    }
}

/// One AssumeRole call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The profile this hop comes from (the ARN itself for a bare ARN).
    pub profile: String,
    pub role_arn: String,
    pub mfa_serial: Option<String>,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    pub duration: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// The name the user asked for.
    pub profile: String,
    pub source: Source,
    /// AssumeRole calls in the order they are made; empty for a profile without `role_arn`.
    pub hops: Vec<Hop>,
    /// `mfa_serial` of a profile without `role_arn`: its keys get an MFA session.
    pub mfa_serial: Option<String>,
    /// `--duration` for a profile without `role_arn`: the GetSessionToken session's length
    /// (with hops, the last hop carries it).
    pub duration: Option<u32>,
    pub region: Option<String>,
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

pub fn resolve(cfg: &Config, env: &Env, name: &str, over: &Overrides) -> Result<Plan, Error> {
    let mut plan = if name.starts_with("arn:") {
        resolve_arn(cfg, env, name, over)?
    } else {
        if over.source_profile.is_some() {
            return Err(Error::Usage("--source-profile goes with a role ARN, not a profile name".into()));
        }
        let profile = cfg.get(name).ok_or_else(|| Error::UnknownProfile {
            name: name.to_string(),
            suggestions: cfg.closest(name),
            files: cfg.files(),
        })?;
        let mut walker = Walker { cfg, visited: vec![name.to_string()], hops: Vec::new() };
        let (source, mfa_serial) = if has_role(profile) {
            (walker.assume_role_chain(profile)?, None)
        } else {
            (base_source(profile, true)?, profile.non_empty("mfa_serial").map(String::from))
        };
        walker.hops.reverse();
        Plan {
            profile: name.to_string(),
            source,
            hops: walker.hops,
            mfa_serial,
            duration: None,
            region: profile.non_empty("region").map(String::from),
        }
    };
    if let Some(last) = plan.hops.last_mut() {
        last.duration = over.duration.or(last.duration);
        last.session_name = over.session_name.clone().or(last.session_name.take());
        last.external_id = over.external_id.clone().or(last.external_id.take());
        last.mfa_serial = over.mfa_serial.clone().or(last.mfa_serial.take());
    } else {
        plan.duration = over.duration;
        if over.mfa_serial.is_some() {
            plan.mfa_serial = over.mfa_serial.clone();
        }
    }
    if over.region.is_some() {
        plan.region = over.region.clone();
    }
    Ok(plan)
}

/// A bare role ARN: its source is `--source-profile`, else keys in the environment, else
/// `AWS_PROFILE` or `[default]`, else the SDK's default chain.
fn resolve_arn(cfg: &Config, env: &Env, arn: &str, over: &Overrides) -> Result<Plan, Error> {
    validate_role_arn(arn, arn)?;
    let from_profile = over
        .source_profile
        .clone()
        .or_else(|| env.get("AWS_ACCESS_KEY_ID").is_none().then(|| env.get("AWS_PROFILE").map(String::from)).flatten())
        .or_else(|| {
            (env.get("AWS_ACCESS_KEY_ID").is_none() && cfg.get("default").is_some()).then(|| "default".to_string())
        });
    let hop = Hop {
        profile: arn.to_string(),
        role_arn: arn.to_string(),
        mfa_serial: None,
        external_id: None,
        session_name: None,
        duration: None,
    };
    let (source, hops) = match from_profile {
        Some(name) => {
            let sub = resolve(cfg, env, &name, &Overrides::default())?;
            // An IAM user source with mfa_serial guards the role the way mfa_serial on a
            // role profile does.
            let hop = Hop { mfa_serial: sub.mfa_serial, ..hop };
            let mut hops = sub.hops;
            hops.push(hop);
            (sub.source, hops)
        }
        None if env.get("AWS_ACCESS_KEY_ID").is_some() => (Source::Environment, vec![hop]),
        None => (Source::DefaultChain, vec![hop]),
    };
    Ok(Plan { profile: arn.to_string(), source, hops, mfa_serial: None, duration: None, region: None })
}

fn has_role(p: &Profile) -> bool {
    p.has("role_arn") && !p.has("web_identity_token_file")
}

struct Walker<'a> {
    cfg: &'a Config,
    visited: Vec<String>,
    /// Outermost first while walking; reversed into call order at the end.
    hops: Vec<Hop>,
}

impl Walker<'_> {
    fn assume_role_chain(&mut self, profile: &Profile) -> Result<Source, Error> {
        let name = &profile.name;
        if profile.is_sso() {
            return Err(Error::SsoUnsupported(name.clone()));
        }
        let role_arn = profile.get("role_arn").unwrap_or_default();
        validate_role_arn(role_arn, name)?;
        self.hops.push(hop_of(profile, role_arn)?);
        match (profile.non_empty("source_profile"), profile.non_empty("credential_source")) {
            (Some(_), Some(_)) => Err(Error::Config(format!(
                "profile `{name}` has both source_profile and credential_source; keep only one"
            ))),
            (None, None) => Err(Error::Config(format!(
                "profile `{name}` has role_arn but neither source_profile nor credential_source; add one of them"
            ))),
            (None, Some(cs)) => credential_source(name, cs),
            (Some(src), None) => {
                let chain = || {
                    let mut c = self.visited.clone();
                    c.push(src.to_string());
                    c.join(" -> ")
                };
                let Some(source) = self.cfg.get(src) else {
                    return Err(Error::DanglingSource { profile: name.clone(), missing: src.into(), chain: chain() });
                };
                if self.visited.iter().any(|v| v == src) {
                    // Only a profile naming itself, with keys of its own, may revisit.
                    if src == name && source.has_static_keys() {
                        return static_source(source);
                    }
                    return Err(Error::Cycle(chain()));
                }
                self.visited.push(src.to_string());
                if source.has_static_keys() || !has_role(source) {
                    base_source(source, false)
                } else {
                    self.assume_role_chain(source)
                }
            }
        }
    }
}

fn hop_of(p: &Profile, role_arn: &str) -> Result<Hop, Error> {
    let duration = match p.non_empty("duration_seconds") {
        None => None,
        Some(d) => Some(d.parse::<u32>().map_err(|_| {
            Error::Config(format!("profile `{}` has duration_seconds = {d}; give a whole number of seconds", p.name))
        })?),
    };
    Ok(Hop {
        profile: p.name.clone(),
        role_arn: role_arn.to_string(),
        mfa_serial: p.non_empty("mfa_serial").map(String::from),
        external_id: p.non_empty("external_id").map(String::from),
        session_name: p.non_empty("role_session_name").map(String::from),
        duration,
    })
}

fn credential_source(profile: &str, value: &str) -> Result<Source, Error> {
    match value {
        "Environment" => Ok(Source::Environment),
        "Ec2InstanceMetadata" => Ok(Source::Imds),
        "EcsContainer" => Ok(Source::Ecs),
        other => Err(Error::Config(format!(
            "profile `{profile}` has credential_source = {other}; use Environment, Ec2InstanceMetadata or EcsContainer"
        ))),
    }
}

/// A profile used for its own credentials (no AssumeRole from it).
fn base_source(p: &Profile, top_level: bool) -> Result<Source, Error> {
    if p.has_static_keys() {
        return static_source(p);
    }
    if p.is_sso() {
        return Err(Error::SsoUnsupported(p.name.clone()));
    }
    if p.has("web_identity_token_file") {
        return Err(Error::Config(format!(
            "profile `{}` uses web_identity_token_file: not supported yet; use the aws CLI for it",
            p.name
        )));
    }
    if let Some(cmd) = p.non_empty("credential_process") {
        return Ok(Source::Process { profile: p.name.clone(), command: cmd.to_string() });
    }
    let what = if top_level { "profile" } else { "source profile" };
    Err(Error::Config(format!(
        "{what} `{}` has no credentials (aws_access_key_id, credential_process or role_arn); run `aws configure --profile {}` or add role_arn",
        p.name, p.name
    )))
}

fn static_source(p: &Profile) -> Result<Source, Error> {
    let id = p.get("aws_access_key_id").unwrap_or_default();
    let secret = p.get("aws_secret_access_key").unwrap_or_default();
    if id.is_empty() || secret.is_empty() {
        return Err(Error::Config(format!(
            "profile `{}` has an empty aws_access_key_id or aws_secret_access_key; run `aws configure --profile {}`",
            p.name, p.name
        )));
    }
    Ok(Source::Static {
        profile: p.name.clone(),
        access_key_id: id.to_string(),
        secret_access_key: Secret::new(secret),
        session_token: p.non_empty("aws_session_token").map(Secret::new),
    })
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
        Err(Error::Config(format!(
            "profile `{profile}` has an empty role_arn; set it to arn:aws:iam::ACCOUNT:role/NAME"
        )))
    } else {
        Err(Error::Config(format!(
            "`{arn}` (profile `{profile}`) is not a role ARN; expected arn:aws:iam::ACCOUNT:role/NAME"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(config: &str, creds: &str, name: &str) -> Result<Plan, Error> {
        resolve(&Config::parse(config, creds), &Env::default(), name, &Overrides::default())
    }

    const USER: &str = "[user]\naws_access_key_id = AKIAUSER\naws_secret_access_key = s\n";
    const R1: &str = "arn:aws:iam::111111111111:role/one";
    const R2: &str = "arn:aws:iam::222222222222:role/two";

    fn arns(p: &Plan) -> Vec<&str> {
        p.hops.iter().map(|h| h.role_arn.as_str()).collect()
    }

    #[test]
    fn a_two_hop_chain_is_called_innermost_first() {
        let cfg = format!(
            "[profile a]\nrole_arn = {R2}\nsource_profile = b\nregion = eu-west-1\n[profile b]\nrole_arn = {R1}\nsource_profile = user\nmfa_serial = arn:aws:iam::1:mfa/u\n"
        );
        let p = plan(&cfg, USER, "a").unwrap();
        assert_eq!(arns(&p), [R1, R2]);
        assert_eq!(p.hops[0].mfa_serial.as_deref(), Some("arn:aws:iam::1:mfa/u"));
        assert!(matches!(p.source, Source::Static { ref profile, .. } if profile == "user"));
        assert_eq!(p.region.as_deref(), Some("eu-west-1"));
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
        let err = plan(&cfg, "", "a").unwrap_err();
        assert_eq!(err.to_string().split(';').next().unwrap(), "source_profile cycle: a -> b -> a");
    }

    #[test]
    fn a_self_reference_without_keys_is_a_cycle() {
        let cfg = format!("[profile a]\nrole_arn = {R1}\nsource_profile = a\n");
        assert!(matches!(plan(&cfg, "", "a"), Err(Error::Cycle(c)) if c == "a -> a"));
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
        assert!(matches!(plan(&cfg, USER, "a"), Err(Error::Config(m)) if m.contains("both")));
        let cfg = format!("[profile a]\nrole_arn = {R1}\ncredential_source = Ec2InstanceMetadata\n");
        assert!(plan(&cfg, "", "a").unwrap().source.is_role_session());
        let cfg = format!("[profile a]\nrole_arn = {R1}\ncredential_source = Bogus\n");
        assert!(matches!(plan(&cfg, "", "a"), Err(Error::Config(m)) if m.contains("EcsContainer")));
    }

    #[test]
    fn sso_profiles_are_refused_clearly() {
        let cfg = "[profile s]\nsso_session = corp\nsso_account_id = 1\n";
        assert!(matches!(plan(cfg, "", "s"), Err(Error::SsoUnsupported(n)) if n == "s"));
        let cfg = format!("[profile r]\nrole_arn = {R1}\nsource_profile = s\n[profile s]\nsso_start_url = https://x\n");
        assert!(matches!(plan(&cfg, "", "r"), Err(Error::SsoUnsupported(n)) if n == "s"));
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
        let p = resolve(&Config::parse(&cfg, USER), &Env::default(), "a", &over).unwrap();
        assert_eq!(p.hops[0].external_id.as_deref(), Some("ext-b"));
        assert_eq!(p.hops[1].external_id.as_deref(), Some("ext-a"));
        assert_eq!(p.hops[1].session_name.as_deref(), Some("alice"));
        assert_eq!(p.hops[1].duration, Some(900));
        assert_eq!(p.region.as_deref(), Some("ap-south-1"));
    }

    #[test]
    fn a_bare_arn_sources_from_the_environment_or_the_default_profile() {
        let env = Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKIAENV")]);
        let p = resolve(&Config::parse("", USER), &env, R1, &Overrides::default()).unwrap();
        assert!(matches!(p.source, Source::Environment));
        let cfg = Config::parse("", "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = s\n");
        let p = resolve(&cfg, &Env::default(), R1, &Overrides::default()).unwrap();
        assert!(matches!(p.source, Source::Static { ref profile, .. } if profile == "default"));
        let over = Overrides { source_profile: Some("user".into()), ..Default::default() };
        let p = resolve(&Config::parse("", USER), &Env::default(), R1, &over).unwrap();
        assert!(matches!(p.source, Source::Static { ref profile, .. } if profile == "user"));
        let p = resolve(&Config::default(), &Env::default(), R1, &Overrides::default()).unwrap();
        assert!(matches!(p.source, Source::DefaultChain));
        assert_eq!(arns(&p), [R1]);
    }

    #[test]
    fn malformed_role_arns_and_durations_are_config_errors() {
        let cfg = "[profile a]\nrole_arn = arn:aws:iam::12:role/x\nsource_profile = user\n";
        assert!(matches!(plan(cfg, USER, "a"), Err(Error::Config(m)) if m.contains("not a role ARN")));
        let cfg = format!("[profile a]\nrole_arn = {R1}\nsource_profile = user\nduration_seconds = 1h\n");
        assert!(matches!(plan(&cfg, USER, "a"), Err(Error::Config(m)) if m.contains("duration_seconds")));
        assert!(matches!(plan("", "", "nope"), Err(Error::UnknownProfile { .. })));
    }
}
