//! `rolesh doctor`: the checks and the verdict for profiles that work and for each common
//! reason a role is denied.
//!
//! moto answers the IAM reads (GetRole returns the trust document and MaxSessionDuration) but
//! enforces neither trust policies, MFA nor ExternalId, so it is never the referee of a denial:
//! where a denial matters, STS is the scripted stand-in answering with real STS error texts and
//! IAM is moto, whose documents the doctor evaluates locally. With IAM enforcement switched on
//! (a moto of the test's own), the same profiles show what is left without IAM read
//! permissions.
#![cfg(unix)]

mod support;

use serde_json::Value;
use support::fixtures::{MFA_SERIAL, USER_ARN, USER_KEY, USER_SECRET, role_arn, user_credentials};
use support::{Moto, Outcome, Rule, StandIn, StsError, TestEnv};

/// moto's account, where the roles and users the tests create live.
const ACCOUNT: &str = "123456789012";

// --- Helpers ---------------------------------------------------------------------------------

/// The venv's aws CLI against `endpoint` as some administrator: moto without IAM enforcement
/// takes any key. Returns its JSON output.
#[track_caller]
fn aws(env: &TestEnv, endpoint: &str, args: &[&str]) -> Value {
    let mut command = env.command_for("aws", args);
    command
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ENDPOINT_URL_IAM", endpoint)
        .env("AWS_ENDPOINT_URL_STS", endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIAADMINKEY00000001")
        .env("AWS_SECRET_ACCESS_KEY", "admin-secret")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_DEFAULT_OUTPUT", "json");
    let outcome = support::process::run(command);
    outcome.assert_ok();
    if outcome.stdout.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&outcome.stdout).expect("aws printed JSON")
    }
}

/// IAM users and roles in a moto server.
struct Iam<'a> {
    env: &'a TestEnv,
    endpoint: String,
}

impl Iam<'_> {
    /// Creates user `name`; returns its ARN.
    fn user(&self, name: &str) -> String {
        aws(self.env, &self.endpoint, &["iam", "create-user", "--user-name", name]);
        format!("arn:aws:iam::{ACCOUNT}:user/{name}")
    }

    /// An access key of user `name`: (key id, secret).
    fn key(&self, name: &str) -> (String, String) {
        let out = aws(self.env, &self.endpoint, &["iam", "create-access-key", "--user-name", name]);
        let key = &out["AccessKey"];
        (key["AccessKeyId"].as_str().unwrap().to_owned(), key["SecretAccessKey"].as_str().unwrap().to_owned())
    }

    /// An inline policy of user `user` allowing `action` on `resource`.
    fn allow(&self, user: &str, action: &str, resource: &str) {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
        );
        let name = format!("allow-{}", action.replace([':', '*'], "-"));
        aws(
            self.env,
            &self.endpoint,
            &["iam", "put-user-policy", "--user-name", user, "--policy-name", &name, "--policy-document", &doc],
        );
    }

    /// Creates role `name` with trust policy `statement` (one JSON statement) and
    /// MaxSessionDuration `max`; returns its ARN.
    fn role(&self, name: &str, statement: &str, max: u32) -> String {
        let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#);
        let max = max.to_string();
        let out = aws(
            self.env,
            &self.endpoint,
            &[
                "iam",
                "create-role",
                "--role-name",
                name,
                "--assume-role-policy-document",
                &doc,
                "--max-session-duration",
                &max,
            ],
        );
        out["Role"]["Arn"].as_str().unwrap().to_owned()
    }
}

/// A trust statement allowing sts:AssumeRole to `principal` under `condition` (JSON or "").
fn trust(principal: &str, condition: &str) -> String {
    let condition = if condition.is_empty() { String::new() } else { format!(r#","Condition":{condition}"#) };
    format!(r#"{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"{condition}}}"#)
}

/// STS is `stand_in`, IAM is the shared moto: the `user` profile's keys belong to IAM user
/// `user`, who exists in moto with an identity policy allowing sts:AssumeRole on every role.
fn stand_in_with_moto_iam(stand_in: &StandIn, user: &str) -> (TestEnv, String) {
    let mut env = TestEnv::stand_in(stand_in);
    let moto = Moto::get().endpoint();
    env.set("AWS_ENDPOINT_URL_IAM", &moto);
    let arn = Iam { env: &env, endpoint: moto.clone() }.user(user);
    Iam { env: &env, endpoint: moto }.allow(user, "sts:AssumeRole", "*");
    stand_in.register_user(USER_KEY, USER_SECRET, &arn);
    env.credentials(&user_credentials());
    (env, arn)
}

fn moto_iam(env: &TestEnv) -> Iam<'_> {
    Iam { env, endpoint: Moto::get().endpoint() }
}

/// `rolesh doctor PROFILE --json FLAGS…`, and the report it printed.
#[track_caller]
fn doctor(env: &TestEnv, profile: &str, flags: &[&str]) -> (Outcome, Value) {
    let mut args = vec!["doctor", profile, "--json"];
    args.extend_from_slice(flags);
    let outcome = env.run(args);
    let report =
        serde_json::from_slice(&outcome.stdout).unwrap_or_else(|e| panic!("doctor printed no JSON ({e}):\n{outcome}"));
    (outcome, report)
}

/// The checks named `name` (one per hop for hop checks), in order.
fn checks<'a>(report: &'a Value, name: &str) -> Vec<&'a Value> {
    report["checks"].as_array().expect("checks").iter().filter(|c| c["check"] == name).collect()
}

