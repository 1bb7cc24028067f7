//! Helpers shared by the integration tests: a moto server, a scripted STS
//! stand-in, a throw-away HOME with a clean environment, and a pseudo-terminal.
//!
//! Each test file pulls these in with `mod support;`, and no file uses all of
//! them, hence the blanket `dead_code` allowance.
#![allow(dead_code, unused_imports)]

pub mod env;
pub mod fixtures;
pub mod hostile;
pub mod moto;
pub mod process;
pub mod pty;
pub mod sso;
pub mod stand_in;
pub mod wine;

use std::path::PathBuf;

pub use env::TestEnv;
pub use moto::Moto;
pub use process::{Outcome, Spawned};
pub use pty::Pty;
pub use stand_in::{Rule, StandIn, StsError};

/// The Python venv that `scripts/setup` builds, holding the pinned moto and
/// aws CLI. A missing venv fails the test loudly: the suite never skips.
pub fn venv() -> PathBuf {
    let dir = std::env::var_os("ROLESH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    for tool in ["moto_server", "aws"] {
        let path = dir.join("bin").join(tool);
        assert!(path.is_file(), "moto not installed: run scripts/setup ({} is missing)", path.display());
    }
    dir
}

/// The rolesh binary under test.
pub fn rolesh_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rolesh"))
}
