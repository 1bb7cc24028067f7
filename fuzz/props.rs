//! The properties the fuzz targets check, one function per target, each taking the raw input
//! bytes and panicking (with a message saying which property broke) when rolesh gets it wrong.
//!
//! Shared on purpose: the cargo-fuzz crate (`fuzz/`, libFuzzer) builds this
//! file as its library, and `tests/fuzz_regressions.rs` includes it with `#[path]` to replay
//! `fuzz/regressions/<target>/` and `fuzz/corpus/<target>/` under a plain `cargo test`, so a
//! property is written once. It uses only `rolesh`, two of its dependencies (`serde`,
//! `serde_json`) and std.
//!
//! The quoting targets cannot start a shell per input, so they read rolesh's output with small
//! reference readers written from each shell's documented rules ([`read_posix`], [`read_fish`],
//! [`read_pwsh`], [`read_cmd`], [`read_dotenv`]). The readers are strict: any syntax rolesh
//! never emits on purpose (an expansion, a glob, an operator, an unquoted special byte, an
//! unterminated quote) is an error, so "reads back as exactly the value" also means "nothing
//! after it runs". `tests/quoting.rs` checks the same round trip against real bash, zsh and
//! fish.

use std::ffi::{OsStr, OsString};

use rolesh::env::Env;
use rolesh::profile::config::{Config, parse_ini};
use rolesh::profile::edit::{Document, Kind, Line};
use rolesh::profile::{Overrides, Source, Step, resolve};
use rolesh::shell::Shell;
use rolesh::shell::quote::{quote_bytes, quote_cmd, quote_dotenv, quote_fish, quote_posix, quote_pwsh};
use rolesh::shell::render::{render_bytes, render_cmd, render_dotenv, set_private};
use rolesh::shell::restore::Record;

/// A target's check: panics when the input breaks a property.
pub type Check = fn(&[u8]);

/// Every target: its name (the `fuzz/fuzz_targets/<name>.rs` binary and the
/// `fuzz/corpus/<name>/`, `fuzz/regressions/<name>/` directories) and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("config_parse", config_parse),
    ("config_edit", config_edit),
    ("duration", duration),
    ("quote_roundtrip", quote_roundtrip),
    ("ledger_decode", ledger_decode),
    ("cache_decode", cache_decode),
    ("restore_record", restore_record),
    ("display_escape", display_escape),
];

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/fuzz";

// ---------------------------------------------------------------------------------------------
// config_parse: the INI reader, the profile model and the chain resolver.

/// The input is the config file, then (after the first NUL, if any) the credentials file, both
/// read as rolesh reads them (lossy UTF-8). Parsing and resolving every profile must never
/// panic or overflow the stack; what parses must keep the reader's invariants, and resolving
/// must give plans within STS's rules.
pub fn config_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (config, credentials) = text.split_once('\0').unwrap_or((&*text, ""));
    check_ini(config);
    check_ini(credentials);
    let cfg = match Config::parse(config, credentials) {
        Ok(cfg) => cfg,
        Err(e) => return check_error(&e),
    };
    // CRLF line endings read exactly as LF ones do.
    let crlf = Config::parse(&config.replace('\n', "\r\n"), &credentials.replace('\n', "\r\n"))
        .expect("a config that parses with LF endings parses with CRLF endings");
    assert_eq!(cfg.names().collect::<Vec<_>>(), crlf.names().collect::<Vec<_>>(), "CRLF endings changed the profiles");
    let names: Vec<&String> = cfg.names().collect();
    for name in &names {
        let profile = cfg.get(name).expect("every listed name is a profile");
        assert_eq!(&profile.name, *name, "a profile is filed under its own name");
        let same = crlf.get(name).expect("CRLF endings keep the profile");
        for key in ["role_arn", "source_profile", "mfa_serial", "region", "aws_access_key_id", "s3"] {
            assert_eq!(profile.get(key), same.get(key), "CRLF endings changed {key} of {name}");
        }
        check_resolve(&cfg, &Env::default(), name, &Overrides::default());
    }
    // A bare role ARN, sourced from each way a source can be named.
    check_resolve(&cfg, &Env::default(), ROLE_ARN, &Overrides::default());
    check_resolve(&cfg, &Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKIAENV")]), ROLE_ARN, &Overrides::default());
    let long = Overrides {
        duration: Some(rolesh::values::MAX_SECONDS),
        mfa_serial: Some("arn:aws:iam::123456789012:mfa/fuzz".into()),
        ..Overrides::default()
    };
    for name in names.iter().take(8) {
        let env = Env::from_pairs([("AWS_PROFILE", name.as_str())]);
        check_resolve(&cfg, &env, ROLE_ARN, &Overrides::default());
        let over = Overrides { source_profile: Some(name.to_string()), ..Overrides::default() };
        check_resolve(&cfg, &Env::default(), ROLE_ARN, &over);
        // The command line's duration still obeys the 1h role-chaining limit.
        check_resolve(&cfg, &Env::default(), name, &long);
    }
    // A name that is not there goes through the "did you mean" search.
    let missing = format!("{}-nope", names.first().map_or("x", |n| n.as_str()));
    if cfg.get(&missing).is_none() {
        check_resolve(&cfg, &Env::default(), &missing, &Overrides::default());
    }
}

