//! What can go wrong when asking a service (jobs, silences, acknowledgements) for something:
//! the caller's fault (invalid, refused, forbidden, not found, conflict) or ours (the store).
//! The HTTP layer maps it once to a status and the JSON error shape.

use serde_json::Value;

use crate::domain::Scope;
use crate::store::StoreError;

/// Why a call is not allowed. `Unauthenticated` is a 401 (who are you?), `Forbidden` a 403
/// (we know who you are, and the answer is no).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// `who` is the caller as `auth::Principal::describe` puts it (`token "deploy"`).
    #[error("{who} lacks the {needed} scope")]
    MissingScope { who: String, needed: Scope },
    #[error("{who} is not allowed to act on target {target:?}")]
    TargetNotAllowed { who: String, target: String },
    /// A caller limited to some targets asked for something that reaches beyond one target.
    #[error("{who} is limited to some targets; {hint}")]
    NamedTargetOnly { who: String, hint: &'static str },
    /// The token store could not be reached: neither yes nor no, try again.
    #[error("the token could not be checked; try again")]
    Unavailable,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is malformed; `field` names what, `details` lists each bad element.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        field: Option<String>,
        message: String,
        details: Vec<Value>,
    },
    /// Well-formed, but a rule refuses it now (a budget, a guard rail); `field` names the
    /// input that would let it through (`confirm`), when one would.
    #[error("{message}")]
    Refused {
        code: &'static str,
        message: String,
        field: Option<&'static str>,
    },
    #[error(transparent)]
    Forbidden(#[from] AuthError),
    #[error("{0}")]
    NotFound(String),
    /// It contradicts what is stored (a reused idempotency key, cancelling a finished job).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Ours: the store failed. The cause is kept for the log.
    #[error("the store failed")]
    Store(#[source] StoreError),
}

impl ServiceError {
    /// A bad field, with the rule it broke.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            code: "invalid_request",
            field: Some(field.into()),
            message: message.into(),
            details: Vec::new(),
        }
    }
}

impl ServiceError {
    /// Refused by a guard rail that the target's name in `confirm` waives. The message says
    /// what is beyond the rail; how to confirm is each client's to say (`--confirm NAME` on
    /// the command line, a field on the page).
    pub fn needs_confirmation(message: impl Into<String>) -> Self {
        Self::Refused {
            code: "confirmation_required",
            message: message.into(),
            field: Some("confirm"),
        }
    }

    /// Refused by a rule that nothing in the request can waive (a budget, an unreachable
    /// target).
    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            message: message.into(),
            field: None,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(message) => Self::Conflict {
                code: "conflict",
                message,
            },
            other => Self::Store(other),
        }
    }
}

/// One bad element of a list in a request: where it is, what it was, and the rule it broke.
pub struct BadItem {
    pub field: String,
    pub item: String,
    pub message: String,
}

impl ServiceError {
    /// Every bad element of a list at once (so a caller fixes them all in one go), or `Ok`
    /// when there are none. The message names the first; `details` names each.
    pub fn bad_items(code: &'static str, total: usize, bad: Vec<BadItem>) -> Result<(), Self> {
        let Some(first) = bad.first() else {
            return Ok(());
        };
        let message = match bad.len() {
            1 => first.message.clone(),
            n => format!(
                "{n} of {total} items are invalid; first: {}: {}",
                first.field, first.message
            ),
        };
        let field = Some(first.field.clone());
        let details = bad
            .into_iter()
            .map(|b| serde_json::json!({ "field": b.field, "item": b.item, "message": b.message }))
            .collect();
        Err(Self::Invalid {
            code,
            field,
            message,
            details,
        })
    }
}
