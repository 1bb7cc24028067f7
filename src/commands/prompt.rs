use chrono::{DateTime, Utc};

use crate::cli::PromptArgs;
use crate::credentials::rfc3339;
use crate::env::Env;
use crate::error::Error;

/// Reads only the environment (no network, no files), so it is cheap enough for a prompt.
pub fn run(args: PromptArgs, env: &Env) -> Result<i32, Error> {
    if let Some(text) = render(&args.format, env, Utc::now().timestamp()) {
        super::print(&format!("{text}\n"))?;
    }
    Ok(0)
}

/// The prompt text at `now`, or `None` outside a session.
pub fn render(format: &str, env: &Env, now: i64) -> Option<String> {
    let profile = env.get("ROLESH_PROFILE")?;
    let expires = env.get("ROLESH_EXPIRES").and_then(|s| s.parse::<i64>().ok());
    // Saturating: ROLESH_EXPIRES is whatever the environment holds, and a prompt must not panic.
    let left = expires.map(|e| left(e.saturating_sub(now))).unwrap_or_default();
    let expires = expires.and_then(|e| DateTime::<Utc>::from_timestamp(e, 0)).map(rfc3339).unwrap_or_default();
    // The profile name goes into the user's prompt: control characters in it must not.
    let text = format
        .replace("{profile}", &crate::display::escape(profile))
        .replace("{left}", &left)
        .replace("{expires}", &expires);
    Some(text.trim().to_string())
}

/// Time left as the hooks show it too: `42s`, `42m`, `1h05m`, `expired`.
pub fn left(secs: i64) -> String {
    match secs {
        ..=0 => "expired".into(),
        1..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_session_the_prompt_is_empty() {
        assert_eq!(render("{profile} {left}", &Env::default(), 0), None);
    }

    #[test]
    fn the_prompt_shows_profile_and_time_left() {
        let env = Env::from_pairs([("ROLESH_PROFILE", "dev"), ("ROLESH_EXPIRES", "10000")]);
        assert_eq!(render("{profile} {left}", &env, 10000 - 42 * 60 - 5).as_deref(), Some("dev 42m"));
        assert_eq!(render("{profile} {left}", &env, 10000 - 3900).as_deref(), Some("dev 1h05m"));
        assert_eq!(render("{profile} {left}", &env, 10001).as_deref(), Some("dev expired"));
        assert_eq!(render("[{profile}] until {expires}", &env, 0).as_deref(), Some("[dev] until 1970-01-01T02:46:40Z"));
    }

    #[test]
    fn an_absurd_expiry_is_shown_not_a_panic() {
        let env = Env::from_pairs([("ROLESH_PROFILE", "dev"), ("ROLESH_EXPIRES", "-9223372036854775808")]);
        assert_eq!(render("{profile} {left} {expires}", &env, 1).as_deref(), Some("dev expired"));
    }

    #[test]
    fn a_session_without_expiry_shows_just_the_profile() {
        let env = Env::from_pairs([("ROLESH_PROFILE", "keys")]);
        assert_eq!(render("{profile} {left}", &env, 0).as_deref(), Some("keys"));
    }
}