/// `parse_ini`'s invariants: what it returns is trimmed, lower-cased and unique, and a file
/// reads the same with CRLF endings or a BOM.
fn check_ini(text: &str) {
    let Ok(sections) = parse_ini(text) else { return };
    let mut seen = std::collections::BTreeSet::new();
    for (name, values) in &sections {
        assert!(seen.insert(name), "section [{name}] returned twice");
        assert_eq!(name.trim(), name, "a section name is trimmed");
        let mut keys = std::collections::BTreeSet::new();
        for (key, _) in values {
            assert!(keys.insert(key), "key {key:?} returned twice in [{name}]");
            assert!(!key.is_empty() && key.trim() == key, "key {key:?} is trimmed and not empty");
            assert!(!key.contains(['=', ':']), "key {key:?} holds its own separator");
            assert_eq!(&key.to_lowercase(), key, "keys are lower-cased");
        }
    }
    let crlf = parse_ini(&text.replace('\n', "\r\n"));
    assert_eq!(crlf.as_ref(), Ok(&sections), "CRLF endings read differently from LF");
    if !text.starts_with('\u{feff}') {
        let bom = parse_ini(&format!("\u{feff}{text}"));
        assert_eq!(bom.as_ref(), Ok(&sections), "a BOM changed what was read");
    }
}

fn check_resolve(cfg: &Config, env: &Env, name: &str, over: &Overrides) {
    let resolved = match resolve(cfg, env, name, over) {
        Ok(r) => r,
        Err(e) => return check_error(&e),
    };
    let plan = &resolved.plan;
    assert_eq!(plan.profile, name);
    assert_eq!(
        resolved.keys.is_some(),
        matches!(plan.source, Source::Static { .. }),
        "keys travel with static sources"
    );
    let hops: Vec<_> = plan.hops().collect();
    assert!(hops.len() <= rolesh::profile::resolve::MAX_CHAIN + 1, "{} hops, over the chain limit", hops.len());
    for (i, hop) in hops.iter().enumerate() {
        rolesh::profile::resolve::validate_role_arn(&hop.role_arn, "x").expect("a planned role ARN is valid");
        let range = rolesh::values::MIN_SECONDS..=rolesh::values::MAX_SECONDS;
        assert!(range.contains(&hop.duration), "hop duration {} is outside what STS allows", hop.duration);
        let chained = i > 0 || plan.source.is_role_session();
        if chained {
            assert!(hop.duration <= 3600, "a chained hop asks for {}s, over AWS's 1h limit", hop.duration);
        }
        if let Some(asked) = hop.clamped_from {
            assert!(chained && asked > 3600 && hop.duration == 3600, "clamped_from {asked} on hop {i}");
        }
    }
    for step in &plan.steps {
        if let Step::SessionToken { duration, .. } = step {
            assert!((900..=129_600).contains(duration), "GetSessionToken duration {duration}");
        }
    }
}

/// An error's text is printable: rendered, it holds no control character.
fn check_error(e: &rolesh::error::Error) {
    let _ = e.to_string();
    let _ = e.exit_code();
    let rendered = e.render();
    assert!(!rendered.chars().any(char::is_control), "a rendered error holds a control character: {rendered:?}");
}

// ---------------------------------------------------------------------------------------------
// config_edit: `save` and `config add-role` rewriting one section of a file.

const EDIT_KEYS: &[&str] = &["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region", "role_arn"];