/// The one check named `name`; panics, showing the report, if there is not exactly one.
#[track_caller]
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    let found = checks(report, name);
    assert_eq!(found.len(), 1, "want one `{name}` check:\n{report:#}");
    found[0]
}

#[track_caller]
fn assert_check(report: &Value, name: &str, status: &str, needle: &str) {
    let c = check(report, name);
    assert_eq!(c["status"], status, "`{name}`:\n{report:#}");
    let detail = c["detail"].as_str().unwrap();
    assert!(detail.contains(needle), "`{name}` should say {needle:?}:\n{report:#}");
}

/// The verdict's causes and fixes, most likely first.
fn verdict(report: &Value) -> Vec<(String, String)> {
    report["verdict"]
        .as_array()
        .expect("verdict")
        .iter()
        .map(|c| (c["cause"].as_str().unwrap().to_owned(), c["fix"].as_str().unwrap().to_owned()))
        .collect()
}

/// Every check's name and status.
fn statuses(report: &Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["check"].as_str().unwrap().to_owned(), c["status"].as_str().unwrap().to_owned()))
        .collect()
}

// --- A profile that works --------------------------------------------------------------------

#[test]
fn a_profile_that_is_fine_passes_every_check_and_exits_0() {
    let mut env = TestEnv::moto();
    let moto = Moto::get().endpoint();
    env.set("AWS_ENDPOINT_URL_IAM", &moto);
    let iam = moto_iam(&env);
    let user = iam.user("doctor-fine");
    let (key, secret) = iam.key("doctor-fine");
    // The trust policy trusts the account, so the user's own policy must allow it too: it does.
    let role = iam.role("doctor-fine-role", &trust(&format!("arn:aws:iam::{ACCOUNT}:root"), ""), 7200);
    iam.allow("doctor-fine", "sts:AssumeRole", &role);
    env.credentials(&format!("[me]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"));
    env.config(&format!("[profile fine]\nrole_arn = {role}\nsource_profile = me\nduration_seconds = 7200\n"));

    let (outcome, report) = doctor(&env, "fine", &[]);
    outcome.assert_code(0);
    let not_passed: Vec<_> = statuses(&report).into_iter().filter(|(_, s)| s != "pass").collect();
    assert!(not_passed.is_empty(), "every check should pass:\n{report:#}");
    for name in ["profile", "role-arn", "duration", "source-credentials", "clock", "caller", "account", "assume-role"] {
        check(&report, name);
    }
    assert_check(&report, "source-credentials", "pass", &user);
    assert_check(&report, "trust-policy", "pass", &format!("through account {ACCOUNT}"));
    assert_check(&report, "max-session-duration", "pass", "asks for 7200s; the role allows up to 7200s");
    assert_check(&report, "identity-policy", "pass", "allows sts:AssumeRole");
    assert_eq!(report["exit_code"], 0);
    assert!(verdict(&report).is_empty(), "nothing failed, so no cause:\n{report:#}");
    // Nothing the doctor prints is a secret: not the source's, nor the session's it got.
    assert!(!outcome.stdout().contains(&secret) && !outcome.stderr.contains(&secret), "{outcome}");
}

// --- Denials, each with its cause -----------------------------------------------------------------

