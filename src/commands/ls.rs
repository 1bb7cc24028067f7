use std::collections::HashSet;

use chrono::{DateTime, Local, Utc};
use serde::Serialize;

use crate::cli::LsArgs;
use crate::credentials::rfc3339;
use crate::display::escape;
use crate::env::Env;
use crate::error::Error;
use crate::error::print_warnings;
use crate::ledger::{Entry, Ledger};

/// One session as `ls --json` prints it; field names and types are a documented interface.
#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    kind: &'static str,
    profile: &'a str,
    role_arn: Option<&'a str>,
    pid: u32,
    tty: Option<&'a str>,
    parent: Option<&'a str>,
    started: String,
    expires: Option<String>,
    seconds_left: Option<i64>,
    served: bool,
    /// The directory whose `.rolesh` started the session (`--auto-dir`), else null.
    dir: Option<&'a str>,
}

pub fn run(args: LsArgs, env: &Env) -> Result<i32, Error> {
    let (entries, warnings) = Ledger::open(env)?.active()?;
    print_warnings(&warnings);
    let now = Utc::now();
    let tree = nest(&entries);
    if args.json {
        let rows: Vec<Row> = tree.iter().map(|(_, e)| row(e, now)).collect();
        let text = crate::display::json(&rows);
        super::print(&format!("{text}\n"))?;
        return Ok(0);
    }
    if tree.is_empty() {
        super::say("no active sessions");
        return Ok(0);
    }
    // The directory a session came from last: it is the longest cell, and the rarest.
    let header = ["ID", "KIND", "PROFILE", "ROLE", "PID", "TTY", "STARTED", "LEFT", "DIR"].map(String::from);
    let cells = tree.iter().map(|(depth, e)| {
        [
            format!("{}{}", "  ".repeat(*depth), escape(&e.id)),
            if e.served { format!("{} (served)", e.kind.as_str()) } else { e.kind.as_str().to_string() },
            escape(&e.profile),
            e.role_arn.as_deref().map_or_else(|| "-".into(), escape),
            e.pid.to_string(),
            e.tty.as_deref().map_or_else(|| "-".into(), escape),
            e.started.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string(),
            left(e.expires, now),
            e.dir.as_deref().map_or_else(|| "-".into(), escape),
        ]
    });
    let lines: Vec<[String; 9]> = std::iter::once(header).chain(cells).collect();
    super::print(&super::table(&lines))?;
    Ok(0)
}

fn row(e: &Entry, now: DateTime<Utc>) -> Row<'_> {
    Row {
        id: &e.id,
        kind: e.kind.as_str(),
        profile: &e.profile,
        role_arn: e.role_arn.as_deref(),
        pid: e.pid,
        tty: e.tty.as_deref(),
        parent: e.parent.as_deref(),
        started: rfc3339(e.started),
        expires: e.expires.map(rfc3339),
        seconds_left: e.expires.map(|x| (x - now).num_seconds().max(0)),
        served: e.served,
        dir: e.dir.as_deref(),
    }
}

/// Parents first, each followed by its children (depth-first, oldest first). A session whose
/// parent has ended is shown at the top level; the visited set keeps a corrupt cycle finite.
fn nest(entries: &[Entry]) -> Vec<(usize, &Entry)> {
    let ids: HashSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    let mut out = Vec::with_capacity(entries.len());
    let mut seen = HashSet::new();
    fn visit<'a>(
        e: &'a Entry,
        depth: usize,
        all: &'a [Entry],
        seen: &mut HashSet<&'a str>,
        out: &mut Vec<(usize, &'a Entry)>,
    ) {
        if !seen.insert(e.id.as_str()) {
            return;
        }
        out.push((depth, e));
        for child in all.iter().filter(|c| c.parent.as_deref() == Some(e.id.as_str())) {
            visit(child, depth + 1, all, seen, out);
        }
    }
    let is_root = |e: &&Entry| e.parent.as_deref().is_none_or(|p| !ids.contains(p));
    for root in entries.iter().filter(is_root).chain(entries) {
        visit(root, 0, entries, &mut seen, &mut out);
    }
    out
}

/// Time left as the prompt shows it, `-` for a session without expiry.
fn left(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    expires.map_or_else(|| "-".into(), |x| super::prompt::left((x - now).num_seconds()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Kind;

    fn entry(id: &str, parent: Option<&str>, secs: i64) -> Entry {
        Entry {
            id: id.into(),
            kind: Kind::Exec,
            profile: "dev".into(),
            role_arn: None,
            pid: 1,
            pid_start: None,
            tty: None,
            parent: parent.map(String::from),
            started: DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap(),
            expires: None,
            served: false,
            dir: None,
        }
    }

    #[test]
    fn children_follow_their_parents_one_level_deeper() {
        let entries = [
            entry("a", None, 0),
            entry("b", None, 1),
            entry("a1", Some("a"), 2),
            entry("a1x", Some("a1"), 3),
            entry("orphan", Some("gone"), 4),
            entry("b1", Some("b"), 5),
        ];
        let shown: Vec<(usize, &str)> = nest(&entries).into_iter().map(|(d, e)| (d, e.id.as_str())).collect();
        assert_eq!(shown, [(0, "a"), (1, "a1"), (2, "a1x"), (0, "b"), (1, "b1"), (0, "orphan")]);
    }

    #[test]
    fn a_parent_cycle_from_a_damaged_file_still_shows_every_session_once() {
        let entries = [entry("x", Some("y"), 0), entry("y", Some("x"), 1)];
        let shown: Vec<&str> = nest(&entries).into_iter().map(|(_, e)| e.id.as_str()).collect();
        assert_eq!(shown, ["x", "y"]);
    }

    #[test]
    fn time_left_reads_in_hours_and_minutes() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let at = |s| Some(now + chrono::Duration::seconds(s));
        assert_eq!(left(None, now), "-");
        assert_eq!(left(at(-5), now), "expired");
        assert_eq!(left(at(42), now), "42s");
        assert_eq!(left(at(59 * 60 + 59), now), "59m");
        assert_eq!(left(at(3600 + 2 * 60), now), "1h02m");
    }
}
