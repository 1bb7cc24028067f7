//! The first credentials of a chain: static keys, the environment, `credential_process`, or
//! (through aws-config's providers) instance metadata, the ECS endpoint or the default chain.

use std::io::Read;

use aws_credential_types::provider::ProvideCredentials;
use chrono::{DateTime, Utc};

use crate::credentials::{CredentialJsonIn, Credentials, Secret};
use crate::env::Env;
use crate::error::{Error, Warning};
use crate::profile::Source;

/// How the first credentials may be got.
#[derive(Debug, Default)]
pub struct Getting<'a> {
    /// Whether the user's terminal may be used (not by the credentials server's renewals,
    /// while the served command owns it): a `credential_process` then gets no stdin.
    pub interactive: bool,
    /// Where what the user should know goes.
    pub warnings: Option<&'a mut Vec<Warning>>,
}

/// The first credentials of a plan; `keys` are the static keys [`crate::profile::Resolved`]
/// carries beside a plan from [`Source::Static`].
pub async fn base(
    source: &Source,
    keys: Option<&Credentials>,
    env: &Env,
    getting: Getting<'_>,
) -> Result<Credentials, Error> {
    match source {
        Source::Static { profile, .. } => keys.cloned().ok_or_else(|| {
            Error::config_of(profile, format!("profile `{profile}` lost its keys; this is a bug in rolesh"))
        }),
        Source::Environment => from_env(env),
        Source::Process { profile, command } => process(profile, command, env, getting.interactive),
        Source::Imds => imds(env, source).await,
        Source::Ecs => ecs(source).await,
        // The container endpoint where one is configured, else the instance's: the two
        // sources of role credentials a machine itself offers.
        Source::DefaultChain => {
            let container = ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"];
            if container.iter().any(|v| env.get(v).is_some()) { ecs(source).await } else { imds(env, source).await }
        }
        Source::Sso(role) => super::sso::role_credentials(role, env, getting.warnings).await,
    }
}

async fn imds(env: &Env, source: &Source) -> Result<Credentials, Error> {
    if env.is_true("AWS_EC2_METADATA_DISABLED") {
        return Err(Error::config(format!(
            "{} is asked for, but AWS_EC2_METADATA_DISABLED is set; unset it or use another source",
            source.describe()
        )));
    }
    let p = aws_config::imds::credentials::ImdsCredentialsProvider::builder().configure(&provider_config()).build();
    from_provider(p.provide_credentials().await, source)
}

/// aws-config's providers, with rolesh's HTTP client (it builds none of its own).
fn provider_config() -> aws_config::provider_config::ProviderConfig {
    aws_config::provider_config::ProviderConfig::without_region().with_http_client(super::http::https())
}

async fn ecs(source: &Source) -> Result<Credentials, Error> {
    let p = aws_config::ecs::EcsCredentialsProvider::builder().configure(&provider_config()).build();
    from_provider(p.provide_credentials().await, source)
}

fn from_env(env: &Env) -> Result<Credentials, Error> {
    match (env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => Ok(Credentials {
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(secret),
            session_token: env.get("AWS_SESSION_TOKEN").or_else(|| env.get("AWS_SECURITY_TOKEN")).map(Secret::new),
            expiration: None,
        }),
        _ => Err(Error::config(
            "credential_source = Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set; export them first",
        )),
    }
}

fn from_provider(result: aws_credential_types::provider::Result, source: &Source) -> Result<Credentials, Error> {
    let c = result.map_err(|e| {
        Error::config(format!(
            "could not get credentials from {}: {}; check that this machine provides them",
            source.describe(),
            crate::error::one_line(&e)
        ))
    })?;
    Ok(Credentials {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: Secret::new(c.secret_access_key()),
        session_token: c.session_token().map(Secret::new),
        expiration: c.expiry().map(DateTime::<Utc>::from),
    })
}

