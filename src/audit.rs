//! The audit log as the HTTP layer uses it: every mutation is appended (by the middleware,
//! whatever its outcome), and admins read it back, filtered.

use serde::Serialize;

use crate::auth::Principal;
use crate::domain::Scope;
use crate::service_error::ServiceError;
use crate::store::{AuditEntry, AuditQuery, AuditRecord, Outcome, Store, StoreError, now_ms};

/// What an audit read asks for, as sent: every filter is plain text.
#[derive(Debug, Default)]
pub struct AuditRequest {
    pub limit: u32,
    pub before: Option<i64>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
}

/// A page of the log, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditRecord>,
    /// Pass as `before` for the next (older) page; null on the last.
    pub next_before: Option<i64>,
}

pub struct AuditLog {
    store: Store,
}

impl AuditLog {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Appends an entry.
    pub async fn record(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        self.store.record_audit(entry, now_ms()).await
    }

    /// A page of entries (scope admin), the filters checked: plain text, and an outcome that
    /// exists.
    pub async fn read(&self, who: &Principal, r: AuditRequest) -> Result<AuditPage, ServiceError> {
        who.require(Scope::Admin)?;
        for (field, value) in [
            ("actor", &r.actor),
            ("target", &r.target),
            ("action", &r.action),
        ] {
            if let Some(v) = value {
                crate::domain::text::filter(v).map_err(|e| ServiceError::invalid(field, e))?;
            }
        }
        let outcome = r
            .outcome
            .as_deref()
            .map(|o| {
                Outcome::parse(o).ok_or_else(|| {
                    ServiceError::invalid(
                        "outcome",
                        format!("{o:?} is not an outcome: ok, denied, invalid or error"),
                    )
                })
            })
            .transpose()?;
        let query = AuditQuery {
            limit: r.limit,
            before_id: r.before,
            actor: r.actor,
            target: r.target,
            action: r.action,
            outcome,
        };
        let entries = self.store.list_audit(&query).await?;
        let next_before = (entries.len() == r.limit as usize)
            .then(|| entries.last().map(|e| e.id))
            .flatten();
        Ok(AuditPage {
            entries,
            next_before,
        })
    }
}
