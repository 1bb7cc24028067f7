//! The hooks printed by `rolesh init`: real files in the top-level `shell/` folder (so
//! shellcheck, `zsh -n` and fish_indent can read them), embedded here. Each has one token,
//! `::ROLESH::`, replaced with the binary's path quoted for that shell (starship's approach),
//! and blocks between the comment lines `# ::AUTO-DIR::` and `# ::END-AUTO-DIR::` that are
//! kept (without those two lines) for `--auto-dir` and left out otherwise. The file as it is,
//! blocks included, is the auto-dir hook, so the linters check every line that can be printed.

use std::ffi::OsStr;

use super::Shell;
use super::quote::quote_bytes;

pub const TOKEN: &str = "::ROLESH::";
/// The comment lines around the parts of a hook that only `--auto-dir` prints.
pub const AUTO_DIR_BEGIN: &str = "# ::AUTO-DIR::";
pub const AUTO_DIR_END: &str = "# ::END-AUTO-DIR::";

pub fn script(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => include_str!("../../shell/rolesh.bash"),
        Shell::Zsh => include_str!("../../shell/rolesh.zsh"),
        Shell::Fish => include_str!("../../shell/rolesh.fish"),
        Shell::Pwsh => include_str!("../../shell/rolesh.ps1"),
    }
}

/// The hook for `shell`, calling the binary at `exe`.
pub fn hook(shell: Shell, exe: &OsStr) -> Vec<u8> {
    hook_with(shell, exe, false)
}

/// The hook for `shell`, calling the binary at `exe`, with the per-directory part when
/// `auto_dir`.
pub fn hook_with(shell: Shell, exe: &OsStr, auto_dir: bool) -> Vec<u8> {
    let text = select(script(shell), auto_dir);
    let quoted = quote_bytes(shell, exe);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(TOKEN) {
        out.extend_from_slice(&rest.as_bytes()[..at]);
        out.extend_from_slice(&quoted);
        rest = &rest[at + TOKEN.len()..];
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

/// `text` without its marker lines, and without the lines between them unless `auto_dir`.
fn select(text: &str, auto_dir: bool) -> String {
    let (mut inside, mut just_left_out) = (false, false);
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let was_left_out = std::mem::take(&mut just_left_out);
        match line.trim() {
            AUTO_DIR_BEGIN => inside = true,
            AUTO_DIR_END => {
                inside = false;
                just_left_out = !auto_dir;
            }
            _ if inside && !auto_dir => {}
            // A block left out between two blank lines would leave two in a row.
            "" if was_left_out && out.ends_with("\n\n") => {}
            _ => out.push_str(line),
        }
    }
    out
}

/// The line to add to the shell's startup file, and that file.
pub fn setup_line(shell: Shell) -> (&'static str, &'static str) {
    match shell {
        Shell::Bash => (r#"eval "$(rolesh init bash)""#, "~/.bashrc"),
        Shell::Zsh => (r#"eval "$(rolesh init zsh)""#, "~/.zshrc"),
        Shell::Fish => ("rolesh init fish | source", "~/.config/fish/config.fish"),
        Shell::Pwsh => ("Invoke-Expression (& rolesh init powershell | Out-String)", "$PROFILE"),
    }
}

/// Guesses the user's shell from `$SHELL` (or, on Windows, PowerShell).
pub fn guess(shell_var: Option<&str>) -> Shell {
    match shell_var {
        Some(program) => Shell::of_program(program).unwrap_or(Shell::Bash),
        None if cfg!(windows) => Shell::Pwsh,
        None => Shell::Bash,
    }
}

/// The shell `rolesh init` prints the hook for when none is named: the parent process where it
/// is a shell (the one evaluating the output, whatever the login shell is), else [`guess`];
/// and why, for the user.
pub fn detect(parent: Option<&str>, shell_var: Option<&str>) -> (Shell, String) {
    if let Some(shell) = parent.and_then(Shell::of_program) {
        return (shell, "the shell running rolesh".to_string());
    }
    let shell = guess(shell_var);
    let why = match shell_var {
        Some(s) => format!("$SHELL is {s}"),
        None => "no $SHELL".to_string(),
    };
    (shell, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hook_has_the_token_and_it_is_replaced_everywhere() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Pwsh] {
            assert!(script(shell).contains(TOKEN), "{shell:?}");
            let out = String::from_utf8(hook(shell, OsStr::new("/opt/it's/rolesh"))).unwrap();
            assert!(!out.contains(TOKEN), "{shell:?}");
        }
    }

    #[test]
    fn every_hook_has_balanced_auto_dir_blocks_that_only_auto_dir_prints() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Pwsh] {
            let text = script(shell);
            let marks: Vec<&str> =
                text.lines().map(str::trim).filter(|l| *l == AUTO_DIR_BEGIN || *l == AUTO_DIR_END).collect();
            assert!(!marks.is_empty(), "{shell:?} has no auto-dir block");
            assert!(
                marks.chunks(2).all(|pair| pair == [AUTO_DIR_BEGIN, AUTO_DIR_END]),
                "{shell:?}: the markers do not pair up: {marks:?}"
            );
            let plain = String::from_utf8(hook(shell, OsStr::new("rolesh"))).unwrap();
            let auto = String::from_utf8(hook_with(shell, OsStr::new("rolesh"), true)).unwrap();
            for out in [&plain, &auto] {
                assert!(!out.contains("::AUTO-DIR::") && !out.contains("::END-AUTO-DIR::"), "{shell:?}");
            }
            assert!(!plain.contains("__rolesh_dir") && auto.contains("__rolesh_dir"), "{shell:?}");
            assert!(auto.len() > plain.len());
        }
    }

    #[test]
    fn the_shell_is_guessed_from_its_path() {
        assert_eq!(guess(Some("/usr/bin/zsh")), Shell::Zsh);
        assert_eq!(guess(Some("/usr/local/bin/fish")), Shell::Fish);
        assert_eq!(guess(Some(r"C:\Program Files\PowerShell\7\pwsh.exe")), Shell::Pwsh);
        assert_eq!(guess(Some("/bin/bash")), Shell::Bash);
        assert_eq!(guess(Some("/bin/sh")), Shell::Bash);
    }

    #[test]
    fn a_shell_as_the_parent_wins_over_dollar_shell() {
        assert_eq!(detect(Some("fish"), Some("/bin/bash")).0, Shell::Fish);
        assert_eq!(detect(Some("-zsh"), None).0, Shell::Zsh);
        assert_eq!(detect(Some("pwsh.exe"), None).0, Shell::Pwsh);
        // Not a shell with a hook (a script's interpreter, plain sh): $SHELL decides.
        let (shell, why) = detect(Some("sh"), Some("/usr/bin/zsh"));
        assert_eq!((shell, why.as_str()), (Shell::Zsh, "$SHELL is /usr/bin/zsh"));
        assert_eq!(detect(Some("make"), Some("/usr/bin/fish")).0, Shell::Fish);
    }
}
