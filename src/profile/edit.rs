//! Small, careful edits to the shared AWS files: replace or append one section and leave
//! every other byte alone (comments, order, blank lines, CRLF endings, a BOM, a missing
//! final newline). Sections are found with the reader's rules ([`super::config`]), so the
//! section edited is the one the AWS tools read. Used by `save` and `config add-role`.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::config::{IniLine, IniLines, MAX_FILE_LEN, config_section_profile, parse_ini};
use crate::error::{Error, Warning};
use crate::fsutil;

/// Which file a section lives in, which decides how its name is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `~/.aws/config`: `[default]` and `[profile NAME]`.
    Config,
    /// `~/.aws/credentials`: `[NAME]`.
    Credentials,
}

/// One line of a section body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Comment(String),
    Key(&'static str, String),
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A config or credentials file's bytes.
pub struct Document {
    bytes: Vec<u8>,
}

struct Section {
    name: String,
    /// From the header's first byte to the end (line break included) of its last setting;
    /// comments and blank lines after that belong to whatever follows.
    range: Range<usize>,
}

impl Document {
    pub fn new(bytes: Vec<u8>) -> Self {
        Document { bytes }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The file's own line break: CRLF if its first line ends so, else LF.
    fn eol(&self) -> &'static str {
        match self.bytes.iter().position(|&b| b == b'\n') {
            Some(i) if i > 0 && self.bytes[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }

    /// Sections in file order, split by the reader's own line rules ([`IniLines`]).
    fn sections(&self) -> Vec<Section> {
        let start = if self.bytes.starts_with(BOM) { BOM.len() } else { 0 };
        let mut sections: Vec<Section> = Vec::new();
        let mut lines = IniLines::default();
        let mut pos = start;
        while pos < self.bytes.len() {
            let end = self.bytes[pos..].iter().position(|&b| b == b'\n').map_or(self.bytes.len(), |i| pos + i + 1);
            match lines.classify(&String::from_utf8_lossy(&self.bytes[pos..end])) {
                // Blank lines and comments belong to whatever follows.
                IniLine::Blank => {}
                IniLine::Header(name) => sections.push(Section { name: name.to_string(), range: pos..end }),
                IniLine::Key(..) | IniLine::Continuation(_) | IniLine::Ignored => {
                    if let Some(s) = sections.last_mut() {
                        s.range.end = end;
                    }
                }
            }
            pos = end;
        }
        sections
    }

    /// The byte range of profile `name`'s section; two sections for one profile are an error,
    /// as rolesh could not tell which one the user means.
    fn find(&self, kind: Kind, name: &str, path: &Path) -> Result<Option<Range<usize>>, Error> {
        let mut found = self.sections().into_iter().filter(|s| is_profile(kind, &s.name, name));
        let first = found.next().map(|s| s.range);
        if first.is_some() && found.next().is_some() {
            return Err(Error::config(format!(
                "profile `{name}` has more than one section in {}; merge them into one first",
                path.display()
            )));
        }
        Ok(first)
    }

    /// The settings of profile `name`'s section, if it has one.
    pub fn values(&self, kind: Kind, name: &str, path: &Path) -> Result<Option<Vec<(String, String)>>, Error> {
        let Some(range) = self.find(kind, name, path)? else { return Ok(None) };
        let text = String::from_utf8_lossy(&self.bytes[range]);
        let sections = parse_ini(&text).map_err(|e| e.into_error(path))?;
        Ok(Some(sections.into_iter().next().map(|(_, values)| values).unwrap_or_default()))
    }

    /// The document without any section of profile `name` (`[default]` and `[profile
    /// default]` both, in the config file).
    pub fn without(&self, kind: Kind, name: &str) -> Document {
        let mut bytes = self.bytes.clone();
        let mut sections: Vec<Section> =
            self.sections().into_iter().filter(|s| is_profile(kind, &s.name, name)).collect();
        sections.sort_by_key(|s| std::cmp::Reverse(s.range.start));
        for s in sections {
            bytes.drain(s.range);
        }
        Document { bytes }
    }

    /// Replaces profile `name`'s section with `lines`, or appends it after a blank line.
    /// Refused (the document unchanged) when the edit would change how anything else in the
    /// file reads: an indented line after a section without settings is read as a header,
    /// but after the new settings it would be read as part of the last one.
    pub fn upsert(&mut self, kind: Kind, name: &str, lines: &[Line], path: &Path) -> Result<(), Error> {
        let before = self.bytes.clone();
        self.splice_section(kind, name, lines, path)?;
        let others = |bytes: &[u8]| {
            parse_ini(&String::from_utf8_lossy(bytes))
                .map(|sections| sections.into_iter().filter(|(s, _)| !is_profile(kind, s, name)).collect::<Vec<_>>())
        };
        let written: Vec<(String, String)> = lines
            .iter()
            .filter_map(|l| match l {
                Line::Key(k, v) => Some((k.to_string(), v.clone())),
                Line::Comment(_) => None,
            })
            .collect();
        let same_others = match (others(&before), others(&self.bytes)) {
            (Ok(a), Ok(b)) => a == b,
            // A file the reader refuses is edited as before; the reader will say what is wrong.
            (Err(_), _) => true,
            (Ok(_), Err(_)) => false,
        };
        let reads_back = self.values(kind, name, path).ok().flatten().is_none_or(|v| v == written);
        if !same_others || !reads_back {
            self.bytes = before;
            return Err(Error::config(format!(
                "changing profile `{name}` in {} would change how the lines after it read (an indented line there); remove that indentation first",
                path.display()
            )));
        }
        Ok(())
    }

    fn splice_section(&mut self, kind: Kind, name: &str, lines: &[Line], path: &Path) -> Result<(), Error> {
        validate_name(name)?;
        let eol = self.eol();
        let mut text = header(kind, name);
        for line in lines {
            text.push_str(eol);
            match line {
                Line::Comment(c) => text.push_str(&format!("# {}", single_line("the comment", c)?)),
                Line::Key(k, v) => text.push_str(&format!("{k} = {}", single_line(k, v)?)),
            }
        }
        match self.find(kind, name, path)? {
            Some(range) => {
                // A section that ended the file without a line break still does.
                if self.bytes[range.end - 1] == b'\n' {
                    text.push_str(eol);
                }
                self.bytes.splice(range, text.into_bytes());
            }
            None => {
                let body = self.bytes.strip_prefix(BOM).unwrap_or(&self.bytes);
                let mut prefix = String::new();
                if !body.is_empty() && !body.ends_with(b"\n") {
                    prefix.push_str(eol);
                }
                let ends_blank = body.ends_with(b"\n\n") || body.ends_with(b"\n\r\n");
                if !body.is_empty() && !ends_blank {
                    prefix.push_str(eol);
                }
                text.push_str(eol);
                self.bytes.extend_from_slice(prefix.as_bytes());
                self.bytes.extend_from_slice(text.as_bytes());
            }
        }
        Ok(())
    }
}

/// Whether section `section` of a file of `kind` is profile `name`'s.
fn is_profile(kind: Kind, section: &str, name: &str) -> bool {
    match kind {
        Kind::Config => config_section_profile(section).as_deref() == Some(name),
        Kind::Credentials => section == name,
    }
}

fn header(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Config if name == "default" => "[default]".to_string(),
        // botocore shlex-splits `profile NAME`: a name with spaces needs quotes.
        Kind::Config if name.contains(char::is_whitespace) => format!("[profile \"{name}\"]"),
        Kind::Config => format!("[profile {name}]"),
        Kind::Credentials => format!("[{name}]"),
    }
}

/// A profile name the AWS tools read back unchanged from a section header. botocore
/// shlex-splits `profile NAME`, which drops a backslash (`a\b` reads as `ab`), so that is
/// refused along with brackets and quotes.
pub fn validate_name(name: &str) -> Result<(), Error> {
    let bad = name.is_empty()
        || name.trim() != name
        || name.chars().any(|c| c.is_control() || matches!(c, '[' | ']' | '"' | '\'' | '\\'))
        || name.starts_with(['#', ';']);
    if bad {
        Err(Error::Usage(format!(
            "`{name}` cannot be a profile name; use letters, digits and -_.@ (no brackets, quotes, backslashes or line breaks)"
        )))
    } else {
        Ok(())
    }
}

/// A value the INI reader gives back as written: one line, no spaces at either end. The
/// error names the setting, never the value, which may be a secret key or token.
fn single_line<'a>(what: &str, value: &'a str) -> Result<&'a str, Error> {
    if value.contains(['\n', '\r']) || value.trim() != value {
        Err(Error::Usage(format!(
            "the value of {what} cannot be written to an AWS config file: it must be one line without spaces at either end"
        )))
    } else {
        Ok(value)
    }
}

