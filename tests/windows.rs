//! The Windows build, `rolesh.exe` (`x86_64-pc-windows-gnu`), run under Wine against the STS
//! stand-in: the command line, the AWS files, AssumeRole over HTTP, `exec` through cmd.exe, exit
//! codes, the credential cache and its lock, and the session ledger's process checks, all
//! through the Windows APIs. These run on Linux and drive Wine (tests/support/wine.rs);
//! `scripts/test` builds `rolesh.exe` and prepares Wine first.
//!
//! Wine's cmd.exe stands in for a Windows shell: its `powershell.exe` is a stub that does
//! nothing, and piped input to its cmd.exe runs only the first line, so each cmd script here is
//! one line or a file.
//!
//! The tests sit in one module so that `scripts/test` can run them in a step of their own and
//! leave them out of the main `cargo test` (`--skip under_wine::`).
#![cfg(unix)]

mod support;

mod under_wine {
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::{Duration, Instant};

    use serde_json::Value;

    use crate::support::fixtures::{MFA_SERIAL, USER_ARN, USER_KEY, USER_SECRET, role_arn, user_credentials};
    use crate::support::hostile::give_to_nobody;
    use crate::support::process::{DEADLINE, Outcome, Spawned, run};
    use crate::support::sso::SsoStandIn;
    use crate::support::wine::{WinEnv, Wine, cmd_set, windows_path};
    use crate::support::{Rule, StandIn};

    const DEPLOYER: &str = "arn:aws:iam::111111111111:role/deployer";
    /// Nothing listens here: commands that must not call STS.
    const NOWHERE: &str = "http://127.0.0.1:9";

    /// `[profile deployer]` assumed from `[user]`'s static keys, and `[profile admin]` with MFA.
    fn profiles(stand_in: &StandIn) -> WinEnv {
        stand_in.register_user(USER_KEY, USER_SECRET, USER_ARN);
        let env = WinEnv::stand_in(stand_in);
        env.config(&format!(
            "[profile deployer]
             role_arn = {DEPLOYER}
             source_profile = user
             region = eu-west-1
             [profile admin]
             role_arn = {}
             source_profile = user
             mfa_serial = {MFA_SERIAL}",
            role_arn("222222222222", "admin")
        ));
        env.credentials(&user_credentials());
        env
    }

    fn json(outcome: &Outcome) -> Value {
        outcome.assert_ok();
        serde_json::from_slice(&outcome.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{outcome}"))
    }

    /// `rolesh.exe exec PROFILE [flags…] -- cmd /c set`: the environment the command got.
    fn exec_set(env: &WinEnv, profile: &str, flags: &[&str]) -> BTreeMap<String, String> {
        let mut args = vec!["exec", profile];
        args.extend_from_slice(flags);
        args.extend(["--", "cmd", "/c", "set"]);
        cmd_set(&env.run(args))
    }

    /// Whether cmd's `set` listed `name`, in any case (Windows names are case-insensitive).
    fn has(vars: &BTreeMap<String, String>, name: &str) -> bool {
        vars.keys().any(|k| k.eq_ignore_ascii_case(name))
    }

    /// `rolesh.exe ls --json`.
    fn sessions(env: &WinEnv) -> Vec<Value> {
        json(&env.run(["ls", "--json"])).as_array().expect("ls --json prints an array").clone()
    }

    /// Polls `ls --json` until `done` holds of what it lists; fails the test after `within`.
    #[track_caller]
    fn sessions_until(env: &WinEnv, within: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let listed = sessions(env);
            if done(&listed) {
                return listed;
            }
            assert!(Instant::now() < deadline, "ls never listed what was expected within {within:?}: {listed:#?}");
        }
    }

    /// `rolesh.exe exec PROFILE -- cmd /c set /p line=`: a session whose command waits for a
    /// line on stdin, which the test holds open until it lets the command end.
    fn waiting_exec(env: &WinEnv, profile: &str) -> (Spawned, std::process::ChildStdin) {
        Spawned::start_with_stdin(env.command(["exec", profile, "--", "cmd", "/c", "set /p line="]))
    }

