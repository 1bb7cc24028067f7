//! The IAM reads `rolesh doctor` makes, and the only module that touches aws-sdk-iam: a role's
//! trust policy and maximum session duration, the caller's own policies and tags. Each may be
//! refused; a refusal names the permission that was missing, so the doctor can say which one
//! would settle a check.

use std::collections::BTreeMap;

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::config::{BehaviorVersion, Region};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};

use crate::credentials::Credentials;
use crate::env::Env;

/// A role as GetRole describes it.
#[derive(Debug, Clone)]
pub struct Role {
    pub arn: String,
    /// The trust policy, decoded (IAM sends it URL-encoded).
    pub trust_policy: String,
    pub max_session_duration: Option<u32>,
}

/// One identity policy document and where it came from, for messages.
#[derive(Debug, Clone)]
pub struct Document {
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// AccessDenied and its kin: the caller lacks the permission.
    Denied,
    /// NoSuchEntity: the role (or user) does not exist.
    NotFound,
    /// No answer: connection refused, DNS, TLS, timeout.
    Unreachable,
    Other,
}

/// A refused or failed read: which permission it needed, on what, and what IAM said.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: FailureKind,
    /// `iam:GetRole`.
    pub action: &'static str,
    /// The ARN the permission is needed on.
    pub resource: String,
    pub code: String,
    pub message: String,
}

impl Failure {
    /// `iam:GetRole on arn:aws:iam::123456789012:role/x`.
    pub fn permission(&self) -> String {
        format!("{} on {}", self.action, self.resource)
    }

    /// One line: what was refused and IAM's words.
    pub fn describe(&self) -> String {
        match self.kind {
            FailureKind::Unreachable => format!("could not reach IAM for {}: {}", self.action, self.message),
            _ if self.message.is_empty() => format!("{} was refused ({})", self.permission(), self.code),
            _ => format!("{} was refused ({}: {})", self.permission(), self.code, self.message),
        }
    }
}

/// The region IAM (a global service) signs in, by partition.
fn signing_region(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "cn-north-1",
        "aws-us-gov" => "us-gov-west-1",
        "aws-iso" => "us-iso-east-1",
        "aws-iso-b" => "us-isob-east-1",
        _ => "us-east-1",
    }
}

/// IAM, as the holder of `creds`, in `partition`. The endpoint is the SDKs' own setting
/// (`AWS_ENDPOINT_URL_IAM`, else `AWS_ENDPOINT_URL`), else AWS's.
pub struct Iam {
    client: aws_sdk_iam::Client,
    partition: String,
    account: String,
}

