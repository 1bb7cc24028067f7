//! The first credentials of a chain: static keys, the environment, `credential_process`, or
//! (through aws-config's providers) instance metadata, the ECS endpoint or the default chain.

use aws_credential_types::provider::ProvideCredentials;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Credentials, Secret};
use crate::env::Env;
use crate::error::Error;
use crate::profile::Source;

pub async fn base(source: &Source, env: &Env) -> Result<Credentials, Error> {
    match source {
        Source::Static { access_key_id, secret_access_key, session_token, .. } => Ok(Credentials {
            access_key_id: access_key_id.clone(),
            secret_access_key: secret_access_key.clone(),
            session_token: session_token.clone(),
            expiration: None,
        }),
        Source::Environment => from_env(env),
        Source::Process { profile, command } => process(profile, command, env),
        Source::Imds => {
            if env.is_true("AWS_EC2_METADATA_DISABLED") {
                return Err(Error::Config(
                    "credential_source = Ec2InstanceMetadata, but AWS_EC2_METADATA_DISABLED is set; unset it or use another source"
                        .into(),
                ));
            }
            let p = aws_config::imds::credentials::ImdsCredentialsProvider::builder().build();
            from_provider(p.provide_credentials().await, source)
        }
        Source::Ecs => {
            let p = aws_config::ecs::EcsCredentialsProvider::builder().build();
            from_provider(p.provide_credentials().await, source)
        }
        Source::DefaultChain => {
            let p = aws_config::default_provider::credentials::DefaultCredentialsChain::builder().build().await;
            from_provider(p.provide_credentials().await, source)
        }
    }
}

fn from_env(env: &Env) -> Result<Credentials, Error> {
    match (env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => Ok(Credentials {
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(secret),
            session_token: env.get("AWS_SESSION_TOKEN").or_else(|| env.get("AWS_SECURITY_TOKEN")).map(Secret::new),
            expiration: None,
        }),
        _ => Err(Error::Config(
            "credential_source = Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set; export them first".into(),
        )),
    }
}

fn from_provider(result: aws_credential_types::provider::Result, source: &Source) -> Result<Credentials, Error> {
    let c = result.map_err(|e| {
        Error::Config(format!(
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

/// The `credential_process` output format, Version 1.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessOutput {
    version: u32,
    access_key_id: String,
    secret_access_key: Secret,
    session_token: Option<Secret>,
    expiration: Option<DateTime<Utc>>,
}

/// The profiles whose `rolesh credential-process` runs further up the process tree, one per
/// line, so a credential_process that calls rolesh for the same profile fails instead of
/// starting rolesh again and again.
pub const CREDENTIAL_PROCESS_CHAIN: &str = "ROLESH_CREDENTIAL_PROCESS_CHAIN";

/// Runs the command as botocore does: split shell-style, no shell, stdout read as JSON; its
/// stderr and stdin stay the user's, so it can prompt.
fn process(profile: &str, command: &str, env: &Env) -> Result<Credentials, Error> {
    let fail = |why: String| Error::Config(format!("credential_process of profile `{profile}` {why}"));
    let argv = shell_split(command).ok_or_else(|| fail("has unbalanced quotes; fix the command".into()))?;
    let (program, args) = argv.split_first().ok_or_else(|| fail("is empty; give a command".into()))?;
    let mut cmd = std::process::Command::new(program);
    // The shell hook hands `use`/`unuse` the environment it saved, which may hold the user's
    // long-term keys; it is for rolesh alone.
    cmd.env_remove(crate::shell::restore::ENV);
    if let Some(chain) = env.get_os(CREDENTIAL_PROCESS_CHAIN) {
        cmd.env(CREDENTIAL_PROCESS_CHAIN, chain);
    }
    let out = cmd
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| fail(format!("could not run `{program}`: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!("exited with {}; run it by hand to see why", out.status)));
    }
    let parsed: ProcessOutput = serde_json::from_slice(&out.stdout).map_err(|e| {
        fail(format!("printed something other than credential JSON ({e}); it must print Version 1 JSON"))
    })?;
    if parsed.version != 1 {
        return Err(fail(format!("printed Version {}; only Version 1 is supported", parsed.version)));
    }
    Ok(Credentials {
        access_key_id: parsed.access_key_id,
        secret_access_key: parsed.secret_access_key,
        session_token: parsed.session_token,
        expiration: parsed.expiration,
    })
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
    fn commands_split_like_shlex() {
        assert_eq!(shell_split("a  'b c' \"d \\\"e\\\"\" f\\ g ''").unwrap(), ["a", "b c", "d \"e\"", "f g", ""]);
        assert!(shell_split("a 'b").is_none());
        assert!(shell_split("   ").unwrap().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_credential_process_is_read_as_version_1_json() {
        let cmd = r#"printf '{"Version":1,"AccessKeyId":"AKIAP","SecretAccessKey":"sk","Expiration":"2030-01-01T00:00:00Z"}'"#;
        let c = process("p", cmd, &Env::default()).unwrap();
        assert_eq!(c.access_key_id, "AKIAP");
        assert!(c.session_token.is_none());
        assert_eq!(c.expiration.unwrap().timestamp(), 1_893_456_000);
        let err = process("p", "false", &Env::default()).unwrap_err().to_string();
        assert!(err.starts_with("credential_process of profile `p` exited with"), "{err}");
        let err = process("p", "echo nope", &Env::default()).unwrap_err().to_string();
        assert!(err.contains("Version 1 JSON"), "{err}");
    }

    #[test]
    fn environment_keys_need_both_halves() {
        let env = Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKIA")]);
        assert!(matches!(from_env(&env), Err(Error::Config(_))));
        let env = Env::from_pairs([
            ("AWS_ACCESS_KEY_ID", "AKIA"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_SESSION_TOKEN", "t"),
        ]);
        assert_eq!(from_env(&env).unwrap().session_token.unwrap().expose(), "t");
    }
}