/// The profiles whose `rolesh credential-process` runs further up the process tree, one per
/// line, so a credential_process that calls rolesh for the same profile fails instead of
/// starting rolesh again and again.
pub const CREDENTIAL_PROCESS_CHAIN: &str = "ROLESH_CREDENTIAL_PROCESS_CHAIN";

/// Runs the command as botocore does: split with the platform's rules (POSIX shell words;
/// on Windows the C runtime's), no shell, stdout read as Version 1 JSON; its stderr and
/// stdin stay the user's, so it can prompt.
fn process(profile: &str, command: &str, env: &Env, interactive: bool) -> Result<Credentials, Error> {
    let fail = |problem: String| Error::Process { profile: profile.to_string(), problem };
    let argv = split_command(command).ok_or_else(|| fail("has unbalanced quotes; fix the command".into()))?;
    let (program, args) = argv.split_first().ok_or_else(|| fail("is empty; give a command".into()))?;
    let mut child = env
        .spawn(program.as_ref(), |cmd| {
            cmd.args(args)
                .stdin(if interactive { std::process::Stdio::inherit() } else { std::process::Stdio::null() })
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::inherit());
        })
        .map_err(|e| fail(format!("could not run `{program}`: {e}")))?;
    // Credentials are a few hundred bytes: stop reading well before output could hurt.
    let mut stdout = Vec::new();
    let read = child.stdout.take().map(|out| out.take(MAX_PROCESS_OUTPUT + 1).read_to_end(&mut stdout));
    if stdout.len() as u64 > MAX_PROCESS_OUTPUT {
        let _ = child.kill();
        let _ = child.wait();
        return Err(fail(format!(
            "printed more than {} KiB; it must print one Version 1 JSON object",
            MAX_PROCESS_OUTPUT / 1024
        )));
    }
    let status = child.wait().map_err(|e| fail(format!("could not wait for `{program}`: {e}")))?;
    if let Some(Err(e)) = read {
        return Err(fail(format!("could not be read: {e}")));
    }
    if !status.success() {
        return Err(fail(format!("exited with {status}; run it by hand to see why")));
    }
    let parsed: CredentialJsonIn = serde_json::from_slice(&stdout).map_err(|e| {
        fail(format!("printed something other than credential JSON ({e}); it must print Version 1 JSON"))
    })?;
    if parsed.version != Some(1) {
        let v = parsed.version.map_or_else(|| "no Version".to_string(), |v| format!("Version {v}"));
        return Err(fail(format!("printed {v}; only Version 1 is supported")));
    }
    // botocore refuses credentials that are still expired after a refresh; passing them on
    // would only move the failure into the command, with a worse message.
    if let Some(expired) = parsed.expiration.filter(|e| *e <= Utc::now()) {
        return Err(fail(format!(
            "printed credentials that expired at {}; fix it to print current ones",
            crate::credentials::rfc3339(expired)
        )));
    }
    Ok(parsed.into())
}

/// The most a credential_process may print.
const MAX_PROCESS_OUTPUT: u64 = 1 << 20;

/// botocore splits with `shlex.split` on Unix and the C runtime's rules on Windows.
fn split_command(s: &str) -> Option<Vec<String>> {
    if cfg!(windows) { windows_split(s) } else { shell_split(s) }
}

/// The C runtime's (and botocore's `_windows_shell_split`) rules: only space and tab
/// separate, only `"` quotes, and backslashes are literal unless a run of them leads up to a
/// `"`, where pairs become one backslash and an odd one escapes the quote.
fn windows_split(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let (mut in_word, mut quoted, mut backslashes) = (false, false, 0usize);
    for c in s.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                cur.extend(std::iter::repeat_n('\\', backslashes / 2));
                in_word = true;
                if backslashes % 2 == 1 {
                    cur.push('"');
                } else {
                    quoted = !quoted;
                }
                backslashes = 0;
            }
            ' ' | '\t' if !quoted => {
                cur.extend(std::iter::repeat_n('\\', backslashes));
                backslashes = 0;
                if in_word || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.extend(std::iter::repeat_n('\\', backslashes));
                backslashes = 0;
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return None;
    }
    cur.extend(std::iter::repeat_n('\\', backslashes));
    if in_word || !cur.is_empty() {
        words.push(cur);
    }
    Some(words)
}