/// A private (0600) copy at `to` of the AWS file at `from` without `[default]` (nor `[profile
/// default]`): what a served command gets with `--hide-default`.
pub fn copy_without_default(from: &Path, to: &Path, kind: Kind) -> Result<(), Error> {
    let bytes = fsutil::read_config(from, MAX_FILE_LEN).map_err(|e| Error::state("read", from, e.into()))?;
    let without = Document::new(bytes.unwrap_or_default()).without(kind, "default");
    fsutil::write_atomic(to, without.bytes(), 0o600).map_err(|e| Error::state("write", to, e))
}

/// Edits the file at `path` under a lock on a sibling lock file: read, `change`, write
/// atomically. An existing file keeps its mode, less write access for group and others; a
/// new one is 0600 in (if it is new too) a 0700 directory. A file that is to hold `secrets`
/// is also closed to reading by others, with a warning. A symlinked file is edited where it
/// points, so the link survives.
pub fn edit_file<T>(
    path: &Path,
    secrets: bool,
    change: impl FnOnce(&mut Document) -> Result<T, Error>,
) -> Result<(T, Vec<Warning>), Error> {
    let path = resolve_link(path);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.exists() {
        fsutil::private_dir(dir).map_err(|e| Error::state("create", dir, e))?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let lock_path = dir.join(format!(".{name}.lock"));
    let _lock = fsutil::lock(&lock_path, Duration::from_secs(10)).map_err(|e| Error::state("lock", &lock_path, e))?;
    let (bytes, mode) = match fsutil::read_config(&path, MAX_FILE_LEN) {
        Ok(Some(bytes)) => (bytes, mode_of(&path) & !0o022),
        Ok(None) => (Vec::new(), 0o600),
        Err(e) => return Err(Error::state("read", &path, e.into())),
    };
    let mut warnings = Vec::new();
    let mode = if secrets && mode & 0o077 != 0 {
        warnings.push(Warning::File(format!(
            "{} was readable by other users (mode {mode:04o}) and now holds a session token; made it 0600",
            path.display()
        )));
        mode & 0o700
    } else {
        mode
    };
    let mut doc = Document::new(bytes);
    let out = change(&mut doc)?;
    fsutil::write_atomic(&path, doc.bytes(), mode).map_err(|e| Error::state("write", &path, e))?;
    Ok((out, warnings))
}

fn resolve_link(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    }
}

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o600)
}

