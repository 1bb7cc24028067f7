//! Reads `~/.aws/config` and `~/.aws/credentials` the way botocore does: `[default]` and
//! `[profile NAME]` in the config file, bare `[NAME]` in the credentials file, keys
//! lower-cased, `=` or `:` between key and value, indented lines continuing a value, `#`/`;`
//! comments on their own line only (botocore keeps `#` inside values), and credentials-file
//! values overriding config-file values of the same profile. A section or a setting that
//! appears twice in one file is an error, as it is for botocore's configparser (the AWS CLI
//! refuses such a file), rather than a silent merge.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::env::Env;
use crate::error::Error;

/// One profile's settings, merged from both files.
#[derive(Clone, Default)]
pub struct Profile {
    pub name: String,
    values: BTreeMap<String, String>,
    /// The settings whose value came from the credentials file, for naming the file in an
    /// error.
    from_credentials: BTreeSet<String>,
}

impl Profile {
    /// A setting's value; botocore treats a present-but-empty value as present, and so do we.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// A setting that must not be blank when present.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// Static keys as botocore's `_has_static_credentials` sees them.
    pub fn has_static_keys(&self) -> bool {
        self.has("aws_access_key_id") && self.has("aws_secret_access_key")
    }

    /// A role profile, in botocore's sense: `role_arn` (web identity aside, not supported).
    pub fn has_role(&self) -> bool {
        self.has("role_arn") && !self.has("web_identity_token_file")
    }

    /// Whether `rolesh login` can take this profile's name: SSO settings of its own, or an
    /// `sso_session` to log in to.
    pub fn logs_in_to_sso(&self) -> bool {
        self.is_sso() || self.has("sso_session")
    }

    /// botocore's SSO provider applies to a profile with any of these settings.
    pub fn is_sso(&self) -> bool {
        ["sso_start_url", "sso_region", "sso_role_name", "sso_account_id"].iter().any(|k| self.has(k))
    }
}

// Profiles hold secret keys: show only their names.
impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&String> = self.values.keys().collect();
        f.debug_struct("Profile").field("name", &self.name).field("keys", &keys).finish()
    }
}

/// Both AWS files, indexed: every section is found and checked when the files are read, but a
/// profile's settings are read out of the text only when that profile is asked for. A warm
/// `exec` needs two or three profiles of what may be thousands, and copying every setting of
/// a large config into maps cost more than the rest of the run (docs/ARCHITECTURE.md).
#[derive(Default)]
pub struct Config {
    pub config_path: PathBuf,
    pub credentials_path: PathBuf,
    config_text: String,
    credentials_text: String,
    /// Looked up far more often than listed: a hash map, sorted when listed.
    profiles: HashMap<String, Entry, Fnv>,
    /// `[sso-session NAME]` sections of the config file: IAM Identity Center settings that
    /// profiles share by name.
    pub sso_sessions: BTreeMap<String, SsoSession>,
}

/// Where a profile's sections are, and the profile once read.
#[derive(Default)]
struct Entry {
    /// The body of its section in each file's text.
    config: Option<Span>,
    credentials: Option<Span>,
    profile: OnceLock<Box<Profile>>,
}

// The files' text holds secret keys: show paths and names only.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("config_path", &self.config_path)
            .field("credentials_path", &self.credentials_path)
            .field("profiles", &self.names().collect::<Vec<_>>())
            .field("sso_sessions", &self.sso_sessions)
            .finish()
    }
}

/// An `[sso-session NAME]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SsoSession {
    pub name: String,
    pub start_url: Option<String>,
    pub region: Option<String>,
    /// `sso_registration_scopes`, comma-separated in the file.
    pub scopes: Vec<String>,
}

impl Config {
    /// Loads both files from where the AWS CLI looks for them; a missing file is empty.
    pub fn load(env: &Env) -> Result<Self, Error> {
        let home = home_dir(env);
        let config_path = env
            .get("AWS_CONFIG_FILE")
            .map(|p| expand_tilde(p, &home))
            .unwrap_or_else(|| home.join(".aws").join("config"));
        let credentials_path = env
            .get("AWS_SHARED_CREDENTIALS_FILE")
            .map(|p| expand_tilde(p, &home))
            .unwrap_or_else(|| home.join(".aws").join("credentials"));
        let config_text = read_optional(&config_path)?;
        let credentials_text = read_optional(&credentials_path)?;
        Config::parse_at(config_text, credentials_text, config_path, credentials_path)
    }

