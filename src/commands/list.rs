use serde::Serialize;

use crate::cli::ListArgs;
use crate::display::escape;
use crate::env::Env;
use crate::error::Error;
use crate::profile::resolve::uses_static_keys;
use crate::profile::{Config, Profile};

#[derive(Serialize)]
struct Row<'a> {
    name: &'a str,
    kind: &'static str,
    role_arn: Option<&'a str>,
    source: Option<&'a str>,
    mfa_serial: Option<&'a str>,
    region: Option<&'a str>,
    /// An SSO profile's account and permission set (role name).
    #[serde(skip_serializing_if = "Option::is_none")]
    sso_account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sso_role_name: Option<&'a str>,
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
    let kind = if p.has("role_arn") && !p.has("web_identity_token_file") {
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

fn dash(v: Option<&str>) -> &str {
    v.unwrap_or("-")
}

pub fn run(args: ListArgs, env: &Env) -> Result<i32, Error> {
    let cfg = Config::load(env)?;
    let rows: Vec<Row> = cfg.profiles.values().map(|p| row(&cfg, p)).collect();
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
