//! The command line itself: a mistake is one `rolesh: …` line with exit 2 that names the help
//! to read, as the README promises; help and version still print as clap prints them.
#![cfg(unix)]

mod support;

use support::TestEnv;

/// Nothing listens here: none of these may reach STS.
const NOWHERE: &str = "http://127.0.0.1:9";

#[test]
fn every_usage_mistake_is_one_line_with_exit_2() {
    let env = TestEnv::new(NOWHERE);
    let cases: [(&[&str], &str, &str); 5] = [
        (&["exec", "--bogus", "p", "--", "true"], "unexpected argument '--bogus'", "rolesh exec --help"),
        (&["exec", "p", "--duration", "10m", "--", "true"], "15m (900s) to 12h", "rolesh exec --help"),
        (&["use", "p", "--session-name", "no spaces"], "2 to 64 letters", "rolesh use --help"),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'", "rolesh --help"),
        (&["export", "p", "--format"], "a value is required for '--format", "rolesh export --help"),
    ];
    for (args, says, help) in cases {
        let outcome = env.run(args);
        outcome.assert_code(2);
        let lines: Vec<&str> = outcome.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}:\n{outcome}");
        assert!(lines[0].starts_with("rolesh: ") && lines[0].contains(says), "{args:?}:\n{outcome}");
        assert!(lines[0].ends_with(&format!("see `{help}`")), "{args:?}:\n{outcome}");
        assert!(outcome.stdout.is_empty(), "{args:?}:\n{outcome}");
    }
}

#[test]
fn help_and_version_are_printed_as_before() {
    let env = TestEnv::new(NOWHERE);
    let help = env.run(["exec", "--help"]);
    help.assert_ok();
    assert!(help.stdout().contains("Usage: rolesh exec"), "{help}");
    let version = env.run(["--version"]);
    version.assert_ok();
    assert!(version.stdout().starts_with("rolesh "), "{version}");
    // A command given nothing shows its help (exit 2), which is more use than one line.
    let bare = env.run(["exec"]);
    bare.assert_code(2);
    assert!(bare.stderr.contains("Usage: rolesh exec"), "{bare}");
}
