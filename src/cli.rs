//! The command line. Doc comments here are the help text.

use std::ffi::OsString;

use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::ArgValueCandidates;

use crate::shell::Shell;
use crate::values::{parse_duration, parse_region, parse_session_name};

#[derive(Debug, Parser)]
#[command(name = "rolesh", version, about = "AWS STS AssumeRole sessions made painless in the shell")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Parses rolesh's command line, exiting on errors and help as clap does, with one
/// difference: help and version asked for through the shell hook (`rolesh use --help`) go to
/// stderr, because the hook evaluates everything `use`/`unuse` print on stdout as code.
pub fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() && args.iter().any(|a| a.to_str().is_some_and(is_shell_hook_flag)) => {
            eprint!("{}", e.render());
            std::process::exit(e.exit_code());
        }
        // Help and version as clap prints them; a mistake as rolesh's one line, exit 2.
        Err(e) if !e.use_stderr() || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        Err(e) => {
            // The subcommand typed, for errors whose text has no usage line to name it.
            let sub = args.iter().skip(1).filter_map(|a| a.to_str()).find(|a| {
                use clap::CommandFactory;
                Cli::command().find_subcommand(a).is_some()
            });
            let fallback = sub.map_or_else(|| "rolesh".to_string(), |s| format!("rolesh {s}"));
            eprintln!("rolesh: {}", crate::display::escape(&one_line(&e.render().to_string(), &fallback)));
            std::process::exit(i32::from(crate::error::code::USAGE));
        }
    }
}

/// clap's error (`error: …`, a tip, the usage, a pointer to --help) as one line: the error,
/// the tip, and which help to read.
fn one_line(rendered: &str, fallback: &str) -> String {
    let lines: Vec<&str> = rendered.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut text = lines.first().map_or("", |l| l.strip_prefix("error: ").unwrap_or(l)).to_string();
    // `…were not provided:` lists the missing arguments on the lines after it.
    if text.ends_with(':') {
        let listed: Vec<&str> = lines
            .iter()
            .skip(1)
            .take_while(|l| !l.starts_with("Usage: ") && !l.starts_with("tip: "))
            .copied()
            .collect();
        text.push(' ');
        text.push_str(&listed.join(", "));
    }
    if let Some(tip) = lines.iter().find_map(|l| l.strip_prefix("tip: ")) {
        text.push_str(&format!("; {tip}"));
    }
    // `Usage: rolesh exec [OPTIONS] <PROFILE> …` names the command whose help to read.
    let command: Vec<&str> = lines
        .iter()
        .find_map(|l| l.strip_prefix("Usage: "))
        .map(|u| u.split_whitespace().take_while(|w| !w.starts_with(['[', '<', '-'])).collect())
        .unwrap_or_default();
    let command = if command.is_empty() { fallback.to_string() } else { command.join(" ") };
    text.push_str(&format!("; see `{command} --help`"));
    text
}

fn is_shell_hook_flag(arg: &str) -> bool {
    arg == "--shell-hook" || arg.starts_with("--shell-hook=")
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command with a role's temporary credentials
    #[command(arg_required_else_help = true)]
    Exec(ExecArgs),
    /// Show who the credentials of a profile (or of this shell) belong to
    Whoami(WhoamiArgs),
    /// List the profiles in the AWS config files
    List(ListArgs),
    /// Print a session's variables for a shell, a .env file or JSON
    #[command(arg_required_else_help = true)]
    Export(ExportArgs),
    /// Print credentials for `credential_process = rolesh credential-process PROFILE`
    #[command(arg_required_else_help = true)]
    CredentialProcess(CredentialProcessArgs),
    /// Write a session's credentials into the shared credentials file as a profile
    #[command(arg_required_else_help = true)]
    Save(SaveArgs),
    /// Change the AWS config file
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell's completion script
    #[command(arg_required_else_help = true)]
    Completions(CompletionsArgs),
    /// Show the active rolesh sessions of this user, nested sessions under their parents
    Ls(LsArgs),
    /// Open a subshell with a role's temporary credentials; `exit` leaves it
    Shell(ShellArgs),
    /// Switch this shell to a role (needs the hook from `rolesh init`)
    Use(UseArgs),
    /// Leave the role: restore this shell's environment from before `rolesh use`
    Unuse(UnuseArgs),
    /// Print the hook that makes `use`/`unuse` work in bash, zsh, fish or PowerShell
    #[command(after_help = "Load it from your shell's startup file:\n  \
        ~/.bashrc                   eval \"$(rolesh init bash)\"\n  \
        ~/.zshrc                    eval \"$(rolesh init zsh)\"\n  \
        ~/.config/fish/config.fish  rolesh init fish | source\n  \
        $PROFILE                    Invoke-Expression (& rolesh init powershell | Out-String)\n\
        With --auto-dir, entering a directory whose .rolesh you allowed (`rolesh allow`) takes its role.")]
    Init(InitArgs),
    /// Print the session for a prompt (`dev 42m`); nothing outside one
    Prompt(PromptArgs),
    /// Log in to IAM Identity Center (SSO) for an sso-session or an SSO profile
    #[command(arg_required_else_help = true)]
    Login(LoginArgs),
    /// Open the AWS web console signed in as a profile's role
    Console(ConsoleArgs),
    /// Check a profile step by step and say why it is (or would be) denied
    #[command(arg_required_else_help = true)]
    Doctor(DoctorArgs),
    /// Let a directory's .rolesh switch this shell to its profile (with `rolesh init SHELL --auto-dir`)
    Allow(DirArgs),
    /// Refuse a directory's .rolesh: entering its tree changes nothing
    Deny(DirArgs),
    /// List the .rolesh files allowed or denied, forgetting those that are gone
    Trust,
    /// Called by the `--auto-dir` hook when the shell's directory changed.
    #[command(hide = true)]
    DirChanged(DirChangedArgs),
}

