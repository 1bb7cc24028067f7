//! rolesh's user-facing errors and warnings. An error carries what callers and tests need
//! (the profile, the kind of failure, the file, the underlying cause) and is rendered once,
//! by `main`, as one line that says what to do next; each kind has a documented exit code.
//! Warnings are returned with results, never printed from inside the library.

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

    #[error("source_profile cycle: {}; make one profile in the chain use static keys or credential_source", .chain.join(" -> "))]
    Cycle { chain: Vec<String> },

    /// A setting whose value rolesh cannot use; nothing is sent to AWS.
    #[error("{file}: profile `{profile}` has {key} = {value}: {why}")]
    BadValue { file: String, profile: String, key: &'static str, value: String, why: String },

    /// Any other fault of the configuration, about `profile` where one is involved.
    #[error("{message}")]
    Config { profile: Option<String>, message: String },

    /// A `credential_process` that could not be run or printed something unusable.
    #[error("credential_process of profile `{profile}` {problem}")]
    Process { profile: String, problem: String },

    #[error("{message}")]
    Mfa { profile: Option<String>, message: String },

    /// No usable IAM Identity Center token for an sso-session or profile (`target`): the
    /// message names `rolesh login`.
    #[error("{message}")]
    SsoToken { target: String, message: String },

    /// STS (or the way to it) refused or failed a call.
    #[error("{0}")]
    Sts(Box<StsFailure>),

    /// A local file or directory could not be read, written or locked.
    #[error("could not {doing} {}: {source}", .path.display())]
    State { doing: String, path: PathBuf, source: std::io::Error },

    /// The shell hook's saved environment (`__rolesh_restore`) is damaged or unreadable.
    #[error("{0}")]
    SavedEnvironment(String),

    /// Anything else that went wrong here (stdout closed, a browser that would not start).
    #[error("{0}")]
    Local(String),

    #[error("command not found: {0}")]
    CommandNotFound(String),

    #[error("cannot execute {0}: permission denied")]
    NotExecutable(String),
}

/// What went wrong with an STS call, classified from STS's error code and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StsKind {
    /// The MFA code was refused.
    MfaRejected,
    /// AccessDenied on AssumeRole: the trust policy, a condition or the caller's own policy.
    AccessDenied,
    /// The signing keys are unknown or do not match.
    BadKeys,
    /// The signing credentials have expired.
    Expired,
    /// The duration is above the role's maximum.
    DurationTooLong,
    RegionDisabled,
    /// Any other refusal.
    Refused,
    Throttled,
    /// 5xx after retries.
    ServerFault,
    /// No answer: connection refused, DNS, TLS, timeout.
    Unreachable,
    /// An answer without credentials.
    Malformed,
}

#[derive(Debug)]
pub struct StsFailure {
    pub kind: StsKind,
    /// The profile the call was made for.
    pub profile: String,
    /// `assuming arn:…`, `getting a session token`, `calling GetCallerIdentity`.
    pub doing: String,
    /// STS's error code and message (empty when there was no answer).
    pub code: String,
    pub message: String,
    /// The rest of the one line: what was used and what to check.
    pub detail: String,
}

