//! The fuzz targets' checks (`fuzz/props.rs`, shared with the cargo-fuzz crate) replayed on
//! every committed input under a plain `cargo test`: the regression cases in
//! `fuzz/regressions/<target>/` (inputs the fuzzers found, and hand-made hostile ones) and the
//! seeds in `fuzz/corpus/<target>/seed-*`. No cargo-fuzz, nightly or sanitizer is needed; the
//! fuzzers themselves run by hand with `scripts/fuzz`.

#[path = "../fuzz/props.rs"]
mod props;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The committed inputs of `target`, sorted: every file in its regressions directory and the
/// `seed-*` files of its corpus (a local fuzz run may have left generated files there too).
fn cases(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for (dir, seeds_only) in
        [(fuzz_dir().join("regressions").join(target), false), (fuzz_dir().join("corpus").join(target), true)]
    {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_file() && !name.starts_with('.') && (!seeds_only || name.starts_with("seed-")) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Runs `target`'s check on each of its inputs and fails listing every input that broke it.
fn replay(target: &str) {
    let (_, check) = props::TARGETS.iter().find(|(name, _)| *name == target).expect("a known target");
    let cases = cases(target);
    assert!(!cases.is_empty(), "no committed inputs for {target}: the directories moved?");
    let failed: Vec<String> = cases
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap();
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|path| path.strip_prefix(fuzz_dir()).unwrap_or(path).display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs break a property (messages above): {failed:#?}",
        failed.len(),
        cases.len()
    );
}

macro_rules! replay_tests {
    ($($target:ident),* $(,)?) => {
        $(
            #[test]
            fn $target() {
                replay(stringify!($target));
            }
        )*

        #[test]
        fn every_target_is_replayed_and_has_a_fuzz_binary() {
            let replayed = [$(stringify!($target)),*];
            let targets: Vec<&str> = props::TARGETS.iter().map(|(name, _)| *name).collect();
            assert_eq!(targets, replayed);
            let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
            for name in targets {
                assert!(fuzz_dir().join("fuzz_targets").join(format!("{name}.rs")).is_file(), "{name}");
                assert!(manifest.contains(&format!("name = \"{name}\"")), "{name} is not a [[bin]] of fuzz/Cargo.toml");
            }
        }
    };
}

replay_tests!(
    config_parse,
    config_edit,
    duration,
    quote_roundtrip,
    ledger_decode,
    cache_decode,
    restore_record,
    display_escape,
);

/// The reference readers are the oracle of `quote_roundtrip`: they must refuse what a shell
/// would act on, or a quoting bug would pass unseen.
#[test]
fn the_reference_readers_refuse_what_a_shell_would_run() {
    let posix = |s: &[u8]| props::read_posix(s);
    assert_eq!(posix(b"export A='x'\\''y'\n"), Ok(vec![vec![b"export".to_vec(), b"A=x'y".to_vec()]]));
    for bad in [&b"'open"[..], b"a$b", b"`x`", b"a;b|c", b"a*", b"\"$x\"", b"=cmd", b"~", b"a>b", b"(x)", b"#c", b"\\"]
    {
        assert!(posix(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    assert_eq!(
        props::read_fish(b"set -gx A 'a\\'b\\\\c\\d'"),
        Ok(vec![[&b"set"[..], b"-gx", b"A", b"a'b\\c\\d"].map(<[u8]>::to_vec).to_vec()])
    );
    for bad in [&b"'a\\'"[..], b"a$b", b"(x)", b"a\\ b", b"\"x\"", b"a*", b"{a,b}", b"%self", b"a#b"] {
        assert!(props::read_fish(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    assert_eq!(props::read_pwsh_string("'a''b\u{2019}\u{2018}c'rest"), Ok(("a'b\u{2018}c".to_string(), "rest")));
    assert!(props::read_pwsh_string("'a\u{2019}\u{2019}").is_err(), "a doubled quote does not close");
    // A command after the string is read as one, so comparing statements catches it.
    let injected = props::read_pwsh("$env:A = 'x'; calc").unwrap();
    assert_eq!(injected, [props::Pwsh::Assign("$env:A".into(), "x".into()), props::Pwsh::Command(vec!["calc".into()])]);
    assert!(props::read_pwsh("$env:A = 'x' + $y").is_err());
    assert_eq!(props::read_cmd(b"set \"A=a&b^c\"\r\n"), Ok(vec![("A".into(), "a&b^c".into())]));
    for bad in [&b"set \"A=%x%\"\r\n"[..], b"set \"A=a\"&calc\r\n", b"set \"A=a\x1acalc\"\r\n", b"set A=b\r\n"] {
        assert!(props::read_cmd(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    assert_eq!(props::read_dotenv("A=x y#z\n"), Ok(vec![("A".into(), "x y#z".into())]));
    for bad in ["A=a #c\n", "A=$HOME\n", "A='q'\n", "A= x\n", "A=x \n"] {
        assert!(props::read_dotenv(bad).is_err(), "{bad:?}");
    }
}
