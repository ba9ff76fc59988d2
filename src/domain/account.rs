//! An AWS account reached through a role: a target's `role_arn`, `external_id` and
//! `session_name`, checked as STS would check them. Assuming the role is `aws::account`'s.

use std::fmt;

/// A role to assume. `external_id` is a shared secret of sorts: it is never printed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Account {
    role_arn: String,
    external_id: Option<String>,
    session_name: String,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("role_arn", &self.role_arn)
            .field(
                "external_id",
                &self.external_id.as_ref().map(|_| "<redacted>"),
            )
            .field("session_name", &self.session_name)
            .finish()
    }
}

/// The session name when none is configured: it shows in the account's CloudTrail.
pub const DEFAULT_SESSION_NAME: &str = "cachewarden";

/// Which of an account's settings is wrong, and why (for `check-config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountError {
    pub key: &'static str,
    pub message: String,
}

fn refuse(key: &'static str, message: impl Into<String>) -> AccountError {
    AccountError {
        key,
        message: message.into(),
    }
}

/// Whether every character of `s` is a letter, digit or one of `extra`.
fn made_of(s: &str, extra: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(c))
}

impl Account {
    /// Checks the three settings as STS would: an IAM role ARN with a 12-digit account, an
    /// external id of 2 to 1,224 characters, a session name of 2 to 64.
    pub fn parse(
        role_arn: &str,
        external_id: Option<&str>,
        session_name: Option<&str>,
    ) -> Result<Self, AccountError> {
        let parts: Vec<&str> = role_arn.splitn(6, ':').collect();
        let valid = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "iam"
            && parts[3].is_empty()
            && parts[4].len() == 12
            && parts[4].chars().all(|c| c.is_ascii_digit())
            && parts[5]
                .strip_prefix("role/")
                .is_some_and(|name| !name.is_empty() && made_of(name, "+=,.@-/"));
        if !valid {
            return Err(refuse(
                "role_arn",
                format!(
                    "{role_arn:?} is not an IAM role ARN like \"arn:aws:iam::111111111111:role/cachewarden\""
                ),
            ));
        }
        if let Some(id) = external_id
            && !(2..=1224).contains(&id.len())
        {
            return Err(refuse("external_id", "must be 2 to 1,224 characters"));
        }
        if let Some(id) = external_id
            && !made_of(id, "+=,.@:/-")
        {
            return Err(refuse(
                "external_id",
                "may hold letters, digits and _+=,.@:/- only",
            ));
        }
        let session_name = session_name.unwrap_or(DEFAULT_SESSION_NAME);
        if !(2..=64).contains(&session_name.len()) || !made_of(session_name, "+=,.@-") {
            return Err(refuse(
                "session_name",
                "must be 2 to 64 letters, digits or _+=,.@-",
            ));
        }
        Ok(Self {
            role_arn: role_arn.to_owned(),
            external_id: external_id.map(str::to_owned),
            session_name: session_name.to_owned(),
        })
    }

    pub fn role_arn(&self) -> &str {
        &self.role_arn
    }

    /// The name of the sessions opened with the role (shown in the account's CloudTrail).
    pub fn session_name(&self) -> &str {
        &self.session_name
    }

    /// The external id (a secret: for comparing configurations only).
    pub fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }

    /// The 12-digit account the role belongs to.
    pub fn id(&self) -> &str {
        self.role_arn.split(':').nth(4).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_sts_would_refuse_are_refused_by_key() {
        let arn = "arn:aws:iam::111111111111:role/cachewarden";
        let cases: Vec<(&str, Option<&str>, Option<&str>, &str)> = vec![
            ("cachewarden", None, None, "role_arn"),
            ("arn:aws:iam::1111:role/x", None, None, "role_arn"),
            ("arn:aws:iam::111111111111:user/x", None, None, "role_arn"),
            ("arn:aws:iam::111111111111:role/", None, None, "role_arn"),
            ("arn:aws:s3:::111111111111:role/x", None, None, "role_arn"),
            (arn, Some("x"), None, "external_id"),
            (arn, Some("has space"), None, "external_id"),
            (arn, None, Some("a"), "session_name"),
            (arn, None, Some("no/slash"), "session_name"),
        ];
        for (role, external, session, key) in cases {
            let e = Account::parse(role, external, session).unwrap_err();
            assert_eq!(e.key, key, "{role} {external:?} {session:?}: {e:?}");
        }
        let a = Account::parse(
            "arn:aws-cn:iam::222222222222:role/team/cachewarden",
            Some("ext-1"),
            None,
        )
        .unwrap();
        assert_eq!(a.id(), "222222222222");
        assert!(
            !format!("{a:?}").contains("ext-1"),
            "the external id is not printed"
        );
    }
}