/// Parts separated by NUL: the file's bytes, the profile name, then values for [`EDIT_KEYS`]
/// in turn (a part starting with `#` is a comment line instead). The low bit of the name's
/// length picks the file kind. After an accepted edit, the file reads back with the profile
/// holding exactly the new settings, and every other section exactly as before.
pub fn config_edit(data: &[u8]) {
    let mut parts = data.split(|&b| b == 0);
    let file = parts.next().unwrap_or_default().to_vec();
    let name = String::from_utf8_lossy(parts.next().unwrap_or(b"fuzz")).into_owned();
    let kind = if name.len().is_multiple_of(2) { Kind::Config } else { Kind::Credentials };
    let mut lines = Vec::new();
    let mut expected = Vec::new();
    for (part, key) in parts.zip(EDIT_KEYS) {
        let text = String::from_utf8_lossy(part).into_owned();
        match text.strip_prefix('#') {
            Some(comment) => lines.push(Line::Comment(comment.to_string())),
            None => {
                expected.push((key.to_string(), text.clone()));
                lines.push(Line::Key(key, text));
            }
        }
    }
    let path = std::path::Path::new("file");
    let before = parse_ini(&String::from_utf8_lossy(&file));
    let mut doc = Document::new(file);
    if let Err(e) = doc.upsert(kind, &name, &lines, path) {
        return check_error(&e);
    }
    let text = String::from_utf8_lossy(doc.bytes()).into_owned();
    let Ok(before) = before else {
        // A file the reader refuses may still be edited; it must not panic, and that is all.
        return;
    };
    let after = parse_ini(&text).unwrap_or_else(|e| panic!("the edited file no longer parses: {e:?}\n{text}"));
    let is_ours = |section: &str| match kind {
        Kind::Config => profile_of_section(section).as_deref() == Some(name.as_str()),
        Kind::Credentials => section == name,
    };
    let ours: Vec<_> = after.iter().filter(|(s, _)| is_ours(s)).collect();
    assert_eq!(ours.len(), 1, "the profile has {} sections after the edit:\n{text}", ours.len());
    assert_eq!(ours[0].1, expected, "the edited section does not read back as written:\n{text}");
    let others = |sections: &[(String, Vec<(String, String)>)]| -> Vec<(String, Vec<(String, String)>)> {
        sections.iter().filter(|(s, _)| !is_ours(s)).cloned().collect()
    };
    assert_eq!(others(&after), others(&before), "the edit changed other sections:\n{text}");
    // The profile as the whole config model sees it.
    let cfg = match kind {
        Kind::Config => Config::parse(&text, ""),
        Kind::Credentials => Config::parse("", &text),
    };
    let cfg = cfg.unwrap_or_else(|e| panic!("the edited file no longer loads: {e}"));
    let profile = cfg.get(&name).expect("the edited profile is there");
    for (key, value) in &expected {
        assert_eq!(profile.get(key), Some(value.as_str()), "{key} reads back differently");
    }
    let values = doc.values(kind, &name, path).expect("the edited profile has one section");
    assert_eq!(values, Some(expected), "Document::values disagrees with the reader");
}

/// Which profile a config-file section is, as botocore reads `[default]` and `[profile NAME]`
/// (NAME shlex-split: quotes allowed, several words are not a profile).
fn profile_of_section(section: &str) -> Option<String> {
    if section == "default" {
        return Some(section.to_string());
    }
    let rest = section.strip_prefix("profile")?;
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

// ---------------------------------------------------------------------------------------------
// duration: `--duration` and `duration_seconds`.

/// `parse_duration` agrees with a reference reading of its grammar (digits with optional
/// `h`/`m`/`s` units, summed, within 900..=43200), never overflows, and formats of a number
/// taken from the input read back as that number.
pub fn duration(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let got = rolesh::values::parse_duration(&text);
    if let Ok(s) = got {
        assert!((900..=43_200).contains(&s), "parse_duration({text:?}) = {s}, outside 900..=43200");
    }
    assert_eq!(got.as_ref().ok().copied(), reference_duration(&text), "parse_duration({text:?}) = {got:?}");
    assert_eq!(rolesh::values::parse_duration(&format!(" {text}\t")).ok(), got.as_ref().ok().copied());

    let config = rolesh::values::parse_config_seconds(&text);
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let expected = digits.then(|| saturating_number(&text)).filter(|n| (900..=43_200).contains(n)).map(|n| n as u32);
    assert_eq!(config.as_ref().ok().copied(), expected, "parse_config_seconds({text:?}) = {config:?}");

    let mut n = [0u8; 4];
    for (slot, b) in n.iter_mut().zip(data) {
        *slot = *b;
    }
    let n = u32::from_le_bytes(n);
    let in_range = (900..=43_200).contains(&n).then_some(n);
    for form in [n.to_string(), format!("{n}s"), format!("{}h{}m{}s", n / 3600, n % 3600 / 60, n % 60)] {
        assert_eq!(rolesh::values::parse_duration(&form).ok(), in_range, "{form:?}");
    }
    assert_eq!(rolesh::values::parse_config_seconds(&n.to_string()).ok(), in_range);
}

fn reference_duration(text: &str) -> Option<u32> {
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            num = Some(num.unwrap_or(0).saturating_mul(10).saturating_add(u64::from(c as u8 - b'0')));
            continue;
        }
        let unit = match c {
            'h' | 'H' => 3600,
            'm' | 'M' => 60,
            's' | 'S' => 1,
            _ => return None,
        };
        total = total.saturating_add(num.take()?.saturating_mul(unit));
    }
    match num {
        Some(n) => total = total.saturating_add(n),
        None if total == 0 => return None,
        None => {}
    }
    (900..=43_200).contains(&total).then_some(total as u32)
}

