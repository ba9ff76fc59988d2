//! The authenticated caller.

use crate::domain::{Scope, ScopeSet, TargetName, TokenName};
use crate::store::TokenRecord;

/// A caller that presented a valid token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: i64,
    pub name: TokenName,
    pub scopes: ScopeSet,
    /// Empty: every target.
    pub targets: Vec<TargetName>,
}

/// Why a call is not allowed. `Unauthenticated` is a 401 (who are you?), `Forbidden` a 403
/// (we know who you are, and the answer is no).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("token {token:?} lacks the {needed} scope")]
    MissingScope { token: String, needed: Scope },
    #[error("token {token:?} is not allowed to act on target {target:?}")]
    TargetNotAllowed { token: String, target: String },
    /// A token limited to some targets asked for something that reaches beyond one target.
    #[error("token {token:?} is limited to some targets; {hint}")]
    NamedTargetOnly { token: String, hint: &'static str },
    /// The token store could not be reached: neither yes nor no, try again.
    #[error("the token could not be checked; try again")]
    Unavailable,
}

impl From<TokenRecord> for Principal {
    fn from(t: TokenRecord) -> Self {
        Self {
            token_id: t.id,
            name: t.name,
            scopes: t.scopes,
            targets: t.targets,
        }
    }
}

impl Principal {
    /// Succeeds when the token holds `scope` (see [`ScopeSet::allows`]).
    pub fn require(&self, scope: Scope) -> Result<(), AuthError> {
        if self.scopes.allows(scope) {
            Ok(())
        } else {
            Err(AuthError::MissingScope {
                token: self.name.to_string(),
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
                token: self.name.to_string(),
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
                token: self.name.to_string(),
                target: target.to_string(),
            })
        }
    }
}
