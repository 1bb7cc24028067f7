//! A local evaluator of IAM policy documents, for `rolesh doctor`: does a role's trust policy
//! let this caller assume it, does the caller's own identity policy allow `sts:AssumeRole` on
//! it, and if not, which principal or condition stands in the way.
//!
//! Pure: documents, a caller and a request context in, a decision and its reasons out; no
//! network, no printing. AWS knows things rolesh cannot (the address a request comes from, the
//! caller's organization), so truth here has three values, and a condition on such a key is
//! [`Truth::Unknown`] rather than a guess.
//!
//! What it follows (the IAM policy evaluation logic, as documented): an explicit Deny wins over
//! any Allow; without an applicable Allow the request is not allowed; within a statement the
//! principal, the action, the resource and every condition must match; within a condition block
//! every operator and every key must match (AND), and any one of a key's values may (OR); a key
//! missing from the request fails a positive operator, passes a negated one (`StringNotEquals`,
//! `NotIpAddress`, …), passes any `…IfExists`, passes `ForAllValues:` and fails `ForAnyValue:`.
//! Condition keys are case-insensitive; `*` and `?` are wildcards in `…Like`, `Arn…` and in
//! actions and resources; `${aws:username}`-style policy variables are replaced in Version
//! 2012-10-17 documents.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

/// Yes, no, or "rolesh cannot know".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    Yes,
    No,
    Unknown,
}

impl Truth {
    pub fn of(b: bool) -> Truth {
        if b { Truth::Yes } else { Truth::No }
    }

    pub fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::No, _) | (_, Truth::No) => Truth::No,
            (Truth::Unknown, _) | (_, Truth::Unknown) => Truth::Unknown,
            _ => Truth::Yes,
        }
    }

    pub fn or(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::Yes, _) | (_, Truth::Yes) => Truth::Yes,
            (Truth::Unknown, _) | (_, Truth::Unknown) => Truth::Unknown,
            _ => Truth::No,
        }
    }

    pub fn negate(self) -> Truth {
        match self {
            Truth::Yes => Truth::No,
            Truth::No => Truth::Yes,
            Truth::Unknown => Truth::Unknown,
        }
    }

    fn any<I: IntoIterator<Item = Truth>>(items: I) -> Truth {
        items.into_iter().fold(Truth::No, Truth::or)
    }

    fn all<I: IntoIterator<Item = Truth>>(items: I) -> Truth {
        items.into_iter().fold(Truth::Yes, Truth::and)
    }
}

// --- Documents ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Principal` (or `NotPrincipal`): `"*"`, or a map of `AWS`, `Service`, `Federated`, … to
/// one or more names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    Everyone,
    Named(BTreeMap<String, Vec<String>>),
}

impl Principals {
    /// The `AWS` principals, the only kind an IAM caller can be.
    pub fn aws(&self) -> Vec<String> {
        match self {
            Principals::Everyone => vec!["*".into()],
            Principals::Named(map) => map.get("AWS").cloned().unwrap_or_default(),
        }
    }

