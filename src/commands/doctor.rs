//! `rolesh doctor PROFILE`: the checks as a table (or JSON) and the verdict. Exits 0 when
//! nothing failed, 5 when a check failed, 3 for a fault of the profile, 6 when STS or IAM did
//! not answer.

use crate::cli::DoctorArgs;
use crate::display::escape;
use crate::doctor::{self, Report, Status};
use crate::env::Env;
use crate::error::Error;

pub fn run(args: DoctorArgs, env: &Env) -> Result<i32, Error> {
    let opts = doctor::Options { mfa_token: args.session.mfa_token.clone() };
    let report = doctor::run(env, &args.profile, &super::overrides(&args.session), &opts)?;
    if args.json {
        super::print(&format!("{}\n", crate::display::json(&report)))?;
    } else {
        super::print(&text(&report))?;
    }
    Ok(report.exit_code)
}

/// The checks, one line each (an `unknown` adds a line naming what would settle it), then
/// the verdict. Everything from files and servers is escaped.
fn text(report: &Report) -> String {
    let mut rows: Vec<[String; 3]> = Vec::new();
    for c in &report.checks {
        let name = match &c.hop {
            Some(hop) => format!("{} ({hop})", c.check.replace('-', " ")),
            None => c.check.replace('-', " "),
        };
        rows.push([c.status.as_str().to_string(), escape(&name), escape(&c.detail)]);
        if let Some(needs) = c.needs.as_ref().filter(|n| !n.is_empty()) {
            rows.push([String::new(), String::new(), escape(&format!("↳ would be settled by: {needs}"))]);
        }
    }
    let mut out = format!("rolesh doctor {}\n\n", escape(&report.profile));
    out.push_str(&super::table(&rows));
    let failed = report.checks.iter().filter(|c| c.status == Status::Fail).count();
    let unknown = report.checks.iter().filter(|c| c.status == Status::Unknown).count();
    out.push('\n');
    if report.verdict.is_empty() {
        out.push_str(&match (failed, unknown) {
            (0, 0) => "Verdict: every check passed.\n".to_string(),
            (0, n) => format!("Verdict: nothing failed; {n} check(s) could not be settled (see above).\n"),
            (n, _) => format!("Verdict: {n} check(s) failed (see above).\n"),
        });
    } else {
        out.push_str("Verdict, most likely cause first:\n");
        for (i, cause) in report.verdict.iter().enumerate() {
            out.push_str(&format!("  {}. {}\n     fix: {}\n", i + 1, escape(&cause.cause), escape(&cause.fix)));
        }
    }
    out
}
