//! The authenticated caller.

use crate::domain::{Scope, ScopeSet, TargetName};
pub use crate::service_error::AuthError;
use crate::store::{TokenRecord, UserRecord};

/// How a caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A bearer token (its id).
    Token(i64),
    /// A person signed in to the dashboard (their user id).
    User(i64),
    /// The daemon itself on behalf of configuration (a stream consumer).
    Internal,
}

/// A caller that presented a valid token, or a person with a live session. Both go through
/// the same checks: a role is a set of scopes and target limits, like a token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub caller: Caller,
    /// The token's or person's name: what the audit log and job requester show.
    pub name: String,
    pub scopes: ScopeSet,
    /// Empty: every target.
    pub targets: Vec<TargetName>,
}

impl From<TokenRecord> for Principal {
    fn from(t: TokenRecord) -> Self {
        Self {
            caller: Caller::Token(t.id),
            name: t.name.to_string(),
            scopes: t.scopes,
            targets: t.targets,
        }
    }
}

impl From<&UserRecord> for Principal {
    fn from(u: &UserRecord) -> Self {
        Self {
            caller: Caller::User(u.id),
            name: u.name.clone(),
            scopes: u.role.scopes(),
            targets: u.targets.clone(),
        }
    }
}

impl Principal {
    /// The caller in an error message: `token "deploy"`, `user "alice"`.
    pub fn describe(&self) -> String {
        match self.caller {
            Caller::Token(_) => format!("token {:?}", self.name),
            Caller::User(_) => format!("user {:?}", self.name),
            Caller::Internal => self.name.clone(),
        }
    }

    /// Succeeds when the token holds `scope` (see [`ScopeSet::allows`]).
    pub fn require(&self, scope: Scope) -> Result<(), AuthError> {
        if self.scopes.allows(scope) {
            Ok(())
        } else {
            Err(AuthError::MissingScope {
                who: self.describe(),
                needed: scope,
            })
        }
    }

    /// Whether the token may see or act on `target`.
    pub fn may_access(&self, target: &TargetName) -> bool {
        self.targets.is_empty() || self.targets.contains(target)
    }

    /// What a token limited to targets is told about a thing (`what`, e.g. "alarm state 7")
    /// that does not exist: the same as about one on a target it may not touch, so that
    /// limited tokens cannot probe for what exists elsewhere. Others are told it is missing.
    pub fn missing(&self, what: &str) -> Result<(), AuthError> {
        if self.targets.is_empty() {
            Ok(())
        } else {
            Err(AuthError::TargetNotAllowed {
                who: self.describe(),
                target: format!("(the target of {what})"),
            })
        }
    }

    /// Succeeds when the token holds `scope` and may act on `target`.
    pub fn require_target(&self, scope: Scope, target: &TargetName) -> Result<(), AuthError> {
        self.require(scope)?;
        if self.may_access(target) {
            Ok(())
        } else {
            Err(AuthError::TargetNotAllowed {
                who: self.describe(),
                target: target.to_string(),
            })
        }
    }
}
