//! Creating and revoking tokens, shared by the CLI and the API so both apply the same rules
//! and write the same audit entries.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::issue;
use crate::config::Settings;
use crate::domain::{Scope, ScopeSet, TargetName, TokenName};
use crate::service_error::ServiceError;
use crate::store::{NewToken, Store, StoreError, TokenRecord, now_ms};

/// A request for a new token, as people write it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Who or what it is for; the actor in the audit log.
    #[schema(value_type = crate::domain::TokenName)]
    pub name: String,
    #[schema(min_items = 1, value_type = Vec<crate::domain::Scope>)]
    pub scopes: Vec<String>,
    /// Limit the token to these targets; empty or absent: every target.
    #[serde(default)]
    #[schema(value_type = Vec<crate::domain::TargetName>)]
    pub targets: Vec<String>,
    /// Lifetime such as `90d`; absent: no expiry.
    #[serde(default)]
    #[schema(pattern = "^[1-9][0-9]{0,3}(m|h|d)$")]
    pub expires_in: Option<String>,
}

/// A field of a [`TokenRequest`] that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Why a token could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn field(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Checks a request against the rules and the configured targets.
/// The longest lifetime a token may be given.
const MAX_LIFETIME: Duration = Duration::from_secs(100 * 365 * 86_400);

pub fn parse_request(
    req: &TokenRequest,
    settings: &Settings,
) -> Result<NewTokenSpec, Vec<FieldError>> {
    // Every field is checked, so a form shows each of its mistakes at once.
    let mut errors = Vec::new();
    let name = TokenName::parse(&req.name)
        .map_err(|e| errors.push(field("name", format!("{:?} {e}", req.name))))
        .ok();
    if req.scopes.is_empty() {
        errors.push(field(
            "scopes",
            "must name at least one of read, invalidate, purge, respond, admin",
        ));
    }
    let mut scopes = Vec::new();
    for (i, s) in req.scopes.iter().enumerate() {
        match s.parse::<Scope>() {
            Ok(scope) => scopes.push(scope),
            Err(e) => errors.push(field(format!("scopes[{i}]"), e.to_string())),
        }
    }
    let mut targets = Vec::new();
    for (i, t) in req.targets.iter().enumerate() {
        match TargetName::parse(t) {
            // Refusing unknown names catches typos that would otherwise make a token useless.
            Ok(name) if settings.target(&name).is_none() => errors.push(field(
                format!("targets[{i}]"),
                format!("{t:?} is not a configured target"),
            )),
            Ok(name) => targets.push(name),
            Err(e) => errors.push(field(format!("targets[{i}]"), format!("{t:?} {e}"))),
        }
    }
    let lifetime = match &req.expires_in {
        None => None,
        Some(text) => match humantime::parse_duration(text) {
            Ok(d) if d < Duration::from_secs(60) => {
                errors.push(field("expires_in", "must be at least 1m"));
                None
            }
            // Checked here, so that adding it to the current time can never overflow.
            Ok(d) if d > MAX_LIFETIME => {
                errors.push(field(
                    "expires_in",
                    "must be at most 100y (omit it for a token that does not expire)",
                ));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                errors.push(field(
                    "expires_in",
                    format!("{text:?} is not a duration like \"90d\" ({e})"),
                ));
                None
            }
        },
    };
    match name {
        Some(name) if errors.is_empty() => Ok(NewTokenSpec {
            name,
            scopes: ScopeSet::new(scopes),
            targets,
            lifetime,
        }),
        _ => Err(errors),
    }
}

/// A checked request.
#[derive(Debug, Clone)]
pub struct NewTokenSpec {
    pub name: TokenName,
    pub scopes: ScopeSet,
    pub targets: Vec<TargetName>,
    pub lifetime: Option<Duration>,
}

/// Creates the token; returns its secret (to show once) and the stored record.
pub async fn create(
    store: &Store,
    spec: &NewTokenSpec,
    created_by: &str,
) -> Result<(SecretString, TokenRecord), StoreError> {
    let issued = issue();
    let now = now_ms();
    let record = store
        .create_token(
            &NewToken {
                name: spec.name.clone(),
                token_hash: issued.hash,
                prefix: issued.prefix,
                scopes: spec.scopes.clone(),
                targets: spec.targets.clone(),
                created_by: created_by.to_owned(),
                expires_at: spec.lifetime.map(|d| now + d.as_millis() as i64),
            },
            now,
        )
        .await?;
    Ok((issued.secret, record))
}

/// Revokes the active token named `name`: refused when the name is not a token name,
/// not found when no active token has it.
pub async fn revoke(store: &Store, name: &str) -> Result<TokenRecord, ServiceError> {
    let parsed = TokenName::parse(name)
        .map_err(|e| ServiceError::invalid("name", format!("{name:?} {e}")))?;
    store
        .revoke_token(&parsed, now_ms())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ServiceError::NotFound(format!("no active token named {name:?}"))
            }
            other => other.into(),
        })
}

/// What the audit log keeps about a token: everything but its secret.
pub fn audit_detail(record: &TokenRecord) -> serde_json::Value {
    serde_json::json!({
        "token": record.name,
        "prefix": record.prefix,
        "scopes": record.scopes,
        "targets": record.targets,
        "expires_at": record.expires_at,
    })
}
