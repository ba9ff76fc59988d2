//! The audit log: who did what, when, and how it ended. Append-only.

use serde::Serialize;

use super::columns::JsonText;
use super::{Store, StoreError, inserted_row};

/// How a mutating call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done.
    Ok,
    /// Refused: no or bad credentials, or not allowed.
    Denied,
    /// Refused: the request was malformed.
    Invalid,
    /// Accepted but failed on our side.
    Error,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::Denied,
        Outcome::Invalid,
        Outcome::Error,
    ];

    /// The outcome stored as `s`, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Invalid => "invalid",
            Outcome::Error => "error",
        }
    }

    /// The outcome an HTTP status stands for.
    pub fn from_status(status: u16) -> Self {
        match status {
            200..=399 => Outcome::Ok,
            401 | 403 => Outcome::Denied,
            400..=499 => Outcome::Invalid,
            _ => Outcome::Error,
        }
    }
}

/// How a stored row is read back.
impl TryFrom<String> for Outcome {
    type Error = StoreError;

    fn try_from(s: String) -> Result<Self, StoreError> {
        Self::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("audit outcome {s:?}")))
    }
}

/// One entry to append.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// Token name, `cli:USER`, or `anonymous`.
    pub actor: String,
    /// What was attempted, e.g. `POST /api/v1/tokens` or `token.create`.
    pub action: String,
    /// The target acted on, when there is one.
    pub target: Option<String>,
    pub outcome: Outcome,
    /// The HTTP status, for API calls.
    pub status: Option<u16>,
    pub request_id: Option<String>,
    /// Action-specific facts (never secrets), as a JSON object.
    pub detail: serde_json::Value,
}

/// A stored entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: i64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    #[sqlx(try_from = "String")]
    pub outcome: Outcome,
    pub status: Option<i64>,
    pub request_id: Option<String>,
    /// Action-specific facts (never secrets).
    #[sqlx(try_from = "JsonText")]
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// Which entries to read: newest first, `limit` of them, older than `before_id` when set,
/// narrowed by each filter that is set.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub limit: u32,
    pub before_id: Option<i64>,
    /// Exactly this actor.
    pub actor: Option<String>,
    /// Exactly this target.
    pub target: Option<String>,
    /// Actions containing this text (`tokens`, `POST /api/v1/purges`).
    pub action: Option<String>,
    /// Exactly this outcome.
    pub outcome: Option<Outcome>,
}

impl Store {
    /// Appends an entry; returns its id.
    pub async fn record_audit(&self, e: &AuditEntry, now: i64) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor, action, target, outcome, status, request_id, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(now)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(e.target.as_deref())
        .bind(e.outcome.as_str())
        .bind(e.status.map(i64::from))
        .bind(e.request_id.as_deref())
        .bind(e.detail.to_string())
        .fetch_all(self.pool())
        .await
        .and_then(inserted_row)?;
        Ok(id)
    }

    /// Reads entries, newest first.
    pub async fn list_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        // A LIKE pattern that matches the text literally (its % and _ escaped).
        let action = q.action.as_deref().map(|a| {
            let escaped = a
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, outcome, status, request_id, detail FROM audit_log \
             WHERE ($1 IS NULL OR id < $1) AND ($2 IS NULL OR actor = $2) AND ($4 IS NULL OR target = $4) \
             AND ($5 IS NULL OR action LIKE $5 ESCAPE '\\') AND ($6 IS NULL OR outcome = $6) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(q.before_id)
        .bind(q.actor.as_deref())
        .bind(i64::from(q.limit))
        .bind(q.target.as_deref())
        .bind(action.as_deref())
        .bind(q.outcome.map(Outcome::as_str))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(super::record).collect()
    }
}