#[test]
fn a_role_that_trusts_another_account_only_names_whom_it_trusts_and_who_you_are() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::not_trusted()));
    let (env, user) = stand_in_with_moto_iam(&stand_in, "doctor-other-account");
    let role = moto_iam(&env).role("doctor-trusts-other", &trust("arn:aws:iam::999999999999:root", ""), 3600);
    env.config(&format!("[profile other]\nrole_arn = {role}\nsource_profile = user\n"));

    let (outcome, report) = doctor(&env, "other", &[]);
    outcome.assert_code(5);
    assert_check(&report, "assume-role", "fail", "is not authorized to perform: sts:AssumeRole");
    let names = format!("names arn:aws:iam::999999999999:root; you are {user}");
    assert_check(&report, "trust-policy", "fail", &names);
    let (cause, fix) = &verdict(&report)[0];
    assert!(cause.contains(&names), "the first cause should be the principal:\n{report:#}");
    assert!(fix.contains(&format!("add {user} (or account {ACCOUNT}) to the trust policy")), "{fix}");
    // The checks that need no IAM read ran as well.
    assert_check(&report, "source-credentials", "pass", &user);
    assert_check(&report, "account", "pass", "same account");
}

#[test]
fn an_mfa_conditioned_role_and_a_profile_without_mfa_serial_is_told_to_add_it() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::not_trusted()));
    let (env, _) = stand_in_with_moto_iam(&stand_in, "doctor-mfa-user");
    let role = moto_iam(&env).role(
        "doctor-needs-mfa",
        &trust(&format!("arn:aws:iam::{ACCOUNT}:root"), r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#),
        3600,
    );
    env.config(&format!("[profile admin]\nrole_arn = {role}\nsource_profile = user\n"));

    let (outcome, report) = doctor(&env, "admin", &[]);
    outcome.assert_code(5);
    assert_check(&report, "trust-policy", "fail", "aws:MultiFactorAuthPresent Bool `true` (the request: none)");
    let (cause, fix) = &verdict(&report)[0];
    assert!(cause.contains("requires MFA") && cause.contains("profile `admin` has no mfa_serial"), "{report:#}");
    assert_eq!(
        fix,
        &format!(
            "add `mfa_serial = arn:aws:iam::{ACCOUNT}:mfa/doctor-mfa-user` (your MFA device's ARN) to profile `admin`"
        )
    );
}

#[test]
fn an_external_id_role_asked_with_none_or_the_wrong_one_is_told_the_one_it_wants() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::not_trusted()));
    let (env, _) = stand_in_with_moto_iam(&stand_in, "doctor-ext-user");
    let role = moto_iam(&env).role(
        "doctor-needs-ext",
        &trust(&format!("arn:aws:iam::{ACCOUNT}:root"), r#"{"StringEquals":{"sts:ExternalId":"partner-42"}}"#),
        3600,
    );
    env.config(&format!(
        "[profile none]\nrole_arn = {role}\nsource_profile = user\n\
         [profile wrong]\nrole_arn = {role}\nsource_profile = user\nexternal_id = partner-41\n"
    ));

    let (outcome, report) = doctor(&env, "none", &[]);
    outcome.assert_code(5);
    let (cause, fix) = &verdict(&report)[0];
    assert!(cause.contains("requires ExternalId `partner-42`, and profile `none` sends none"), "{report:#}");
    assert_eq!(fix, "add `external_id = partner-42` to profile `none` (or pass --external-id)");

    let (outcome, report) = doctor(&env, "wrong", &[]);
    outcome.assert_code(5);
    assert_check(&report, "external-id", "pass", "set");
    let (cause, fix) = &verdict(&report)[0];
    assert!(
        cause.contains("sends ExternalId `partner-41`, but the trust policy of")
            && cause.contains("wants `partner-42`"),
        "{report:#}"
    );
    assert_eq!(fix, "set `external_id = partner-42` in profile `wrong`");
    // The right one passes the trust check.
    let (_, report) = doctor(&env, "wrong", &["--external-id", "partner-42"]);
    assert_check(&report, "trust-policy", "pass", "allows");
}

#[test]
fn a_duration_above_the_roles_maximum_is_named_with_the_maximum() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::max_session_duration()));
    let (env, user) = stand_in_with_moto_iam(&stand_in, "doctor-long-user");
    let role = moto_iam(&env).role("doctor-short-role", &trust(&user, ""), 3600);
    env.config(&format!("[profile long]\nrole_arn = {role}\nsource_profile = user\nduration_seconds = 7200\n"));

    let (outcome, report) = doctor(&env, "long", &[]);
    outcome.assert_code(5);
    assert_check(&report, "assume-role", "fail", "exceeds the MaxSessionDuration");
    assert_check(&report, "max-session-duration", "fail", "asks for 7200s, but");
    assert_check(&report, "trust-policy", "pass", &format!("allows {user} by name"));
    let (cause, fix) = &verdict(&report)[0];
    assert!(cause.contains("allows at most 3600s"), "{report:#}");
    assert!(fix.starts_with("set duration_seconds = 3600 (or less) in profile `long`"), "{fix}");
}

