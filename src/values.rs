//! Values rolesh reads from the command line and the AWS config, parsed and range-checked in
//! one place so that `--duration` and `duration_seconds` follow the same rule and nothing
//! out of range ever reaches STS.

use crate::env::Env;

/// What AssumeRole accepts: 15 minutes to 12 hours.
pub const MIN_SECONDS: u32 = 900;
pub const MAX_SECONDS: u32 = 43_200;
/// A session's length when neither `--duration` nor `duration_seconds` says.
pub const DEFAULT_SECONDS: u32 = 3600;

/// Parses `3600`, `900s`, `15m`, `1h`, `1h30m` into seconds within [`MIN_SECONDS`] to
/// [`MAX_SECONDS`]. The error says what to write instead.
pub fn parse_duration(text: &str) -> Result<u32, String> {
    let bad = || format!("`{text}` is not a duration; use seconds (3600) or a form like 15m, 1h, 1h30m");
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            'h' | 'H' => 3600,
            'm' | 'M' => 60,
            's' | 'S' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        // Checked: a huge number must not panic (debug) or wrap into a valid duration.
        total = n.checked_mul(unit).and_then(|s| total.checked_add(s)).ok_or_else(bad)?;
        num.clear();
    }
    if !num.is_empty() {
        let n: u64 = num.parse().map_err(|_| bad())?;
        total = total.checked_add(n).ok_or_else(bad)?;
    } else if total == 0 {
        return Err(bad());
    }
    in_range(total)
}

/// `duration_seconds` in the config: whole seconds only, as botocore reads it, with the
/// same range as `--duration`.
pub fn parse_config_seconds(text: &str) -> Result<u32, String> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits {
        return Err(format!("`{text}` is not a whole number of seconds; write e.g. 3600"));
    }
    // A long digit string is out of range, not an overflow.
    in_range(text.parse::<u64>().unwrap_or(u64::MAX))
}

fn in_range(total: u64) -> Result<u32, String> {
    match u32::try_from(total) {
        Ok(s) if (MIN_SECONDS..=MAX_SECONDS).contains(&s) => Ok(s),
        _ => Err(format!("duration {total}s is outside what STS allows; choose 15m (900s) to 12h (43200s)")),
    }
}

/// A region name as botocore accepts it: letters, digits and inner hyphens, at most 63, not
/// all digits. Anything else would become part of a host name, or fail as one.
pub fn parse_region(text: &str) -> Result<String, String> {
    let ok = (1..=63).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.bytes().all(|b| b.is_ascii_digit());
    if ok { Ok(text.to_string()) } else { Err("not a region name; write one like eu-west-1".to_string()) }
}

/// A role session name as STS allows it: 2 to 64 characters of `[\w+=,.@-]`.
pub fn parse_session_name(s: &str) -> Result<String, String> {
    if (2..=64).contains(&s.len()) && sanitize_session_name(s) == s {
        Ok(s.to_string())
    } else {
        Err("use 2 to 64 letters, digits or +=,.@-_".to_string())
    }
}

/// `rolesh-<user>`, so CloudTrail shows who assumed the role.
pub fn default_session_name(env: &Env) -> String {
    let user = env.get("USER").or_else(|| env.get("USERNAME")).or_else(|| env.get("LOGNAME")).unwrap_or("user");
    sanitize_session_name(&format!("rolesh-{user}"))
}

/// Replaces what STS refuses in a session name and pads or cuts it to 2-64 characters.
pub fn sanitize_session_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) { c } else { '-' })
        .take(64)
        .collect();
    while s.len() < 2 {
        s.push('-');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_seconds_or_units() {
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("12h"), Ok(43200));
        assert!(parse_duration("10m").unwrap_err().contains("15m"));
        assert!(parse_duration("13h").is_err());
        assert!(parse_duration("1d").unwrap_err().contains("not a duration"));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("h").is_err());
        // Overflow is an error, never a panic nor a wrapped-around valid duration.
        assert!(parse_duration("99999999999999999h").is_err());
        assert!(parse_duration("18446744073709551615s1s").is_err());
        assert!(parse_duration("5124095576030431h1h").is_err());
    }

    #[test]
    fn config_seconds_are_whole_numbers_in_the_sts_range() {
        assert_eq!(parse_config_seconds("7200"), Ok(7200));
        for bad in ["0", "899", "43201", "3000000000", "99999999999999999999999", "-1", "1h", "", " 900"] {
            assert!(parse_config_seconds(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn region_names_are_host_labels() {
        assert!(parse_region("eu-west-1").is_ok());
        assert!(parse_region("us-gov-west-1").is_ok());
        for bad in ["", "eu west 1", "-x", "x-", "123", "a.b", &"r".repeat(64), "eu\nwest"] {
            assert!(parse_region(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn session_names_fit_sts_rules() {
        assert_eq!(sanitize_session_name("rolesh-jo hn/ü"), "rolesh-jo-hn--");
        assert_eq!(sanitize_session_name("x"), "x-");
        assert_eq!(sanitize_session_name(&"a".repeat(80)).len(), 64);
        let env = Env::from_pairs([("USER", "ana.maría")]);
        assert_eq!(default_session_name(&env), "rolesh-ana.mar-a");
        assert!(parse_session_name("ok-name").is_ok());
        assert!(parse_session_name("no spaces").is_err());
        assert!(parse_session_name("x").is_err());
    }
}
