//! Shell code that sets and unsets environment variables, built only from [`quote`].

use std::ffi::OsStr;

use super::Shell;
use super::quote::{Unquotable, quote_bytes, quote_cmd, quote_dotenv};

/// One line per variable: set it to `Some(value)`, or remove it for `None`.
pub fn render<K, V>(shell: Shell, changes: &[(K, Option<V>)]) -> String
where
    K: AsRef<str>,
    V: AsRef<OsStr>,
{
    String::from_utf8_lossy(&render_bytes(shell, changes)).into_owned()
}

/// [`render`] as bytes, so values that are not UTF-8 come back exactly.
pub fn render_bytes<K, V>(shell: Shell, changes: &[(K, Option<V>)]) -> Vec<u8>
where
    K: AsRef<str>,
    V: AsRef<OsStr>,
{
    let mut out = Vec::new();
    for (name, value) in changes {
        let name = name.as_ref();
        match (shell, value) {
            (Shell::Bash | Shell::Zsh, Some(v)) => line(&mut out, &format!("export {name}="), shell, v.as_ref()),
            (Shell::Bash | Shell::Zsh, None) => out.extend_from_slice(format!("unset {name}\n").as_bytes()),
            (Shell::Fish, Some(v)) => line(&mut out, &format!("set -gx {name} "), shell, v.as_ref()),
            // `set -e` of a missing variable fails, and fish's `set` keeps the previous
            // $status, so `set -q X; and set -e X` would leave a 1 behind: `if` resets it.
            (Shell::Fish, None) => out.extend_from_slice(format!("if set -q {name}; set -e {name}; end\n").as_bytes()),
            (Shell::Pwsh, Some(v)) => line(&mut out, &format!("$env:{name} = "), shell, v.as_ref()),
            // `Ignore`, not `SilentlyContinue`: removing a variable that is not set must not
            // leave an error in the user's $Error either.
            (Shell::Pwsh, None) => {
                out.extend_from_slice(format!("Remove-Item -LiteralPath Env:{name} -ErrorAction Ignore\n").as_bytes())
            }
        }
    }
    out
}

/// Sets a global variable of the shell itself, not exported to its children (the hook's
/// private state, such as what `unuse` restores).
pub fn set_private(shell: Shell, name: &str, value: &OsStr) -> Vec<u8> {
    let mut out = Vec::new();
    let prefix = match shell {
        // `declare -g`/`typeset -g`: the code is eval'd inside the `rolesh` function, where a
        // plain assignment would still be global but zsh's warn_create_global would warn.
        Shell::Bash => format!("declare -g {name}="),
        Shell::Zsh => format!("typeset -g {name}="),
        Shell::Fish => format!("set -g {name} "),
        Shell::Pwsh => format!("$global:{name} = "),
    };
    line(&mut out, &prefix, shell, value);
    // Under `set -a` (zsh: allexport) every assignment is exported, `declare +x` included,
    // so the export flag is taken off afterwards.
    match shell {
        Shell::Bash => out.extend_from_slice(format!("export -n {name}\n").as_bytes()),
        Shell::Zsh => out.extend_from_slice(format!("typeset -g +x {name}\n").as_bytes()),
        Shell::Fish | Shell::Pwsh => {}
    }
    out
}

/// What `use`/`unuse` print: the changes, then the record `unuse` will restore from.
pub fn apply<K, V>(shell: Shell, changes: &[(K, Option<V>)], record: &str) -> Vec<u8>
where
    K: AsRef<str>,
    V: AsRef<OsStr>,
{
    let mut out = render_bytes(shell, changes);
    out.extend(set_private(shell, super::restore::VAR, OsStr::new(record)));
    out
}

fn line(out: &mut Vec<u8>, prefix: &str, shell: Shell, value: &OsStr) {
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(&quote_bytes(shell, value));
    out.push(b'\n');
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
            "$env:A = 'x y'\nRemove-Item -LiteralPath Env:B -ErrorAction Ignore\n"
        );
    }

    #[test]
    fn private_variables_are_global_but_not_exported() {
        let v = OsStr::new("a'b");
        assert_eq!(set_private(Shell::Bash, "x", v), b"declare -g x='a'\\''b'\nexport -n x\n");
        assert_eq!(set_private(Shell::Zsh, "x", v), b"typeset -g x='a'\\''b'\ntypeset -g +x x\n");
        assert_eq!(set_private(Shell::Fish, "x", v), b"set -g x 'a\\'b'\n");
        assert_eq!(set_private(Shell::Pwsh, "x", v), b"$global:x = 'a''b'\n");
    }

    #[cfg(unix)]
    #[test]
    fn bytes_that_are_not_utf8_are_kept() {
        use std::os::unix::ffi::OsStrExt;
        let out = render_bytes(Shell::Bash, &[("A", Some(OsStr::from_bytes(b"\xff\n")))]);
        assert_eq!(out, b"export A='\xff\n'\n");
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