impl Iam {
    pub fn new(env: &Env, partition: &str, account: &str, creds: &Credentials) -> Iam {
        let sdk_creds = aws_sdk_iam::config::Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.expose().to_string(),
            creds.session_token.as_ref().map(|t| t.expose().to_string()),
            None,
            "rolesh",
        );
        let mut conf = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(signing_region(partition)))
            .credentials_provider(sdk_creds)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(super::sts::timeouts());
        if let Some(url) = super::sts::configured_url(env, "IAM") {
            conf = conf.endpoint_url(url);
        }
        Iam {
            client: aws_sdk_iam::Client::from_conf(conf.build()),
            partition: partition.to_string(),
            account: account.to_string(),
        }
    }

    fn arn(&self, resource: &str) -> String {
        format!("arn:{}:iam::{}:{resource}", self.partition, self.account)
    }

    /// GetRole: the trust policy and the maximum session duration of `role_arn` (a role of the
    /// caller's own account: IAM reads do not cross accounts).
    pub async fn role(&self, role_arn: &str) -> Result<Role, Failure> {
        let name = role_arn.rsplit('/').next().unwrap_or_default();
        let out =
            self.client.get_role().role_name(name).send().await.map_err(|e| failure(e, "iam:GetRole", role_arn))?;
        let role = out.role().ok_or_else(|| malformed("iam:GetRole", role_arn))?;
        Ok(Role {
            arn: role.arn().to_string(),
            trust_policy: crate::doctor::policy::decode_document(
                role.assume_role_policy_document().unwrap_or_default(),
            ),
            max_session_duration: role.max_session_duration().and_then(|d| u32::try_from(d).ok()),
        })
    }

    /// A user's tags (`aws:PrincipalTag/…`), keys lower-cased: condition keys are
    /// case-insensitive.
    pub async fn user_tags(&self, user: &str) -> Result<BTreeMap<String, String>, Failure> {
        let resource = self.arn(&format!("user/{user}"));
        let out = self
            .client
            .list_user_tags()
            .user_name(user)
            .max_items(1000)
            .send()
            .await
            .map_err(|e| failure(e, "iam:ListUserTags", &resource))?;
        Ok(out.tags().iter().map(|t| (t.key().to_ascii_lowercase(), t.value().to_string())).collect())
    }

    /// A role's tags, which its sessions carry as `aws:PrincipalTag/…`.
    pub async fn role_tags(&self, role: &str) -> Result<BTreeMap<String, String>, Failure> {
        let resource = self.arn(&format!("role/{role}"));
        let out = self
            .client
            .list_role_tags()
            .role_name(role)
            .max_items(1000)
            .send()
            .await
            .map_err(|e| failure(e, "iam:ListRoleTags", &resource))?;
        Ok(out.tags().iter().map(|t| (t.key().to_ascii_lowercase(), t.value().to_string())).collect())
    }

    /// Every identity policy of IAM user `user`: attached, inline, and those of its groups.
    pub async fn user_policies(&self, user: &str) -> Result<Vec<Document>, Failure> {
        let user_arn = self.arn(&format!("user/{user}"));
        let mut docs = Vec::new();
        let attached = self
            .client
            .list_attached_user_policies()
            .user_name(user)
            .max_items(1000)
            .send()
            .await
            .map_err(|e| failure(e, "iam:ListAttachedUserPolicies", &user_arn))?;
        for p in attached.attached_policies() {
            docs.push(self.managed(p.policy_arn().unwrap_or_default()).await?);
        }
        let inline = self
            .client
            .list_user_policies()
            .user_name(user)
            .max_items(1000)
            .send()
            .await
            .map_err(|e| failure(e, "iam:ListUserPolicies", &user_arn))?;
        for name in inline.policy_names() {
            let out = self
                .client
                .get_user_policy()
                .user_name(user)
                .policy_name(name)
                .send()
                .await
                .map_err(|e| failure(e, "iam:GetUserPolicy", &user_arn))?;
            docs.push(Document {
                name: format!("inline policy `{name}` of user {user}"),
                text: out.policy_document().into(),
            });
        }
        let groups = self
            .client
            .list_groups_for_user()
            .user_name(user)
            .max_items(1000)
            .send()
            .await
            .map_err(|e| failure(e, "iam:ListGroupsForUser", &user_arn))?;
        for group in groups.groups() {
            let g = group.group_name();
            let group_arn = group.arn().to_string();
            let attached = self
                .client
                .list_attached_group_policies()
                .group_name(g)
                .max_items(1000)
                .send()
                .await
                .map_err(|e| failure(e, "iam:ListAttachedGroupPolicies", &group_arn))?;
            for p in attached.attached_policies() {
                docs.push(self.managed(p.policy_arn().unwrap_or_default()).await?);
            }
            let inline = self
                .client
                .list_group_policies()
                .group_name(g)
                .max_items(1000)
                .send()
                .await
                .map_err(|e| failure(e, "iam:ListGroupPolicies", &group_arn))?;
            for name in inline.policy_names() {
                let out = self
                    .client
                    .get_group_policy()
                    .group_name(g)
                    .policy_name(name)
                    .send()
                    .await
                    .map_err(|e| failure(e, "iam:GetGroupPolicy", &group_arn))?;
                docs.push(Document {
                    name: format!("inline policy `{name}` of group {g}"),
                    text: out.policy_document().into(),
                });
            }
        }
        Ok(docs)
    }

    /// Every identity policy of role `role` (whose session is the caller): attached and inline.
    pub async fn role_policies(&self, role: &str) -> Result<Vec<Document>, Failure> {
        let role_arn = self.arn(&format!("role/{role}"));
        let mut docs = Vec::new();
        let attached = self
            .client
            .list_attached_role_policies()
            .role_name(role)
            .max_items(1000)
            .send()
            .await
            .map_err(|e| failure(e, "iam:ListAttachedRolePolicies", &role_arn))?;
        for p in attached.attached_policies() {
            docs.push(self.managed(p.policy_arn().unwrap_or_default()).await?);
        }
        let inline = self
            .client
            .list_role_policies()
            .role_name(role)
            .max_items(1000)
            .send()
            .await
            .map_err(|e| failure(e, "iam:ListRolePolicies", &role_arn))?;
        for name in inline.policy_names() {
            let out = self
                .client
                .get_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
                .map_err(|e| failure(e, "iam:GetRolePolicy", &role_arn))?;
            docs.push(Document {
                name: format!("inline policy `{name}` of role {role}"),
                text: out.policy_document().into(),
            });
        }
        Ok(docs)
    }

    /// A managed policy's default version.
    async fn managed(&self, arn: &str) -> Result<Document, Failure> {
        let policy =
            self.client.get_policy().policy_arn(arn).send().await.map_err(|e| failure(e, "iam:GetPolicy", arn))?;
        let version = policy.policy().and_then(|p| p.default_version_id()).unwrap_or("v1").to_string();
        let out = self
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&version)
            .send()
            .await
            .map_err(|e| failure(e, "iam:GetPolicyVersion", arn))?;
        let text = out.policy_version().and_then(|v| v.document()).unwrap_or_default().to_string();
        Ok(Document { name: format!("managed policy {arn}"), text })
    }
}