fn saturating_number(digits: &str) -> u64 {
    digits.bytes().fold(0u64, |n, b| n.saturating_mul(10).saturating_add(u64::from(b - b'0')))
}

// ---------------------------------------------------------------------------------------------
// quote_roundtrip: one quoting function per shell, and the lines built from them.

/// The input, split at NUL (no environment value can hold one), is a list of values. Each of
/// the first eight is quoted for every format and read back by that format's reference reader;
/// then all of them are rendered as set/unset lines for every shell and each whole script is
/// read back.
pub fn quote_roundtrip(data: &[u8]) {
    let values: Vec<OsString> = data.split(|&b| b == 0).map(os_from_bytes).collect();
    // The first few one by one (the rest are read back in the rendered scripts below): the
    // checks cost a lot of small allocations, which the sanitizer makes slow.
    for v in values.iter().take(8) {
        check_quoting(v);
    }
    let changes: Vec<(String, Option<OsString>)> = values
        .iter()
        .enumerate()
        .flat_map(|(i, v)| {
            let set = (format!("ROLESH_FUZZ_{i}"), Some(v.clone()));
            // Every other value is followed by a removal, so unset lines mix in.
            let unset = (i % 2 == 1).then(|| (format!("ROLESH_GONE_{i}"), None));
            std::iter::once(set).chain(unset)
        })
        .collect();
    check_rendered(&changes);
}

fn check_quoting(v: &OsStr) {
    let bytes = os_bytes(v);
    let lossy = v.to_string_lossy().into_owned();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let read = if shell == Shell::Fish { read_fish } else { read_posix };
        let q = quote_bytes(shell, v);
        // The word alone is one command of one word: the value.
        assert_eq!(read(&q), Ok(vec![vec![bytes.clone()]]), "{shell:?} word {:?}", String::from_utf8_lossy(&q));
        // No quote is left open: text right after the word joins it as plain text, and a
        // command on the next line runs as its own command.
        let mut joined = q.clone();
        joined.extend_from_slice(b"x\necho next");
        let mut value_x = bytes.clone();
        value_x.push(b'x');
        assert_eq!(
            read(&joined),
            Ok(vec![vec![value_x], vec![b"echo".to_vec(), b"next".to_vec()]]),
            "{shell:?}: the word {:?} leaves a quote open",
            String::from_utf8_lossy(&q)
        );
    }
    if let Some(s) = v.to_str() {
        assert_eq!(quote_posix(v).as_bytes(), quote_bytes(Shell::Bash, v), "quote_posix and quote_bytes agree");
        assert_eq!(quote_fish(v).as_bytes(), quote_bytes(Shell::Fish, v), "quote_fish and quote_bytes agree");
        assert_eq!(s, lossy);
    }
    let q = quote_pwsh(v);
    assert_eq!(read_pwsh_string(&q), Ok((lossy.clone(), "")), "PowerShell string {q:?}");
    assert_eq!(read_pwsh_string(&format!("{q}x")), Ok((lossy.clone(), "x")), "PowerShell string {q:?} left open");

    match quote_cmd(v) {
        Ok(w) => {
            assert_eq!(w, lossy, "cmd values go in as they are");
            let line = format!("set \"K={w}\"\r\n");
            assert_eq!(read_cmd(line.as_bytes()), Ok(vec![("K".into(), lossy.clone())]), "cmd line {line:?}");
        }
        Err(why) => {
            let documented = v.to_str().is_none_or(|s| s.contains(['%', '"', '\n', '\r', '\u{1a}']));
            assert!(documented, "quote_cmd refused {lossy:?} ({why:?}) for no documented reason");
        }
    }
    match quote_dotenv(v) {
        Ok(w) => {
            assert_eq!(w, lossy, "dotenv values go in as they are");
            let line = format!("K={w}\n");
            assert_eq!(read_dotenv(&line), Ok(vec![("K".into(), lossy.clone())]), "dotenv line {line:?}");
        }
        Err(why) => {
            let documented = v.to_str().is_none_or(|s| {
                s.contains(['\n', '\r', '$'])
                    || s.contains(" #")
                    || s.contains("\t#")
                    || s.starts_with(['"', '\'', '`'])
                    || s.trim() != s
                    || s.len() > 60 * 1024
            });
            assert!(documented, "quote_dotenv refused {lossy:?} ({why:?}) for no documented reason");
        }
    }
}

