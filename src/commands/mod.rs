//! One module per subcommand: read the arguments, call the core, print.

mod auto_dir;
mod completions;
mod config;
mod console;
mod credential_process;
mod doctor;
mod exec;
mod export;
mod init;
mod list;
mod login;
mod ls;
mod pick;
pub mod prompt;
mod save;
mod served;
mod shell;
mod trust;
mod use_;
mod whoami;

use std::ffi::OsString;
use std::io::Write;

use crate::cli::{Cli, Command, SessionArgs};
use crate::env::Env;
use crate::error::{Error, print_warnings};
use crate::ledger::{self, Entry, Kind};
use crate::profile::{Config, Overrides, Resolved, resolve};
use crate::session::{self, EnvChanges, Obtained, Session, new_session_id};

pub fn run(cli: Cli, env: &Env) -> Result<i32, Error> {
    match cli.command {
        Command::Exec(args) => exec::run(args, env),
        Command::Whoami(args) => whoami::run(args, env),
        Command::List(args) => list::run(args, env),
        Command::Export(args) => export::run(args, env),
        Command::CredentialProcess(args) => credential_process::run(args, env),
        Command::Save(args) => save::run(args, env),
        Command::Config(cmd) => config::run(cmd, env),
        Command::Completions(args) => completions::run(args),
        Command::Shell(args) => shell::run(args, env),
        Command::Use(args) => use_::run_use(args, env),
        Command::Unuse(args) => use_::run_unuse(args, env),
        Command::Init(args) => init::run(args, env),
        Command::Prompt(args) => prompt::run(args, env),
        Command::Ls(args) => ls::run(args, env),
        Command::Login(args) => login::run(args, env),
        Command::Console(args) => console::run(args, env),
        Command::Doctor(args) => doctor::run(args, env),
        Command::Allow(args) => trust::allow(args, env),
        Command::Deny(args) => trust::deny(args, env),
        Command::Trust => trust::trust(env),
        Command::DirChanged(args) => auto_dir::run(args, env),
    }
}

/// The command line's additions to the config.
pub fn overrides(args: &SessionArgs) -> Overrides {
    Overrides {
        source_profile: args.source_profile.clone(),
        duration: args.duration,
        session_name: args.session_name.clone(),
        external_id: args.external_id.clone(),
        mfa_serial: args.mfa_serial.clone(),
        region: args.region.clone(),
    }
}

/// The plan for `profile` with the command line's overrides.
pub fn plan_for(profile: &str, args: &SessionArgs, env: &Env) -> Result<Resolved, Error> {
    resolve(&Config::load(env)?, env, profile, &overrides(args))
}

/// How to get a session, as the command line says.
pub fn options(args: &SessionArgs) -> session::Options {
    session::Options {
        no_cache: args.no_cache,
        refresh: args.refresh,
        mfa_token: args.mfa_token.clone(),
        waiting: Some(say),
        renew: false,
    }
}

/// A session for a resolved plan: from the cache, else from STS; what the user should know
/// about getting it is printed on stderr.
pub fn obtain(resolved: &Resolved, args: &SessionArgs, env: &Env) -> Result<Obtained, Error> {
    let obtained = session::obtain(resolved, env, &options(args))?;
    print_warnings(&obtained.warnings);
    Ok(obtained)
}

/// A session for `profile`.
pub fn session_for(profile: &str, args: &SessionArgs, env: &Env) -> Result<Session, Error> {
    Ok(obtain(&plan_for(profile, args, env)?, args, env)?.session)
}

/// Runs `argv` with `session`'s environment, listed in the ledger as `kind` while it runs:
/// rolesh waits for it, so rolesh's own pid stands for the session.
pub fn run_with_session(kind: Kind, session: &Session, argv: &[OsString], env: &Env) -> Result<i32, Error> {
    let id = new_session_id();
    let entry = ledger_entry(&id, kind, session, std::process::id(), env);
    run_tracked(entry, argv, env, &session.environment(&id))
}

/// Runs `argv` with `changes` applied to `env`, listed in the ledger as `entry` while it runs.
pub fn run_tracked(entry: Entry, argv: &[OsString], env: &Env, changes: &EnvChanges) -> Result<i32, Error> {
    let (registration, warnings) = ledger::track(env, entry);
    print_warnings(&warnings);
    let status = crate::child::run(argv, env, changes);
    if let Some(r) = registration {
        print_warnings(&r.end());
    }
    status
}

/// The ledger entry for `session`, living as long as process `pid`.
pub fn ledger_entry(id: &str, kind: Kind, session: &Session, pid: u32, env: &Env) -> Entry {
    Entry {
        profile: session.profile.clone(),
        role_arn: session.role_arn.clone(),
        expires: session.credentials.expiration,
        ..Entry::new(id, kind, pid, env)
    }
}

/// Tells the user something on stderr, `rolesh: …`, with control characters escaped: profile
/// names and ARNs come from files anyone may have written.
pub fn say(text: &str) {
    eprintln!("rolesh: {}", crate::display::escape(text));
}

/// `save` and `config add-role` change the user's own files, never the private copies a
/// command served with `--hide-default` sees (the change would vanish with the command).
pub fn refuse_private_copy(path: &std::path::Path, env: &Env) -> Result<(), Error> {
    if served::is_private_copy(path, env) {
        return Err(Error::Usage(format!(
            "{} is a private copy of your AWS files for a command run with --server --hide-default; run this outside that command",
            path.display()
        )));
    }
    Ok(())
}

/// Opens `target` (a URL, or a file) in the user's browser without waiting for it:
/// `ROLESH_BROWSER`, else `BROWSER`, else the platform's opener (`xdg-open`, `open`,
/// `cmd /c start`).
pub fn open_in_browser(target: &std::ffi::OsStr, env: &Env) -> Result<(), Error> {
    let mut argv: Vec<OsString> = match env.get_os("ROLESH_BROWSER").or_else(|| env.get_os("BROWSER")) {
        Some(program) if !program.is_empty() => vec![program.to_os_string()],
        _ => crate::sys::browser().iter().map(OsString::from).collect(),
    };
    argv.push(target.to_os_string());
    let (program, args) = argv.split_first().ok_or_else(|| Error::Local("no browser to open".into()))?;
    env.spawn(program, |cmd| {
        cmd.args(args).stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null());
    })
    .map(drop)
    .map_err(|e| Error::Local(format!("could not open a browser with {}: {e}", program.to_string_lossy())))
}

/// A text table: each column padded to its widest cell (in characters), two spaces apart.
pub fn table<S: AsRef<str>, const N: usize>(lines: &[[S; N]]) -> String {
    let mut widths = [0usize; N];
    for line in lines {
        for (w, v) in widths.iter_mut().zip(line) {
            *w = (*w).max(v.as_ref().chars().count());
        }
    }
    let mut out = String::new();
    for line in lines {
        let padded: Vec<String> = line.iter().zip(widths).map(|(v, w)| format!("{:w$}", v.as_ref())).collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Writes to stdout; a closed pipe (`rolesh list | head -1`) ends rolesh quietly.
pub fn print(text: &str) -> Result<(), Error> {
    print_bytes(text.as_bytes())
}

/// [`print`] for shell code, which may hold values that are not UTF-8.
pub fn print_bytes(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Error::Exit(0)),
        Err(e) => Err(Error::Local(format!("could not write to stdout: {e}"))),
    }
}