fn malformed(action: &'static str, resource: &str) -> Failure {
    Failure {
        kind: FailureKind::Other,
        action,
        resource: resource.to_string(),
        code: "Malformed".into(),
        message: "IAM answered without the expected data".into(),
    }
}

fn failure<E>(e: SdkError<E, HttpResponse>, action: &'static str, resource: &str) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let resource = resource.to_string();
    if !matches!(e, SdkError::ServiceError(_)) {
        let message = match &e {
            SdkError::TimeoutError(_) => "no answer in time".to_string(),
            _ => crate::error::one_line(&e),
        };
        return Failure { kind: FailureKind::Unreachable, action, resource, code: String::new(), message };
    }
    let code = e.code().unwrap_or("Unknown").to_string();
    let message = e.message().unwrap_or_default().replace(['\n', '\r'], " ");
    let kind = match code.as_str() {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => FailureKind::Denied,
        "NoSuchEntity" | "NoSuchEntityException" => FailureKind::NotFound,
        _ => FailureKind::Other,
    };
    Failure { kind, action, resource, code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_signs_in_the_partitions_home_region() {
        assert_eq!(signing_region("aws"), "us-east-1");
        assert_eq!(signing_region("aws-cn"), "cn-north-1");
        assert_eq!(signing_region("aws-us-gov"), "us-gov-west-1");
    }

    #[test]
    fn a_refusal_names_the_permission_and_the_resource() {
        let f = Failure {
            kind: FailureKind::Denied,
            action: "iam:GetRole",
            resource: "arn:aws:iam::123456789012:role/x".into(),
            code: "AccessDenied".into(),
            message: "nope".into(),
        };
        assert_eq!(f.permission(), "iam:GetRole on arn:aws:iam::123456789012:role/x");
        assert_eq!(f.describe(), "iam:GetRole on arn:aws:iam::123456789012:role/x was refused (AccessDenied: nope)");
    }
}
