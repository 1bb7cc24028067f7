//! Where rolesh keeps its files, from the `directories` crate (XDG on Linux), with rolesh's
//! own variables first and every variable read from the `Env` value.

use std::path::PathBuf;

use crate::env::Env;
use crate::error::Error;

pub fn project_dirs() -> Result<directories::ProjectDirs, Error> {
    directories::ProjectDirs::from("", "", "rolesh")
        .ok_or_else(|| Error::Local("could not find the home directory; set HOME".into()))
}

/// `ROLESH_STATE_DIR`, else the platform state dir: `$XDG_STATE_HOME/rolesh` (default
/// `~/.local/state/rolesh`) on Linux, the local data dir where there is no state dir.
pub fn state_dir(env: &Env) -> Result<PathBuf, Error> {
    if let Some(d) = env.get("ROLESH_STATE_DIR") {
        return Ok(PathBuf::from(d));
    }
    // The same rule `directories` applies, but read from `env` rather than the process.
    #[cfg(all(unix, not(target_os = "macos")))]
    if let Some(d) = env.get("XDG_STATE_HOME").map(std::path::Path::new).filter(|d| d.is_absolute()) {
        return Ok(d.join("rolesh"));
    }
    let dirs = project_dirs()?;
    Ok(dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir()).to_path_buf())
}