    /// Both files' text, as if they were at `config` and `credentials` (tests).
    pub fn parse(config_text: &str, credentials_text: &str) -> Result<Self, Error> {
        let (config, credentials) = (config_text.to_string(), credentials_text.to_string());
        Config::parse_at(config, credentials, PathBuf::from("config"), PathBuf::from("credentials"))
    }

    fn parse_at(
        config_text: String,
        credentials_text: String,
        config_path: PathBuf,
        credentials_path: PathBuf,
    ) -> Result<Self, Error> {
        // Sized for a typical profile of about 128 bytes: growing the map step by step cost a
        // tenth of reading a large config.
        let expected = (config_text.len() + credentials_text.len()) / 128;
        let mut profiles: HashMap<String, Entry, Fnv> = HashMap::with_capacity_and_hasher(expected, Fnv::default());
        let mut sso_sessions = BTreeMap::new();
        for section in sections(&config_text) {
            let section = section.map_err(|e| e.into_error(&config_path))?;
            if let Some(name) = config_section_profile(section.name) {
                // botocore keeps the later of `[default]` and `[profile default]` (or of
                // `[profile a]` and `[profile  a ]`) whole.
                profiles.entry(name).or_default().config = Some(span(&config_text, section.body));
            } else if let Some(name) = sso_session_section(section.name) {
                let values = settings(section.body);
                let get = |k: &str| values.iter().find(|(key, v)| key == k && !v.is_empty()).map(|(_, v)| v.clone());
                let scopes = get("sso_registration_scopes")
                    .map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
                    .unwrap_or_default();
                let session = SsoSession {
                    name: name.clone(),
                    start_url: get("sso_start_url"),
                    region: get("sso_region"),
                    scopes,
                };
                sso_sessions.insert(name, session);
            }
        }
        for section in sections(&credentials_text) {
            let section = section.map_err(|e| e.into_error(&credentials_path))?;
            profiles.entry(section.name.to_string()).or_default().credentials =
                Some(span(&credentials_text, section.body));
        }
        Ok(Config { config_path, credentials_path, config_text, credentials_text, profiles, sso_sessions })
    }

    /// A profile read out of the files' text: its config-file settings, then its
    /// credentials-file settings over them.
    fn read_profile(&self, name: &str, entry: &Entry) -> Profile {
        let mut profile = Profile { name: name.to_string(), ..Default::default() };
        if let Some(body) = entry.config {
            profile.values.extend(settings(body.of(&self.config_text)));
        }
        if let Some(body) = entry.credentials {
            let values = settings(body.of(&self.credentials_text));
            profile.from_credentials.extend(values.iter().map(|(k, _)| k.clone()));
            profile.values.extend(values);
        }
        profile
    }

    /// A setting of `[default]` that makes every SDK find credentials there before it would
    /// ask a credentials endpoint, and the file it is in.
    pub fn default_credentials(&self) -> Option<(&Path, &'static str)> {
        const SHADOWING: &[&str] = &[
            "aws_access_key_id",
            "aws_secret_access_key",
            "aws_session_token",
            "credential_process",
            "role_arn",
            "credential_source",
            "web_identity_token_file",
            "sso_session",
            "sso_start_url",
            "sso_account_id",
            "sso_role_name",
        ];
        let default = self.get("default")?;
        SHADOWING.iter().find(|k| default.has(k)).map(|k| (self.file_of(default, k), *k))
    }

    /// The `[sso-session]` a profile names, if it names one; naming one that is not there is
    /// an error saying where to add it.
    pub fn sso_session_of(&self, p: &Profile) -> Result<Option<&SsoSession>, Error> {
        let Some(s) = p.non_empty("sso_session") else { return Ok(None) };
        let name = &p.name;
        self.sso_sessions.get(s).map(Some).ok_or_else(|| {
            Error::config_of(
                name,
                format!(
                    "profile `{name}` has sso_session = {s}, but there is no [sso-session {s}]; add it to {}",
                    self.config_path.display()
                ),
            )
        })
    }

    /// The file a profile's setting came from.
    pub fn file_of(&self, profile: &Profile, key: &str) -> &Path {
        if profile.from_credentials.contains(key) { &self.credentials_path } else { &self.config_path }
    }

