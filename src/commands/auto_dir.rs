//! `rolesh dir-changed` (hidden): what the `--auto-dir` hook runs when the shell's directory
//! has changed. Like `use`/`unuse`, it reads the shell's saved environment on stdin and prints
//! shell code on stdout (nothing when nothing changes); every message is one line on stderr.
//!
//! The directory is the process's own (the shell's, physical: symlinks resolved), so trust is
//! looked up by the canonical path `rolesh allow` recorded.

use std::path::Path;

use crate::autodir::{self, Found, Governing, Move, Status, TrustFile};
use crate::cli::{DirChangedArgs, HookArgs, SessionArgs};
use crate::env::Env;
use crate::error::{Error, one_line};
use crate::profile::{Config, Overrides, Resolved, resolve};
use crate::shell::Shell;
use crate::shell::restore::{DIR_VAR, Record};

use super::use_;

pub fn run(args: DirChangedArgs, env: &Env) -> Result<i32, Error> {
    let shell = args.hook.shell_hook.ok_or_else(|| use_::needs_hook("dir-changed", env))?;
    let record = use_::saved_record(env)?;
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    let governing = match cwd.as_deref().and_then(autodir::find) {
        None => Governing::None,
        Some(found) => evaluate(found, env),
    };
    if let Governing::Unusable { why, .. } = &governing {
        super::say(why);
    }
    // A session is the directory's only while ROLESH_DIR names it: every other `use`, `shell`,
    // `exec` or `export` removes the variable.
    let in_session = env.get("ROLESH_SESSION").is_some();
    let dir_session = env.get_os(DIR_VAR).filter(|d| in_session && !d.is_empty()).map(Path::new);
    let manual = in_session && dir_session.is_none();
    // A directory that is gone (removed under the shell) is in no tree.
    let cwd = cwd.unwrap_or_default();
    match autodir::decide(&cwd, &governing, dir_session, manual) {
        Move::Stay => Ok(0),
        Move::Leave => {
            let profile = env.get("ROLESH_PROFILE").unwrap_or("?");
            let from = dir_session.map(|d| d.display().to_string()).unwrap_or_default();
            use_::leave(shell, record, &format!("out of {from}: left `{profile}`"), env)?;
            Ok(0)
        }
        Move::Enter => match governing {
            Governing::Usable { dir, spec, switch } => enter(shell, record, &dir, &spec, &switch, &args.hook, env),
            _ => Ok(0),
        },
    }
}

/// Takes the role of an allowed file (a switch when another directory's session is active).
fn enter(
    shell: Shell,
    record: Option<Record>,
    dir: &Path,
    spec: &autodir::Spec,
    resolved: &Resolved,
    hook: &HookArgs,
    env: &Env,
) -> Result<i32, Error> {
    let session = match super::obtain(resolved, &SessionArgs::default(), env) {
        Ok(obtained) => obtained.session,
        // Asked on the terminal when there is one; a hook without one says what to run.
        Err(Error::Mfa { .. }) if crate::sys::terminal().is_err() => {
            let region = spec.region.as_deref().map(|r| format!(" --region {r}")).unwrap_or_default();
            return Err(Error::mfa(
                Some(&spec.profile),
                format!(
                    "{}: profile `{p}` needs an MFA code and there is no terminal to ask on; run `rolesh use {p}{region}`",
                    dir.join(autodir::FILE).display(),
                    p = spec.profile
                ),
            ));
        }
        Err(e) => return Err(e),
    };
    // The path was UTF-8 to be allowed at all.
    let origin = dir.to_string_lossy();
    use_::switch_to(shell, record, &session, Some(&origin), hook, env)?;
    super::say(&format!("using {} for {origin}; leaving the directory leaves it", use_::describe(&session)));
    Ok(0)
}

/// Whether `found` may switch the shell, and to what; else the one line that says why not.
fn evaluate(found: Found, env: &Env) -> Governing<Resolved> {
    let Found { dir, path, content } = found;
    let shown = path.display().to_string();
    let unusable = |why: String| Governing::Unusable { why };
    let content = match content {
        Ok(c) => c,
        Err(e) => return unusable(format!("ignoring {shown}: {e}")),
    };
    let Some(key) = path.to_str() else {
        return unusable(format!("ignoring {shown}: its path is not UTF-8, so it cannot be allowed"));
    };
    let entries = match TrustFile::open(env).and_then(|t| t.load()) {
        Ok(entries) => entries,
        Err(e) => return unusable(format!("ignoring {shown}: {}", one_line(&e))),
    };
    // `rolesh allow` with no directory finds this same file from here.
    let identity = match autodir::status(&entries, key, &content) {
        Status::Denied => return unusable(format!("{shown} is denied; `rolesh allow` to allow it")),
        Status::Edited => {
            return unusable(format!(
                "{shown} has changed since it was allowed; `rolesh allow` shows what it switches to now and allows it"
            ));
        }
        Status::Unknown => {
            let asks = autodir::parse(&content).map(|s| format!(" (profile `{}`)", s.profile)).unwrap_or_default();
            return unusable(format!(
                "{shown} is not allowed{asks}; `rolesh allow` shows what it switches to and allows it"
            ));
        }
        Status::Allowed { identity } => identity,
    };
    let spec = match autodir::parse(&content) {
        Ok(spec) => spec,
        Err(why) => return unusable(format!("ignoring {shown}: {why}")),
    };
    let over = Overrides { region: spec.region.clone(), ..Overrides::default() };
    let resolved = match Config::load(env).and_then(|cfg| resolve(&cfg, env, &spec.profile, &over)) {
        Ok(resolved) => resolved,
        Err(e) => return unusable(format!("ignoring {shown}: {}", one_line(&e))),
    };
    let now = autodir::identity(&resolved.plan);
    if now != identity {
        return unusable(format!(
            "{shown}: profile `{}` is now {now}, not {identity} as when it was allowed; `rolesh allow` to allow it",
            spec.profile
        ));
    }
    Governing::Usable { dir, spec, switch: resolved }
}
