//! The process environment as a value, so the core reads variables from a map the caller
//! passes in (tests build one by hand) instead of from global state, and every process rolesh
//! starts gets its environment from that value through [`Env::spawn`].

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Child, Command};

/// Variables meant for one rolesh process alone, never for anything it starts: the saved
/// environment an older hook passed to `use`/`unuse` (it may hold the user's long-term keys)
/// and the variables that turn a run into a completion request.
pub const PRIVATE: &[&str] = &[
    "ROLESH_RESTORE",
    COMPLETE,
    "_CLAP_COMPLETE_INDEX",
    "_CLAP_COMPLETE_COMP_TYPE",
    "_CLAP_COMPLETE_SPACE",
    "_CLAP_IFS",
];

/// The variable that turns a run of rolesh into a completion request.
pub const COMPLETE: &str = "ROLESH_COMPLETE";

#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<OsString, OsString>,
}

impl Env {
    pub fn from_process() -> Self {
        Env { vars: std::env::vars_os().collect() }
    }

    pub fn from_pairs<K: Into<OsString>, V: Into<OsString>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Env { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// A variable's value when it is set, valid UTF-8 and not empty: AWS tools treat an empty
    /// variable as unset.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_os(key).and_then(|v| v.to_str()).filter(|v| !v.is_empty())
    }

    /// A variable's value. On Windows a name matches in any case, as there (`Path`, `ComSpec`
    /// and `PATH`, `COMSPEC` are the same variables).
    pub fn get_os(&self, key: &str) -> Option<&OsStr> {
        let key = OsStr::new(key);
        match self.vars.get(key) {
            Some(value) => Some(value),
            None if cfg!(windows) => self.vars.iter().find(|(k, _)| same_name(k, key)).map(|(_, v)| v),
            None => None,
        }
        .map(OsString::as_os_str)
    }

    /// Sets a variable, replacing it in whatever case its name had (on Windows).
    pub fn set(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) {
        let key = key.into();
        self.vars.retain(|k, _| !same_name(k, &key));
        self.vars.insert(key, value.into());
    }

    /// Removes a variable, in whatever case its name had (on Windows).
    pub fn remove(&mut self, key: &str) {
        self.vars.retain(|k, _| !same_name(k, OsStr::new(key)));
    }

    pub fn is_true(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    }

    /// The variables a child may see: all but [`PRIVATE`].
    pub fn public(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .filter(|(k, _)| !PRIVATE.iter().any(|p| same_name(OsStr::new(p), k)))
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }

    /// The one way rolesh starts a process: `program` with exactly this environment minus
    /// [`PRIVATE`] (cleared first, so nothing of rolesh's own environment slips through), found
    /// on this environment's `PATH` (and, on Windows, with `PATHEXT`, so `aws` finds
    /// `aws.cmd`), with `configure` adding its arguments and standard streams.
    ///
    /// On Unix the program is first started by the full path `sys::find_program` gives, which
    /// lets std use `posix_spawn`; should that fail (a `#!` naming a missing interpreter, say),
    /// it is started by name through `execvp`, which goes on down `PATH` as it always did.
    /// Nothing has run when the first attempt fails, so the second is safe.
    pub fn spawn(&self, program: &OsStr, configure: impl Fn(&mut Command)) -> std::io::Result<Child> {
        let resolved = crate::sys::find_program(program, self);
        let first = self.command(program, resolved.as_deref(), &configure).spawn();
        match first {
            Err(_) if cfg!(unix) && resolved.is_some() => self.command(program, None, &configure).spawn(),
            started => started,
        }
    }

    fn command(&self, program: &OsStr, resolved: Option<&Path>, configure: impl Fn(&mut Command)) -> Command {
        let mut cmd = Command::new(resolved.map_or(program, |p| p.as_os_str()));
        // The program sees the name it was called by, as with a search by the OS.
        #[cfg(unix)]
        if resolved.is_some() {
            std::os::unix::process::CommandExt::arg0(&mut cmd, program);
        }
        cmd.env_clear();
        cmd.envs(self.public());
        configure(&mut cmd);
        cmd
    }
}

