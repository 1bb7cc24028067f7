//! `rolesh allow`, `rolesh deny`, `rolesh trust`: the user's decisions about `.rolesh` files,
//! which the `--auto-dir` hook follows (see [`crate::autodir`]).

use std::path::Path;

use chrono::{Local, Utc};

use crate::autodir::{self, Decision, Entry, FILE, Found, TrustFile};
use crate::cli::DirArgs;
use crate::display::escape;
use crate::env::Env;
use crate::error::{Error, print_warnings};
use crate::profile::resolve::Source;
use crate::profile::{Config, Overrides, resolve};

/// Shows what the file switches to, from the user's own config, and records that it may.
pub fn allow(args: DirArgs, env: &Env) -> Result<i32, Error> {
    let Found { dir, path, content } = locate(args.dir.as_deref())?;
    let key = key_of(&path)?;
    let refuse = |why: String| Error::config(format!("{key} cannot be allowed: {why}"));
    let content = content.map_err(|e| refuse(e.to_string()))?;
    let spec = autodir::parse(&content).map_err(refuse)?;
    let over = Overrides { region: spec.region.clone(), ..Overrides::default() };
    let resolved = resolve(&Config::load(env)?, env, &spec.profile, &over)?;
    let plan = &resolved.plan;
    let identity = autodir::identity(plan);
    let role = match (plan.role_arn(), &plan.source) {
        (Some(arn), _) => arn.to_string(),
        (None, Source::Sso(s)) => format!("{} (IAM Identity Center)", s.role_name),
        (None, source) => format!("none: {}", source.describe()),
    };
    let lines = [
        ["profile", &spec.profile],
        ["role", &role],
        ["account", autodir::account_of(&identity).unwrap_or("-")],
        ["region", plan.region.as_deref().unwrap_or("-")],
    ];
    let table: String = super::table(&lines.map(|l| l.map(escape))).lines().map(|l| format!("  {l}\n")).collect();
    super::print(&format!("{}\n{table}", escape(key)))?;
    let entry = Entry {
        path: key.to_string(),
        hash: autodir::hash_of(key, &content),
        decision: Decision::Allow,
        profile: Some(spec.profile.clone()),
        region: spec.region.clone(),
        identity: Some(identity),
        at: Utc::now(),
    };
    let ((), warnings) = TrustFile::open(env)?.change(|entries| autodir::record(entries, entry))?;
    print_warnings(&warnings);
    super::say(&format!(
        "allowed: entering {} switches a shell with the `--auto-dir` hook to `{}`; editing the file or the profile's role takes that back",
        dir.display(),
        spec.profile
    ));
    Ok(0)
}

/// Records a refusal: entering the tree changes nothing, whatever the file says later.
pub fn deny(args: DirArgs, env: &Env) -> Result<i32, Error> {
    let Found { dir, path, content } = locate(args.dir.as_deref())?;
    let key = key_of(&path)?;
    // A file that cannot be read (another user's, say) can still be refused.
    let content = content.ok();
    let spec = content.as_deref().and_then(|c| autodir::parse(c).ok());
    let entry = Entry {
        path: key.to_string(),
        hash: content.as_deref().map(|c| autodir::hash_of(key, c)).unwrap_or_default(),
        decision: Decision::Deny,
        profile: spec.as_ref().map(|s| s.profile.clone()),
        region: spec.and_then(|s| s.region),
        identity: None,
        at: Utc::now(),
    };
    let ((), warnings) = TrustFile::open(env)?.change(|entries| autodir::record(entries, entry))?;
    print_warnings(&warnings);
    super::say(&format!("denied {key}: entering {} changes nothing", dir.display()));
    Ok(0)
}

/// Lists the decisions, with where each file stands now, and forgets files that are gone.
pub fn trust(env: &Env) -> Result<i32, Error> {
    let file = TrustFile::open(env)?;
    // Listing nothing writes nothing; a damaged file is moved aside by `change`.
    if !file.path().exists() {
        super::say("no .rolesh file allowed or denied yet; `rolesh allow [DIR]` allows one");
        return Ok(0);
    }
    let (gone, warnings) = file.change(|entries| {
        let (gone, kept) = std::mem::take(entries).into_iter().partition(|e| is_gone(Path::new(&e.path)));
        *entries = kept;
        gone
    })?;
    print_warnings(&warnings);
    for e in &gone {
        super::say(&format!("forgot {}: the file is gone", e.path));
    }
    let entries = file.load()?;
    if entries.is_empty() {
        super::say("no .rolesh file allowed or denied");
        return Ok(0);
    }
    // Loaded once, for whether each allowed profile still resolves to the role it was allowed for.
    let config = Config::load(env).ok();
    let header = ["STATE", "FILE", "PROFILE", "ROLE", "SINCE"].map(String::from);
    let rows = entries.iter().map(|e| {
        [
            state(e, config.as_ref(), env).to_string(),
            e.path.clone(),
            e.profile.clone().unwrap_or_else(|| "-".into()),
            e.identity.clone().unwrap_or_else(|| "-".into()),
            e.at.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string(),
        ]
        .map(|c| escape(&c))
    });
    let lines: Vec<[String; 5]> = std::iter::once(header).chain(rows).collect();
    super::print(&super::table(&lines))?;
    Ok(0)
}

/// Where an entry's file stands: `allowed` (it would switch), `edited`, `role changed`,
/// `unusable` (unsafe now, or its profile does not resolve), or `denied`.
fn state(e: &Entry, config: Option<&Config>, env: &Env) -> &'static str {
    if e.decision == Decision::Deny {
        return "denied";
    }
    let content = match crate::fsutil::read_owned(Path::new(&e.path), autodir::MAX_LEN) {
        Ok(Some(c)) => c,
        _ => return "unusable",
    };
    if autodir::hash_of(&e.path, &content) != e.hash {
        return "edited";
    }
    let Some(config) = config else { return "allowed" };
    let over = Overrides { region: e.region.clone(), ..Overrides::default() };
    match resolve(config, env, e.profile.as_deref().unwrap_or_default(), &over) {
        Ok(r) if e.identity.as_deref() == Some(autodir::identity(&r.plan).as_str()) => "allowed",
        Ok(_) => "role changed",
        Err(_) => "unusable",
    }
}

fn is_gone(path: &Path) -> bool {
    matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

/// The `.rolesh` for `dir` (the current directory by default): its own, or the innermost one
/// above it, as the hook would find it. A path to the file itself is taken too.
fn locate(dir: Option<&Path>) -> Result<Found, Error> {
    let mut given = match dir {
        Some(d) => d.to_path_buf(),
        None => {
            std::env::current_dir().map_err(|e| Error::Local(format!("could not find the current directory: {e}")))?
        }
    };
    // The file's own name stands for its directory (never followed: the hook does not either).
    if given.file_name().is_some_and(|n| n == FILE) {
        given.pop();
        if given.as_os_str().is_empty() {
            given.push(".");
        }
    }
    let start = std::fs::canonicalize(&given)
        .map_err(|e| Error::Usage(format!("{} is not a directory rolesh can open: {e}", given.display())))?;
    autodir::find(&start)
        .ok_or_else(|| Error::Usage(format!("there is no {FILE} in {} or any directory above it", start.display())))
}

/// Trust is recorded by path, as text.
fn key_of(path: &Path) -> Result<&str, Error> {
    path.to_str().ok_or_else(|| {
        Error::Usage(format!("{}: rolesh records only paths that are UTF-8; move the project", path.display()))
    })
}
