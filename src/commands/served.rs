//! `exec --server` and `shell --server`: the command gets the address of rolesh's credentials
//! server instead of keys, and rolesh renews what it serves until the command ends.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::cli::{ServerArgs, SessionArgs};
use crate::env::Env;
use crate::error::Error;
use crate::fsutil;
use crate::ledger::Kind;
use crate::profile::edit;
use crate::profile::{Config, resolve};
use crate::server::{Renew, Server, Serving};
use crate::session::{self, new_session_id};

/// The private copies of `--hide-default` live in `served-PID-ID` directories of the state dir.
const COPIES: &str = "served-";

pub fn run(
    kind: Kind,
    profile: &str,
    args: &SessionArgs,
    serve: &ServerArgs,
    argv: &[OsString],
    env: &Env,
) -> Result<i32, Error> {
    let cfg = Config::load(env)?;
    // Checked before any STS call: a [default] with credentials would win over the server.
    let hide = match cfg.default_credentials() {
        Some((file, key)) if !serve.hide_default => {
            return Err(Error::config(format!(
                "{}: [default] has {key}, which every AWS SDK uses before the credentials server; remove it, or pass --hide-default to hide [default] from the command",
                file.display()
            )));
        }
        found => found.is_some(),
    };
    let resolved = resolve(&cfg, env, profile, &super::overrides(args))?;
    let first = super::obtain(&resolved, args, env)?;
    let session = first.session;
    let bound = session::renewal_bound(&resolved, env, session.credentials.expiration, args.no_cache);
    let id = new_session_id();
    // Made only once there is a session to serve: nothing is copied for a run that fails.
    let hidden = if hide { Some(Hidden::new(&cfg, &id, env)?) } else { None };
    let renew: Renew = {
        // Renewals reuse the cached MFA session (a --refresh was for the first fetch only).
        let opts = session::Options { renew: true, refresh: false, waiting: None, ..super::options(args) };
        let env = env.clone();
        Box::new(move || session::obtain(&resolved, &env, &opts).map(|o| o.session.credentials))
    };
    let serving = Serving {
        profile: profile.to_string(),
        credentials: session.credentials.clone(),
        issued: first.issued,
        bound,
        tell: super::say,
    };
    let server = Server::start(serving, renew)?;
    let mut changes = session.served_environment(&id, &server.uri, &server.token, bound);
    if let Some(h) = &hidden {
        changes.extend(h.changes());
    }
    let entry = crate::ledger::Entry {
        served: true,
        expires: bound,
        ..super::ledger_entry(&id, kind, &session, std::process::id(), env)
    };
    let status = super::run_tracked(entry, argv, env, &changes);
    // The port closes with the command; then the private copies go.
    drop(server);
    drop(hidden);
    status
}

/// Whether `path` is one of the private copies a served command sees: `save` and `config
/// add-role` must not write there, where the change would vanish with the command.
pub fn is_private_copy(path: &Path, env: &Env) -> bool {
    let Ok(state) = crate::paths::state_dir(env) else { return false };
    let dir = path.parent();
    dir.and_then(Path::parent) == Some(state.as_path())
        && dir.and_then(Path::file_name).is_some_and(|n| n.to_string_lossy().starts_with(COPIES))
}

/// Private copies of the AWS files without `[default]`, for a command whose `[default]` holds
/// credentials (`--hide-default`): every SDK reads those before it asks a credentials
/// endpoint. Removed when the command ends; those of a rolesh that died before that are removed
/// by the next one.
struct Hidden {
    dir: PathBuf,
    credentials: PathBuf,
    config: PathBuf,
}

impl Hidden {
    fn new(cfg: &Config, id: &str, env: &Env) -> Result<Hidden, Error> {
        let state = crate::paths::state_dir(env)?;
        fsutil::ensure_private_dir(&state).map_err(|e| Error::state("create", &state, e.into()))?;
        sweep_dead_copies(&state);
        let dir = state.join(format!("{COPIES}{}-{id}", std::process::id()));
        fsutil::ensure_private_dir(&dir).map_err(|e| Error::state("create", &dir, e.into()))?;
        let hidden = Hidden { credentials: dir.join("credentials"), config: dir.join("config"), dir };
        edit::copy_without_default(&cfg.credentials_path, &hidden.credentials, edit::Kind::Credentials)?;
        edit::copy_without_default(&cfg.config_path, &hidden.config, edit::Kind::Config)?;
        super::say(&format!(
            "the command sees your AWS files without [default] (--hide-default): copies in {}",
            hidden.dir.display()
        ));
        Ok(hidden)
    }

    /// The variables that point the command at the copies.
    fn changes(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("AWS_SHARED_CREDENTIALS_FILE", Some(self.credentials.to_string_lossy().into_owned())),
            ("AWS_CONFIG_FILE", Some(self.config.to_string_lossy().into_owned())),
        ]
    }
}

impl Drop for Hidden {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Copies left by a rolesh that was killed: they hold the user's keys.
fn sweep_dead_copies(state: &Path) {
    let Ok(entries) = std::fs::read_dir(state) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name.to_str().and_then(|n| n.strip_prefix(COPIES)).and_then(|rest| rest.split('-').next());
        let dead = pid.and_then(|p| p.parse::<u32>().ok()).is_some_and(|p| !crate::sys::alive(p, None));
        if dead && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