    /// Every name, `Service:ec2.amazonaws.com` style for the kinds other than `AWS`.
    pub fn describe(&self) -> Vec<String> {
        match self {
            Principals::Everyone => vec!["*".into()],
            Principals::Named(map) => map
                .iter()
                .flat_map(|(kind, names)| {
                    names.iter().map(move |n| if kind == "AWS" { n.clone() } else { format!("{kind}:{n}") })
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// As written, prefix and suffix included: `ForAnyValue:StringLikeIfExists`.
    pub operator: String,
    /// As written: `aws:MultiFactorAuthPresent`.
    pub key: String,
    /// The policy's values, booleans and numbers as their JSON text.
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<Principals>,
    /// `principal` came from `NotPrincipal`.
    pub not_principal: bool,
    pub actions: Vec<String>,
    /// `actions` came from `NotAction`.
    pub not_action: bool,
    /// `None`: no `Resource` (a trust policy's statements have none).
    pub resources: Option<Vec<String>>,
    pub not_resource: bool,
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// `statement 2 ("AllowAlice")` for messages.
    pub fn label(&self, index: usize) -> String {
        match &self.sid {
            Some(sid) if !sid.is_empty() => format!("statement `{sid}`"),
            _ => format!("statement {}", index + 1),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Where the document came from (`the trust policy of …`, `inline policy x of user y`),
    /// for messages.
    pub name: String,
    pub version: Option<String>,
    pub statements: Vec<Statement>,
}

/// IAM hands policy documents out URL-encoded (`%7B%22Version%22…`); a document that is
/// already JSON is taken as it is.
pub fn decode_document(text: &str) -> String {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            // RFC 3986 encoding, as IAM's: a `+` is a plus sign, not a space.
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Policy {
    /// Parses a policy document (JSON, or URL-encoded JSON as IAM returns it).
    pub fn parse(name: &str, text: &str) -> Result<Policy, String> {
        let json: Json = serde_json::from_str(&decode_document(text))
            .map_err(|e| format!("{name} is not a JSON policy document ({e})"))?;
        let obj = json.as_object().ok_or_else(|| format!("{name} is not a JSON object"))?;
        let version = obj.get("Version").and_then(Json::as_str).map(String::from);
        let statements = match obj.get("Statement") {
            Some(Json::Array(items)) => items.iter().map(statement).collect::<Result<Vec<_>, _>>(),
            Some(one @ Json::Object(_)) => statement(one).map(|s| vec![s]),
            _ => Err("it has no Statement".to_string()),
        }
        .map_err(|e| format!("{name}: {e}"))?;
        Ok(Policy { name: name.to_string(), version, statements })
    }

    /// Whether `${…}` policy variables are replaced: only in Version 2012-10-17 documents.
    fn variables(&self) -> bool {
        self.version.as_deref() == Some("2012-10-17")
    }

    /// Whether any condition of the document tests a key starting with `prefix`
    /// (case-insensitive), e.g. whether the caller's tags need to be read at all.
    pub fn mentions_key(&self, prefix: &str) -> bool {
        let prefix = prefix.to_ascii_lowercase();
        self.statements.iter().flat_map(|s| &s.conditions).any(|c| c.key.to_ascii_lowercase().starts_with(&prefix))
    }
}

fn statement(json: &Json) -> Result<Statement, String> {
    let obj = json.as_object().ok_or("a statement is not a JSON object")?;
    let effect = match obj.get("Effect").and_then(Json::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        other => return Err(format!("a statement has Effect {other:?}; expected Allow or Deny")),
    };
    let (principal, not_principal) = match (obj.get("Principal"), obj.get("NotPrincipal")) {
        (Some(p), None) => (Some(principals(p)?), false),
        (None, Some(p)) => (Some(principals(p)?), true),
        (None, None) => (None, false),
        (Some(_), Some(_)) => return Err("a statement has both Principal and NotPrincipal".into()),
    };
    let (actions, not_action) = match (obj.get("Action"), obj.get("NotAction")) {
        (Some(a), None) => (strings(a)?, false),
        (None, Some(a)) => (strings(a)?, true),
        _ => return Err("a statement needs exactly one of Action and NotAction".into()),
    };
    let (resources, not_resource) = match (obj.get("Resource"), obj.get("NotResource")) {
        (Some(r), None) => (Some(strings(r)?), false),
        (None, Some(r)) => (Some(strings(r)?), true),
        (None, None) => (None, false),
        (Some(_), Some(_)) => return Err("a statement has both Resource and NotResource".into()),
    };
    let mut conditions = Vec::new();
    if let Some(block) = obj.get("Condition") {
        let block = block.as_object().ok_or("a Condition is not a JSON object")?;
        for (operator, keys) in block {
            let keys = keys.as_object().ok_or_else(|| format!("condition {operator} is not a JSON object"))?;
            for (key, values) in keys {
                conditions.push(Condition { operator: operator.clone(), key: key.clone(), values: strings(values)? });
            }
        }
    }
    Ok(Statement {
        sid: obj.get("Sid").and_then(Json::as_str).map(String::from),
        effect,
        principal,
        not_principal,
        actions,
        not_action,
        resources,
        not_resource,
        conditions,
    })
}

fn principals(json: &Json) -> Result<Principals, String> {
    match json {
        Json::String(s) if s == "*" => Ok(Principals::Everyone),
        Json::Object(map) => {
            let mut out = BTreeMap::new();
            for (kind, names) in map {
                out.insert(kind.clone(), strings(names)?);
            }
            Ok(Principals::Named(out))
        }
        other => Err(format!("a Principal of {other}; expected \"*\" or an object")),
    }
}

/// A string, a number, a boolean, or an array of them, as strings.
fn strings(json: &Json) -> Result<Vec<String>, String> {
    let one = |v: &Json| match v {
        Json::String(s) => Ok(s.clone()),
        Json::Bool(b) => Ok(b.to_string()),
        Json::Number(n) => Ok(n.to_string()),
        other => Err(format!("{other} where a string was expected")),
    };
    match json {
        Json::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|s| vec![s]),
    }
}

// --- Who is asking ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerKind {
    /// An IAM user (`arn:…:iam::A:user/path/NAME`).
    User {
        name: String,
    },
    /// A role session (`arn:…:sts::A:assumed-role/ROLE/SESSION`).
    AssumedRole {
        role: String,
        session: String,
    },
    /// The account's root user.
    Root,
    /// A GetFederationToken session (`arn:…:sts::A:federated-user/NAME`).
    FederatedUser {
        name: String,
    },
    Other,
}

/// The caller as GetCallerIdentity describes it, with what a policy sees of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// As STS says: the user's ARN, or the session's `assumed-role` ARN.
    pub arn: String,
    pub account: String,
    pub partition: String,
    /// `AIDA…` for a user, `AROA…:SESSION` for a role session.
    pub user_id: String,
    pub kind: CallerKind,
    /// `aws:PrincipalArn`: the user's ARN, or for a role session the role's ARN (with its path
    /// where rolesh knows it).
    pub principal_arn: String,
}

impl Caller {
    /// `role_arn`: the ARN of the role the session belongs to, where rolesh assumed it itself
    /// (the STS ARN leaves out the role's path).
    pub fn new(arn: &str, user_id: &str, role_arn: Option<&str>) -> Caller {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let (partition, service, account, resource) = match parts.as_slice() {
            ["arn", partition, service, _, account, resource] => (*partition, *service, *account, *resource),
            _ => ("aws", "", "", ""),
        };
        let last = |r: &str| r.rsplit('/').next().unwrap_or_default().to_string();
        let kind = match (service, resource.split('/').collect::<Vec<_>>().as_slice()) {
            ("iam", ["root"]) => CallerKind::Root,
            ("iam", ["user", ..]) => CallerKind::User { name: last(resource) },
            ("sts", ["assumed-role", role, session]) => {
                CallerKind::AssumedRole { role: role.to_string(), session: session.to_string() }
            }
            ("sts", ["federated-user", name]) => CallerKind::FederatedUser { name: name.to_string() },
            _ => CallerKind::Other,
        };
        let principal_arn = match &kind {
            CallerKind::AssumedRole { role, .. } => role_arn
                .filter(|r| r.split(':').nth(4) == Some(account) && r.rsplit('/').next() == Some(role.as_str()))
                .map_or_else(|| format!("arn:{partition}:iam::{account}:role/{role}"), String::from),
            _ => arn.to_string(),
        };
        Caller {
            arn: arn.to_string(),
            account: account.to_string(),
            partition: partition.to_string(),
            user_id: user_id.to_string(),
            kind,
            principal_arn,
        }
    }

    /// `aws:PrincipalType`.
    pub fn principal_type(&self) -> &'static str {
        match self.kind {
            CallerKind::User { .. } => "User",
            CallerKind::AssumedRole { .. } => "AssumedRole",
            CallerKind::Root => "Account",
            CallerKind::FederatedUser { .. } => "FederatedUser",
            CallerKind::Other => "Unknown",
        }
    }
}

/// How a `Principal` matched the caller: through `*`, through the caller's account (the
/// account must then also allow it in an identity policy), or by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Everyone,
    Account,
    Name,
}

fn principal_entry(entry: &str, caller: &Caller) -> Option<Via> {
    if entry == "*" {
        return Some(Via::Everyone);
    }
    if entry.len() == 12 && entry.bytes().all(|b| b.is_ascii_digit()) {
        return (entry == caller.account).then_some(Via::Account);
    }
    // A unique id: what IAM shows in place of a principal deleted since the policy was saved.
    if let Some(id) = entry.strip_prefix("AIDA").or_else(|| entry.strip_prefix("AROA")) {
        let same = match &caller.kind {
            CallerKind::User { .. } => entry.starts_with("AIDA") && caller.user_id == entry,
            CallerKind::AssumedRole { .. } => {
                entry.starts_with("AROA") && caller.user_id.split(':').next() == Some(entry)
            }
            _ => false,
        };
        return (same && !id.is_empty()).then_some(Via::Name);
    }
    let parts: Vec<&str> = entry.splitn(6, ':').collect();
    let ["arn", partition, service, _, account, resource] = parts.as_slice() else { return None };
    if *partition != caller.partition || *account != caller.account {
        return None;
    }
    let named = match (*service, &caller.kind) {
        ("iam", _) if *resource == "root" => return Some(Via::Account),
        ("iam", CallerKind::User { .. }) => resource.starts_with("user/") && caller.arn.eq_ignore_ascii_case(entry),
        ("iam", CallerKind::AssumedRole { role, .. }) => {
            resource.starts_with("role/") && resource.rsplit('/').next().is_some_and(|r| r.eq_ignore_ascii_case(role))
        }
        ("sts", CallerKind::AssumedRole { .. } | CallerKind::FederatedUser { .. }) => caller.arn == entry,
        _ => false,
    };
    named.then_some(Via::Name)
}

/// Whether `principals` name the caller, and how.
pub fn principal_matches(principals: &Principals, caller: &Caller) -> Option<Via> {
    let aws = principals.aws();
    let vias: Vec<Via> = aws.iter().filter_map(|e| principal_entry(e, caller)).collect();
    // The most specific way wins: by name, then the account, then everyone.
    [Via::Name, Via::Account, Via::Everyone].into_iter().find(|v| vias.contains(v))
}

// --- The request -----------------------------------------------------------------------------

/// A condition key's value in the request, as rolesh can tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Known(Vec<String>),
    /// Not in the request at all.
    Absent,
    /// AWS knows it; rolesh does not. The text says why, or which permission would tell.
    Unknown(String),
}

impl Value {
    pub fn one(v: impl Into<String>) -> Value {
        Value::Known(vec![v.into()])
    }

    /// `none`, `` `x` ``, `` `x`, `y` ``, or `unknown`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Value::Known(v) if v.is_empty() => "none".into(),
            Value::Known(v) => v.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "),
            Value::Absent => "none".into(),
            Value::Unknown(_) => "unknown".into(),
        }
    }
}

/// The condition keys of one request. Keys are case-insensitive; a key nobody set is
/// unknown, unless it falls under a prefix given a default (the caller's tags once read:
/// a tag not among them is absent).
#[derive(Debug, Clone, Default)]
pub struct Context {
    keys: BTreeMap<String, Value>,
    prefixes: Vec<(String, Value)>,
}