/// Renders `changes` for every shell and format and reads each script back: it must do
/// exactly these assignments and removals, in order, and nothing else.
pub fn check_rendered(changes: &[(String, Option<OsString>)]) {
    for shell in [Shell::Bash, Shell::Zsh] {
        let script = render_bytes(shell, changes);
        let expected: Vec<Vec<Vec<u8>>> = changes
            .iter()
            .map(|(name, value)| match value {
                Some(v) => vec![b"export".to_vec(), [name.as_bytes(), b"=", &os_bytes(v)].concat()],
                None => vec![b"unset".to_vec(), name.as_bytes().to_vec()],
            })
            .collect();
        assert_eq!(read_posix(&script), Ok(expected), "{shell:?} script:\n{}", String::from_utf8_lossy(&script));
    }
    let script = render_bytes(Shell::Fish, changes);
    let expected: Vec<Vec<Vec<u8>>> = changes
        .iter()
        .flat_map(|(name, value)| {
            let n = name.as_bytes().to_vec();
            match value {
                Some(v) => vec![vec![b"set".to_vec(), b"-gx".to_vec(), n, os_bytes(v)]],
                None => vec![
                    vec![b"if".to_vec(), b"set".to_vec(), b"-q".to_vec(), n.clone()],
                    vec![b"set".to_vec(), b"-e".to_vec(), n],
                    vec![b"end".to_vec()],
                ],
            }
        })
        .collect();
    assert_eq!(read_fish(&script), Ok(expected), "fish script:\n{}", String::from_utf8_lossy(&script));

    let script = render_bytes(Shell::Pwsh, changes);
    let script = String::from_utf8(script).expect("PowerShell code is UTF-8");
    let expected: Vec<Pwsh> = changes
        .iter()
        .map(|(name, value)| match value {
            Some(v) => Pwsh::Assign(format!("$env:{name}"), v.to_string_lossy().into_owned()),
            None => Pwsh::Command(
                ["Remove-Item", "-LiteralPath", &format!("Env:{name}"), "-ErrorAction", "Ignore"]
                    .map(String::from)
                    .into(),
            ),
        })
        .collect();
    assert_eq!(read_pwsh(&script), Ok(expected), "PowerShell script:\n{script}");

    // Private variables (the saved environment), one per shell.
    if let Some((_, Some(v))) = changes.first() {
        let b = os_bytes(v);
        let w = |s: &str| s.as_bytes().to_vec();
        let bash =
            vec![vec![w("declare"), w("-g"), [b"__x=".as_slice(), &b].concat()], vec![w("export"), w("-n"), w("__x")]];
        assert_eq!(read_posix(&set_private(Shell::Bash, "__x", v)), Ok(bash));
        let zsh = vec![
            vec![w("typeset"), w("-g"), [b"__x=".as_slice(), &b].concat()],
            vec![w("typeset"), w("-g"), w("+x"), w("__x")],
        ];
        assert_eq!(read_posix(&set_private(Shell::Zsh, "__x", v)), Ok(zsh));
        assert_eq!(read_fish(&set_private(Shell::Fish, "__x", v)), Ok(vec![vec![w("set"), w("-g"), w("__x"), b]]));
        let pwsh = String::from_utf8(set_private(Shell::Pwsh, "__x", v)).expect("PowerShell code is UTF-8");
        assert_eq!(read_pwsh(&pwsh), Ok(vec![Pwsh::Assign("$global:__x".into(), v.to_string_lossy().into_owned())]));
    }

    match render_cmd(changes) {
        Ok(script) => {
            let expected: Vec<(String, String)> = changes
                .iter()
                .map(|(n, v)| (n.clone(), v.as_ref().map(|v| v.to_string_lossy().into_owned()).unwrap_or_default()))
                .collect();
            assert_eq!(read_cmd(script.as_bytes()), Ok(expected), "cmd script:\n{script}");
        }
        Err((name, _)) => {
            // Names may repeat (a saved record can hold one twice): any value of it will do.
            let refused = changes.iter().any(|(n, v)| *n == name && v.as_ref().is_some_and(|v| quote_cmd(v).is_err()));
            assert!(refused, "render_cmd refused {name}, which quote_cmd takes");
        }
    }
    match render_dotenv(changes) {
        Ok(text) => {
            let expected: Vec<(String, String)> = changes
                .iter()
                .filter_map(|(n, v)| Some((n.clone(), v.as_ref()?.to_string_lossy().into_owned())))
                .collect();
            assert_eq!(read_dotenv(&text), Ok(expected), "dotenv file:\n{text}");
        }
        Err((name, _)) => {
            let refused =
                changes.iter().any(|(n, v)| *n == name && v.as_ref().is_some_and(|v| quote_dotenv(v).is_err()));
            assert!(refused, "render_dotenv refused {name}, which quote_dotenv takes");
        }
    }
}