#[derive(Debug, Args)]
pub struct DirArgs {
    /// The directory: its .rolesh, or the innermost one above it [default: the current directory]
    #[arg(value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct DirChangedArgs {
    #[command(flatten)]
    pub hook: HookArgs,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The [sso-session NAME] to log in to, or a profile that uses one (or the legacy sso_start_url)
    #[arg(add = ArgValueCandidates::new(crate::completions::sso_names))]
    pub name: String,
    /// Print the sign-in URL and code instead of opening a browser
    #[arg(long)]
    pub no_browser: bool,
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Profile name from ~/.aws/config, or a role ARN [default: pick one on the terminal]
    #[arg(add = ArgValueCandidates::new(crate::completions::profiles))]
    pub profile: Option<String>,
    #[command(flatten)]
    pub session: SessionArgs,
    /// The console page to land on [default: the console home of the session's region]
    #[arg(long, value_name = "URL")]
    pub destination: Option<String>,
    /// Print the sign-in URL on stdout instead of opening a browser (it is console access: keep it private)
    #[arg(long)]
    pub stdout: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Profile name from ~/.aws/config, or a role ARN
    #[arg(add = ArgValueCandidates::new(crate::completions::profiles))]
    pub profile: String,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
    /// The flags of `exec` and `use`, to check what they would do (the cache is never used)
    #[command(flatten)]
    pub session: SessionArgs,
}

/// How to get a session: shared by every command that assumes a role.
#[derive(Debug, Clone, Default, Args)]
pub struct SessionArgs {
    /// Session length: seconds, or 15m, 1h, 1h30m, 12h [default: duration_seconds, else 1h]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<u32>,
    /// MFA code (6 digits); when needed and not given, it is asked on the terminal
    #[arg(long, visible_alias = "token-code", value_name = "CODE")]
    pub mfa_token: Option<String>,
    /// Role session name shown in CloudTrail [default: role_session_name, else rolesh-$USER]
    #[arg(long, value_name = "NAME", value_parser = parse_session_name)]
    pub session_name: Option<String>,
    /// Region for the session (sets AWS_REGION and AWS_DEFAULT_REGION) [default: the profile's region]
    #[arg(long, value_parser = parse_region)]
    pub region: Option<String>,
    /// Neither read nor write cached credentials
    #[arg(long)]
    pub no_cache: bool,
    /// Get new credentials even if cached ones are still good, and cache them
    #[arg(long, conflicts_with = "no_cache")]
    pub refresh: bool,
    /// With a role ARN: the profile whose credentials assume it
    #[arg(long, value_name = "PROFILE", add = ArgValueCandidates::new(crate::completions::profiles))]
    pub source_profile: Option<String>,
    /// ExternalId to pass to AssumeRole [default: the profile's external_id]
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// MFA device ARN [default: the profile's mfa_serial]
    #[arg(long, value_name = "ARN")]
    pub mfa_serial: Option<String>,
}

/// Serving the credentials instead of handing them over: for long jobs.
#[derive(Debug, Clone, Default, Args)]
pub struct ServerArgs {
    /// Serve renewed credentials on 127.0.0.1 for as long as it runs (no keys in its environment)
    #[arg(long)]
    pub server: bool,
    /// With --server: hide [default]'s credentials in your AWS files from it (they would win over the server)
    #[arg(long, requires = "server")]
    pub hide_default: bool,
}

