//! The committed man pages (`man/rolesh.1` and one page per subcommand) are what clap_mangen
//! makes of the command line as it is: a changed option or help text that was not
//! regenerated fails here. `ROLESH_BLESS=1 cargo test --test man` rewrites them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

/// Every `*.1` file in `dir`, by name.
fn pages(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect()
}

/// `cmd`'s page and, recursively, its subcommands' (`rolesh-config-add-role.1`), as
/// `clap_mangen::generate_to` writes them but each naming rolesh and its version as the source
/// (a subcommand has no version of its own: its page would say just `exec`).
fn generate(cmd: &clap::Command, out: &Path) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        generate(sub, out);
    }
    let source = format!("rolesh {}", env!("CARGO_PKG_VERSION"));
    clap_mangen::Man::new(cmd.clone()).source(source).generate_to(out).unwrap();
}

#[test]
fn the_committed_man_pages_are_current() {
    let fresh = tempfile::tempdir().unwrap();
    // As generate_to does: no page for clap's `help` subcommand, and full names throughout.
    let mut cli = rolesh::cli::Cli::command().disable_help_subcommand(true);
    cli.build();
    generate(&cli, fresh.path());
    let generated = pages(fresh.path());
    assert!(generated.contains_key("rolesh.1") && generated.contains_key("rolesh-exec.1"), "{:?}", generated.keys());
    if std::env::var_os("ROLESH_BLESS").is_some() {
        std::fs::create_dir_all(committed_dir()).unwrap();
        for name in pages(&committed_dir()).keys().filter(|n| !generated.contains_key(*n)) {
            std::fs::remove_file(committed_dir().join(name)).unwrap();
        }
        for (name, text) in &generated {
            std::fs::write(committed_dir().join(name), text).unwrap();
        }
        return;
    }
    let committed = pages(&committed_dir());
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        generated.keys().collect::<Vec<_>>(),
        "man/ does not hold one page per subcommand; regenerate with ROLESH_BLESS=1 cargo test --test man"
    );
    for (name, text) in &generated {
        assert_eq!(&committed[name], text, "man/{name} is stale; regenerate with ROLESH_BLESS=1 cargo test --test man");
    }
}

/// The pages say what the README promises: the hidden hook flags stay out, the profile
/// picker and `exec`'s two forms are in.
#[test]
fn the_man_page_of_exec_shows_both_forms_and_no_hidden_flags() {
    let exec = std::fs::read_to_string(committed_dir().join("rolesh-exec.1")).unwrap();
    assert!(exec.contains("[PROFILE] [\\-\\-] <COMMAND>"), "{exec}");
    assert!(exec.contains("pick one on the terminal"), "{exec}");
    let all: String = pages(&committed_dir()).into_values().collect();
    assert!(!all.contains("shell\\-hook"), "a hidden flag is in a man page");
}
