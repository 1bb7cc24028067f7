//! One quoting function per shell. Each returns a word that the shell reads back as exactly
//! the given value (any bytes but NUL, which no environment variable can hold).

use std::ffi::OsStr;

use super::Shell;

pub fn quote(shell: Shell, value: &OsStr) -> String {
    into_string(quote_bytes(shell, value))
}

/// [`quote`] as raw bytes: a value that is not UTF-8 stays byte-exact (bash, zsh and fish
/// read their input as bytes). Write it out with `Write::write_all`, never via `String`.
pub fn quote_bytes(shell: Shell, value: &OsStr) -> Vec<u8> {
    match shell {
        Shell::Bash | Shell::Zsh => posix_bytes(value),
        Shell::Fish => fish_bytes(value),
        Shell::Pwsh => quote_pwsh(value).into_bytes(),
    }
}

/// POSIX single quotes: everything inside is literal, so only `'` needs care (`'\''`).
/// Works in sh, bash and zsh alike, newlines and non-UTF-8 bytes included.
pub fn quote_posix(value: &OsStr) -> String {
    into_string(posix_bytes(value))
}

fn posix_bytes(value: &OsStr) -> Vec<u8> {
    let bytes = bytes(value);
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.push(b'\'');
    for &b in bytes.iter() {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

/// fish single quotes: literal except `\\` and `\'`.
pub fn quote_fish(value: &OsStr) -> String {
    into_string(fish_bytes(value))
}

fn fish_bytes(value: &OsStr) -> Vec<u8> {
    let bytes = bytes(value);
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.push(b'\'');
    for &b in bytes.iter() {
        if b == b'\'' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'\'');
    out
}

/// PowerShell single quotes: literal except the quote, doubled. PowerShell also reads the
/// typographic quotes U+2018..U+201B as single quotes, so those are doubled too. PowerShell
/// strings are UTF-16, so a non-UTF-8 value can only be passed on lossily.
pub fn quote_pwsh(value: &OsStr) -> String {
    let text = value.to_string_lossy();
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Why a value cannot be written in a format that has no way to escape it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unquotable(pub &'static str);

/// Windows cmd, for `set "NAME=value"` lines: inside the quotes `&|<>^` are literal, so the
/// value goes in as it is. cmd has no escape that works both in a batch file and typed at
/// the prompt (`%%` is one `%` only in a batch file), and a `"` would end the quoting, so
/// values with `%`, `"` or a line break are refused rather than changed. Ctrl-Z (0x1A) is a
/// line break too, to cmd reading a batch file: what followed it would run as a command.
pub fn quote_cmd(value: &OsStr) -> Result<String, Unquotable> {
    let text = value.to_str().ok_or(Unquotable("bytes that are not UTF-8"))?;
    match text.chars().find(|c| matches!(c, '%' | '"' | '\n' | '\r' | '\u{1a}')) {
        Some('%') => Err(Unquotable("a `%`")),
        Some('"') => Err(Unquotable("a `\"`")),
        Some(_) => Err(Unquotable("a line break")),
        None => Ok(text.to_string()),
    }
}

/// A dotenv value, written as `docker run --env-file` reads it: everything after the first
/// `=` up to the end of the line, taken literally (no quotes, no escapes). Compose's
/// `env_file` reads the same line differently when the value has a `$`, a ` #`, starts with
/// a quote or has spaces at either end, so such values are refused, as are line breaks.
/// docker reads an `--env-file` line with Go's default scanner, at most 64 KiB with its name.
const MAX_DOTENV_VALUE: usize = 60 * 1024;

pub fn quote_dotenv(value: &OsStr) -> Result<String, Unquotable> {
    let text = value.to_str().ok_or(Unquotable("bytes that are not UTF-8"))?;
    if text.contains(['\n', '\r']) {
        Err(Unquotable("a line break"))
    } else if text.len() > MAX_DOTENV_VALUE {
        Err(Unquotable("more than 60 KiB, longer than docker reads an env-file line"))
    } else if text.contains('$') {
        Err(Unquotable("a `$`, which Compose would expand"))
    } else if text.contains(" #") || text.contains("\t#") {
        Err(Unquotable("` #`, which Compose would read as a comment"))
    } else if text.starts_with(['"', '\'', '`']) {
        Err(Unquotable("a leading quote, which Compose would remove"))
    } else if text.trim() != text {
        Err(Unquotable("spaces at either end, which Compose would trim"))
    } else {
        Ok(text.to_string())
    }
}

#[cfg(unix)]
fn bytes(value: &OsStr) -> std::borrow::Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    std::borrow::Cow::Borrowed(value.as_bytes())
}

#[cfg(not(unix))]
fn bytes(value: &OsStr) -> std::borrow::Cow<'_, [u8]> {
    std::borrow::Cow::Owned(value.to_string_lossy().into_owned().into_bytes())
}

/// For callers that need text: non-UTF-8 parts are replaced, so byte-exact callers use
/// [`quote_bytes`] instead.
fn into_string(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWKWARD: &[&str] =
        &["", "plain", "it's", "a b", "$HOME", "back\\slash", "new\nline", "tab\t", "ünï ☃", "'", "\\'"];

    #[test]
    fn posix_quotes_only_escape_the_single_quote() {
        assert_eq!(quote(Shell::Bash, OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(quote(Shell::Zsh, OsStr::new("")), "''");
        assert_eq!(quote(Shell::Bash, OsStr::new("$x\\")), r"'$x\'");
    }

    #[test]
    fn fish_quotes_escape_quote_and_backslash() {
        assert_eq!(quote(Shell::Fish, OsStr::new(r"a'b\c")), r"'a\'b\\c'");
    }

    #[test]
    fn pwsh_quotes_double_every_kind_of_single_quote() {
        assert_eq!(quote_pwsh(OsStr::new("it's ‘x’")), "'it''s ‘‘x’’'");
    }

    #[test]
    fn every_quoted_word_starts_and_ends_with_a_quote() {
        for s in AWKWARD {
            for shell in [Shell::Bash, Shell::Fish, Shell::Pwsh] {
                let q = quote(shell, OsStr::new(s));
                assert!(q.starts_with('\'') && q.ends_with('\'') && q.len() >= 2, "{shell:?} {q}");
            }
        }
    }
}

#[cfg(test)]
mod literal_format_tests {
    use super::*;

    #[test]
    fn cmd_takes_specials_literally_and_refuses_what_it_cannot_carry() {
        assert_eq!(quote_cmd(OsStr::new("a&b|c<d>e^f!g (h) it's")).as_deref(), Ok("a&b|c<d>e^f!g (h) it's"));
        assert_eq!(quote_cmd(OsStr::new("")).as_deref(), Ok(""));
        assert_eq!(quote_cmd(OsStr::new("100%")), Err(Unquotable("a `%`")));
        assert_eq!(quote_cmd(OsStr::new("say \"hi\"")), Err(Unquotable("a `\"`")));
        assert_eq!(quote_cmd(OsStr::new("a\r\nb")), Err(Unquotable("a line break")));
    }

    #[test]
    fn dotenv_values_are_literal_and_refused_when_compose_would_read_them_otherwise() {
        for ok in ["wJalr/K7+MDENG=", "eu-west-1", "a b", "a#b", "x'y\"z", "ünï ☃", ""] {
            assert_eq!(quote_dotenv(OsStr::new(ok)).as_deref(), Ok(ok));
        }
        for bad in ["a\nb", "a\rb", "$HOME", "a #b", "'q'", "\"q\"", " lead", "trail "] {
            assert!(quote_dotenv(OsStr::new(bad)).is_err(), "{bad:?}");
        }
    }
}