impl std::fmt::Display for StsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl StsKind {
    fn exit_code(self) -> u8 {
        match self {
            StsKind::MfaRejected => code::MFA,
            StsKind::AccessDenied
            | StsKind::BadKeys
            | StsKind::Expired
            | StsKind::DurationTooLong
            | StsKind::RegionDisabled
            | StsKind::Refused => code::DENIED,
            StsKind::Throttled | StsKind::ServerFault | StsKind::Unreachable | StsKind::Malformed => code::NETWORK,
        }
    }
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
            | Error::Cycle { .. }
            | Error::BadValue { .. }
            | Error::Config { .. }
            | Error::Process { .. } => code::CONFIG,
            Error::Mfa { .. } => code::MFA,
            Error::SsoToken { .. } => code::DENIED,
            Error::Sts(f) => f.kind.exit_code(),
            Error::State { .. } | Error::SavedEnvironment(_) => code::STATE,
            Error::Local(_) => code::FAILURE,
            Error::CommandNotFound(_) => code::NOT_FOUND,
            Error::NotExecutable(_) => code::NOT_EXECUTABLE,
        };
        i32::from(c)
    }

    /// A configuration fault with no more structure than its message.
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config { profile: None, message: message.into() }
    }

    /// A configuration fault of `profile`.
    pub fn config_of(profile: &str, message: impl Into<String>) -> Self {
        Error::Config { profile: Some(profile.to_string()), message: message.into() }
    }

    pub fn mfa(profile: Option<&str>, message: impl Into<String>) -> Self {
        Error::Mfa { profile: profile.map(String::from), message: message.into() }
    }

    pub fn state(doing: &str, path: &std::path::Path, source: std::io::Error) -> Self {
        Error::State { doing: doing.to_string(), path: path.to_path_buf(), source }
    }

    /// STS refused a duration above the one hour it allows role-chained sessions.
    pub fn is_role_chaining_limit(&self) -> bool {
        matches!(self, Error::Sts(f) if f.kind == StsKind::DurationTooLong && f.message.contains("role chaining"))
    }

    /// The error as `main` prints it: one line, its causes joined with `: `, and every
    /// control character escaped, since names and messages come from files and servers and
    /// must not drive the terminal.
    pub fn render(&self) -> String {
        crate::display::escape(&one_line(self))
    }
}

/// Something the user should know that did not stop the command. The library returns these
/// with its results; `commands/` prints them, one `rolesh: warning: …` line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A hop asked for more than AWS allows a role-chained session.
    Clamped { role_arn: String, requested: u32 },
    /// The session ledger could not record or update something; the command went on.
    Ledger(String),
    /// The credential cache could not be used; the command went on without it.
    Cache(String),
    /// A cache entry that is not safely the user's (planted, a directory, a FIFO) was ignored.
    CacheEntry { path: PathBuf, why: String },
    /// Something about a file rolesh wrote (a mode it tightened).
    File(String),
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::Clamped { role_arn, requested } => write!(
                f,
                "{role_arn} is assumed with role credentials (role chaining), which AWS caps at 1h; asking for 3600s instead of {requested}s"
            ),
            Warning::Ledger(m) | Warning::Cache(m) | Warning::File(m) => f.write_str(m),
            Warning::CacheEntry { path, why } => write!(f, "ignored the cached credentials {}: {why}", path.display()),
        }
    }
}

/// Prints warnings to stderr: the one place the library's warnings reach the user. The same
/// warning twice (the cache is looked at before and after taking its lock) is said once.
pub fn print_warnings(warnings: &[Warning]) {
    for (i, w) in warnings.iter().enumerate() {
        if warnings[..i].contains(w) {
            continue;
        }
        eprintln!("rolesh: warning: {}", crate::display::escape(&w.to_string().replace(['\n', '\r'], " ")));
    }
}

/// Names the files a profile was looked up in, for error messages.
pub fn files_list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(" and ")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_error_names_the_file_and_its_cause_on_one_line() {
        let e = Error::state("read", std::path::Path::new("/x/sessions.json"), std::io::Error::other("boom\nbang"));
        assert_eq!(e.render(), "could not read /x/sessions.json: boom bang");
        assert_eq!(e.exit_code(), 7);
    }

    #[test]
    fn control_characters_in_a_profile_name_are_escaped_when_rendered() {
        let e = Error::UnknownProfile { name: "a\x1b[2Jb".into(), suggestions: vec![], files: "f".into() };
        let shown = e.render();
        assert!(!shown.contains('\x1b'), "{shown:?}");
        assert!(shown.contains("a\\x1b[2Jb"), "{shown:?}");
    }
}