/// Whether two variable names name the same variable: Windows ignores case in them.
fn same_name(a: &OsStr, b: &OsStr) -> bool {
    if cfg!(windows) { a.eq_ignore_ascii_case(b) } else { a == b }
}

// Never print the environment: it may hold credentials.
impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Env({} vars)", self.vars.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_gets_the_environment_value_without_rolesh_private_variables() {
        let env = Env::from_pairs([
            ("KEEP", "1"),
            ("ROLESH_RESTORE", "1;AWS_SECRET_ACCESS_KEY=6b"),
            ("ROLESH_COMPLETE", "bash"),
        ]);
        let cmd = env.command(OsStr::new("true"), None, |_| {});
        let seen: Vec<(&OsStr, Option<&OsStr>)> = cmd.get_envs().collect();
        assert_eq!(seen, [(OsStr::new("KEEP"), Some(OsStr::new("1")))]);
    }

    #[cfg(unix)]
    fn output(env: &Env, program: &str, args: &[&str]) -> String {
        let child = env
            .spawn(OsStr::new(program), |cmd| {
                cmd.args(args).stdout(std::process::Stdio::piped());
            })
            .unwrap();
        String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned()
    }

    #[cfg(unix)]
    #[test]
    fn a_program_found_on_path_is_started_by_its_full_path_and_still_sees_its_own_name() {
        let env = Env::from_pairs([("PATH", "/usr/bin:/bin")]);
        let found = crate::sys::find_program(OsStr::new("sh"), &env).expect("sh is on PATH");
        assert!(found.is_absolute(), "a full path lets std use posix_spawn");
        assert_eq!(output(&env, "sh", &["-c", "echo $0"]), "sh\n");
    }

    #[cfg(unix)]
    #[test]
    fn a_first_match_that_cannot_start_falls_back_to_execvp_which_goes_on_down_path() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let (a, c) = (root.path().join("a"), root.path().join("c"));
        for (dir, script) in [(&a, "#!/nonexistent/interpreter\n"), (&c, "#!/bin/sh\necho from c\n")] {
            std::fs::create_dir(dir).unwrap();
            std::fs::write(dir.join("tool"), script).unwrap();
            std::fs::set_permissions(dir.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path =
            std::env::join_paths([&a, &c, &std::path::PathBuf::from("/usr/bin"), &std::path::PathBuf::from("/bin")])
                .unwrap();
        let env = Env::from_pairs([("PATH", path)]);
        assert_eq!(crate::sys::find_program(OsStr::new("tool"), &env), Some(a.join("tool")));
        assert_eq!(output(&env, "tool", &[]), "from c\n", "as execvp would, and did before");
    }

    #[test]
    fn variable_names_ignore_case_on_windows_only() {
        let mut env = Env::from_pairs([("ComSpec", "C:\\cmd.exe"), ("Path", "C:\\bin"), ("rolesh_restore", "1;")]);
        assert_eq!(env.get("COMSPEC").is_some(), cfg!(windows));
        env.set("PATH", "C:\\other");
        assert_eq!(env.get("Path"), Some(if cfg!(windows) { "C:\\other" } else { "C:\\bin" }));
        env.remove("comspec");
        assert_eq!(env.get_os("ComSpec").is_none(), cfg!(windows));
        let private_gone = env.public().all(|(k, _)| k != "rolesh_restore");
        assert_eq!(private_gone, cfg!(windows), "a private variable in another case is still private there");
    }

    #[cfg(windows)]
    #[test]
    fn the_windows_environment_is_read_whatever_the_case_of_its_names() {
        // Windows spells it `ComSpec` (Wine too); rolesh asks for `COMSPEC`.
        let env = Env::from_process();
        assert!(env.get("COMSPEC").is_some_and(|c| c.to_ascii_lowercase().ends_with("cmd.exe")));
        assert!(env.get("path").is_some());
    }
}