/// sh, bash and zsh (the same rules for everything below): a script read into commands of
/// words. Supported: `'…'`, `"…"` without expansions, backslash escapes and line
/// continuations, blanks, and `;`/newline between commands. Unquoted bytes other than letters,
/// digits and `_-+=./:,@%` are errors, as are `$`, backticks, unterminated quotes and a word
/// starting with `=` (zsh's `=cmd` expansion) or `#`.
pub fn read_posix(script: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, String> {
    let mut commands = Vec::new();
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut word: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < script.len() {
        let b = script[i];
        match b {
            b' ' | b'\t' => words.extend(word.take()),
            b'\n' | b';' => {
                words.extend(word.take());
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            b'\'' => {
                let len = script[i + 1..].iter().position(|&c| c == b'\'').ok_or("unterminated single quote")?;
                word.get_or_insert_default().extend_from_slice(&script[i + 1..i + 1 + len]);
                i += len + 1;
            }
            b'"' => {
                let w = word.get_or_insert_default();
                i += 1;
                loop {
                    match script.get(i) {
                        None => return Err("unterminated double quote".into()),
                        Some(b'"') => break,
                        Some(b'$' | b'`') => return Err("an expansion inside double quotes".into()),
                        Some(b'\\') => match script.get(i + 1) {
                            Some(b'\n') => i += 1,
                            Some(&c @ (b'$' | b'`' | b'"' | b'\\')) => {
                                w.push(c);
                                i += 1;
                            }
                            _ => w.push(b'\\'),
                        },
                        Some(&c) => w.push(c),
                    }
                    i += 1;
                }
            }
            b'\\' => match script.get(i + 1) {
                None => return Err("a backslash at the end of the script".into()),
                Some(b'\n') => i += 1,
                Some(&c) => {
                    word.get_or_insert_default().push(c);
                    i += 1;
                }
            },
            b'=' | b'#' if word.is_none() => return Err(format!("a word starting with an unquoted {:?}", b as char)),
            _ if b.is_ascii_alphanumeric() || b"_-+=./:,@%".contains(&b) => word.get_or_insert_default().push(b),
            _ => return Err(format!("an unquoted {:?}, which the shell would act on", b as char)),
        }
        i += 1;
    }
    words.extend(word);
    if !words.is_empty() {
        commands.push(words);
    }
    Ok(commands)
}

/// fish: a script read into commands of words. Supported: `'…'` (in which only `\'` and `\\`
/// are escapes), blanks, and `;`/newline between commands. Double quotes, backslashes outside
/// quotes and every unquoted byte but letters, digits and `_-+=./:,@` are errors: rolesh never
/// writes them, and most expand in fish (`$`, `(`, `*`, `?`, `{`, `~`, `%`, `#`).
pub fn read_fish(script: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, String> {
    let mut commands = Vec::new();
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut word: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < script.len() {
        let b = script[i];
        match b {
            b' ' | b'\t' => words.extend(word.take()),
            b'\n' | b';' => {
                words.extend(word.take());
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            b'\'' => {
                let w = word.get_or_insert_default();
                i += 1;
                loop {
                    match script.get(i) {
                        None => return Err("unterminated single quote".into()),
                        Some(b'\'') => break,
                        Some(b'\\') if matches!(script.get(i + 1), Some(b'\'' | b'\\')) => {
                            w.push(script[i + 1]);
                            i += 1;
                        }
                        Some(&c) => w.push(c),
                    }
                    i += 1;
                }
            }
            _ if b.is_ascii_alphanumeric() || b"_-+=./:,@".contains(&b) => word.get_or_insert_default().push(b),
            _ => return Err(format!("an unquoted {:?}, which fish would act on", b as char)),
        }
        i += 1;
    }
    words.extend(word);
    if !words.is_empty() {
        commands.push(words);
    }
    Ok(commands)
}

/// A PowerShell statement as [`read_pwsh`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pwsh {
    /// `$scope:NAME = '…'`.
    Assign(String, String),
    /// Bare words only.
    Command(Vec<String>),
}

/// PowerShell's single-quoted string: it opens and closes with any of `'` and U+2018..U+201B,
/// and two of them in a row stand for one (the second). Returns the string and what follows.
pub fn read_pwsh_string(text: &str) -> Result<(String, &str), String> {
    let is_quote = |c: char| matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}');
    let mut chars = text.char_indices().peekable();
    match chars.next() {
        Some((_, c)) if is_quote(c) => {}
        _ => return Err("not a single-quoted string".into()),
    }
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        if is_quote(c) {
            match chars.peek() {
                Some(&(_, next)) if is_quote(next) => {
                    out.push(next);
                    chars.next();
                }
                _ => return Ok((out, &text[i + c.len_utf8()..])),
            }
        } else {
            out.push(c);
        }
    }
    Err("unterminated single-quoted string".into())
}

/// PowerShell: statements separated by newlines or `;`, each either `$scope:NAME = 'string'`
/// or a command of bare words (letters, digits, `-_:.`). Anything else (double quotes, `$`
/// elsewhere, parentheses, `#`, backticks, operators) is an error.
pub fn read_pwsh(script: &str) -> Result<Vec<Pwsh>, String> {
    let mut out = Vec::new();
    let mut rest = script;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\n', ';']);
        if rest.is_empty() {
            return Ok(out);
        }
        let bare = |s: &str| s.find(|c: char| !(c.is_ascii_alphanumeric() || "-_:.".contains(c))).unwrap_or(s.len());
        if let Some(after) = rest.strip_prefix('$') {
            let target_len = bare(after);
            let target = format!("${}", &after[..target_len]);
            let after = after[target_len..].strip_prefix(" = ").ok_or(format!("{target} is not assigned a string"))?;
            let (value, after) = read_pwsh_string(after)?;
            if !(after.is_empty() || after.starts_with(['\n', ';'])) {
                return Err(format!("text after the string assigned to {target}: {after:?}"));
            }
            out.push(Pwsh::Assign(target, value));
            rest = after;
        } else {
            let end = rest.find(['\n', ';']).unwrap_or(rest.len());
            let words: Vec<String> =
                rest[..end].split([' ', '\t']).filter(|w| !w.is_empty()).map(String::from).collect();
            if let Some(w) = words.iter().find(|w| bare(w) != w.len()) {
                return Err(format!("{w:?} is not a bare word"));
            }
            out.push(Pwsh::Command(words));
            rest = &rest[end..];
        }
    }
}