    /// The ledger file as it is on disk.
    fn ledger_file(env: &WinEnv) -> Value {
        serde_json::from_slice(&std::fs::read(env.state_dir().join("sessions.json")).expect("no sessions.json"))
            .expect("sessions.json is JSON")
    }

    #[test]
    fn list_reads_the_aws_files_named_by_windows_paths() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        let rows = json(&env.run(["list", "--json"]));
        let rows = rows.as_array().expect("an array");
        let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().expect("a name")).collect();
        assert_eq!(names, ["admin", "deployer", "user"]);
        let deployer = rows.iter().find(|r| r["name"] == "deployer").unwrap();
        assert_eq!(deployer["role_arn"], DEPLOYER);
        assert_eq!(deployer["source"], "user");
        assert_eq!(deployer["region"], "eu-west-1");
        assert_eq!(rows.iter().find(|r| r["name"] == "admin").unwrap()["mfa_serial"], MFA_SERIAL);
        assert!(stand_in.requests().is_empty(), "list needs no STS");
    }

    /// What a `credential_process` hands back, with a secret full of what shells treat
    /// specially; escaped to ASCII so that no code page stands between the file and rolesh.
    fn credential_json(secret: &str) -> String {
        let json = serde_json::json!({
            "Version": 1,
            "AccessKeyId": "ASIAEXPORTTEST",
            "SecretAccessKey": secret,
            "SessionToken": "FwoGZXIvYXdzEJr//////////wEaDP+token=",
            "Expiration": "2099-01-02T03:04:05Z",
        })
        .to_string();
        json.chars()
            .map(|c| if c.is_ascii() { c.to_string() } else { format!("\\u{:04x}", u32::from(c)) })
            .collect::<Vec<_>>()
            .concat()
    }

    /// `ROLESH_SESSION` is new on every run; everything else is fixed by the profile.
    fn masked(output: &str) -> String {
        output
            .split_inclusive('\n')
            .map(|line| match line.find("ROLESH_SESSION") {
                Some(i) => format!("{}ROLESH_SESSION <id>{}", &line[..i], &line[line.trim_end().len()..]),
                None => line.to_owned(),
            })
            .collect()
    }

    #[test]
    fn export_prints_every_format_as_the_linux_build_does_and_cmd_reads_its_lines_back() {
        // Two profiles whose credential_process prints a fixed session: `awkward` for the
        // formats that carry any value, `plain` for cmd and dotenv, which refuse some.
        let env = WinEnv::new(NOWHERE);
        let awkward = "wJalr'X \"q\" $HOME `id` \\n tab\there\nsecond line ünï ‘☃’ *";
        let plain = "wJalr&X|y<z>^!(a) it's/+=";
        let (awkward_file, plain_file) = (env.root().join("awkward.json"), env.root().join("plain.json"));
        std::fs::write(&awkward_file, credential_json(awkward)).unwrap();
        std::fs::write(&plain_file, credential_json(plain)).unwrap();
        let config = |reader: &dyn Fn(&Path) -> String| {
            format!(
                "[profile awkward]\ncredential_process = {}\nregion = eu-central-1\n\
                 [profile plain]\ncredential_process = {}\nregion = eu-west-1\n",
                reader(&awkward_file),
                reader(&plain_file)
            )
        };
        env.config(&config(&|file| format!("cmd /c type {}", windows_path(file))));
        let linux_config = env.root().join("linux-config");
        std::fs::write(&linux_config, config(&|file| format!("cat {}", file.display()))).unwrap();

        for (profile, format) in [
            ("awkward", "sh"),
            ("awkward", "fish"),
            ("awkward", "powershell"),
            ("awkward", "json"),
            ("plain", "cmd"),
            ("plain", "dotenv"),
        ] {
            let windows = env.run(["export", profile, "--format", format]);
            windows.assert_ok();
            assert_eq!(windows.stderr, "", "{windows}");
            let mut linux = Command::new(crate::support::rolesh_bin());
            linux
                .args(["export", profile, "--format", format])
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("AWS_CONFIG_FILE", &linux_config)
                .env("AWS_SHARED_CREDENTIALS_FILE", env.credentials_path())
                .env("ROLESH_CACHE_DIR", env.root().join("linux-cache"));
            let linux = run(linux);
            linux.assert_ok();
            assert_eq!(masked(&windows.stdout()), masked(&linux.stdout()), "--format {format} differs from Linux's");
        }

        // The way docs/interop.md says to use the cmd format, in cmd itself (from a batch file:
        // quotes inside `cmd /c`'s argument do not survive Wine's command line).
        let session = windows_path(&env.root().join("session.cmd"));
        let script = env.root().join("load.cmd");
        std::fs::write(
            &script,
            format!(
                // Not `|| exit /b 9`: Wine's cmd takes that branch after a redirection even on success.
                "@echo off\r\n\"{}\" export plain -f cmd > \"{session}\"\r\nif errorlevel 1 exit /b 9\r\n\
                 call \"{session}\"\r\nset AWS_\r\n",
                windows_path(Wine::get().exe())
            ),
        )
        .unwrap();
        let vars = cmd_set(&run(env.command_for("cmd", ["/c", &windows_path(&script)])));
        assert_eq!(vars["AWS_SECRET_ACCESS_KEY"], plain);
        assert_eq!(vars["AWS_ACCESS_KEY_ID"], "ASIAEXPORTTEST");
        assert_eq!(vars["AWS_REGION"], "eu-west-1");
        assert!(!has(&vars, "AWS_PROFILE"), "{vars:?}");
    }

    #[test]
    fn exec_gives_cmd_the_session_and_removes_what_would_override_it() {
        let stand_in = StandIn::start();
        let mut env = profiles(&stand_in);
        env.set("AWS_PROFILE", "user")
            .set("AWS_DEFAULT_PROFILE", "user")
            .set("AWS_SECURITY_TOKEN", "stale")
            // A saved environment from an older hook: it may hold long-term keys.
            .set("ROLESH_RESTORE", "1;AWS_SECRET_ACCESS_KEY=6b")
            .set("KEEP_ME", "as it was");
        let vars = exec_set(&env, "deployer", &[]);
        let issued = &stand_in.issued()[0];
        assert_eq!(vars["AWS_ACCESS_KEY_ID"], issued.access_key_id);
        assert_eq!(vars["AWS_SECRET_ACCESS_KEY"], issued.secret_access_key);
        assert_eq!(vars["AWS_SESSION_TOKEN"], issued.session_token);
        assert_eq!(vars["AWS_REGION"], "eu-west-1");
        assert_eq!(vars["AWS_DEFAULT_REGION"], "eu-west-1");
        assert_eq!(vars["ROLESH_PROFILE"], "deployer");
        assert_eq!(vars["AWS_CREDENTIAL_EXPIRATION"], issued.expiration.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        assert_eq!(vars["ROLESH_EXPIRES"], issued.expiration.timestamp().to_string());
        assert!(vars["ROLESH_SESSION"].bytes().all(|b| b.is_ascii_hexdigit()), "{vars:?}");
        assert_eq!(vars["KEEP_ME"], "as it was");
        for gone in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN", "ROLESH_RESTORE"] {
            assert!(!has(&vars, gone), "{gone} reached the command: {vars:?}");
        }
        let calls = stand_in.calls("AssumeRole");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].param("RoleArn"), Some(DEPLOYER));
        assert_eq!(calls[0].param("RoleSessionName"), Some(format!("rolesh-{}", vars["USERNAME"]).as_str()));
        assert_eq!(calls[0].signer(), USER_KEY);
        assert_eq!(calls[0].signature_ok, Some(true));
    }

    #[test]
    fn exec_passes_the_commands_exit_code_through() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        for code in [0, 1, 7, 255] {
            env.run(["exec", "deployer", "--", "cmd", "/c", &format!("exit {code}")]).assert_code(code);
        }
        assert_eq!(stand_in.count("AssumeRole"), 1, "the later runs use the cache");
        let missing = env.run(["exec", "deployer", "--", "no-such-program"]);
        missing.assert_error(127);
        assert!(missing.error_line().contains("no-such-program"), "{missing}");
    }

    #[test]
    fn exec_finds_a_cmd_script_through_pathext_as_cmd_does() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        // The AWS CLI's Windows installs put `aws.cmd` on PATH, not `aws.exe`.
        std::fs::write(
            env.bin_dir().join("aws.cmd"),
            "@echo off\r\necho aws.cmd got %*\r\necho key %AWS_ACCESS_KEY_ID%\r\nexit /b 3\r\n",
        )
        .unwrap();
        let outcome = env.run(["exec", "deployer", "--", "aws", "s3", "ls", "my bucket"]);
        outcome.assert_code(3);
        let key = &stand_in.issued()[0].access_key_id;
        assert_eq!(outcome.stdout(), format!("aws.cmd got s3 ls \"my bucket\"\r\nkey {key}\r\n"), "{outcome}");
    }

    #[test]
    fn exec_of_a_profile_with_static_keys_gives_a_session_token_never_the_long_term_keys() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        let vars = exec_set(&env, "user", &[]);
        let tokens = stand_in.calls("GetSessionToken");
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].signer(), USER_KEY);
        assert_eq!(tokens[0].signature_ok, Some(true));
        let issued = &stand_in.issued()[0];
        assert_eq!(vars["AWS_ACCESS_KEY_ID"], issued.access_key_id);
        assert_eq!(vars["AWS_SESSION_TOKEN"], issued.session_token);
        assert_eq!(vars["ROLESH_PROFILE"], "user");
        assert!(!vars.values().any(|v| v == USER_KEY || v == USER_SECRET), "{vars:?}");
    }

    #[test]
    fn exec_with_an_mfa_code_by_flag_gets_a_session_token_then_assumes_the_role_with_it() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        let vars = exec_set(&env, "admin", &["--mfa-token", "123456"]);
        let tokens = stand_in.calls("GetSessionToken");
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].param("SerialNumber"), Some(MFA_SERIAL));
        assert_eq!(tokens[0].param("TokenCode"), Some("123456"));
        assert_eq!(tokens[0].signer(), USER_KEY);
        let issued = stand_in.issued();
        let roles = stand_in.calls("AssumeRole");
        assert_eq!(roles.len(), 1);
        assert_eq!(roles[0].signer(), issued[0].access_key_id, "signed with the MFA session");
        assert_eq!(vars["AWS_ACCESS_KEY_ID"], issued[1].access_key_id);
    }

    #[test]
    fn whoami_asks_sts_with_the_sessions_keys() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        let identity = json(&env.run(["whoami", "deployer", "--json"]));
        let issued = &stand_in.issued()[0];
        assert_eq!(identity["Arn"], issued.arn.as_str());
        assert_eq!(identity["Account"], "111111111111");
        let asked = stand_in.calls("GetCallerIdentity");
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].signer(), issued.access_key_id);
        assert_eq!(asked[0].signature_ok, Some(true));
    }

    #[test]
    fn credential_process_prints_version_1_json_and_nothing_else() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        let outcome = env.run(["credential-process", "deployer"]);
        assert_eq!(outcome.stderr, "", "{outcome}");
        let v = json(&outcome);
        let issued = &stand_in.issued()[0];
        assert_eq!(v["Version"], 1);
        assert_eq!(v["AccessKeyId"], issued.access_key_id.as_str());
        assert_eq!(v["SecretAccessKey"], issued.secret_access_key.as_str());
        assert_eq!(v["SessionToken"], issued.session_token.as_str());
        assert_eq!(outcome.stdout().lines().count(), 1);
    }

    #[test]
    fn save_writes_the_session_into_the_credentials_file_and_exec_uses_it_from_there() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        let before = std::fs::read_to_string(env.credentials_path()).unwrap();
        let outcome = env.run(["save", "deployer"]);
        outcome.assert_ok();
        let after = std::fs::read_to_string(env.credentials_path()).unwrap();
        assert!(after.starts_with(&before), "the old content is kept:\n{after}");
        let added = &after[before.len()..];
        assert!(added.starts_with("\r\n[deployer-session]\r\n"), "{added:?}");
        assert!(!added.replace("\r\n", "").contains('\n'), "the file's CRLF line ends are kept: {added:?}");
        let issued = &stand_in.issued()[0];
        assert!(added.contains(&format!("aws_access_key_id = {}\r\n", issued.access_key_id)), "{added:?}");
        // rolesh.exe reads back what it wrote: keys with a token, no further STS call.
        let vars = exec_set(&env, "deployer-session", &[]);
        assert_eq!(vars["AWS_ACCESS_KEY_ID"], issued.access_key_id);
        assert_eq!(vars["AWS_SESSION_TOKEN"], issued.session_token);
        assert_eq!(stand_in.count("AssumeRole"), 1);
    }

    #[test]
    fn a_nested_exec_is_listed_by_ls_under_the_exec_it_runs_in() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        let exe = windows_path(Wine::get().exe());
        let outcome = env.run(["exec", "deployer", "--", &exe, "exec", "user", "--", &exe, "ls", "--json"]);
        let listed = json(&outcome);
        let listed = listed.as_array().expect("an array");
        assert_eq!(listed.len(), 2, "{listed:#?}");
        let (outer, inner) = (&listed[0], &listed[1]);
        assert_eq!((outer["profile"].as_str(), inner["profile"].as_str()), (Some("deployer"), Some("user")));
        assert_eq!(outer["role_arn"], DEPLOYER);
        assert!(outer["parent"].is_null(), "{outer}");
        assert_eq!(inner["parent"], outer["id"]);
        assert_ne!(inner["pid"], outer["pid"]);
        assert!(outer["seconds_left"].as_i64().is_some_and(|s| s > 3000), "{outer}");
        // The table shows the nesting by indentation.
        let outcome = env.run(["exec", "deployer", "--", &exe, "exec", "user", "--", &exe, "ls"]);
        outcome.assert_ok();
        let rows: Vec<String> = outcome.stdout().lines().skip(1).map(str::to_owned).collect();
        assert_eq!(rows.len(), 2, "{outcome}");
        assert!(!rows[0].starts_with(' ') && rows[1].starts_with("  "), "{outcome}");
    }

    #[test]
    fn a_killed_rolesh_exe_is_no_longer_listed_and_the_next_change_drops_it() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        let (running, stdin) = waiting_exec(&env, "deployer");
        let listed = sessions_until(&env, DEADLINE, |s| s.len() == 1);
        let id = listed[0]["id"].as_str().unwrap().to_owned();
        // SIGKILL: rolesh.exe gets no chance to deregister. Its command lives on.
        running.signal(libc::SIGKILL);
        sessions_until(&env, Duration::from_secs(20), <[Value]>::is_empty);
        assert!(ledger_file(&env).to_string().contains(&id), "ls only reads; the entry is still on disk");
        env.run(["exec", "user", "--", "cmd", "/c", "exit 0"]).assert_ok();
        assert_eq!(ledger_file(&env)["sessions"], serde_json::json!([]), "the next change prunes the dead entry");
        drop(stdin);
        assert_eq!(running.wait(DEADLINE).code(), 128 + libc::SIGKILL);
    }

    #[test]
    fn a_live_process_with_another_start_time_is_a_reused_pid_and_not_listed() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        let (running, stdin) = waiting_exec(&env, "deployer");
        sessions_until(&env, DEADLINE, |s| s.len() == 1);
        // The same pid as the live session, started at another time: what the ledger would
        // hold for a process that ended, its pid since given to another.
        let mut ledger = ledger_file(&env);
        let real = ledger["sessions"][0].clone();
        assert!(real["pid_start"].as_u64().is_some(), "Windows gives the start time: {real}");
        let mut reused = real.clone();
        reused["id"] = "reused".into();
        reused["pid_start"] = (real["pid_start"].as_u64().unwrap() - 1).into();
        ledger["sessions"].as_array_mut().unwrap().push(reused);
        std::fs::write(env.state_dir().join("sessions.json"), ledger.to_string()).unwrap();
        let listed = sessions(&env);
        let ids: Vec<&str> = listed.iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [real["id"].as_str().unwrap()]);
        drop(stdin);
        running.wait(DEADLINE).assert_ok();
        assert!(sessions(&env).is_empty());
    }

    #[test]
    fn parallel_cold_execs_of_one_profile_make_one_sts_call_under_the_lock() {
        let stand_in = StandIn::start();
        // A slow STS keeps the first one in its lock while the others arrive.
        stand_in.push(Rule::on("AssumeRole").delay(Duration::from_secs(3)));
        let env = profiles(&stand_in);
        let running: Vec<Spawned> =
            (0..6).map(|_| env.spawn(["exec", "deployer", "--", "cmd", "/c", "echo %AWS_ACCESS_KEY_ID%"])).collect();
        let outcomes: Vec<Outcome> = running.into_iter().map(|r| r.wait(DEADLINE)).collect();
        assert_eq!(stand_in.count("AssumeRole"), 1);
        let key = &stand_in.issued()[0].access_key_id;
        for outcome in &outcomes {
            outcome.assert_ok();
            assert_eq!(outcome.stdout().trim_end(), key, "{outcome}");
        }
        // Wine lets a waiter read who holds the lock ("rolesh pid N for profile …"); Windows'
        // locks are mandatory, so there the waiter may only say "another rolesh process".
        assert!(
            outcomes.iter().any(|o| o.stderr.contains("rolesh: waiting for ")),
            "someone waited for the lock: {}",
            outcomes.iter().map(|o| o.stderr.as_str()).collect::<String>()
        );
        assert_eq!(ledger_file(&env)["sessions"], serde_json::json!([]), "every exec deregistered itself");
    }

    #[test]
    fn the_credential_cache_is_under_the_windows_local_app_data_and_is_reused() {
        let stand_in = StandIn::start();
        let mut env = profiles(&stand_in);
        env.unset("ROLESH_CACHE_DIR");
        // A role of its own: the cache under the prefix is shared by every test run.
        let role = format!("arn:aws:iam::333333333333:role/cache-{}", std::process::id());
        env.config(&format!("[profile cached]\nrole_arn = {role}\nsource_profile = user"));
        let first = exec_set(&env, "cached", &[]);
        let dir = Wine::get().unix_path(&Wine::get().windows_var("LOCALAPPDATA")).join("rolesh").join("cache");
        let key = &stand_in.issued()[0].access_key_id;
        let entry: PathBuf = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("no cache at {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "json") && std::fs::read_to_string(p).unwrap().contains(key))
            .unwrap_or_else(|| panic!("no cache entry for {key} in {}", dir.display()));
        let second = exec_set(&env, "cached", &[]);
        assert_eq!(second["AWS_ACCESS_KEY_ID"], first["AWS_ACCESS_KEY_ID"]);
        assert_eq!(stand_in.count("AssumeRole"), 1, "the second exec trusted the cache entry rolesh.exe wrote");
        std::fs::remove_file(&entry).unwrap();
    }

    #[test]
    fn shell_with_cmd_runs_the_subshell_with_the_session_and_exits_with_its_status() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        let (running, mut stdin) = Spawned::start_with_stdin(env.command(["shell", "deployer", "--shell", "cmd"]));
        // One line: Wine's cmd runs only the first line of piped input.
        let exe = windows_path(Wine::get().exe());
        write!(stdin, "set AWS_& \"{exe}\" ls --json & exit 5\r\n").unwrap();
        drop(stdin);
        let outcome = running.wait(DEADLINE);
        outcome.assert_code(5);
        let key = &stand_in.issued()[0].access_key_id;
        assert!(outcome.stdout().contains(&format!("AWS_ACCESS_KEY_ID={key}")), "{outcome}");
        assert!(outcome.stdout().contains("\"kind\": \"shell\""), "listed as a shell session: {outcome}");
        assert!(outcome.stderr.starts_with("rolesh: subshell with "), "{outcome}");
        assert!(sessions(&env).is_empty(), "gone once the shell exits");
    }

    #[test]
    fn a_lower_case_aws_profile_is_read_and_removed_as_windows_programs_would() {
        // PowerShell's `$env:aws_profile = 'user'` keeps the name as typed; Windows names are
        // case-insensitive, so the AWS CLI reads it as AWS_PROFILE.
        let stand_in = StandIn::start();
        let mut env = profiles(&stand_in);
        env.set("aws_profile", "user");
        let role = role_arn("111111111111", "bare");
        let vars = exec_set(&env, &role, &[]);
        let calls = stand_in.calls("AssumeRole");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].param("RoleArn"), Some(role.as_str()));
        assert_eq!(calls[0].signer(), USER_KEY, "the source is the profile aws_profile names");
        assert!(!has(&vars, "AWS_PROFILE"), "{vars:?}");
        assert_eq!(vars["AWS_ACCESS_KEY_ID"], stand_in.issued()[0].access_key_id);
    }

    #[test]
    fn use_as_the_powershell_hook_runs_it_prints_powershell_and_lasts_as_long_as_its_shell() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        // A live process stands in for the PowerShell session, whose $PID the hook passes
        // (Wine's powershell.exe is a stub): a waiting exec, whose pid `ls` tells.
        let (shell, stdin) = waiting_exec(&env, "user");
        let listed = sessions_until(&env, DEADLINE, |s| s.len() == 1);
        let shell_pid = listed[0]["pid"].as_u64().expect("a pid").to_string();
        // As the hook runs it: the saved environment on stdin (none yet), the shell's pid.
        let outcome = env.run(["use", "deployer", "--shell-hook", "powershell", "--shell-pid", &shell_pid]);
        outcome.assert_ok();
        let code = outcome.stdout();
        let role = stand_in.calls("AssumeRole");
        assert_eq!(role.len(), 1);
        let issued = stand_in.issued_key(&stand_in.issued().last().unwrap().access_key_id).unwrap();
        assert!(code.contains(&format!("$env:AWS_ACCESS_KEY_ID = '{}'\n", issued.access_key_id)), "{code}");
        assert!(code.contains("Remove-Item -LiteralPath Env:AWS_PROFILE -ErrorAction Ignore\n"), "{code}");
        assert!(code.contains("$global:__rolesh_restore = '1;"), "{code}");
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&tree_sitter_pwsh::LANGUAGE.into()).unwrap();
        assert!(!parser.parse(&code, None).unwrap().root_node().has_error(), "not PowerShell:\n{code}");
        let listed = sessions(&env);
        let used = listed.iter().find(|s| s["kind"] == "use").unwrap_or_else(|| panic!("no use: {listed:#?}"));
        assert_eq!(used["pid"].to_string(), shell_pid);
        assert_eq!(used["profile"], "deployer");
        // The shell ends: so does its session.
        drop(stdin);
        shell.wait(DEADLINE).assert_ok();
        sessions_until(&env, Duration::from_secs(20), <[Value]>::is_empty);
    }

    #[test]
    fn exec_with_server_serves_the_role_to_a_windows_client() {
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        // The client is rolesh.exe itself: a profile whose source is the container endpoint,
        // which the server is.
        let onward = role_arn("444444444444", "onward");
        let config = std::fs::read_to_string(env.config_path()).unwrap();
        env.config(&format!("{config}[profile onward]\nrole_arn = {onward}\ncredential_source = EcsContainer"));
        let exe = windows_path(Wine::get().exe());
        let identity = json(&env.run(["exec", "--server", "deployer", "--", &exe, "whoami", "onward", "--json"]));
        let issued = stand_in.issued();
        let calls = stand_in.calls("AssumeRole");
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(calls[0].param("RoleArn"), Some(DEPLOYER));
        assert_eq!(calls[1].param("RoleArn"), Some(onward.as_str()));
        assert_eq!(calls[1].signer(), issued[0].access_key_id, "signed with the served keys");
        assert_eq!(calls[1].signature_ok, Some(true));
        assert_eq!(identity["Arn"], issued[1].arn.as_str());
    }

    #[test]
    fn files_another_user_owns_are_refused_by_their_windows_owner() {
        // Wine gives a file of another Unix user another owner SID: rolesh's owner check
        // (GetSecurityInfo against the token's user) sees it.
        let stand_in = StandIn::start();
        let env = profiles(&stand_in);
        exec_set(&env, "deployer", &[]);
        let entry = std::fs::read_dir(env.cache_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "json"))
            .expect("a cache entry");
        give_to_nobody(&entry);
        let outcome = env.run(["exec", "deployer", "--", "cmd", "/c", "exit 0"]);
        outcome.assert_ok();
        assert!(outcome.stderr.starts_with("rolesh: warning: ignored the cached credentials"), "{outcome}");
        assert!(outcome.stderr.contains("is owned by another user"), "{outcome}");
        assert_eq!(stand_in.count("AssumeRole"), 2, "the planted entry was not used");
        give_to_nobody(&env.config_path());
        let outcome = env.run(["list"]);
        outcome.assert_error(3);
        assert!(
            outcome
                .error_line()
                .ends_with("config: is owned by another user; remove it, or if it is yours, make yourself its owner"),
            "{outcome}"
        );
    }

    #[test]
    fn console_hands_a_windows_browser_a_private_page_never_the_url() {
        let stand_in = StandIn::start();
        let signin = SsoStandIn::start();
        let mut env = profiles(&stand_in);
        // A browser that only records what it was given. It inherits rolesh's stderr, so the
        // run's output is complete only once it has exited and written its record.
        let (browser, log) = (env.bin_dir().join("browser.cmd"), env.root().join("browser.log"));
        std::fs::write(&browser, format!("@echo %~1>> \"{}\"\r\n", windows_path(&log))).unwrap();
        env.set("ROLESH_SIGNIN_URL", signin.signin_url()).set("ROLESH_BROWSER", windows_path(&browser));
        let outcome = env.run(["console", "deployer"]);
        outcome.assert_ok();
        let token = signin.signins().pop().expect("a sign-in token").signin_token;
        let opened: Vec<String> =
            std::fs::read_to_string(&log).unwrap_or_default().lines().map(|l| l.trim_end().to_owned()).collect();
        assert_eq!(opened.len(), 1, "{opened:?}\n{outcome}");
        let pages = format!("{}\\console\\", windows_path(&env.state_dir()));
        assert!(opened[0].starts_with(&pages) && opened[0].ends_with(".html"), "{opened:?}");
        assert!(!opened[0].contains(&token) && !outcome.stderr.contains(&token), "{outcome}");
        let html = std::fs::read_to_string(Wine::get().unix_path(&opened[0])).unwrap();
        assert!(html.contains(&format!("content=\"0;url={}?Action=login&amp;", signin.signin_url())), "{html}");
        assert!(html.contains(&format!("SigninToken={token}")), "{html}");
    }
}