    pub fn get(&self, name: &str) -> Option<&Profile> {
        let entry = self.profiles.get(name)?;
        Some(entry.profile.get_or_init(|| Box::new(self.read_profile(name, entry))))
    }

    /// The profiles' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        let mut names: Vec<&String> = self.profiles.keys().collect();
        names.sort_unstable();
        names.into_iter()
    }

    /// Every profile, sorted by name (each read out of the text on the way).
    pub fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.names().filter_map(|name| self.get(name))
    }

    pub fn files(&self) -> String {
        crate::error::files_list(&[self.config_path.clone(), self.credentials_path.clone()])
    }

    /// Up to three existing profile names closest to `name`, for "did you mean".
    pub fn closest(&self, name: &str) -> Vec<String> {
        let lower = name.to_lowercase();
        let mut scored: Vec<(usize, &String)> = self
            .profiles
            .keys()
            .filter_map(|p| {
                let pl = p.to_lowercase();
                let d = levenshtein(&lower, &pl);
                let near = d <= (name.chars().count() / 3).max(2) || pl.contains(&lower) || lower.contains(&pl);
                near.then_some((d, p))
            })
            .collect();
        scored.sort();
        scored.into_iter().take(3).map(|(_, p)| p.clone()).collect()
    }
}

/// botocore: `[default]` is the default profile, `[profile NAME]` is NAME (shlex-split, so
/// quotes and extra spaces are allowed); other sections (`sso-session`, `services`) are not
/// profiles.
pub(crate) fn config_section_profile(section: &str) -> Option<String> {
    if section == "default" {
        return Some(section.to_string());
    }
    section_name(section, "profile")
}

/// The name in a `[KIND NAME]` header, split as botocore splits it with shlex: one word, or
/// one quoted; an unquoted name with spaces would be several words, so no name at all.
fn section_name(section: &str, kind: &str) -> Option<String> {
    let rest = section.strip_prefix(kind)?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let name = rest.trim();
    for q in ['"', '\''] {
        if let Some(inner) = name.strip_prefix(q).and_then(|n| n.strip_suffix(q)) {
            return Some(inner.to_string());
        }
    }
    (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| name.to_string())
}

/// `[sso-session NAME]` is session NAME.
fn sso_session_section(section: &str) -> Option<String> {
    section_name(section, "sso-session")
}

/// One line of an AWS INI file, as the reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IniLine<'a> {
    /// Blank or a comment: part of no setting.
    Blank,
    /// `[NAME]`, with NAME trimmed.
    Header(&'a str),
    /// `key = value` or `key: value`, both trimmed (the key not yet lower-cased).
    Key(&'a str, &'a str),
    /// An indented line after a setting: more of that setting's value.
    Continuation(&'a str),
    /// What the reader skips: no `=` or `:`, an empty key, a setting before any section.
    Ignored,
}

/// Tells lines apart with configparser's rules, one at a time, remembering what decides the
/// next line: whether a section has begun and whether a setting came before. Shared by
/// [`parse_ini`] and the file editor (`profile::edit`), so an edit finds sections exactly
/// where the reader does.
#[derive(Default)]
pub(crate) struct IniLines {
    in_section: bool,
    after_key: bool,
}

impl IniLines {
    /// The state just after a section's header: what [`settings`] starts a body in.
    pub(crate) fn after_header() -> Self {
        IniLines { in_section: true, after_key: false }
    }

    /// `raw` is one line, its line break included or not. Byte-wise where the rules are about
    /// ASCII (it runs on every line of a config of thousands of profiles).
    pub(crate) fn classify<'a>(&mut self, raw: &'a str) -> IniLine<'a> {
        let end = raw.bytes().rposition(|b| b != b'\n' && b != b'\r').map_or(0, |i| i + 1);
        let line = &raw[..end];
        let trimmed = trim(line);
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            return IniLine::Blank;
        }
        if self.after_key && line.starts_with([' ', '\t']) {
            // botocore keeps continuations for nested settings (`s3 =`).
            return IniLine::Continuation(trimmed);
        }
        if let Some(inner) = trimmed.strip_prefix('[').and_then(|t| t.find(']').map(|end| &t[..end])) {
            self.in_section = true;
            self.after_key = false;
            return IniLine::Header(trim(inner));
        }
        match trimmed.bytes().position(|b| b == b'=' || b == b':') {
            Some(pos) if self.in_section && !trim(&trimmed[..pos]).is_empty() => {
                self.after_key = true;
                IniLine::Key(trim(&trimmed[..pos]), trim(&trimmed[pos + 1..]))
            }
            _ => IniLine::Ignored,
        }
    }
}