impl Context {
    pub fn set(&mut self, key: &str, value: Value) -> &mut Context {
        self.keys.insert(key.to_ascii_lowercase(), value);
        self
    }

    /// Every key starting with `prefix` that was not set on its own has this value.
    pub fn set_prefix(&mut self, prefix: &str, value: Value) -> &mut Context {
        self.prefixes.push((prefix.to_ascii_lowercase(), value));
        self
    }

    pub fn get(&self, key: &str) -> Value {
        let lower = key.to_ascii_lowercase();
        if let Some(v) = self.keys.get(&lower) {
            return v.clone();
        }
        if let Some((_, v)) = self.prefixes.iter().find(|(p, _)| lower.starts_with(p.as_str())) {
            return v.clone();
        }
        Value::Unknown(format!("rolesh does not know the value of {key}"))
    }
}

/// What is asked: an action, on a resource (identity policies) or by a caller (a trust
/// policy, where the resource is the role itself), with the request's condition keys.
pub struct Request<'a> {
    pub action: &'a str,
    /// `None` for a trust policy: its statements have no `Resource`.
    pub resource: Option<&'a str>,
    /// `Some` for a resource-based policy (a trust policy): its `Principal` must name him.
    pub caller: Option<&'a Caller>,
    pub context: &'a Context,
}

// --- Results ---------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionResult {
    pub condition: Condition,
    pub actual: Value,
    pub truth: Truth,
}

impl ConditionResult {
    /// `aws:MultiFactorAuthPresent Bool true (the request: none)`.
    pub fn describe(&self) -> String {
        let c = &self.condition;
        let wanted: Vec<String> = c.values.iter().map(|v| format!("`{v}`")).collect();
        let actual = match &self.actual {
            Value::Unknown(why) => format!("unknown: {why}"),
            other => other.describe(),
        };
        format!("{} {} {} (the request: {actual})", c.key, c.operator, wanted.join(" or "))
    }
}

/// One statement that concerns the action, and how it fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementResult {
    /// Which policy (its name) and which statement in it.
    pub policy: String,
    pub label: String,
    pub effect: Effect,
    /// For a trust policy: how the caller matched (`None`: it does not name him). Always
    /// `Some(Via::Name)` for identity policies, which have no principal.
    pub principal: Option<Via>,
    /// Every `AWS` principal the statement names, for "it names X, you are Y".
    pub principals: Vec<String>,
    pub resource: Truth,
    pub conditions: Vec<ConditionResult>,
    /// Principal, resource and conditions together.
    pub applies: Truth,
}

impl StatementResult {
    /// The conditions that fail (or, with `Truth::Unknown`, may fail).
    pub fn failing(&self, truth: Truth) -> impl Iterator<Item = &ConditionResult> {
        self.conditions.iter().filter(move |c| c.truth == truth)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An Allow applies and no Deny can.
    Allowed,
    /// A Deny applies.
    Denied,
    /// No Allow applies (an implicit deny).
    NotAllowed,
    /// It turns on something rolesh cannot see.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    /// The statements that concern the action, in document order.
    pub statements: Vec<StatementResult>,
}

impl Evaluation {
    /// The Allow statement that came closest: the one whose principal names the caller and
    /// fewest of whose conditions fail, preferring one that may still apply.
    pub fn closest_allow(&self) -> Option<&StatementResult> {
        self.statements.iter().filter(|s| s.effect == Effect::Allow).min_by_key(|s| {
            let named = if s.principal.is_some() { 0 } else { 1 };
            let open = match s.applies {
                Truth::Yes => 0,
                Truth::Unknown => 1,
                Truth::No => 2,
            };
            (open, named, s.failing(Truth::No).count())
        })
    }

    /// The Deny statements that apply (`Truth::Yes`) or may (`Truth::Unknown`).
    pub fn denies(&self, truth: Truth) -> impl Iterator<Item = &StatementResult> {
        self.statements.iter().filter(move |s| s.effect == Effect::Deny && s.applies == truth)
    }

    /// The Allow statement that applies, if any.
    pub fn allowing(&self) -> Option<&StatementResult> {
        self.statements.iter().find(|s| s.effect == Effect::Allow && s.applies == Truth::Yes)
    }
}

/// Evaluates `request` against `policies` together (a user's attached, inline and group
/// policies are one set): any applicable Deny wins, then any applicable Allow.
pub fn evaluate(policies: &[Policy], request: &Request) -> Evaluation {
    let mut statements = Vec::new();
    for policy in policies {
        for (i, s) in policy.statements.iter().enumerate() {
            if let Some(result) = evaluate_statement(policy, i, s, request) {
                statements.push(result);
            }
        }
    }
    let deny = Truth::any(statements.iter().filter(|s| s.effect == Effect::Deny).map(|s| s.applies));
    let allow = Truth::any(statements.iter().filter(|s| s.effect == Effect::Allow).map(|s| s.applies));
    let decision = match (deny, allow) {
        (Truth::Yes, _) => Decision::Denied,
        (_, Truth::No) => Decision::NotAllowed,
        (Truth::No, Truth::Yes) => Decision::Allowed,
        _ => Decision::Unknown,
    };
    Evaluation { decision, statements }
}

fn evaluate_statement(policy: &Policy, index: usize, s: &Statement, request: &Request) -> Option<StatementResult> {
    let action =
        s.actions.iter().any(|a| glob(&tokens_plain(&a.to_ascii_lowercase()), &request.action.to_ascii_lowercase()));
    if action == s.not_action {
        return None;
    }
    let vars = policy.variables();
    let ctx = request.context;
    let (principal, principals) = match (request.caller, &s.principal) {
        // A resource-based policy statement without a principal names nobody.
        (Some(_), None) => (None, vec![]),
        (Some(caller), Some(p)) => {
            let matched = principal_matches(p, caller);
            let matched =
                if s.not_principal { if matched.is_some() { None } else { Some(Via::Name) } } else { matched };
            (matched, p.describe())
        }
        (None, _) => (Some(Via::Name), vec![]),
    };
    let resource = match (request.resource, &s.resources) {
        (Some(arn), Some(patterns)) => {
            let any = Truth::any(patterns.iter().map(|p| match expand(p, vars, ctx) {
                Expanded::Tokens(t) => Truth::of(glob(&t, arn)),
                Expanded::Unresolved => Truth::No,
                Expanded::Unknown => Truth::Unknown,
            }));
            if s.not_resource { any.negate() } else { any }
        }
        // An identity policy statement must name a resource; a trust policy's has none.
        (Some(_), None) => Truth::No,
        (None, _) => Truth::Yes,
    };
    let conditions: Vec<ConditionResult> = s
        .conditions
        .iter()
        .map(|c| {
            let actual = ctx.get(&c.key);
            let truth = match Operator::parse(&c.operator) {
                Some(op) => op.eval(&c.values, &actual, vars, ctx),
                // An operator rolesh does not know: AWS does, so the outcome is unknown here.
                None => Truth::Unknown,
            };
            ConditionResult { condition: c.clone(), actual, truth }
        })
        .collect();
    let applies = Truth::of(principal.is_some()).and(resource).and(Truth::all(conditions.iter().map(|c| c.truth)));
    Some(StatementResult {
        policy: policy.name.clone(),
        label: s.label(index),
        effect: s.effect,
        principal,
        principals,
        resource,
        conditions,
        applies,
    })
}

// --- Condition operators ---------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    Single,
    AnyValue,
    AllValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    ArnLike,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator {
    set: Set,
    base: Base,
    /// `StringNotEquals` is `StringEquals` negated, and so on.
    negated: bool,
    if_exists: bool,
}

impl Operator {
    fn parse(text: &str) -> Option<Operator> {
        let (set, rest) = if let Some(r) = text.strip_prefix("ForAnyValue:") {
            (Set::AnyValue, r)
        } else if let Some(r) = text.strip_prefix("ForAllValues:") {
            (Set::AllValues, r)
        } else {
            (Set::Single, text)
        };
        let (rest, if_exists) = match rest.strip_suffix("IfExists") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let (base, negated) = match rest {
            "StringEquals" => (Base::StringEquals, false),
            "StringNotEquals" => (Base::StringEquals, true),
            "StringEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, true),
            "StringLike" => (Base::StringLike, false),
            "StringNotLike" => (Base::StringLike, true),
            "NumericEquals" => (Base::NumericEquals, false),
            "NumericNotEquals" => (Base::NumericEquals, true),
            "NumericLessThan" => (Base::NumericLessThan, false),
            "NumericLessThanEquals" => (Base::NumericLessThanEquals, false),
            "NumericGreaterThan" => (Base::NumericGreaterThan, false),
            "NumericGreaterThanEquals" => (Base::NumericGreaterThanEquals, false),
            "DateEquals" => (Base::DateEquals, false),
            "DateNotEquals" => (Base::DateEquals, true),
            "DateLessThan" => (Base::DateLessThan, false),
            "DateLessThanEquals" => (Base::DateLessThanEquals, false),
            "DateGreaterThan" => (Base::DateGreaterThan, false),
            "DateGreaterThanEquals" => (Base::DateGreaterThanEquals, false),
            "Bool" => (Base::Bool, false),
            "BinaryEquals" => (Base::BinaryEquals, false),
            "IpAddress" => (Base::IpAddress, false),
            "NotIpAddress" => (Base::IpAddress, true),
            "ArnEquals" | "ArnLike" => (Base::ArnLike, false),
            "ArnNotEquals" | "ArnNotLike" => (Base::ArnLike, true),
            "Null" if !if_exists && set == Set::Single => (Base::Null, false),
            _ => return None,
        };
        Some(Operator { set, base, negated, if_exists })
    }

