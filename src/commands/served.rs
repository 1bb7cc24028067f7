//! `exec --server` and `shell --server`: the command gets the address of rolesh's credentials
//! server instead of keys, and rolesh renews what it serves until the command ends.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::cli::{ServerArgs, SessionArgs};
use crate::env::Env;
use crate::error::Error;
use crate::fsutil;
use crate::ledger::Kind;
use crate::profile::edit::{Document, Kind as FileKind};
use crate::profile::{Config, resolve};
use crate::server::{Renew, Server, Serving};
use crate::session::{self, new_session_id};

pub fn run(
    kind: Kind,
    profile: &str,
    args: &SessionArgs,
    serve: &ServerArgs,
    argv: &[OsString],
    env: &Env,
) -> Result<i32, Error> {
    let cfg = Config::load(env)?;
    let id = new_session_id();
    // Checked before any STS call: a [default] with credentials would win over the server.
    let hidden = Hidden::new(&cfg, serve.hide_default, &id, env)?;
    let resolved = resolve(&cfg, env, profile, &super::overrides(args))?;
    let first = super::obtain(&resolved, args, env)?;
    let session = first.session;
    let bound = session::renewal_bound(&resolved, env, session.credentials.expiration);
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
    changes.extend(hidden.changes());
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

/// Private copies of the AWS files without `[default]`, for a command whose `[default]`
/// holds credentials (`--hide-default`): every SDK reads those before it asks a credentials
/// endpoint. Removed when the command ends.
struct Hidden {
    dir: Option<PathBuf>,
    credentials: Option<PathBuf>,
    config: Option<PathBuf>,
}

impl Hidden {
    fn new(cfg: &Config, hide: bool, id: &str, env: &Env) -> Result<Hidden, Error> {
        let mut hidden = Hidden { dir: None, credentials: None, config: None };
        let Some((file, key)) = cfg.default_credentials() else { return Ok(hidden) };
        if !hide {
            return Err(Error::config(format!(
                "{}: [default] has {key}, which every AWS SDK uses before the credentials server; remove it, or pass --hide-default to hide [default] from the command",
                file.display()
            )));
        }
        let dir = crate::paths::state_dir(env)?.join(format!("served-{id}"));
        fsutil::ensure_private_dir(&dir).map_err(|e| Error::state("create", &dir, e.into()))?;
        hidden.dir = Some(dir.clone());
        for (path, kind) in [(&cfg.credentials_path, FileKind::Credentials), (&cfg.config_path, FileKind::Config)] {
            let copy = dir.join(if kind == FileKind::Config { "config" } else { "credentials" });
            let bytes = fsutil::read_config(path, crate::profile::config::MAX_FILE_LEN)
                .map_err(|e| Error::state("read", path, e.into()))?
                .unwrap_or_default();
            let without = Document::new(bytes).without(kind, "default");
            fsutil::write_atomic(&copy, without.bytes(), 0o600).map_err(|e| Error::state("write", &copy, e))?;
            match kind {
                FileKind::Config => hidden.config = Some(copy),
                FileKind::Credentials => hidden.credentials = Some(copy),
            }
        }
        super::say(&format!(
            "the command sees your AWS files without [default] (--hide-default): copies in {}",
            dir.display()
        ));
        Ok(hidden)
    }

    /// The variables that point the command at the copies.
    fn changes(&self) -> Vec<(&'static str, Option<String>)> {
        let shown = |p: &Option<PathBuf>| p.as_deref().map(Path::to_string_lossy).map(String::from);
        let mut vars = Vec::new();
        if self.dir.is_some() {
            vars.push(("AWS_SHARED_CREDENTIALS_FILE", shown(&self.credentials)));
            vars.push(("AWS_CONFIG_FILE", shown(&self.config)));
        }
        vars
    }
}

impl Drop for Hidden {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