/// `str::trim` (Unicode whitespace, as Python's `strip`), with ASCII's common case first.
fn trim(s: &str) -> &str {
    let t = s.trim_ascii();
    // Vertical tab and non-ASCII whitespace are left to the full rule.
    let odd = |b: Option<&u8>| b.is_some_and(|&b| b == 0x0b || b >= 0x80);
    if odd(t.as_bytes().first()) || odd(t.as_bytes().last()) { t.trim() } else { t }
}

/// A section's name and its settings (keys lower-cased), in file order.
pub type Section = (String, Vec<(String, String)>);

/// A section or setting configparser (and so the AWS CLI) refuses to read twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IniError {
    DuplicateSection(String),
    DuplicateKey { section: String, key: String },
}

impl IniError {
    pub(crate) fn into_error(self, path: &Path) -> Error {
        let file = path.display();
        Error::config(match self {
            IniError::DuplicateSection(s) => {
                format!("{file} has section [{s}] twice, which the AWS CLI refuses to read; merge them into one")
            }
            IniError::DuplicateKey { section, key } => {
                format!("{file} sets {key} twice in section [{section}], which the AWS CLI refuses to read; keep one")
            }
        })
    }
}

/// A section as [`sections`] finds it: the name in its header and the text of its body (the
/// lines up to the next header), both borrowed from the file's text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawSection<'a> {
    pub name: &'a str,
    pub body: &'a str,
}

/// Finds a file's sections with configparser's rules and refuses what it refuses (a section or
/// a setting twice), copying nothing: the settings of a section are read by [`settings`] when
/// they are wanted. An iterator, so that a config of thousands of sections is never held twice.
pub(crate) fn sections(text: &str) -> Sections<'_> {
    let bom = usize::from(text.starts_with('\u{feff}')) * '\u{feff}'.len_utf8();
    Sections {
        text,
        next_line: bom,
        lines: IniLines::default(),
        seen: HashSet::with_capacity_and_hasher(text.len() / 128, Fnv::default()),
        keys: Vec::new(),
        current: None,
    }
}

pub(crate) struct Sections<'a> {
    text: &'a str,
    /// Where the next unread line starts.
    next_line: usize,
    lines: IniLines,
    seen: HashSet<&'a str, Fnv>,
    /// The keys of the current section, for the duplicate check.
    keys: Vec<&'a str>,
    /// The current section's name and where its body starts.
    current: Option<(&'a str, usize)>,
}

impl<'a> Sections<'a> {
    /// Stops the walk with `error`.
    fn fail(&mut self, error: IniError) -> Option<Result<RawSection<'a>, IniError>> {
        self.next_line = self.text.len();
        self.current = None;
        Some(Err(error))
    }
}

impl<'a> Iterator for Sections<'a> {
    type Item = Result<RawSection<'a>, IniError>;

    fn next(&mut self) -> Option<Self::Item> {
        let text = self.text;
        while self.next_line < text.len() {
            let line_start = self.next_line;
            self.next_line = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i + 1);
            match self.lines.classify(&text[line_start..self.next_line]) {
                IniLine::Header(name) => {
                    if !self.seen.insert(name) {
                        return self.fail(IniError::DuplicateSection(name.to_string()));
                    }
                    self.keys.clear();
                    if let Some((done, body_start)) = self.current.replace((name, self.next_line)) {
                        return Some(Ok(RawSection { name: done, body: &text[body_start..line_start] }));
                    }
                }
                IniLine::Key(key, _) => {
                    if self.keys.iter().any(|k| same_key(k, key)) {
                        let section = self.current.map_or("", |(name, _)| name).to_string();
                        return self.fail(IniError::DuplicateKey { section, key: key.to_lowercase() });
                    }
                    self.keys.push(key);
                }
                _ => {}
            }
        }
        self.current.take().map(|(name, body_start)| Ok(RawSection { name, body: &text[body_start..] }))
    }
}