/// A Windows batch file of `set "NAME=value"` lines, read as cmd reads batch files: a
/// Ctrl-Z (0x1A) is read as a line feed (phase 0), `%` expands (phase 1; an error here), CRs
/// are dropped, and inside `"…"` the characters `&|<>^()` are literal (phase 2). Each line
/// must be exactly `set "NAME=VALUE"`; delayed expansion (`!`) is assumed off, as it is by
/// default. Returns the (NAME, VALUE) pairs in order.
pub fn read_cmd(script: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = String::from_utf8(script.to_vec()).map_err(|_| "a batch file that is not UTF-8".to_string())?;
    let text = text.replace('\u{1a}', "\n");
    let mut out = Vec::new();
    for line in text.split('\n') {
        if line.contains('%') {
            return Err(format!("a `%` (percent expansion) in {line:?}"));
        }
        let line = line.replace('\r', "");
        if line.is_empty() {
            continue;
        }
        let inner = line
            .strip_prefix("set \"")
            .and_then(|l| l.strip_suffix('"'))
            .ok_or(format!("a line that is not `set \"NAME=value\"`: {line:?}"))?;
        if inner.contains('"') {
            return Err(format!("a quote inside the quoted assignment ends it early: {line:?}"));
        }
        let (name, value) = inner.split_once('=').ok_or(format!("no `=` in {line:?}"))?;
        out.push((name.to_string(), value.to_string()));
    }
    Ok(out)
}

/// A dotenv file read both ways rolesh promises: as `docker run --env-file` reads it (lines
/// split at LF with a trailing CR dropped, leading whitespace trimmed, `#` lines skipped,
/// NAME up to the first `=`, the value as it is) and as Compose's `env_file` reads an unquoted
/// value (leading blanks trimmed, cut at ` #`, trailing whitespace trimmed, `$` expanded,
/// quotes removed). Both must agree; a value Compose would change is an error.
pub fn read_dotenv(text: &str) -> Result<Vec<(String, String)>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line).trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, docker) = line.split_once('=').ok_or(format!("no `=` in {line:?}"))?;
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(format!("a bad name in {line:?}"));
        }
        let compose_space = |c: char| matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}');
        let compose = docker.trim_start_matches(compose_space);
        if compose.starts_with(['"', '\'']) {
            return Err(format!("Compose would unquote {docker:?}"));
        }
        let compose = compose.split(" #").next().unwrap_or_default().trim_end();
        if compose.contains('$') {
            return Err(format!("Compose would expand {docker:?}"));
        }
        if compose != docker {
            return Err(format!("docker reads {docker:?} but Compose reads {compose:?}"));
        }
        out.push((name.to_string(), docker.to_string()));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// ledger_decode and cache_decode: the JSON files rolesh reads back.

/// Any bytes: an error or entries, never a panic; entries written back in the same format
/// decode to the same entries.
pub fn ledger_decode(data: &[u8]) {
    let Ok(entries) = rolesh::ledger::decode(data) else { return };
    for e in &entries {
        let _ = (rolesh::display::escape(&e.profile), e.kind.as_str());
    }
    let format = format_of(data);
    let again = serde_json::to_vec(&serde_json::json!({ "format": format, "sessions": entries })).expect("encodes");
    assert_eq!(rolesh::ledger::decode(&again).as_ref(), Ok(&entries), "a ledger written back reads differently");
}

