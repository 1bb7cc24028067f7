//! The profile picker: `use`, `shell`, `exec -- CMD` and `console` without a profile open a
//! fuzzy list of the profiles `rolesh list` shows (name, kind, role, account, region).
//!
//! It draws on stderr and reads keys from the terminal itself (inquire's crossterm backend:
//! stdin when that is a terminal, else `/dev/tty`; `CONIN$` on Windows), never from stdout or
//! a piped stdin: inside the shell hooks stdout is code to evaluate and stdin carries the
//! saved environment.

use std::io::IsTerminal;

use inquire::{InquireError, Select};

use crate::display::escape;
use crate::env::Env;
use crate::error::Error;
use crate::profile::Config;

/// What a cancelled pick exits with: Esc or Ctrl-C, as a shell reports an interrupted command.
pub const CANCELLED: i32 = 130;

/// The profile named on the command line, else one picked on the terminal; with no
/// terminal, the usage error a missing argument has always been.
pub fn profile_or_pick(given: Option<String>, command: &str, env: &Env) -> Result<String, Error> {
    if let Some(profile) = given {
        return Ok(profile);
    }
    if !on_terminal() {
        return Err(Error::Usage(format!(
            "`rolesh {command}` needs a PROFILE, and with no terminal there is none to pick from; name one (`rolesh list` shows them): rolesh {command} PROFILE{}",
            if command == "exec" { " -- COMMAND" } else { "" }
        )));
    }
    let cfg = Config::load(env)?;
    let choices = choices(&cfg);
    if choices.is_empty() {
        return Err(Error::config(format!(
            "no profiles in {} to pick from; add one with `aws configure`, `aws configure sso` or `rolesh config add-role`",
            cfg.files()
        )));
    }
    let page = choices.len().min(12);
    let picked = Select::new("Profile", choices)
        .with_page_size(page)
        .with_help_message("type to filter, ↑↓ to move, Enter to choose, Esc to cancel")
        .with_formatter(&|choice| choice.value.shown.clone())
        .prompt();
    match picked {
        Ok(choice) => Ok(choice.name),
        Err(InquireError::OperationCanceled | InquireError::OperationInterrupted) => Err(Error::Exit(CANCELLED)),
        Err(e) => {
            Err(Error::Local(format!("the profile picker failed ({e}); name the profile: rolesh {command} PROFILE")))
        }
    }
}

/// Where the picker can run: stderr shows it, and the terminal can be read.
fn on_terminal() -> bool {
    std::io::stderr().is_terminal() && crate::sys::terminal().is_ok()
}

/// One line of the list: the profile's name, and its columns as the user sees them.
struct Choice {
    name: String,
    /// The name, escaped: it comes from a file anyone may have written.
    shown: String,
    line: String,
}

impl std::fmt::Display for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

/// The profiles as `rolesh list` reads them, in columns: name, kind, role, account, region.
fn choices(cfg: &Config) -> Vec<Choice> {
    let rows = super::list::rows(cfg);
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            let (role, account) = r.role_and_account();
            [r.name, r.kind, super::list::dash(role), super::list::dash(account), super::list::dash(r.region)]
                .map(escape)
        })
        .collect();
    let table = super::table(&cells);
    rows.iter()
        .zip(table.lines())
        .map(|(r, line)| Choice { name: r.name.to_string(), shown: escape(r.name), line: line.to_string() })
        .collect()
}
