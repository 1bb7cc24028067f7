//! rolesh's user-facing errors. Each message is one line that names the profile, role or
//! file involved and says what to do next; each kind has a documented exit code.

use std::path::PathBuf;

/// Exit codes, documented in the README. A child's own status passes through unchanged.
pub mod code {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const CONFIG: u8 = 3;
    pub const MFA: u8 = 4;
    pub const DENIED: u8 = 5;
    pub const NETWORK: u8 = 6;
    pub const STATE: u8 = 7;
    pub const NOT_EXECUTABLE: u8 = 126;
    pub const NOT_FOUND: u8 = 127;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Leave quietly with this status (a child's exit status, or an error already printed).
    #[error("exit {0}")]
    Exit(i32),

    #[error("{0}")]
    Usage(String),

    #[error("profile `{name}` not found in {files}{}", did_you_mean(.suggestions))]
    UnknownProfile { name: String, suggestions: Vec<String>, files: String },

    #[error(
        "profile `{profile}` has source_profile `{missing}`, which does not exist (chain: {chain}); add [profile {missing}] or fix source_profile"
    )]
    DanglingSource { profile: String, missing: String, chain: String },

    #[error("source_profile cycle: {0}; make one profile in the chain use static keys or credential_source")]
    Cycle(String),

    #[error("{0}")]
    Config(String),

    #[error(
        "profile `{0}` uses AWS IAM Identity Center (SSO): not supported yet; use the aws CLI for it (`aws sso login --profile {0}`)"
    )]
    SsoUnsupported(String),

    #[error("{0}")]
    Mfa(String),

    #[error("{0}")]
    Denied(String),

    #[error("{0}")]
    Network(String),

    #[error("{0}")]
    State(String),

    #[error("command not found: {0}")]
    CommandNotFound(String),

    #[error("cannot execute {0}: permission denied")]
    NotExecutable(String),
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => "; run `rolesh list` to see the profiles".to_string(),
        _ => {
            let names: Vec<String> = suggestions.iter().map(|s| format!("`{s}`")).collect();
            format!("; did you mean {}?", names.join(" or "))
        }
    }
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        let c = match self {
            Error::Exit(c) => return *c,
            Error::Usage(_) => code::USAGE,
            Error::UnknownProfile { .. }
            | Error::DanglingSource { .. }
            | Error::Cycle(_)
            | Error::Config(_)
            | Error::SsoUnsupported(_) => code::CONFIG,
            Error::Mfa(_) => code::MFA,
            Error::Denied(_) => code::DENIED,
            Error::Network(_) => code::NETWORK,
            Error::State(_) => code::STATE,
            Error::CommandNotFound(_) => code::NOT_FOUND,
            Error::NotExecutable(_) => code::NOT_EXECUTABLE,
        };
        i32::from(c)
    }

    pub fn state(what: &str, path: &std::path::Path, e: std::io::Error) -> Self {
        Error::State(format!("could not {what} {}: {e}", path.display()))
    }
}

/// Names the files a profile was looked up in, for error messages.
pub fn files_list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(" and ")
}

pub type Result<T, E = anyhow::Error> = std::result::Result<T, E>;

/// An error and its causes on one line, `a: b: c`, with newlines flattened.
pub fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ").replace(['\n', '\r'], " ")
}