/// POSIX shell word splitting without expansion (botocore uses `shlex.split`).
fn shell_split(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => cur.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => cur.push(c),
                            c => {
                                cur.push('\\');
                                cur.push(c);
                            }
                        },
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next()?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_commands_split_like_the_c_runtime() {
        let split = |s: &str| windows_split(s).unwrap();
        assert_eq!(split(r#"C:\Program Files\x.exe"#), [r"C:\Program", r"Files\x.exe"]);
        assert_eq!(split(r#""C:\Program Files\x.exe" --p "a b""#), [r"C:\Program Files\x.exe", "--p", "a b"]);
        assert_eq!(split(r#"a\\"b c" d"#), [r#"a\b c"#, "d"], "two backslashes before a quote make one");
        assert_eq!(split(r#"a\"b"#), [r#"a"b"#], "an odd backslash escapes the quote");
        assert_eq!(split(r#"a\\b "" c\"#), [r"a\\b", "", r"c\"]);
        assert_eq!(split("  \t "), Vec::<String>::new());
        assert!(windows_split(r#"a "b"#).is_none());
    }

    #[test]
    fn commands_split_like_shlex() {
        assert_eq!(shell_split("a  'b c' \"d \\\"e\\\"\" f\\ g ''").unwrap(), ["a", "b c", "d \"e\"", "f g", ""]);
        assert!(shell_split("a 'b").is_none());
        assert!(shell_split("   ").unwrap().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_credential_process_is_read_as_version_1_json() {
        let cmd = r#"printf '{"Version":1,"AccessKeyId":"AKIAP","SecretAccessKey":"sk","Expiration":"2030-01-01T00:00:00Z"}'"#;
        let c = process("p", cmd, &Env::from_pairs([("PATH", "/usr/bin:/bin")]), true).unwrap();
        assert_eq!(c.access_key_id, "AKIAP");
        assert!(c.session_token.is_none());
        assert_eq!(c.expiration.unwrap().timestamp(), 1_893_456_000);
        let env = Env::from_pairs([("PATH", "/usr/bin:/bin")]);
        let err = process("p", "false", &env, true).unwrap_err().to_string();
        assert!(err.starts_with("credential_process of profile `p` exited with"), "{err}");
        let err = process("p", "echo nope", &env, true).unwrap_err().to_string();
        assert!(err.contains("Version 1 JSON"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_credential_process_flooding_stdout_is_stopped_at_the_cap() {
        let env = Env::from_pairs([("PATH", "/usr/bin:/bin")]);
        let err = process("p", "cat /dev/zero", &env, true).unwrap_err().to_string();
        assert!(err.contains("printed more than 1024 KiB"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn credentials_that_expired_already_are_refused_as_botocore_refuses_them() {
        let env = Env::from_pairs([("PATH", "/usr/bin:/bin")]);
        let cmd = r#"printf '{"Version":1,"AccessKeyId":"AKIAP","SecretAccessKey":"sk","Expiration":"2019-01-01T00:00:00Z"}'"#;
        let err = process("p", cmd, &env, true).unwrap_err().to_string();
        assert!(err.contains("expired at 2019-01-01T00:00:00Z"), "{err}");
    }

    #[test]
    fn environment_keys_need_both_halves() {
        let env = Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKIA")]);
        assert!(matches!(from_env(&env), Err(Error::Config { .. })));
        let env = Env::from_pairs([
            ("AWS_ACCESS_KEY_ID", "AKIA"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_SESSION_TOKEN", "t"),
        ]);
        assert_eq!(from_env(&env).unwrap().session_token.unwrap().expose(), "t");
    }
}