/// FNV-1a for the maps of section names: SipHash's resistance to chosen collisions buys
/// nothing for a file that must be the user's own, and costs a tenth of reading a large one.
type Fnv = BuildHasherDefault<FnvHasher>;

struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// configparser lower-cases keys: `Region` and `region` are one setting.
fn same_key(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() { a.eq_ignore_ascii_case(b) } else { a.to_lowercase() == b.to_lowercase() }
}

/// A section body's settings (keys lower-cased), in file order; indented lines continue the
/// setting before them.
pub(crate) fn settings(body: &str) -> Vec<(String, String)> {
    let mut values: Vec<(String, String)> = Vec::new();
    let mut lines = IniLines::after_header();
    for raw in body.lines() {
        match lines.classify(raw) {
            IniLine::Key(key, value) => values.push((key.to_lowercase(), value.to_string())),
            IniLine::Continuation(more) => {
                if let Some((_, value)) = values.last_mut() {
                    value.push('\n');
                    value.push_str(more);
                }
            }
            _ => {}
        }
    }
    values
}

/// An INI reader with configparser's rules: lines it cannot read are skipped, as the AWS
/// SDKs do, but a repeated section or setting is an error, as it is for botocore.
pub fn parse_ini(text: &str) -> Result<Vec<Section>, IniError> {
    sections(text).map(|s| s.map(|s| (s.name.to_string(), settings(s.body)))).collect()
}

/// Where a part of a file's text lies in it; 32 bits, as the files are capped at 64 MiB, so
/// that the index of a large config stays small.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

/// The span of `part`, a slice of `text`.
fn span(text: &str, part: &str) -> Span {
    let start = part.as_ptr() as usize - text.as_ptr() as usize;
    let at = |i: usize| u32::try_from(i).expect("AWS files are capped far below 4 GiB");
    Span { start: at(start), end: at(start + part.len()) }
}

impl Span {
    fn of(self, text: &str) -> &str {
        &text[self.start as usize..self.end as usize]
    }
}

/// Far beyond any real config (10,000 profiles are about 1 MB), well short of what would
/// hurt: a bigger file is refused rather than read into memory.
pub const MAX_FILE_LEN: u64 = 64 << 20;

/// A file's text, or empty if it is missing. Read without blocking (a FIFO in its place
/// never hangs rolesh) and refused when others could have written it: a `credential_process`
/// line in it is a command rolesh would run.
fn read_optional(path: &Path) -> Result<String, Error> {
    match crate::fsutil::read_config(path, MAX_FILE_LEN) {
        // Lossy only when it must be: a valid file is not copied.
        Ok(bytes) => Ok(String::from_utf8(bytes.unwrap_or_default())
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())),
        Err(e) => Err(Error::config(format!("could not read {}: {e}", path.display()))),
    }
}

pub fn home_dir(env: &Env) -> PathBuf {
    env.get("HOME")
        .or_else(|| env.get("USERPROFILE"))
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("."))
}

