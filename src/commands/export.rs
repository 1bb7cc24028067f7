use std::path::Path;

use crate::cli::{ExportArgs, ExportFormat};
use crate::credentials::CredentialJson;
use crate::env::Env;
use crate::error::Error;
use crate::session::{EnvChanges, Session, new_session_id};
use crate::shell::Shell;
use crate::shell::quote::Unquotable;
use crate::shell::render::{render, render_cmd, render_dotenv};

pub fn run(args: ExportArgs, env: &Env) -> Result<i32, Error> {
    let format =
        args.format.unwrap_or_else(|| default_format(env, crate::sys::parent_name().as_deref(), cfg!(windows)));
    let session = super::session_for(&args.profile, &args.session, env)?;
    super::print(&text(&session, format)?)?;
    Ok(0)
}

/// The session in `format`: the same variables as `exec` sets, removals included.
pub fn text(session: &Session, format: ExportFormat) -> Result<String, Error> {
    let changes: EnvChanges = session.environment(&new_session_id());
    let refused = |(name, Unquotable(why)): (String, Unquotable), format: &str| {
        Error::Usage(format!("{name} holds {why}, which --format {format} cannot carry; use --format sh or json"))
    };
    Ok(match format {
        ExportFormat::Sh => render(Shell::Bash, &changes),
        ExportFormat::Fish => render(Shell::Fish, &changes),
        ExportFormat::Powershell => render(Shell::Pwsh, &changes),
        ExportFormat::Cmd => render_cmd(&changes).map_err(|e| refused(e, "cmd"))?,
        ExportFormat::Dotenv => render_dotenv(&changes).map_err(|e| refused(e, "dotenv"))?,
        ExportFormat::Json => json(session)?,
    })
}

fn json(session: &Session) -> Result<String, Error> {
    let out = CredentialJson { region: session.region.as_deref(), ..session.credentials.json() };
    let text = serde_json::to_string_pretty(&out).map_err(|e| Error::Local(format!("could not encode JSON: {e}")))?;
    Ok(text + "\n")
}

/// The calling shell's format where it can be told: first the parent process (the shell
/// running `eval "$(rolesh export p)"` or `rolesh export p | source`), then `$SHELL` naming
/// fish, then (on Windows, with no `$SHELL`) `PSModulePath`, set inside PowerShell.
/// Everything else gets POSIX `sh`.
pub fn default_format(env: &Env, parent: Option<&str>, windows: bool) -> ExportFormat {
    if let Some(format) = parent.and_then(format_of_shell) {
        return format;
    }
    let shell = env.get("SHELL").and_then(|s| Path::new(s).file_stem()).and_then(|s| s.to_str());
    if shell == Some("fish") {
        ExportFormat::Fish
    } else if windows && shell.is_none() && env.get("PSModulePath").is_some() {
        ExportFormat::Powershell
    } else {
        ExportFormat::Sh
    }
}

/// The format for a shell's program name; `None` for a program that is not a shell.
fn format_of_shell(name: &str) -> Option<ExportFormat> {
    match crate::shell::program_name(name) {
        "sh" | "dash" | "bash" | "zsh" | "ksh" | "mksh" | "yash" | "busybox" => Some(ExportFormat::Sh),
        "fish" => Some(ExportFormat::Fish),
        "pwsh" | "powershell" => Some(ExportFormat::Powershell),
        "cmd" => Some(ExportFormat::Cmd),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_format_follows_the_calling_shell() {
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().copied());
        assert_eq!(default_format(&env(&[("SHELL", "/usr/bin/fish")]), None, false), ExportFormat::Fish);
        assert_eq!(default_format(&env(&[("SHELL", "/bin/zsh")]), None, false), ExportFormat::Sh);
        assert_eq!(default_format(&env(&[]), None, false), ExportFormat::Sh);
        assert_eq!(default_format(&env(&[("PSModulePath", "C:\\x")]), None, true), ExportFormat::Powershell);
        // Git Bash on Windows sets SHELL and inherits PSModulePath: it wants sh.
        let git_bash = env(&[("SHELL", "/usr/bin/bash"), ("PSModulePath", "C:\\x")]);
        assert_eq!(default_format(&git_bash, None, true), ExportFormat::Sh);
        assert_eq!(default_format(&env(&[("PSModulePath", "/opt")]), None, false), ExportFormat::Sh);
    }

    #[test]
    fn a_shell_parent_wins_over_the_login_shell() {
        let fish_login = Env::from_pairs([("SHELL", "/usr/bin/fish")]);
        assert_eq!(default_format(&fish_login, Some("bash"), false), ExportFormat::Sh);
        assert_eq!(default_format(&fish_login, Some("-zsh"), false), ExportFormat::Sh);
        assert_eq!(default_format(&Env::default(), Some("fish"), false), ExportFormat::Fish);
        assert_eq!(default_format(&Env::default(), Some("pwsh"), false), ExportFormat::Powershell);
        assert_eq!(default_format(&Env::default(), Some("cmd.exe"), true), ExportFormat::Cmd);
        // Not a shell (make, a script's interpreter): the environment decides.
        assert_eq!(default_format(&fish_login, Some("make"), false), ExportFormat::Fish);
    }
}