/// Any bytes: a miss or an entry, never a panic; the entry written back as rolesh writes it
/// decodes to the same credentials; the secrets never show in `Debug` output.
pub fn cache_decode(data: &[u8]) {
    let Some(cached) = rolesh::session::cache::decode(data) else { return };
    let c = &cached.credentials;
    let _ = c.masked_id();
    let again = serde_json::json!({
        "format": format_of(data),
        "credentials": c.json(),
        "assumed_arn": cached.assumed_arn,
        "issued": cached.issued,
    });
    let again = serde_json::to_vec(&again).expect("encodes");
    let back = rolesh::session::cache::decode(&again).expect("a cache entry written back is read back");
    assert_eq!(back.credentials.access_key_id, c.access_key_id);
    assert_eq!(back.credentials.secret_access_key.expose(), c.secret_access_key.expose());
    assert_eq!(back.credentials.session_token, c.session_token);
    // The wire form has whole seconds.
    let (was, now) = (c.expiration.map(|t| t.timestamp()), back.credentials.expiration.map(|t| t.timestamp()));
    assert_eq!(now, was, "the expiry changed");
    assert_eq!(back.assumed_arn, cached.assumed_arn);
    assert_eq!(back.issued, cached.issued);
    // A secret shows in `Debug` only if the other fields happen to contain its text.
    let shown = format!("{cached:?}");
    let mut blank = cached.clone();
    blank.credentials.secret_access_key = rolesh::credentials::Secret::new("");
    blank.credentials.session_token = None;
    let shown_without = format!("{blank:?}");
    for secret in [Some(&c.secret_access_key), c.session_token.as_ref()].into_iter().flatten() {
        let s = secret.expose();
        assert!(!shown.contains(s) || shown_without.contains(s), "a secret shows in Debug output: {shown}");
    }
}

/// The `format` of a file the decoder took. Read with a struct, as the decoders read it:
/// `serde_json::Value` would refuse numbers (`1e400`) that a struct skips in unknown fields.
fn format_of(data: &[u8]) -> u32 {
    #[derive(serde::Deserialize)]
    struct Format {
        format: u32,
    }
    serde_json::from_slice::<Format>(data).expect("decoded, so it has a format").format
}

// ---------------------------------------------------------------------------------------------
// restore_record: the saved environment `unuse` puts back.

/// Any text: an error or a record, never a panic. A record encodes to plain ASCII that
/// decodes to the same record, and its changes render safely in every shell.
pub fn restore_record(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = Record::from_hook(&text, &Env::default());
    let Ok(record) = Record::decode(&text) else { return };
    let encoded = record.encode();
    assert!(
        encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b";=_".contains(&b)),
        "an encoded record needs care in some shell: {encoded:?}"
    );
    assert_eq!(Record::decode(&encoded).ok().as_ref(), Some(&record), "an encoded record decodes differently");
    assert_eq!(Record::decode(&encoded).map(|r| r.encode()).ok(), Some(encoded.clone()), "encoding is stable");
    check_rendered(&record.restore());
}

// ---------------------------------------------------------------------------------------------
// display_escape: text for a terminal.

/// Any text: the escaped form holds no control character, leaves text without them as it is,
/// and writes each control character as exactly four printable characters.
pub fn display_escape(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let out = rolesh::display::escape(&text);
    let bidi = rolesh::display::is_bidi;
    assert!(!out.chars().any(|c| c.is_control() || bidi(c)), "escape left a control or bidi character: {out:?}");
    let controls = text.chars().filter(|c| c.is_control()).count();
    let bidis = text.chars().filter(|c| bidi(*c)).count();
    if controls + bidis == 0 {
        assert_eq!(out, text, "text without control characters changed");
    }
    assert_eq!(
        out.chars().count(),
        text.chars().count() + 3 * controls + 7 * bidis,
        "each control character becomes \\xNN, each bidi one \\u{{NNNN}}"
    );
}

// ---------------------------------------------------------------------------------------------

#[cfg(unix)]
fn os_from_bytes(b: &[u8]) -> OsString {
    use std::os::unix::ffi::OsStrExt;
    OsStr::from_bytes(b).to_os_string()
}

#[cfg(not(unix))]
fn os_from_bytes(b: &[u8]) -> OsString {
    String::from_utf8_lossy(b).into_owned().into()
}

#[cfg(unix)]
fn os_bytes(v: &OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    v.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn os_bytes(v: &OsStr) -> Vec<u8> {
    v.to_string_lossy().into_owned().into_bytes()
}
