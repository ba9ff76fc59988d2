//! What the API answers about a job: a typed response, separate from the stored row (no
//! request hash, no lease), plus the fields its kind adds for its own clients.

use serde::Serialize;
use serde_json::Value;

use crate::domain::JobState;
use crate::store::JobRecord;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: i64,
    pub kind: String,
    pub target: String,
    /// The token or person that asked.
    pub requester: String,
    pub idempotency_key: Option<String>,
    pub state: JobState,
    pub error: Option<String>,
    /// Someone asked to stop it; it stops at its next safe point, if it still can.
    pub cancel_requested: bool,
    /// It only looks (counts and samples) and changes nothing.
    pub dry_run: bool,
    /// As the kind stored it.
    #[schema(value_type = Object)]
    pub request: Value,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub progress: Option<Value>,
    /// The job this one was made for (an event's child).
    pub parent_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub deadline_at: i64,
    pub completed_at: Option<i64>,
    /// What it has done so far, in one line for people, when its kind says.
    pub summary: Option<String>,
    /// How far each part has got (each node's scan of a purge), when its kind says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub meters: Vec<super::Meter>,
    /// What it cost the target's hit ratio (shown for one job, not in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<crate::impact::Impact>,
}

impl JobView {
    pub fn new(job: JobRecord, summary: Option<String>) -> Self {
        Self {
            summary,
            meters: Vec::new(),
            impact: None,
            id: job.id,
            kind: job.kind,
            target: job.target,
            requester: job.requester,
            idempotency_key: job.idempotency_key,
            state: job.state,
            error: job.error,
            cancel_requested: job.cancel_requested,
            dry_run: job.dry_run,
            request: job.request,
            result: job.result,
            progress: job.progress,
            parent_id: job.parent_id,
            created_at: job.created_at,
            updated_at: job.updated_at,
            started_at: job.started_at,
            deadline_at: job.deadline_at,
            completed_at: job.completed_at,
        }
    }

    /// What its impact is measured from.
    pub fn change(&self) -> crate::impact::Change<'_> {
        crate::impact::Change {
            id: self.id,
            kind: &self.kind,
            requester: &self.requester,
            target: &self.target,
            state: self.state,
            dry_run: self.dry_run,
            created_at: self.created_at,
            started_at: self.started_at,
        }
    }

    /// Completed, failed or cancelled.
    pub fn is_final(&self) -> bool {
        self.state.is_final()
    }
}