// `rolesh exec [PROFILE] [--] COMMAND…`. The command comes either straight after the profile
// (`exec p aws s3 ls`: everything from its first word on is the command's, options included)
// or after `--`, and `--` with no profile before it (`exec -- env`) means: pick one. Hence two
// positionals for the command: clap sends what follows `--` to a positional marked `last`;
// with one alone it would give `env` to the next free positional, PROFILE. (Not plain
// comments: a doc comment here would become the subcommand's help.)
#[derive(Debug, Args)]
#[command(override_usage = "rolesh exec [OPTIONS] [PROFILE] [--] <COMMAND>...")]
pub struct ExecArgs {
    /// Profile name from ~/.aws/config, or a role ARN [default: pick one on the terminal]
    #[arg(add = ArgValueCandidates::new(crate::completions::profiles))]
    pub profile: Option<String>,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub serve: ServerArgs,
    /// The command and its arguments, after the profile or after `--`
    #[arg(num_args = 1.., allow_hyphen_values = true, value_name = "COMMAND", required_unless_present = "after_dashes")]
    pub command: Vec<OsString>,
    /// The command when it follows `--`.
    #[arg(last = true, hide = true, value_name = "COMMAND")]
    pub after_dashes: Vec<OsString>,
}

impl ExecArgs {
    /// The command and its arguments, wherever they were given.
    pub fn argv(&self) -> &[OsString] {
        if self.command.is_empty() { &self.after_dashes } else { &self.command }
    }
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// Profile name from ~/.aws/config, or a role ARN [default: pick one on the terminal]
    #[arg(add = ArgValueCandidates::new(crate::completions::profiles))]
    pub profile: Option<String>,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub serve: ServerArgs,
    /// The shell to start [default: $SHELL; on Windows pwsh, else powershell, else %COMSPEC%]
    #[arg(long, value_name = "PATH")]
    pub shell: Option<std::path::PathBuf>,
}

/// Set by the hook's `rolesh` function, never by hand: which shell to print code for.
#[derive(Debug, Clone, Default, Args)]
pub struct HookArgs {
    #[arg(long, value_name = "SHELL", hide = true)]
    pub shell_hook: Option<Shell>,
    /// The pid of the interactive shell, whose exit ends the session.
    #[arg(long, value_name = "PID", hide = true)]
    pub shell_pid: Option<u32>,
}

#[derive(Debug, Args)]
pub struct UseArgs {
    /// Profile name from ~/.aws/config, or a role ARN [default: pick one on the terminal]
    #[arg(add = ArgValueCandidates::new(crate::completions::profiles))]
    pub profile: Option<String>,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub hook: HookArgs,
}

#[derive(Debug, Args)]
pub struct UnuseArgs {
    #[command(flatten)]
    pub hook: HookArgs,
    /// Called by the prompt hook when ROLESH_EXPIRES has passed.
    #[arg(long, hide = true)]
    pub expired: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The shell to print the hook for [default: the calling shell (the parent process), else $SHELL's]
    pub shell: Option<Shell>,
    /// Also take the role of an allowed .rolesh on entering its directory, and leave it on the way out
    #[arg(long)]
    pub auto_dir: bool,
}

#[derive(Debug, Args)]
pub struct PromptArgs {
    /// What to print: {profile}, {left} (42m, 1h05m, expired), {expires} (RFC 3339)
    #[arg(long, default_value = "{profile} {left}")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// Profile or role ARN [default: the credentials in this shell, else AWS_PROFILE or default]
    #[arg(add = ArgValueCandidates::new(crate::completions::profiles))]
    pub profile: Option<String>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub session: SessionArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Profile name from ~/.aws/config, or a role ARN
    #[arg(add = ArgValueCandidates::new(crate::completions::profiles))]
    pub profile: String,
    /// Output format [default: the calling shell's (fish, powershell, cmd), else sh]
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<ExportFormat>,
    #[command(flatten)]
    pub session: SessionArgs,
}

/// What `export` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// `export K='v'` lines for sh, bash, zsh: `eval "$(rolesh export p)"`
    Sh,
    /// `set -gx K 'v'` lines: `rolesh export p --format fish | source`
    Fish,
    /// `$env:K = 'v'` lines: `rolesh export p -f powershell | Out-String | Invoke-Expression`
    #[value(alias = "pwsh")]
    Powershell,
    /// `set "K=v"` lines for a cmd batch file
    Cmd,
    /// AccessKeyId, SecretAccessKey, SessionToken, Expiration, Region
    Json,
    /// `K=v` lines for `docker run --env-file` and Compose `env_file`
    Dotenv,
}