    fn eval(&self, expected: &[String], actual: &Value, vars: bool, ctx: &Context) -> Truth {
        let values = match actual {
            Value::Unknown(_) => return Truth::Unknown,
            Value::Absent => None,
            Value::Known(v) if v.is_empty() => None,
            Value::Known(v) => Some(v),
        };
        if self.base == Base::Null {
            // `"Null": {"k": "true"}`: the key is absent; `"false"`: it is present.
            let absent = values.is_none();
            return Truth::of(expected.iter().any(|e| e.eq_ignore_ascii_case(&absent.to_string())));
        }
        let Some(values) = values else {
            return Truth::of(match self.set {
                _ if self.if_exists => true,
                Set::AllValues => true,
                Set::AnyValue => false,
                Set::Single => self.negated,
            });
        };
        // Whether one request value matches one of the policy's values.
        let matches = |v: &String| Truth::any(expected.iter().map(|e| self.base.matches(e, v, vars, ctx)));
        match (self.set, self.negated) {
            (Set::Single | Set::AnyValue, false) => Truth::any(values.iter().map(matches)),
            (Set::Single | Set::AnyValue, true) => Truth::any(values.iter().map(|v| matches(v).negate())),
            (Set::AllValues, false) => Truth::all(values.iter().map(matches)),
            (Set::AllValues, true) => Truth::all(values.iter().map(|v| matches(v).negate())),
        }
    }
}

impl Base {
    /// Whether request value `actual` matches policy value `expected` (the positive form).
    fn matches(self, expected: &str, actual: &str, vars: bool, ctx: &Context) -> Truth {
        let text = || -> Result<Vec<Tok>, Truth> {
            match expand(expected, vars, ctx) {
                // Compared literally (`StringEquals`), a wildcard is just a character: `literal`.
                Expanded::Tokens(t) => Ok(t),
                Expanded::Unresolved => Err(Truth::No),
                Expanded::Unknown => Err(Truth::Unknown),
            }
        };
        let literal = |t: Vec<Tok>| -> String {
            t.into_iter()
                .map(|t| match t {
                    Tok::Lit(c) => c,
                    Tok::Star => '*',
                    Tok::One => '?',
                })
                .collect()
        };
        let number = |s: &str| s.trim().parse::<f64>().ok();
        let compare = |f: fn(f64, f64) -> bool| match (number(actual), number(expected)) {
            (Some(a), Some(e)) => Truth::of(f(a, e)),
            _ => Truth::No,
        };
        let date = |f: fn(i64, i64) -> bool| match (timestamp(actual), timestamp(expected)) {
            (Some(a), Some(e)) => Truth::of(f(a, e)),
            _ => Truth::No,
        };
        match self {
            Base::StringEquals => text().map_or_else(|t| t, |t| Truth::of(literal(t) == actual)),
            Base::StringEqualsIgnoreCase => {
                text().map_or_else(|t| t, |t| Truth::of(literal(t).to_lowercase() == actual.to_lowercase()))
            }
            Base::StringLike => text().map_or_else(|t| t, |t| Truth::of(glob(&t, actual))),
            Base::ArnLike => text().map_or_else(|t| t, |t| Truth::of(arn_like(&t, actual))),
            Base::NumericEquals => compare(|a, e| a == e),
            Base::NumericLessThan => compare(|a, e| a < e),
            Base::NumericLessThanEquals => compare(|a, e| a <= e),
            Base::NumericGreaterThan => compare(|a, e| a > e),
            Base::NumericGreaterThanEquals => compare(|a, e| a >= e),
            Base::DateEquals => date(|a, e| a == e),
            Base::DateLessThan => date(|a, e| a < e),
            Base::DateLessThanEquals => date(|a, e| a <= e),
            Base::DateGreaterThan => date(|a, e| a > e),
            Base::DateGreaterThanEquals => date(|a, e| a >= e),
            Base::Bool => Truth::of(expected.eq_ignore_ascii_case(actual)),
            Base::BinaryEquals => Truth::of(expected == actual),
            Base::IpAddress => Truth::of(in_cidr(expected, actual)),
            Base::Null => Truth::No,
        }
    }
}

/// A date condition value: ISO 8601 / RFC 3339, or seconds since the epoch.
fn timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return Some(secs);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    // `2026-11-25` and `2026-11-25T22:33:01Z` without fractions or with a bare date.
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

/// `aws:CurrentTime`'s form.
pub fn current_time(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Whether address `ip` lies in `cidr` (`203.0.113.0/24`, `2001:db8::/32`, or one address).
pub fn in_cidr(cidr: &str, ip: &str) -> bool {
    let (net, bits) = match cidr.trim().split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (cidr.trim(), None),
    };
    let (Ok(net), Ok(ip)) = (net.parse::<IpAddr>(), ip.trim().parse::<IpAddr>()) else { return false };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let bits = bits.unwrap_or(32);
            if bits > 32 {
                return false;
            }
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let bits = bits.unwrap_or(128);
            if bits > 128 {
                return false;
            }
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

// --- Wildcards and policy variables ----------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `*`: any run of characters.
    Star,
    /// `?`: any one character.
    One,
}

enum Expanded {
    Tokens(Vec<Tok>),
    /// A variable whose key is absent from the request: the value matches nothing.
    Unresolved,
    /// A variable whose value rolesh cannot know.
    Unknown,
}

fn tokens_plain(pattern: &str) -> Vec<Tok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        })
        .collect()
}

