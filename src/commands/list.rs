use serde::Serialize;

use crate::cli::ListArgs;
use crate::display::escape;
use crate::env::Env;
use crate::error::Error;
use crate::profile::resolve::uses_static_keys;
use crate::profile::{Config, Profile};

/// What `rolesh list` shows of a profile, and the profile picker (`pick.rs`) too.
#[derive(Serialize)]
pub(super) struct Row<'a> {
    pub name: &'a str,
    pub kind: &'static str,
    role_arn: Option<&'a str>,
    source: Option<&'a str>,
    mfa_serial: Option<&'a str>,
    pub region: Option<&'a str>,
    /// An SSO profile's account and permission set (role name).
    #[serde(skip_serializing_if = "Option::is_none")]
    sso_account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sso_role_name: Option<&'a str>,
}

impl<'a> Row<'a> {
    /// The role's name and its account: from `role_arn`
    /// (`arn:aws:iam::ACCOUNT:role/PATH/NAME`), else an SSO profile's permission set and account.
    pub fn role_and_account(&self) -> (Option<&'a str>, Option<&'a str>) {
        match self.role_arn {
            Some(arn) => {
                let parts: Vec<&str> = arn.splitn(6, ':').collect();
                match parts.as_slice() {
                    ["arn", _, "iam", _, account, resource] if resource.starts_with("role/") => {
                        (resource.rsplit('/').next(), Some(*account).filter(|a| !a.is_empty()))
                    }
                    _ => (Some(arn), None),
                }
            }
            None => (self.sso_role_name, self.sso_account_id),
        }
    }
}

/// A row for each profile in the files, in name order.
pub(super) fn rows(cfg: &Config) -> Vec<Row<'_>> {
    cfg.profiles().map(|p| row(cfg, p)).collect()
}

/// What the ROLE column shows: the role ARN, or an SSO profile's `ROLE@ACCOUNT`.
fn role_cell(r: &Row) -> String {
    match (r.role_arn, r.sso_role_name, r.sso_account_id) {
        (Some(arn), _, _) => arn.to_string(),
        (None, Some(role), Some(account)) => format!("{role}@{account}"),
        _ => "-".to_string(),
    }
}

fn row<'a>(cfg: &Config, p: &'a Profile) -> Row<'a> {
    // botocore's order: a role wins over SSO settings in the same profile.
    let kind = if p.has_role() {
        "role"
    } else if p.is_sso() {
        "sso"
    } else if p.has("web_identity_token_file") {
        "web-identity"
    } else if uses_static_keys(cfg, p) {
        "keys"
    } else if p.has("credential_process") {
        "process"
    } else {
        "settings"
    };
    Row {
        name: &p.name,
        kind,
        role_arn: p.non_empty("role_arn"),
        source: p
            .non_empty("source_profile")
            .or_else(|| p.non_empty("credential_source"))
            .or_else(|| p.non_empty("sso_session"))
            .or_else(|| p.non_empty("sso_start_url")),
        mfa_serial: p.non_empty("mfa_serial"),
        region: p.non_empty("region"),
        sso_account_id: p.non_empty("sso_account_id"),
        sso_role_name: p.non_empty("sso_role_name"),
    }
}

pub(super) fn dash(v: Option<&str>) -> &str {
    v.unwrap_or("-")
}

pub fn run(args: ListArgs, env: &Env) -> Result<i32, Error> {
    let cfg = Config::load(env)?;
    let rows = rows(&cfg);
    if args.json {
        let text = crate::display::json(&rows);
        super::print(&format!("{text}\n"))?;
        return Ok(0);
    }
    if rows.is_empty() {
        super::say(&format!("no profiles in {}; add one with `aws configure` or by editing the file", cfg.files()));
        return Ok(0);
    }
    // Names and values come from files anyone may have written: never raw to a terminal.
    let cells = rows
        .iter()
        .map(|r| [r.name, r.kind, &role_cell(r), dash(r.source), dash(r.mfa_serial), dash(r.region)].map(escape));
    let header = ["PROFILE", "KIND", "ROLE", "SOURCE", "MFA", "REGION"].map(String::from);
    let lines: Vec<[String; 6]> = std::iter::once(header).chain(cells).collect();
    super::print(&super::table(&lines))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(role_arn: Option<&'static str>, sso: Option<(&'static str, &'static str)>) -> Row<'static> {
        Row {
            name: "p",
            kind: "role",
            role_arn,
            source: None,
            mfa_serial: None,
            region: None,
            sso_account_id: sso.map(|s| s.1),
            sso_role_name: sso.map(|s| s.0),
        }
    }

    #[test]
    fn the_role_and_account_come_from_the_role_arn_or_the_sso_settings() {
        let arn = row(Some("arn:aws:iam::123456789012:role/team/Admin"), None);
        assert_eq!(arn.role_and_account(), (Some("Admin"), Some("123456789012")));
        let gov = row(Some("arn:aws-us-gov:iam::210987654321:role/ReadOnly"), None);
        assert_eq!(gov.role_and_account(), (Some("ReadOnly"), Some("210987654321")));
        // Not a role ARN rolesh can take apart: shown whole.
        assert_eq!(row(Some("nonsense"), None).role_and_account(), (Some("nonsense"), None));
        let sso = row(None, Some(("Developer", "111111111111")));
        assert_eq!(sso.role_and_account(), (Some("Developer"), Some("111111111111")));
        assert_eq!(row(None, None).role_and_account(), (None, None));
    }
}