#[cfg(not(unix))]
fn mode_of(_path: &Path) -> u32 {
    0o600
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(pairs: &[(&'static str, &str)]) -> Vec<Line> {
        pairs.iter().map(|(k, v)| Line::Key(k, v.to_string())).collect()
    }

    fn upserted(before: &str, kind: Kind, name: &str, lines: &[Line]) -> String {
        let mut doc = Document::new(before.as_bytes().to_vec());
        doc.upsert(kind, name, lines, Path::new("f")).unwrap();
        String::from_utf8(doc.bytes).unwrap()
    }

    #[test]
    fn replacing_a_section_keeps_comments_before_the_next_one() {
        let before = "# top\n[a]\nx = 1\n  cont\n\n# about b\n[b]\ny = 2\n";
        let after = upserted(before, Kind::Credentials, "a", &keys(&[("x", "9")]));
        assert_eq!(after, "# top\n[a]\nx = 9\n\n# about b\n[b]\ny = 2\n");
    }

    #[test]
    fn appending_adds_one_blank_line_and_keeps_crlf_and_the_bom() {
        let before = "\u{feff}[default]\r\nregion = x\r\n";
        let after = upserted(before, Kind::Config, "new role", &keys(&[("role_arn", "r")]));
        assert_eq!(after, "\u{feff}[default]\r\nregion = x\r\n\r\n[profile \"new role\"]\r\nrole_arn = r\r\n");
        assert_eq!(upserted("", Kind::Config, "p", &[]), "[profile p]\n");
        assert_eq!(upserted("[a]\nk=v", Kind::Credentials, "b", &[]), "[a]\nk=v\n\n[b]\n");
        assert_eq!(upserted("[a]\n\n", Kind::Credentials, "b", &[]), "[a]\n\n[b]\n");
    }

    #[test]
    fn a_last_section_without_a_final_newline_stays_without_one() {
        let after = upserted("[a]\nk=1\n[b]\nk=2", Kind::Credentials, "b", &keys(&[("k", "3")]));
        assert_eq!(after, "[a]\nk=1\n[b]\nk = 3");
    }

    #[test]
    fn config_sections_are_found_by_botocore_names() {
        let before = "[profile  dev ]\nrole_arn = old\n[dev]\nx=1\n[profile \"my team\"]\nr=1\n";
        let after = upserted(before, Kind::Config, "dev", &keys(&[("role_arn", "new")]));
        assert_eq!(after, "[profile dev]\nrole_arn = new\n[dev]\nx=1\n[profile \"my team\"]\nr=1\n");
        let doc = Document::new(before.as_bytes().to_vec());
        let values = doc.values(Kind::Config, "my team", Path::new("f")).unwrap().unwrap();
        assert_eq!(values, [("r".to_string(), "1".to_string())]);
    }

    #[test]
    fn sections_are_where_the_reader_sees_them() {
        // The reader skips `junk` (no `=`) and keeps reading `  [b]` as a continuation of
        // `k`, so there is no profile `b` to replace: it is appended.
        let text = "[a]\nk = 1\njunk\n  [b]\nm = 2\n";
        assert!(super::super::config::Config::parse("", text).unwrap().get("b").is_none());
        let doc = Document::new(text.as_bytes().to_vec());
        assert_eq!(doc.values(Kind::Credentials, "b", Path::new("f")).unwrap(), None);
        let after = upserted(text, Kind::Credentials, "b", &keys(&[("k", "3")]));
        assert_eq!(after, format!("{text}\n[b]\nk = 3\n"));
    }

    #[test]
    fn a_value_that_cannot_be_written_is_named_by_its_key_never_shown() {
        let mut doc = Document::new(Vec::new());
        let secret = "wJalrXUtnFEMI/K7MDENG\n";
        let err = doc.upsert(Kind::Credentials, "p", &keys(&[("aws_secret_access_key", secret)]), Path::new("f"));
        let err = err.unwrap_err().to_string();
        assert!(err.contains("aws_secret_access_key") && !err.contains("wJalr"), "{err}");
    }

    #[test]
    fn two_sections_for_one_profile_are_refused() {
        let mut doc = Document::new(b"[a]\nk=1\n[a]\nk=2\n".to_vec());
        let err = doc.upsert(Kind::Credentials, "a", &[], Path::new("creds")).unwrap_err();
        assert!(err.to_string().contains("more than one section in creds"), "{err}");
    }

    #[test]
    fn names_and_values_that_would_not_read_back_are_refused() {
        for bad in ["", " a", "a]", "[a", "a\nb", "\"q\"", "#x", "a\\b"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        let mut doc = Document::new(Vec::new());
        assert!(doc.upsert(Kind::Config, "p", &keys(&[("k", "a\nb")]), Path::new("f")).is_err());
        assert!(doc.upsert(Kind::Config, "p", &keys(&[("k", " a")]), Path::new("f")).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_file_is_edited_where_it_points_and_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dotfiles-config");
        std::fs::write(&target, "[a]\nk = 1\n").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("config");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        edit_file(&link, false, |doc| doc.upsert(Kind::Credentials, "b", &[], &link)).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "[a]\nk = 1\n\n[b]\n");
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o644);
    }
}