/// `pattern` as wildcard tokens, its `${key}` variables replaced from `ctx` when `vars`;
/// `${*}`, `${?}` and `${$}` are a literal `*`, `?` and `$`.
fn expand(pattern: &str, vars: bool, ctx: &Context) -> Expanded {
    if !vars || !pattern.contains("${") {
        return Expanded::Tokens(tokens_plain(pattern));
    }
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.extend(tokens_plain(&rest[..start]));
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.extend(tokens_plain(&rest[start..]));
            return Expanded::Tokens(out);
        };
        match &after[..end] {
            "*" => out.push(Tok::Lit('*')),
            "?" => out.push(Tok::Lit('?')),
            "$" => out.push(Tok::Lit('$')),
            key => match ctx.get(key.trim()) {
                Value::Known(v) if v.len() == 1 => out.extend(v[0].chars().map(Tok::Lit)),
                Value::Unknown(_) => return Expanded::Unknown,
                _ => return Expanded::Unresolved,
            },
        }
        rest = &after[end + 1..];
    }
    out.extend(tokens_plain(rest));
    Expanded::Tokens(out)
}

/// Wildcard matching with backtracking to the last `*`: linear in practice, never recursive.
fn glob(pattern: &[Tok], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|t| *t == Tok::Star)
}

/// `ArnLike`: each of an ARN's six `:`-separated parts is matched on its own, so a wildcard
/// never spans parts; the last part (the resource) keeps its own colons.
fn arn_like(pattern: &[Tok], arn: &str) -> bool {
    let mut parts: Vec<Vec<Tok>> = vec![Vec::new()];
    for t in pattern {
        if *t == Tok::Lit(':') && parts.len() < 6 {
            parts.push(Vec::new());
        } else {
            parts.last_mut().expect("never empty").push(*t);
        }
    }
    let arn_parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6 && arn_parts.len() == 6 && parts.iter().zip(arn_parts).all(|(p, a)| glob(p, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "arn:aws:iam::123456789012:user/alice";
    const ROLE: &str = "arn:aws:iam::123456789012:role/deployer";

    fn alice() -> Caller {
        Caller::new(ALICE, "AIDAALICE", None)
    }

    fn session() -> Caller {
        Caller::new(
            "arn:aws:sts::123456789012:assumed-role/ci/build-7",
            "AROACI0000:build-7",
            Some("arn:aws:iam::123456789012:role/teams/ci"),
        )
    }

    fn trust(statements: &str) -> Policy {
        Policy::parse("the trust policy", &format!(r#"{{"Version":"2012-10-17","Statement":{statements}}}"#)).unwrap()
    }

    /// A trust policy that allows `principal` with `condition` (a JSON object, or "").
    fn allow(principal: &str, condition: &str) -> Policy {
        let condition = if condition.is_empty() { String::new() } else { format!(r#","Condition":{condition}"#) };
        trust(&format!(r#"[{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"{condition}}}]"#))
    }

    fn decide(policy: &Policy, caller: &Caller, ctx: &Context) -> Decision {
        evaluate(
            std::slice::from_ref(policy),
            &Request { action: "sts:AssumeRole", resource: None, caller: Some(caller), context: ctx },
        )
        .decision
    }

    fn ctx(pairs: &[(&str, Value)]) -> Context {
        let mut c = Context::default();
        for (k, v) in pairs {
            c.set(k, v.clone());
        }
        c
    }

    fn condition(operator: &str, key: &str, values: &str, actual: Value) -> Decision {
        let policy = allow(r#"{"AWS":"*"}"#, &format!(r#"{{"{operator}":{{"{key}":{values}}}}}"#));
        decide(&policy, &alice(), &ctx(&[(key, actual)]))
    }

    use Decision::{Allowed, Denied, NotAllowed, Unknown};

    #[test]
    fn url_encoded_documents_from_iam_are_decoded_and_json_is_left_alone() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode_document(encoded), r#"{"Version":"2012-10-17","Statement":[]}"#);
        // A JSON document with a percent sign inside a string keeps it.
        let json = r#"{"Statement":[{"Sid":"100%25"}]}"#;
        assert_eq!(decode_document(json), json);
        assert!(Policy::parse("p", encoded).unwrap().statements.is_empty());
        assert!(Policy::parse("p", "%7Bnot json").is_err());
    }

    #[test]
    fn a_single_statement_object_and_scalar_values_parse_like_arrays() {
        let p = Policy::parse(
            "p",
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole",
                "Condition":{"Bool":{"aws:MultiFactorAuthPresent":true},"NumericLessThan":{"aws:MultiFactorAuthAge":3600}}}}"#,
        )
        .unwrap();
        let s = &p.statements[0];
        assert_eq!(s.principal, Some(Principals::Named(BTreeMap::from([("AWS".into(), vec!["123456789012".into()])]))));
        assert_eq!(s.conditions[0].values, ["true"]);
        assert_eq!(s.conditions[1].values, ["3600"]);
    }

    #[test]
    fn the_account_root_its_id_and_star_name_every_principal_of_the_account() {
        for principal in
            [r#"{"AWS":"arn:aws:iam::123456789012:root"}"#, r#"{"AWS":"123456789012"}"#, r#"{"AWS":"*"}"#, r#""*""#]
        {
            let p = allow(principal, "");
            assert_eq!(decide(&p, &alice(), &Context::default()), Allowed, "{principal}");
            assert_eq!(decide(&p, &session(), &Context::default()), Allowed, "{principal}");
        }
        let other = allow(r#"{"AWS":"arn:aws:iam::999999999999:root"}"#, "");
        assert_eq!(decide(&other, &alice(), &Context::default()), NotAllowed);
        let r = evaluate(
            std::slice::from_ref(&allow(r#"{"AWS":["arn:aws:iam::123456789012:root"]}"#, "")),
            &Request { action: "sts:AssumeRole", resource: None, caller: Some(&alice()), context: &Context::default() },
        );
        assert_eq!(r.statements[0].principal, Some(Via::Account), "the account must also allow it itself");
    }

    #[test]
    fn a_user_principal_names_that_user_only() {
        let p = allow(&format!(r#"{{"AWS":"{ALICE}"}}"#), "");
        assert_eq!(decide(&p, &alice(), &Context::default()), Allowed);
        let bob = Caller::new("arn:aws:iam::123456789012:user/bob", "AIDABOB", None);
        assert_eq!(decide(&p, &bob, &Context::default()), NotAllowed);
        assert_eq!(decide(&p, &session(), &Context::default()), NotAllowed);
        let other_partition = Caller::new("arn:aws-cn:iam::123456789012:user/alice", "AIDAALICE", None);
        assert_eq!(decide(&p, &other_partition, &Context::default()), NotAllowed);
    }

    #[test]
    fn a_role_principal_names_every_session_of_the_role_and_a_session_principal_one_session() {
        let role = allow(r#"{"AWS":"arn:aws:iam::123456789012:role/teams/ci"}"#, "");
        assert_eq!(decide(&role, &session(), &Context::default()), Allowed);
        assert_eq!(decide(&role, &alice(), &Context::default()), NotAllowed);
        let one = allow(r#"{"AWS":"arn:aws:sts::123456789012:assumed-role/ci/build-7"}"#, "");
        assert_eq!(decide(&one, &session(), &Context::default()), Allowed);
        let other = allow(r#"{"AWS":"arn:aws:sts::123456789012:assumed-role/ci/build-8"}"#, "");
        assert_eq!(decide(&other, &session(), &Context::default()), NotAllowed);
    }

    #[test]
    fn a_unique_id_left_by_a_deleted_principal_matches_only_that_principal() {
        let p = allow(r#"{"AWS":"AIDAALICE"}"#, "");
        assert_eq!(decide(&p, &alice(), &Context::default()), Allowed);
        let p = allow(r#"{"AWS":"AIDAOLDALICE"}"#, "");
        assert_eq!(decide(&p, &alice(), &Context::default()), NotAllowed);
        let p = allow(r#"{"AWS":"AROACI0000"}"#, "");
        assert_eq!(decide(&p, &session(), &Context::default()), Allowed);
    }

    #[test]
    fn service_and_federated_principals_never_name_an_iam_caller() {
        let p = allow(r#"{"Service":"ec2.amazonaws.com","Federated":"cognito-identity.amazonaws.com"}"#, "");
        assert_eq!(decide(&p, &alice(), &Context::default()), NotAllowed);
        let e = evaluate(
            std::slice::from_ref(&p),
            &Request { action: "sts:AssumeRole", resource: None, caller: Some(&alice()), context: &Context::default() },
        );
        assert!(e.statements[0].principals.contains(&"Service:ec2.amazonaws.com".to_string()));
    }

    #[test]
    fn star_with_an_aws_principal_arn_condition_lets_in_only_matching_principals() {
        let p = allow(r#"{"AWS":"*"}"#, r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/teams/*"}}"#);
        let with_arn = |c: &Caller| ctx(&[("aws:PrincipalArn", Value::one(c.principal_arn.clone()))]);
        assert_eq!(decide(&p, &session(), &with_arn(&session())), Allowed);
        assert_eq!(decide(&p, &alice(), &with_arn(&alice())), NotAllowed);
        // The role's path is part of its ARN; a session's STS ARN is not what is compared.
        assert_eq!(session().principal_arn, "arn:aws:iam::123456789012:role/teams/ci");
        let p = allow(
            r#"{"AWS":"*"}"#,
            r#"{"StringEquals":{"aws:PrincipalArn":["arn:aws:iam::123456789012:user/alice"]}}"#,
        );
        assert_eq!(decide(&p, &alice(), &with_arn(&alice())), Allowed);
    }

    #[test]
    fn an_explicit_deny_wins_over_any_allow() {
        let p = trust(
            r#"[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"},
                {"Sid":"NoMfaNoEntry","Effect":"Deny","Principal":"*","Action":"sts:*",
                 "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]"#,
        );
        let without = ctx(&[("aws:MultiFactorAuthPresent", Value::one("false"))]);
        let e = evaluate(
            std::slice::from_ref(&p),
            &Request { action: "sts:AssumeRole", resource: None, caller: Some(&alice()), context: &without },
        );
        assert_eq!(e.decision, Denied);
        assert_eq!(e.denies(Truth::Yes).next().unwrap().label, "statement `NoMfaNoEntry`");
        // Long-term keys carry no MFA key at all: BoolIfExists denies them too.
        assert_eq!(decide(&p, &alice(), &ctx(&[("aws:MultiFactorAuthPresent", Value::Absent)])), Denied);
        assert_eq!(decide(&p, &alice(), &ctx(&[("aws:MultiFactorAuthPresent", Value::one("true"))])), Allowed);
    }

    #[test]
    fn a_deny_that_may_apply_leaves_the_decision_unknown_but_no_allow_is_still_no() {
        let p = trust(
            r#"[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"},
                {"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole",
                 "Condition":{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]"#,
        );
        let ip = ctx(&[("aws:SourceIp", Value::Unknown("not seen".into()))]);
        assert_eq!(decide(&p, &alice(), &ip), Unknown);
        let bob = Caller::new("arn:aws:iam::999999999999:user/bob", "AIDABOB", None);
        assert_eq!(decide(&p, &bob, &ip), NotAllowed);
    }

    #[test]
    fn actions_match_case_insensitively_with_wildcards_and_not_action() {
        for action in
            [r#""sts:AssumeRole""#, r#""STS:assumerole""#, r#""sts:Assume*""#, r#""*""#, r#"["s3:*","sts:*"]"#]
        {
            let p = trust(&format!(r#"[{{"Effect":"Allow","Principal":"*","Action":{action}}}]"#));
            assert_eq!(decide(&p, &alice(), &Context::default()), Allowed, "{action}");
        }
        let p = trust(r#"[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithSAML"}]"#);
        assert_eq!(decide(&p, &alice(), &Context::default()), NotAllowed);
        let p = trust(r#"[{"Effect":"Allow","Principal":"*","NotAction":"sts:TagSession"}]"#);
        assert_eq!(decide(&p, &alice(), &Context::default()), Allowed);
        let p = trust(r#"[{"Effect":"Allow","Principal":"*","NotAction":"sts:Assume*"}]"#);
        assert_eq!(decide(&p, &alice(), &Context::default()), NotAllowed);
    }

    #[test]
    fn identity_policies_match_resources_with_wildcards_and_variables() {
        let policy = |resource: &str| {
            Policy::parse(
                "inline policy p of user alice",
                &format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":{resource}}}]}}"#
                ),
            )
            .unwrap()
        };
        let c = ctx(&[("aws:username", Value::one("alice"))]);
        let decide = |p: Policy, arn: &str| {
            evaluate(&[p], &Request { action: "sts:AssumeRole", resource: Some(arn), caller: None, context: &c })
                .decision
        };
        assert_eq!(decide(policy(&format!(r#""{ROLE}""#)), ROLE), Allowed);
        assert_eq!(decide(policy(r#""arn:aws:iam::*:role/deploy?r""#), ROLE), Allowed);
        assert_eq!(decide(policy(r#""arn:aws:iam::123456789012:role/*""#), ROLE), Allowed);
        assert_eq!(decide(policy(r#""arn:aws:iam::123456789012:role/Deployer""#), ROLE), NotAllowed, "case-sensitive");
        assert_eq!(
            decide(
                policy(r#""arn:aws:iam::123456789012:role/${aws:username}-*""#),
                "arn:aws:iam::123456789012:role/alice-admin"
            ),
            Allowed
        );
        assert_eq!(decide(policy(r#""arn:aws:iam::123456789012:role/${aws:username}-*""#), ROLE), NotAllowed);
        assert_eq!(
            decide(policy(r#""arn:aws:iam::123456789012:role/x${*}""#), "arn:aws:iam::123456789012:role/x*"),
            Allowed
        );
        assert_eq!(
            decide(policy(r#""arn:aws:iam::123456789012:role/x${*}""#), "arn:aws:iam::123456789012:role/xy"),
            NotAllowed
        );
        // A resource statement with NotResource covers everything else.
        let p = Policy::parse(
            "p",
            r#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","NotResource":"arn:aws:iam::*:role/admin"}]}"#,
        )
        .unwrap();
        assert_eq!(decide(p, ROLE), Allowed);
    }

    #[test]
    fn a_variable_in_a_2008_document_is_plain_text() {
        let p = Policy::parse(
            "p",
            r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::1:role/${aws:username}"}]}"#,
        )
        .unwrap();
        let c = ctx(&[("aws:username", Value::one("alice"))]);
        let r = |arn| {
            evaluate(
                std::slice::from_ref(&p),
                &Request { action: "sts:AssumeRole", resource: Some(arn), caller: None, context: &c },
            )
            .decision
        };
        assert_eq!(r("arn:aws:iam::1:role/alice"), NotAllowed);
        assert_eq!(r("arn:aws:iam::1:role/${aws:username}"), Allowed);
    }

    #[test]
    fn string_equals_and_like_with_wildcards() {
        assert_eq!(condition("StringEquals", "sts:ExternalId", r#""abc""#, Value::one("abc")), Allowed);
        assert_eq!(condition("StringEquals", "sts:ExternalId", r#""abc""#, Value::one("ABC")), NotAllowed);
        assert_eq!(
            condition("StringEquals", "sts:ExternalId", r#"["x","abc"]"#, Value::one("abc")),
            Allowed,
            "any of the values"
        );
        assert_eq!(
            condition("StringEquals", "sts:ExternalId", r#""a*""#, Value::one("abc")),
            NotAllowed,
            "no wildcards in Equals"
        );
        assert_eq!(condition("StringEquals", "sts:ExternalId", r#""a*""#, Value::one("a*")), Allowed);
        assert_eq!(condition("StringEquals", "sts:ExternalId", r#""abc""#, Value::Absent), NotAllowed);
        assert_eq!(condition("StringEqualsIgnoreCase", "sts:ExternalId", r#""abc""#, Value::one("ABC")), Allowed);
        assert_eq!(condition("StringLike", "sts:RoleSessionName", r#""ci-*""#, Value::one("ci-build")), Allowed);
        assert_eq!(condition("StringLike", "sts:RoleSessionName", r#""ci-?""#, Value::one("ci-12")), NotAllowed);
        assert_eq!(condition("StringLike", "sts:RoleSessionName", r#""*""#, Value::one("")), Allowed);
        // A variable whose value rolesh does not know leaves the match unknown; one whose key is
        // absent from the request matches nothing.
        assert_eq!(condition("StringLike", "sts:RoleSessionName", r#""${aws:username}""#, Value::one("x")), Unknown);
        let p = allow(r#""*""#, r#"{"StringLike":{"sts:RoleSessionName":"${aws:username}-*"}}"#);
        let named = |user: Value| ctx(&[("sts:RoleSessionName", Value::one("alice-ci")), ("aws:username", user)]);
        assert_eq!(decide(&p, &alice(), &named(Value::one("alice"))), Allowed);
        assert_eq!(decide(&p, &alice(), &named(Value::one("bob"))), NotAllowed);
        assert_eq!(decide(&p, &alice(), &named(Value::Absent)), NotAllowed);
    }

    #[test]
    fn negated_operators_pass_when_the_key_is_absent() {
        assert_eq!(condition("StringNotEquals", "sts:ExternalId", r#""abc""#, Value::Absent), Allowed);
        assert_eq!(condition("StringNotEquals", "sts:ExternalId", r#"["abc","def"]"#, Value::one("def")), NotAllowed);
        assert_eq!(condition("StringNotEquals", "sts:ExternalId", r#"["abc","def"]"#, Value::one("xyz")), Allowed);
        assert_eq!(condition("StringNotLike", "sts:RoleSessionName", r#""ci-*""#, Value::one("ci-1")), NotAllowed);
        assert_eq!(condition("NotIpAddress", "aws:SourceIp", r#""10.0.0.0/8""#, Value::one("10.1.2.3")), NotAllowed);
        assert_eq!(condition("NotIpAddress", "aws:SourceIp", r#""10.0.0.0/8""#, Value::one("192.0.2.1")), Allowed);
    }

    #[test]
    fn bool_and_if_exists() {
        assert_eq!(condition("Bool", "aws:MultiFactorAuthPresent", r#""true""#, Value::one("true")), Allowed);
        assert_eq!(condition("Bool", "aws:MultiFactorAuthPresent", "true", Value::one("TRUE")), Allowed);
        assert_eq!(condition("Bool", "aws:MultiFactorAuthPresent", "true", Value::one("false")), NotAllowed);
        assert_eq!(condition("Bool", "aws:MultiFactorAuthPresent", "true", Value::Absent), NotAllowed);
        assert_eq!(condition("BoolIfExists", "aws:MultiFactorAuthPresent", "true", Value::Absent), Allowed);
        assert_eq!(condition("BoolIfExists", "aws:MultiFactorAuthPresent", "true", Value::one("false")), NotAllowed);
        assert_eq!(condition("StringEqualsIfExists", "sts:ExternalId", r#""abc""#, Value::Absent), Allowed);
        assert_eq!(condition("StringEqualsIfExists", "sts:ExternalId", r#""abc""#, Value::one("x")), NotAllowed);
        assert_eq!(condition("NumericLessThanIfExists", "aws:MultiFactorAuthAge", "3600", Value::Absent), Allowed);
    }

    #[test]
    fn numeric_operators_compare_the_request_value_with_the_policys() {
        assert_eq!(condition("NumericLessThan", "aws:MultiFactorAuthAge", r#""3600""#, Value::one("120")), Allowed);
        assert_eq!(condition("NumericLessThan", "aws:MultiFactorAuthAge", "3600", Value::one("3600")), NotAllowed);
        assert_eq!(condition("NumericLessThanEquals", "aws:MultiFactorAuthAge", "3600", Value::one("3600")), Allowed);
        assert_eq!(condition("NumericGreaterThan", "aws:MultiFactorAuthAge", "10", Value::one("10.5")), Allowed);
        assert_eq!(condition("NumericGreaterThanEquals", "aws:MultiFactorAuthAge", "10", Value::one("9")), NotAllowed);
        assert_eq!(condition("NumericEquals", "aws:MultiFactorAuthAge", "10", Value::one("10")), Allowed);
        assert_eq!(condition("NumericNotEquals", "aws:MultiFactorAuthAge", "10", Value::one("10")), NotAllowed);
        assert_eq!(
            condition("NumericLessThan", "aws:MultiFactorAuthAge", "3600", Value::Absent),
            NotAllowed,
            "no MFA, no age"
        );
        assert_eq!(condition("NumericLessThan", "aws:MultiFactorAuthAge", "3600", Value::one("soon")), NotAllowed);
    }

    #[test]
    fn date_operators_read_iso_dates_and_epoch_seconds() {
        let now = Value::one("2026-11-25T22:00:00Z");
        assert_eq!(condition("DateLessThan", "aws:CurrentTime", r#""2027-01-01T00:00:00Z""#, now.clone()), Allowed);
        assert_eq!(condition("DateGreaterThan", "aws:CurrentTime", r#""2027-01-01""#, now.clone()), NotAllowed);
        assert_eq!(condition("DateLessThanEquals", "aws:CurrentTime", "1795644000", now.clone()), Allowed);
        assert_eq!(condition("DateNotEquals", "aws:CurrentTime", r#""2026-11-25T22:00:00Z""#, now), NotAllowed);
    }

    #[test]
    fn ip_address_matches_v4_and_v6_networks() {
        assert!(in_cidr("203.0.113.0/24", "203.0.113.7"));
        assert!(!in_cidr("203.0.113.0/24", "203.0.114.7"));
        assert!(in_cidr("0.0.0.0/0", "192.0.2.1"));
        assert!(in_cidr("192.0.2.1", "192.0.2.1"));
        assert!(in_cidr("2001:db8::/32", "2001:db8:1::5"));
        assert!(!in_cidr("2001:db8::/32", "203.0.113.7"));
        assert!(!in_cidr("203.0.113.0/40", "203.0.113.7"));
        assert_eq!(
            condition(
                "IpAddress",
                "aws:SourceIp",
                r#"["198.51.100.0/24","203.0.113.0/24"]"#,
                Value::one("203.0.113.9")
            ),
            Allowed
        );
        // AWS sees the address; rolesh does not: neither yes nor no.
        assert_eq!(
            condition("IpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, Value::Unknown("unseen".into())),
            Unknown
        );
        assert_eq!(
            condition("IpAddressIfExists", "aws:SourceIp", r#""203.0.113.0/24""#, Value::Unknown("unseen".into())),
            Unknown
        );
    }

    #[test]
    fn arn_operators_match_part_by_part() {
        let arn = Value::one("arn:aws:iam::123456789012:role/teams/ci");
        assert_eq!(condition("ArnLike", "aws:PrincipalArn", r#""arn:aws:iam::*:role/teams/*""#, arn.clone()), Allowed);
        assert_eq!(
            condition("ArnEquals", "aws:PrincipalArn", r#""arn:aws:iam::123456789012:role/teams/ci""#, arn.clone()),
            Allowed
        );
        // A wildcard stays within its part: `*` for the account does not swallow the service.
        assert_eq!(condition("ArnLike", "aws:PrincipalArn", r#""arn:aws:*:role/teams/ci""#, arn.clone()), NotAllowed);
        assert_eq!(condition("ArnNotLike", "aws:PrincipalArn", r#""arn:aws:iam::*:user/*""#, arn.clone()), Allowed);
        assert_eq!(condition("ArnLike", "aws:PrincipalArn", r#""arn:aws:iam::*:user/*""#, arn), NotAllowed);
    }

    #[test]
    fn for_any_value_and_for_all_values_over_multivalued_keys() {
        let tags = Value::Known(vec!["team".into(), "env".into()]);
        assert_eq!(condition("ForAnyValue:StringEquals", "aws:TagKeys", r#"["env"]"#, tags.clone()), Allowed);
        assert_eq!(condition("ForAnyValue:StringEquals", "aws:TagKeys", r#"["cost"]"#, tags.clone()), NotAllowed);
        assert_eq!(
            condition("ForAllValues:StringEquals", "aws:TagKeys", r#"["env","team","cost"]"#, tags.clone()),
            Allowed
        );
        assert_eq!(condition("ForAllValues:StringEquals", "aws:TagKeys", r#"["env"]"#, tags.clone()), NotAllowed);
        assert_eq!(condition("ForAllValues:StringLike", "aws:TagKeys", r#"["*e*"]"#, tags.clone()), Allowed);
        // An absent key: every one of no values matches; none of them is any.
        assert_eq!(condition("ForAllValues:StringEquals", "aws:TagKeys", r#"["env"]"#, Value::Absent), Allowed);
        assert_eq!(condition("ForAnyValue:StringEquals", "aws:TagKeys", r#"["env"]"#, Value::Absent), NotAllowed);
        assert_eq!(condition("ForAnyValue:StringNotEquals", "aws:TagKeys", r#"["env"]"#, tags.clone()), Allowed);
        assert_eq!(condition("ForAllValues:StringNotEquals", "aws:TagKeys", r#"["env"]"#, tags), NotAllowed);
    }

    #[test]
    fn null_tests_whether_the_key_is_present() {
        assert_eq!(condition("Null", "sts:SourceIdentity", r#""true""#, Value::Absent), Allowed);
        assert_eq!(condition("Null", "sts:SourceIdentity", "false", Value::Absent), NotAllowed);
        assert_eq!(condition("Null", "sts:SourceIdentity", "false", Value::one("alice")), Allowed);
        assert_eq!(condition("Null", "sts:SourceIdentity", "false", Value::Unknown("?".into())), Unknown);
    }

    #[test]
    fn every_condition_of_a_statement_must_hold() {
        let p = allow(
            r#"{"AWS":"123456789012"}"#,
            r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"},"StringEquals":{"sts:ExternalId":"abc","sts:RoleSessionName":"ci"}}"#,
        );
        let good = ctx(&[
            ("aws:MultiFactorAuthPresent", Value::one("true")),
            ("sts:ExternalId", Value::one("abc")),
            ("sts:RoleSessionName", Value::one("ci")),
        ]);
        assert_eq!(decide(&p, &alice(), &good), Allowed);
        let mut bad = good.clone();
        bad.set("sts:RoleSessionName", Value::one("rolesh-alice"));
        let e = evaluate(
            std::slice::from_ref(&p),
            &Request { action: "sts:AssumeRole", resource: None, caller: Some(&alice()), context: &bad },
        );
        assert_eq!(e.decision, NotAllowed);
        let failing: Vec<&str> = e.statements[0].failing(Truth::No).map(|c| c.condition.key.as_str()).collect();
        assert_eq!(failing, ["sts:RoleSessionName"]);
    }

    #[test]
    fn condition_keys_are_case_insensitive_and_unset_keys_are_unknown() {
        assert_eq!(condition("Bool", "AWS:multifactorauthpresent", "true", Value::one("true")), Allowed);
        let p = allow(r#""*""#, r#"{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}"#);
        assert_eq!(decide(&p, &alice(), &Context::default()), Unknown);
        let mut c = Context::default();
        c.set_prefix("aws:PrincipalTag/", Value::Absent);
        c.set("aws:PrincipalTag/team", Value::one("ops"));
        let p = allow(r#""*""#, r#"{"StringEquals":{"aws:PrincipalTag/Team":"ops"}}"#);
        assert_eq!(decide(&p, &alice(), &c), Allowed);
        let p = allow(r#""*""#, r#"{"StringEquals":{"aws:PrincipalTag/cost":"x"}}"#);
        assert_eq!(decide(&p, &alice(), &c), NotAllowed);
        assert!(p.mentions_key("aws:principaltag/"));
    }

    #[test]
    fn an_operator_rolesh_does_not_know_is_unknown_not_a_guess() {
        assert_eq!(condition("StringFancy", "sts:ExternalId", r#""a""#, Value::one("a")), Unknown);
        assert_eq!(condition("NullIfExists", "sts:ExternalId", r#""true""#, Value::Absent), Unknown);
    }

    #[test]
    fn the_closest_allow_is_the_one_naming_the_caller() {
        let p = trust(
            r#"[{"Sid":"Bob","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"sts:AssumeRole"},
                {"Sid":"AliceWithMfa","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"sts:AssumeRole",
                 "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]"#,
        );
        let c = ctx(&[("aws:MultiFactorAuthPresent", Value::Absent)]);
        let e = evaluate(
            std::slice::from_ref(&p),
            &Request { action: "sts:AssumeRole", resource: None, caller: Some(&alice()), context: &c },
        );
        assert_eq!(e.decision, NotAllowed);
        let closest = e.closest_allow().unwrap();
        assert_eq!(closest.label, "statement `AliceWithMfa`");
        assert_eq!(
            closest.failing(Truth::No).next().unwrap().describe(),
            "aws:MultiFactorAuthPresent Bool `true` (the request: none)"
        );
    }

    #[test]
    fn glob_handles_backtracking_without_recursion() {
        let t = tokens_plain;
        assert!(glob(&t("a*b*c"), "axxbyyc"));
        assert!(glob(&t("*abc"), "ababc"));
        assert!(!glob(&t("a*b"), "acbx"));
        assert!(glob(&t("**"), ""));
        assert!(!glob(&t("?"), ""));
        let long = "a".repeat(10_000);
        assert!(!glob(&t(&format!("{}b", "*a".repeat(50))), &long));
    }

    #[test]
    fn callers_are_read_from_their_arns() {
        assert_eq!(alice().kind, CallerKind::User { name: "alice".into() });
        assert_eq!(alice().principal_type(), "User");
        let s = Caller::new("arn:aws:sts::123456789012:assumed-role/ci/build-7", "AROA:build-7", None);
        assert_eq!(s.principal_arn, "arn:aws:iam::123456789012:role/ci", "no path known");
        assert_eq!(session().principal_arn, "arn:aws:iam::123456789012:role/teams/ci");
        assert_eq!(Caller::new("arn:aws:iam::123456789012:root", "123456789012", None).kind, CallerKind::Root);
        let pathed = Caller::new("arn:aws:iam::123456789012:user/eng/alice", "AIDA", None);
        assert_eq!(pathed.kind, CallerKind::User { name: "alice".into() });
        assert_eq!(
            Caller::new("arn:aws-us-gov:sts::123456789012:federated-user/f", "1:f", None).partition,
            "aws-us-gov"
        );
    }
}