#[test]
fn a_chained_profile_asking_for_two_hours_is_a_configuration_fault() {
    let stand_in = StandIn::start();
    let mut env = TestEnv::stand_in(&stand_in);
    // IAM reads go to the stand-in, which knows no IAM: they are unknown, never a failure.
    env.set("AWS_ENDPOINT_URL_IAM", stand_in.endpoint());
    stand_in.register_user(USER_KEY, USER_SECRET, &format!("arn:aws:iam::{ACCOUNT}:user/alice"));
    env.credentials(&user_credentials());
    env.config(&format!(
        "[profile top]\nrole_arn = {}\nsource_profile = mid\nduration_seconds = 7200\n\
         [profile mid]\nrole_arn = {}\nsource_profile = user\n",
        role_arn("222222222222", "top"),
        role_arn("111111111111", "mid"),
    ));

    let (outcome, report) = doctor(&env, "top", &[]);
    outcome.assert_code(3);
    let durations = checks(&report, "duration");
    assert_eq!(durations.len(), 2, "one per hop:\n{report:#}");
    assert_eq!((&durations[0]["status"], &durations[0]["hop"]), (&Value::from("pass"), &Value::from("mid")));
    assert_eq!((&durations[1]["status"], &durations[1]["hop"]), (&Value::from("fail"), &Value::from("top")));
    assert!(durations[1]["detail"].as_str().unwrap().contains("asks for 7200s, but this hop is role chaining"));
    let (_, fix) = &verdict(&report)[0];
    assert_eq!(fix, "set duration_seconds = 3600 (or less) in profile `top`");
    // Both hops were assumed for real, the second for the hour AWS allows.
    let assumed = checks(&report, "assume-role");
    assert!(assumed.iter().all(|c| c["status"] == "pass"), "{report:#}");
    assert_eq!(stand_in.calls("AssumeRole")[1].param("DurationSeconds"), Some("3600"));
    assert!(checks(&report, "trust-policy").iter().all(|c| c["status"] == "unknown"), "{report:#}");
}

// --- Without IAM read permissions ------------------------------------------------------------