#[derive(Debug, Args)]
pub struct CredentialProcessArgs {
    /// Profile name from ~/.aws/config, or a role ARN
    #[arg(add = ArgValueCandidates::new(crate::completions::profiles))]
    pub profile: String,
    #[command(flatten)]
    pub session: SessionArgs,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Profile name from ~/.aws/config, or a role ARN
    #[arg(add = ArgValueCandidates::new(crate::completions::profiles))]
    pub profile: String,
    /// Name of the profile to write [default: PROFILE-session]
    #[arg(long = "as", value_name = "NAME")]
    pub as_name: Option<String>,
    /// Overwrite a profile that holds long-term keys
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub session: SessionArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Add a role profile to the config file
    #[command(arg_required_else_help = true)]
    AddRole(AddRoleArgs),
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["source_profile", "credential_source"]))]
pub struct AddRoleArgs {
    /// Name of the new profile
    pub name: String,
    /// The role to assume: arn:aws:iam::ACCOUNT:role/NAME
    #[arg(long, value_name = "ARN")]
    pub role_arn: String,
    /// The profile whose credentials assume the role
    #[arg(long, value_name = "PROFILE", add = ArgValueCandidates::new(crate::completions::profiles))]
    pub source_profile: Option<String>,
    /// Where the credentials that assume the role come from
    #[arg(long, value_name = "SOURCE", value_parser = ["Environment", "Ec2InstanceMetadata", "EcsContainer"])]
    pub credential_source: Option<String>,
    /// MFA device ARN
    #[arg(long, value_name = "ARN")]
    pub mfa_serial: Option<String>,
    /// Session length: seconds, or 15m, 1h, 1h30m, 12h
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<u32>,
    /// ExternalId the role's trust policy asks for
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Region for commands run with this profile
    #[arg(long, value_parser = parse_region)]
    pub region: Option<String>,
    /// Role session name shown in CloudTrail
    #[arg(long, value_name = "NAME", value_parser = parse_session_name)]
    pub session_name: Option<String>,
    /// Replace an existing profile of that name
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    pub shell: crate::shell::Shell,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(args: &[&str]) -> String {
        one_line(&Cli::try_parse_from(args).unwrap_err().render().to_string(), "rolesh fallback")
    }

    #[test]
    fn a_usage_error_is_one_line_naming_the_help_to_read() {
        let line = rendered(&["rolesh", "exec", "--bogus", "p", "--", "true"]);
        assert!(line.starts_with("unexpected argument '--bogus' found;"), "{line}");
        assert!(line.ends_with("see `rolesh exec --help`"), "{line}");
        let line = rendered(&["rolesh", "exec", "p", "--duration", "10m", "--", "true"]);
        assert!(line.contains("15m (900s) to 12h") && line.ends_with("see `rolesh fallback --help`"), "{line}");
        let line = rendered(&["rolesh", "nosuch"]);
        assert!(
            line.starts_with("unrecognized subcommand 'nosuch'") && line.ends_with("see `rolesh --help`"),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn a_missing_argument_is_named_in_the_one_line() {
        let line = rendered(&["rolesh", "exec", "prod"]);
        assert_eq!(line, "the following required arguments were not provided: <COMMAND>...; see `rolesh exec --help`");
    }

    /// `exec` keeps every form it had, and `--` with no profile before it leaves the profile
    /// to the picker.
    #[test]
    fn exec_takes_the_command_after_the_profile_or_after_dashes() {
        let exec = |args: &[&str]| match Cli::try_parse_from(["rolesh", "exec"].iter().chain(args)).unwrap().command {
            Command::Exec(e) => (
                e.profile.clone(),
                e.argv().iter().map(|a| a.to_str().unwrap().to_string()).collect::<Vec<_>>(),
                e.session.duration,
            ),
            other => panic!("{other:?}"),
        };
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let p = Some("prod".to_string());
        assert_eq!(exec(&["prod", "--", "aws", "s3", "ls"]), (p.clone(), v(&["aws", "s3", "ls"]), None));
        assert_eq!(exec(&["prod", "aws", "s3", "ls"]), (p.clone(), v(&["aws", "s3", "ls"]), None));
        assert_eq!(exec(&["prod", "--duration", "1h", "--", "env"]), (p.clone(), v(&["env"]), Some(3600)));
        // Once the command has begun, everything is its own: options, and `--`.
        assert_eq!(
            exec(&["prod", "aws", "--region", "x", "--", "-h"]),
            (p.clone(), v(&["aws", "--region", "x", "--", "-h"]), None)
        );
        assert_eq!(
            exec(&["prod", "--", "aws", "--duration", "--"]),
            (p.clone(), v(&["aws", "--duration", "--"]), None)
        );
        assert_eq!(exec(&["prod", "-x"]), (p, v(&["-x"]), None));
        assert_eq!(exec(&["--", "env", "-0"]), (None, v(&["env", "-0"]), None));
        assert_eq!(exec(&["--duration", "1h", "--", "env"]), (None, v(&["env"]), Some(3600)));
        for missing in [&["prod"][..], &["prod", "--"], &["--duration", "1h"]] {
            let e = Cli::try_parse_from(["rolesh", "exec"].iter().chain(missing)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MissingRequiredArgument, "{missing:?}");
        }
    }
}