fn expand_tilde(path: &str, home: &Path) -> PathBuf {
    match path.strip_prefix("~/").or_else(|| path.strip_prefix("~\\")) {
        Some(rest) => home.join(rest),
        None if path == "~" => home.to_path_buf(),
        None => PathBuf::from(path),
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_sections_map_to_profiles_like_botocore() {
        let cfg = Config::parse(
            "[default]\nregion = eu-west-1\n[profile dev]\nrole_arn=arn:aws:iam::1:role/x\n[sso-session s]\nsso_region=x\n[plain]\nregion=y\n[profilex]\na=b\n",
            "",
        )
        .unwrap();
        let names: Vec<&String> = cfg.names().collect();
        assert_eq!(names, ["default", "dev"]);
        assert_eq!(cfg.get("dev").unwrap().get("role_arn"), Some("arn:aws:iam::1:role/x"));
    }

    #[test]
    fn credentials_file_values_override_the_config_file() {
        let cfg = Config::parse(
            "[profile u]\nregion = a\naws_access_key_id = CFG\n",
            "[u]\naws_access_key_id = CRED\naws_secret_access_key = s\n[profile odd]\nx = 1\n",
        )
        .unwrap();
        let u = cfg.get("u").unwrap();
        assert_eq!(u.get("aws_access_key_id"), Some("CRED"));
        assert_eq!(u.get("region"), Some("a"));
        assert!(u.has_static_keys());
        // In the credentials file a section name is taken literally.
        assert!(cfg.get("profile odd").is_some());
    }

    #[test]
    fn odd_syntax_is_read_as_configparser_reads_it() {
        let text = "\u{feff}# comment\r\n[profile  spaced ]\r\nRole_Arn : arn:aws:iam::1:role/r\r\n  ; indented comment\r\nexternal_id = a#b ;c\r\ns3 =\r\n  max_concurrent_requests = 10\r\nempty =\r\n";
        let cfg = Config::parse(text, "").unwrap();
        let p = cfg.get("spaced").expect("profile with extra spaces");
        assert_eq!(p.get("role_arn"), Some("arn:aws:iam::1:role/r"));
        assert_eq!(p.get("external_id"), Some("a#b ;c"));
        assert_eq!(p.get("s3"), Some("\nmax_concurrent_requests = 10"));
        assert_eq!(p.get("empty"), Some(""));
        assert!(p.has("empty") && p.non_empty("empty").is_none());
    }

    #[test]
    fn the_later_of_default_and_profile_default_wins_whole() {
        let cfg = Config::parse("[profile default]\na = 3\n[default]\nc = 4\n", "").unwrap();
        let d = cfg.get("default").unwrap();
        assert_eq!((d.get("a"), d.get("c")), (None, Some("4")));
        let cfg = Config::parse("[profile  x]\na = 1\n[profile x]\nb = 2\n", "").unwrap();
        assert_eq!((cfg.get("x").unwrap().get("a"), cfg.get("x").unwrap().get("b")), (None, Some("2")));
    }

    #[test]
    fn a_repeated_section_or_setting_is_refused_as_botocore_refuses_it() {
        let err = Config::parse("[profile x]\na = 1\n[profile x]\nb = 2\n", "").unwrap_err().to_string();
        assert_eq!(err, "config has section [profile x] twice, which the AWS CLI refuses to read; merge them into one");
        let err = Config::parse("", "[x]\nregion = a\nRegion = b\n").unwrap_err().to_string();
        assert!(err.starts_with("credentials sets region twice in section [x]"), "{err}");
        assert!(Config::parse("[default]\n[default]\n", "").is_err());
        // Found in a profile nobody asks for, and with configparser's lower-casing.
        assert!(Config::parse("[profile a]\n[profile b]\nÄrger = 1\närger = 2\n", "").is_err());
        assert!(Config::parse("[profile b]\nRegion = 1\n\n  ; c\nREGION = 2", "").is_err());
    }

    #[test]
    fn a_setting_names_the_file_it_came_from() {
        let cfg = Config::parse("[profile u]\nregion = a\n", "[u]\nduration_seconds = 1\n").unwrap();
        let u = cfg.get("u").unwrap();
        assert_eq!(cfg.file_of(u, "region"), Path::new("config"));
        assert_eq!(cfg.file_of(u, "duration_seconds"), Path::new("credentials"));
    }

    #[test]
    fn sso_sessions_are_read_by_name() {
        let cfg = Config::parse(
            "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\nsso_registration_scopes = sso:account:access, x\n[sso-session]\na=b\n",
            "",
        )
        .unwrap();
        let corp = &cfg.sso_sessions["corp"];
        assert_eq!(corp.start_url.as_deref(), Some("https://corp.awsapps.com/start"));
        assert_eq!(corp.region.as_deref(), Some("eu-west-1"));
        assert_eq!(corp.scopes, ["sso:account:access", "x"]);
        assert_eq!(cfg.sso_sessions.len(), 1);
    }

    #[test]
    fn quoted_profile_names_are_unquoted() {
        let cfg = Config::parse("[profile \"my team\"]\nregion=x\n", "").unwrap();
        assert!(cfg.get("my team").is_some());
    }

    #[test]
    fn closest_names_rank_by_edit_distance() {
        let cfg =
            Config::parse("[profile prod-admin]\n[profile prod-read]\n[profile dev]\n[profile staging]\n", "").unwrap();
        assert_eq!(cfg.closest("prod-admn"), ["prod-admin"]);
        assert_eq!(cfg.closest("prod"), ["prod-read", "prod-admin"]);
        assert_eq!(cfg.closest("dve"), ["dev"]);
        assert!(cfg.closest("zzzzzzzz").is_empty());
    }
}