#[test]
fn without_iam_reads_the_same_profiles_are_unknown_naming_the_permission_and_the_rest_still_runs() {
    // Enforcement applies to a whole moto server: this test has one of its own.
    let moto = Moto::start_private();
    let mut env = TestEnv::new(&moto.endpoint());
    env.set("AWS_ENDPOINT_URL_IAM", moto.endpoint());
    let iam = Iam { env: &env, endpoint: moto.endpoint() };
    let user = iam.user("doctor-no-reads");
    let (key, secret) = iam.key("doctor-no-reads");
    // The user may assume roles and nothing else: no iam:GetRole, no reading its own policies.
    iam.allow("doctor-no-reads", "sts:AssumeRole", "*");
    let mfa = iam.role("doctor-enforced-mfa", &trust(&user, r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#), 3600);
    let ext =
        iam.role("doctor-enforced-ext", &trust(&user, r#"{"StringEquals":{"sts:ExternalId":"partner-42"}}"#), 3600);
    moto.enforce_iam();
    env.credentials(&format!("[me]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"));
    env.config(&format!(
        "[profile mfa]\nrole_arn = {mfa}\nsource_profile = me\n[profile ext]\nrole_arn = {ext}\nsource_profile = me\n"
    ));

    for (profile, role) in [("mfa", &mfa), ("ext", &ext)] {
        let (outcome, report) = doctor(&env, profile, &[]);
        let get_role = format!("iam:GetRole on {role}");
        for name in ["trust-policy", "max-session-duration"] {
            let c = check(&report, name);
            assert_eq!(c["status"], "unknown", "{profile} `{name}`:\n{report:#}");
            assert_eq!(c["needs"], get_role.as_str(), "{profile} `{name}`:\n{report:#}");
        }
        let c = check(&report, "identity-policy");
        assert_eq!(c["status"], "unknown", "{report:#}");
        assert_eq!(c["needs"], format!("iam:ListAttachedUserPolicies on {user}").as_str(), "{report:#}");
        // What needs no IAM read still ran, and passed: moto enforces no MFA or ExternalId
        // condition, so its AssumeRole is no referee here; only that it was made counts.
        for name in
            ["profile", "role-arn", "duration", "source-credentials", "clock", "caller", "account", "assume-role"]
        {
            assert_eq!(check(&report, name)["status"], "pass", "{profile} `{name}`:\n{report:#}");
        }
        outcome.assert_code(0);
        assert!(verdict(&report).is_empty(), "{report:#}");
    }
}

#[test]
fn when_sts_refuses_and_iam_reads_are_refused_the_usual_causes_are_ranked() {
    let stand_in = StandIn::start();
    stand_in.register_user(USER_KEY, USER_SECRET, USER_ARN);
    stand_in.push(Rule::on("AssumeRole").fail(StsError::not_trusted()));
    let refused = |action: &str| {
        StsError::access_denied(&format!("User: {} is not authorized to perform: iam:{action}", USER_ARN))
    };
    stand_in.push(Rule::on("GetRole").fail(refused("GetRole")));
    stand_in.push(Rule::on("ListAttachedUserPolicies").fail(refused("ListAttachedUserPolicies")));
    let mut env = TestEnv::stand_in(&stand_in);
    env.set("AWS_ENDPOINT_URL_IAM", stand_in.endpoint());
    env.credentials(&user_credentials());
    let role = role_arn(ACCOUNT, "guarded");
    env.config(&format!("[profile guarded]\nrole_arn = {role}\nsource_profile = user\n"));

    let (outcome, report) = doctor(&env, "guarded", &[]);
    outcome.assert_code(5);
    assert_eq!(check(&report, "trust-policy")["needs"], format!("iam:GetRole on {role}").as_str());
    let causes: Vec<String> = verdict(&report).into_iter().map(|(c, f)| format!("{c} => {f}")).collect();
    assert!(causes[0].contains("may not name you (arn:aws:iam::123456789012:user/alice)"), "{causes:#?}");
    assert!(causes[1].contains(&format!("add `mfa_serial = {MFA_SERIAL}`")), "{causes:#?}");
    assert!(causes[2].contains("may require an ExternalId"), "{causes:#?}");
}

// --- STS's own refusals --------------------------------------------------------------------

#[test]
fn each_sts_refusal_is_mapped_to_its_cause() {
    struct Case {
        action: &'static str,
        error: StsError,
        extra: &'static str,
        flags: &'static [&'static str],
        check: &'static str,
        detail: &'static str,
        cause: &'static str,
        code: i32,
    }
    let mfa = "mfa_serial = arn:aws:iam::123456789012:mfa/alice\n";
    let cases = [
        Case {
            action: "AssumeRole",
            error: StsError::not_trusted(),
            extra: "",
            flags: &[],
            check: "assume-role",
            detail: "STS refused: AccessDenied: User: arn:aws:iam::123456789012:user/stand-in is not authorized",
            cause: "may not name you",
            code: 5,
        },
        Case {
            action: "AssumeRole",
            error: StsError::max_session_duration(),
            extra: "duration_seconds = 43200\n",
            flags: &[],
            check: "assume-role",
            detail: "STS refused 43200s: ValidationError",
            cause: "43200s is above the maximum session duration",
            code: 5,
        },
        Case {
            action: "GetSessionToken",
            error: StsError::access_denied("MultiFactorAuthentication failed with invalid MFA one time pass code. "),
            extra: mfa,
            flags: &["--mfa-token", "123456"],
            check: "session-token",
            detail: "STS rejected the MFA code",
            cause: "was wrong, already used, or from another device",
            code: 5,
        },
        Case {
            action: "AssumeRole",
            error: StsError::expired_token(),
            extra: "",
            flags: &[],
            check: "assume-role",
            detail: "the signing credentials have expired: ExpiredToken",
            cause: "have expired",
            code: 5,
        },
        Case {
            action: "AssumeRole",
            error: StsError::throttling(),
            extra: "",
            flags: &[],
            check: "assume-role",
            detail: "STS kept throttling the request",
            cause: "STS throttled the call",
            code: 6,
        },
    ];
    for case in cases {
        let stand_in = StandIn::start();
        stand_in.register_key(USER_KEY, USER_SECRET);
        stand_in.push(Rule::on(case.action).fail(case.error.clone()));
        let mut env = TestEnv::stand_in(&stand_in);
        env.set("AWS_ENDPOINT_URL_IAM", stand_in.endpoint());
        env.credentials(&user_credentials());
        env.config(&format!(
            "[profile p]\nrole_arn = {}\nsource_profile = user\n{}",
            role_arn(ACCOUNT, "r"),
            case.extra
        ));
        let (outcome, report) = doctor(&env, "p", case.flags);
        outcome.assert_code(case.code);
        assert_check(&report, case.check, "fail", case.detail);
        let causes = verdict(&report);
        assert!(causes.iter().any(|(c, _)| c.contains(case.cause)), "{}: {causes:#?}", case.error.code);
    }
}

#[test]
fn a_clock_far_from_stss_fails_the_clock_check() {
    let stand_in = StandIn::start();
    stand_in.register_key(USER_KEY, USER_SECRET);
    stand_in.skew_clock(chrono::Duration::minutes(-20));
    let mut env = TestEnv::stand_in(&stand_in);
    env.set("AWS_ENDPOINT_URL_IAM", stand_in.endpoint());
    env.credentials(&user_credentials());
    env.config(&format!("[profile p]\nrole_arn = {}\nsource_profile = user\n", role_arn(ACCOUNT, "r")));
    let (outcome, report) = doctor(&env, "p", &[]);
    outcome.assert_code(5);
    // The stand-in's clock is 20 minutes behind: this machine's is 20 minutes ahead of it.
    assert_check(&report, "clock", "fail", "is 20m");
    assert_check(&report, "clock", "fail", "ahead of STS's");
    assert!(verdict(&report)[0].1.contains("set the clock right"), "{report:#}");
}

#[test]
fn source_keys_sts_does_not_accept_fail_the_source_check_and_nothing_after_it_is_tried() {
    let stand_in = StandIn::start();
    // The key is not registered: STS answers InvalidClientTokenId.
    let mut env = TestEnv::stand_in(&stand_in);
    env.set("AWS_ENDPOINT_URL_IAM", stand_in.endpoint());
    env.credentials(&user_credentials());
    env.config(&format!("[profile p]\nrole_arn = {}\nsource_profile = user\n", role_arn(ACCOUNT, "r")));
    let (outcome, report) = doctor(&env, "p", &[]);
    outcome.assert_code(5);
    assert_check(&report, "source-credentials", "fail", "does not accept the keys of profile `user`");
    assert_eq!(check(&report, "assume-role")["status"], "unknown");
    assert_eq!(stand_in.count("AssumeRole"), 0);
    assert!(
        verdict(&report)[0].0.contains("STS does not accept the keys of static keys of profile `user`"),
        "{report:#}"
    );
}

// --- The profile itself ---------------------------------------------------------------------------

#[test]
fn an_unknown_profile_is_a_configuration_fault_reported_as_a_check() {
    let stand_in = StandIn::start();
    let env = TestEnv::stand_in(&stand_in);
    env.config("[profile deployer]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = user\n");
    let name = "deploy\u{1b}[2Jer";
    let (outcome, report) = doctor(&env, name, &[]);
    outcome.assert_code(3);
    assert_check(&report, "profile", "fail", "did you mean `deployer`?");
    assert!(stand_in.requests().is_empty(), "a broken profile needs no network");
    // The JSON parses to the name as typed, and no control character reaches the terminal.
    assert_eq!(report["profile"], name);
    assert!(!outcome.stdout().chars().any(|c| c.is_control() && c != '\n'), "{outcome}");
    let text = env.run(["doctor", name]);
    text.assert_code(3);
    assert!(text.stdout().contains("deploy\\x1b[2Jer") && !text.stdout().contains('\u{1b}'), "{text}");
}

#[test]
fn a_cycle_or_an_out_of_range_duration_is_a_configuration_fault_found_without_the_network() {
    let stand_in = StandIn::start();
    let env = TestEnv::stand_in(&stand_in);
    env.config(&format!(
        "[profile a]\nrole_arn = {r}\nsource_profile = b\n[profile b]\nrole_arn = {r}\nsource_profile = a\n\
         [profile long]\nrole_arn = {r}\nsource_profile = a\nduration_seconds = 50000\n",
        r = role_arn(ACCOUNT, "r")
    ));
    let (outcome, report) = doctor(&env, "a", &[]);
    outcome.assert_code(3);
    assert_check(&report, "profile", "fail", "source_profile cycle: a -> b -> a");
    let (outcome, report) = doctor(&env, "long", &[]);
    outcome.assert_code(3);
    assert_check(&report, "profile", "fail", "duration_seconds = 50000");
    assert!(stand_in.requests().is_empty());
}

#[test]
fn an_empty_external_id_or_a_malformed_mfa_serial_is_a_configuration_fault() {
    let stand_in = StandIn::start();
    stand_in.register_key(USER_KEY, USER_SECRET);
    let mut env = TestEnv::stand_in(&stand_in);
    env.set("AWS_ENDPOINT_URL_IAM", stand_in.endpoint());
    env.credentials(&user_credentials());
    env.config(&format!(
        "[profile a]\nrole_arn = {r}\nsource_profile = user\nexternal_id =\n\
         [profile b]\nrole_arn = {r}\nsource_profile = user\nmfa_serial = {USER_ARN}\n",
        r = role_arn(ACCOUNT, "r")
    ));
    let (outcome, report) = doctor(&env, "a", &[]);
    outcome.assert_code(3);
    assert_check(&report, "external-id", "fail", "has an empty external_id, so no ExternalId is sent");
    let (outcome, report) = doctor(&env, "b", &["--mfa-token", "123456"]);
    outcome.assert_code(3);
    // The user's ARN in place of its device's: a common slip.
    assert_check(&report, "mfa-serial", "fail", &format!("`{USER_ARN}` is not an MFA device ARN"));
}

#[test]
fn a_malformed_mfa_code_is_refused_before_any_call_as_exec_refuses_it() {
    let stand_in = StandIn::start();
    let env = TestEnv::stand_in(&stand_in);
    env.config(&format!("[profile p]\nrole_arn = {}\nsource_profile = user\n", role_arn(ACCOUNT, "r")));
    env.run(["doctor", "p", "--mfa-token", "12345"]).assert_error(4);
    assert!(stand_in.requests().is_empty());
}

#[test]
fn without_a_terminal_or_a_code_the_mfa_step_is_unknown_and_the_checks_go_on_as_exec_would_send() {
    let stand_in = StandIn::start();
    let (env, user) = stand_in_with_moto_iam(&stand_in, "doctor-no-tty");
    let role = moto_iam(&env).role(
        "doctor-no-tty-role",
        &trust(&user, r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#),
        3600,
    );
    let serial = format!("arn:aws:iam::{ACCOUNT}:mfa/doctor-no-tty");
    env.config(&format!("[profile p]\nrole_arn = {role}\nsource_profile = user\nmfa_serial = {serial}\n"));
    let (outcome, report) = doctor(&env, "p", &[]);
    outcome.assert_code(0);
    let c = check(&report, "session-token");
    assert_eq!(c["status"], "unknown");
    assert!(c["needs"].as_str().unwrap().contains("--mfa-token"), "{report:#}");
    assert_eq!(check(&report, "assume-role")["status"], "unknown");
    assert_eq!(stand_in.count("GetSessionToken") + stand_in.count("AssumeRole"), 0, "no call without a code");
    assert_check(&report, "mfa-serial", "pass", &format!("an MFA device of account {ACCOUNT}"));
    assert_check(&report, "source-credentials", "pass", &user);
    // The trust policy is still read, with the user's own keys, and judged as exec would ask:
    // with the MFA the profile names.
    assert_check(&report, "trust-policy", "pass", "by name");
}

#[test]
fn an_mfa_device_of_another_account_than_the_source_is_a_configuration_fault() {
    let stand_in = StandIn::start();
    stand_in.register_user(USER_KEY, USER_SECRET, USER_ARN);
    let mut env = TestEnv::stand_in(&stand_in);
    env.set("AWS_ENDPOINT_URL_IAM", stand_in.endpoint());
    env.credentials(&user_credentials());
    env.config(&format!(
        "[profile p]\nrole_arn = {}\nsource_profile = user\nmfa_serial = arn:aws:iam::999999999999:mfa/alice\n",
        role_arn(ACCOUNT, "r")
    ));
    let (outcome, report) = doctor(&env, "p", &["--mfa-token", "123456"]);
    outcome.assert_code(3);
    assert_check(
        &report,
        "mfa-account",
        "fail",
        &format!("is a device of account 999999999999, but the source is {USER_ARN}"),
    );
    assert_eq!(
        verdict(&report)[0].1,
        format!("set mfa_serial to the device of {USER_ARN} (arn:aws:iam::{ACCOUNT}:mfa/…)")
    );
}

#[test]
fn expired_source_credentials_are_named_with_what_to_refresh() {
    let stand_in = StandIn::start();
    stand_in.register_key(USER_KEY, USER_SECRET);
    stand_in.push(Rule::on("GetCallerIdentity").fail(StsError::expired_token()));
    let env = TestEnv::stand_in(&stand_in);
    env.credentials(&user_credentials());
    env.config(&format!("[profile p]\nrole_arn = {}\nsource_profile = user\n", role_arn(ACCOUNT, "r")));
    let (outcome, report) = doctor(&env, "p", &[]);
    outcome.assert_code(5);
    assert_check(&report, "source-credentials", "fail", "have expired");
    let (cause, fix) = &verdict(&report)[0];
    assert_eq!(cause, "the credentials of static keys of profile `user` have expired");
    assert!(fix.contains("refresh the session token of profile `user`"), "{fix}");
}

#[test]
fn keys_of_a_role_session_asking_for_two_hours_are_told_about_role_chaining() {
    let stand_in = StandIn::start();
    let env = support::fixtures::deployer(&stand_in, "");
    // A role session's keys, handed to the doctor through the environment: only STS can tell
    // that they are a role's, so the plan could not cap the duration in advance.
    env.run(["exec", "deployer", "--", "true"]).assert_ok();
    let issued = stand_in.issued().pop().expect("a session");
    let mut env = env;
    env.set("AWS_ENDPOINT_URL_IAM", stand_in.endpoint())
        .set("AWS_ACCESS_KEY_ID", &issued.access_key_id)
        .set("AWS_SECRET_ACCESS_KEY", &issued.secret_access_key)
        .set("AWS_SESSION_TOKEN", &issued.session_token);
    let (outcome, report) = doctor(&env, &role_arn(ACCOUNT, "next"), &["--duration", "2h"]);
    outcome.assert_code(3);
    assert_check(&report, "caller", "fail", "role chaining, which AWS caps at 1h, but");
    assert_check(&report, "assume-role", "fail", "1 hour session limit for roles assumed by role chaining");
    assert!(verdict(&report).iter().any(|(c, _)| c.contains("asks for 7200s")), "{report:#}");
    // Asked again for the hour, as exec would, so that whatever follows can still be checked.
    let asked: Vec<_> =
        stand_in.calls("AssumeRole").iter().skip(1).map(|r| r.param("DurationSeconds").map(String::from)).collect();
    assert_eq!(asked, [Some("7200".to_string()), Some("3600".to_string())]);
}

// --- What people read ----------------------------------------------------------------------

#[test]
fn the_text_report_lists_the_checks_then_the_ranked_verdict_and_no_secret() {
    let stand_in = StandIn::start();
    stand_in.push(Rule::on("AssumeRole").fail(StsError::not_trusted()));
    let (env, _) = stand_in_with_moto_iam(&stand_in, "doctor-text-user");
    let role = moto_iam(&env).role(
        "doctor-text-role",
        &trust(&format!("arn:aws:iam::{ACCOUNT}:root"), r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#),
        3600,
    );
    env.config(&format!("[profile admin]\nrole_arn = {role}\nsource_profile = user\n"));
    let outcome = env.run(["doctor", "admin"]);
    outcome.assert_code(5);
    let text = outcome.stdout();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "rolesh doctor admin");
    assert!(lines.iter().any(|l| l.starts_with("pass") && l.contains("source credentials")), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("fail") && l.contains("trust policy")), "{text}");
    let verdict = lines.iter().position(|l| *l == "Verdict, most likely cause first:").expect(&text);
    assert!(
        lines[verdict + 1].starts_with("  1. the trust policy of")
            && lines[verdict + 2].starts_with("     fix: add `mfa_serial"),
        "{text}"
    );
    for secret in [USER_SECRET.to_owned()]
        .into_iter()
        .chain(stand_in.issued().into_iter().flat_map(|i| [i.secret_access_key, i.session_token]))
    {
        assert!(!text.contains(&secret) && !outcome.stderr.contains(&secret), "a secret was printed:\n{outcome}");
    }
}

#[test]
fn a_denied_exec_ends_by_pointing_at_rolesh_doctor_for_the_profile_typed() {
    let stand_in = StandIn::start();
    stand_in.register_key(USER_KEY, USER_SECRET);
    let (top, mid) = (role_arn("222222222222", "top"), role_arn("111111111111", "mid"));
    // The first hop, `mid`'s, is refused: the error is about profile `mid`, but what the user
    // typed, and should run the doctor on, is `top`.
    stand_in.push(Rule::on("AssumeRole").when("RoleArn", &mid).fail(StsError::not_trusted()));
    let env = TestEnv::stand_in(&stand_in);
    env.credentials(&user_credentials());
    env.config(&format!(
        "[profile top]\nrole_arn = {top}\nsource_profile = mid\n[profile mid]\nrole_arn = {mid}\nsource_profile = user\n"
    ));
    let outcome = env.run(["exec", "top", "--", "true"]);
    outcome.assert_error(5);
    assert!(outcome.error_line().contains("profile `mid`"), "{outcome}");
    assert!(outcome.error_line().ends_with("run `rolesh doctor top`"), "{outcome}");
    let outcome = env.run(["exec", &top, "--source-profile", "mid", "--", "true"]);
    outcome.assert_error(5);
    assert!(outcome.error_line().ends_with(&format!("run `rolesh doctor {top}`")), "{outcome}");
}
