//! Shell code that sets and unsets environment variables, built only from [`quote`].

use std::ffi::OsStr;

use super::Shell;
use super::quote::{Unquotable, quote, quote_cmd, quote_dotenv};

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
            // `set -e` of a missing variable fails, and fish's `set` keeps the previous
            // $status, so `set -q X; and set -e X` would leave a 1 behind: `if` resets it.
            (Shell::Fish, None) => format!("if set -q {name}; set -e {name}; end"),
            (Shell::Pwsh, Some(v)) => format!("$env:{name} = {}", quote(shell, v.as_ref())),
            (Shell::Pwsh, None) => format!("Remove-Item -LiteralPath Env:{name} -ErrorAction SilentlyContinue"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Windows cmd lines: `set "NAME=value"`, and `set "NAME="` to remove a variable.
pub fn render_cmd<K, V>(changes: &[(K, Option<V>)]) -> Result<String, (String, Unquotable)>
where
    K: AsRef<str>,
    V: AsRef<OsStr>,
{
    let mut out = String::new();
    for (name, value) in changes {
        let name = name.as_ref();
        let value = match value {
            Some(v) => quote_cmd(v.as_ref()).map_err(|e| (name.to_string(), e))?,
            None => String::new(),
        };
        out.push_str(&format!("set \"{name}={value}\"\r\n"));
    }
    Ok(out)
}

/// A dotenv file: `NAME=value` lines. A file cannot remove a variable (and a container
/// starts without the host's), so removals are left out.
pub fn render_dotenv<K, V>(changes: &[(K, Option<V>)]) -> Result<String, (String, Unquotable)>
where
    K: AsRef<str>,
    V: AsRef<OsStr>,
{
    let mut out = String::new();
    for (name, value) in changes {
        if let Some(v) = value {
            let name = name.as_ref();
            let value = quote_dotenv(v.as_ref()).map_err(|e| (name.to_string(), e))?;
            out.push_str(&format!("{name}={value}\n"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shell_sets_and_unsets_in_its_own_syntax() {
        let changes = [("A", Some("x y")), ("B", None)];
        assert_eq!(render(Shell::Bash, &changes), "export A='x y'\nunset B\n");
        assert_eq!(render(Shell::Fish, &changes), "set -gx A 'x y'\nif set -q B; set -e B; end\n");
        assert_eq!(
            render(Shell::Pwsh, &changes),
            "$env:A = 'x y'\nRemove-Item -LiteralPath Env:B -ErrorAction SilentlyContinue\n"
        );
    }
}

#[cfg(test)]
mod literal_format_tests {
    use super::*;

    #[test]
    fn cmd_lines_set_and_clear_with_crlf_endings() {
        let changes = [("A", Some("x & y")), ("B", None)];
        assert_eq!(render_cmd(&changes).unwrap(), "set \"A=x & y\"\r\nset \"B=\"\r\n");
        let err = render_cmd(&[("C", Some("50%"))]).unwrap_err();
        assert_eq!(err, ("C".to_string(), Unquotable("a `%`")));
    }

    #[test]
    fn dotenv_lines_leave_removals_out() {
        let changes = [("A", Some("x y")), ("B", None)];
        assert_eq!(render_dotenv(&changes).unwrap(), "A=x y\n");
    }
}
