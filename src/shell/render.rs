//! Shell code that sets and unsets environment variables, built only from [`quote`].

use std::ffi::OsStr;

use super::Shell;
use super::quote::quote;

/// One line per variable: set it to `Some(value)`, or remove it for `None`.
pub fn render<K, V>(shell: Shell, changes: &[(K, Option<V>)]) -> String
where
    K: AsRef<str>,
    V: AsRef<OsStr>,
{
    let mut out = String::new();
    for (name, value) in changes {
        let name = name.as_ref();
        let line = match (shell, value) {
            (Shell::Bash | Shell::Zsh, Some(v)) => format!("export {name}={}", quote(shell, v.as_ref())),
            (Shell::Bash | Shell::Zsh, None) => format!("unset {name}"),
            (Shell::Fish, Some(v)) => format!("set -gx {name} {}", quote(shell, v.as_ref())),
            // `set -e` of a missing variable fails; the check keeps $status clean.
            (Shell::Fish, None) => format!("set -q {name}; and set -e {name}"),
            (Shell::Pwsh, Some(v)) => format!("$env:{name} = {}", quote(shell, v.as_ref())),
            (Shell::Pwsh, None) => format!("Remove-Item -LiteralPath Env:{name} -ErrorAction SilentlyContinue"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shell_sets_and_unsets_in_its_own_syntax() {
        let changes = [("A", Some("x y")), ("B", None)];
        assert_eq!(render(Shell::Bash, &changes), "export A='x y'\nunset B\n");
        assert_eq!(render(Shell::Fish, &changes), "set -gx A 'x y'\nset -q B; and set -e B\n");
        assert_eq!(
            render(Shell::Pwsh, &changes),
            "$env:A = 'x y'\nRemove-Item -LiteralPath Env:B -ErrorAction SilentlyContinue\n"
        );
    }
}
