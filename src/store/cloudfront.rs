//! CloudFront batches: one CreateInvalidation each, serving one or more invalidation jobs
//! (requests coalesced within a window). CloudFront's own detail behind its executor: the
//! generic job row carries the batch as its `result`, rewritten whenever the batch changes.

use serde::Serialize;
use sqlx::FromRow;
use sqlx::any::AnyRow;

use super::columns::{Flag, JsonText};
use super::jobs::{JOB_COLUMNS, JobRecord, job_from_row};
use super::{Backend, Store, StoreError};

/// The job kind this module serves.
const KIND: &str = "cloudfront_invalidation";

/// Where a batch of paths sent to CloudFront stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Formed; not yet accepted by CloudFront.
    Pending,
    /// Accepted; CloudFront is invalidating.
    InProgress,
    Completed,
    Failed,
    /// Taken apart before sending (a job in it was cancelled).
    Cancelled,
}

impl BatchState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Completed, failed or cancelled.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::InProgress)
    }
}

/// How a stored row is read back.
impl TryFrom<String> for BatchState {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, StoreError> {
        [
            Self::Pending,
            Self::InProgress,
            Self::Completed,
            Self::Failed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt(format!("batch state {s:?}")))
    }
}

/// The CloudFront side of a job, as its `result`.
#[derive(
    Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema, sqlx::FromRow,
)]
#[schema(as = InvalidationResult)]
pub struct BatchInfo {
    /// The batch the job's paths went out in (with other jobs' paths, coalesced).
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub state: BatchState,
    pub caller_reference: String,
    /// CloudFront's invalidation id, once created.
    pub invalidation_id: Option<String>,
    /// The paths actually sent (coalesced with other jobs' items).
    #[sqlx(try_from = "JsonText")]
    pub items: Vec<String>,
    pub attempts: i64,
    /// Why the last attempt did not go through, while it is retried.
    #[sqlx(rename = "error")]
    pub note: Option<String>,
}

/// A batch as its executor works on it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Batch {
    pub id: i64,
    pub target: String,
    pub distribution_id: String,
    pub caller_reference: String,
    #[sqlx(try_from = "JsonText")]
    pub items: Vec<String>,
    #[sqlx(try_from = "String")]
    pub state: BatchState,
    pub invalidation_id: Option<String>,
    pub attempts: i64,
    pub sent_at: Option<i64>,
    /// An attempt may have reached CloudFront (an ambiguous error, or accepted).
    #[sqlx(try_from = "Flag")]
    pub maybe_sent: bool,
    /// The one job that drives it.
    pub lead_job_id: Option<i64>,
}

/// What a new batch holds, chosen by the executor from the candidates.
#[derive(Debug, Clone)]
pub struct BatchPlan {
    pub jobs: Vec<i64>,
    pub items: Vec<String>,
    pub files: i64,
    pub wildcards: i64,
}

const BATCH_COLUMNS: &str = "id, target, distribution_id, caller_reference, items, state, invalidation_id, attempts, sent_at, maybe_sent, lead_job_id";

/// Files and wildcards of a distribution's batches not yet ended.
const IN_FLIGHT: &str = "SELECT CAST(COALESCE(SUM(files), 0) AS BIGINT) AS files, CAST(COALESCE(SUM(wildcards), 0) AS BIGINT) AS wildcards \
     FROM cloudfront_batches WHERE distribution_id = $1 AND state IN ('pending', 'in_progress')";

fn batch_from_row(r: &AnyRow) -> Result<Batch, StoreError> {
    Ok(Batch::from_row(r)?)
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// Writes the batch, as each of its jobs shows it, into those jobs' `result`.
async fn sync_results(tx: &mut Tx<'_>, batch: i64, now: i64) -> Result<(), StoreError> {
    let info: BatchInfo = sqlx::query_as("SELECT id, state, caller_reference, invalidation_id, items, attempts, error FROM cloudfront_batches WHERE id = $1")
        .bind(batch)
        .fetch_one(&mut **tx)
        .await?;
    let json = serde_json::to_string(&info).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query("UPDATE jobs SET result = $1, updated_at = $2 WHERE id IN (SELECT job_id FROM cloudfront_batch_jobs WHERE batch_id = $3)")
        .bind(json)
        .bind(now)
        .bind(batch)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Ends every live job of a batch in `state`.
async fn finish_jobs(
    tx: &mut Tx<'_>,
    batch: i64,
    state: crate::domain::JobState,
    error: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET state = $1, error = $2, updated_at = $3, completed_at = $3, lease_owner = NULL, lease_until = NULL \
         WHERE id IN (SELECT job_id FROM cloudfront_batch_jobs WHERE batch_id = $4) AND state IN ('queued', 'running')",
    )
    .bind(state.as_str())
    .bind(error)
    .bind(now)
    .bind(batch)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A batch that ended frees room at CloudFront: jobs of its target waiting for room are due now.
async fn wake_waiting(tx: &mut Tx<'_>, batch: i64, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET run_after = $1 WHERE kind = $2 AND state IN ('queued', 'running') AND run_after > $1 \
         AND run_after < 9223372036854775807 AND target = (SELECT target FROM cloudfront_batches WHERE id = $3)",
    )
    .bind(now)
    .bind(KIND)
    .bind(batch)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// The batch a job is in, if it was batched.
    pub async fn batch_of_job(&self, job: i64) -> Result<Option<Batch>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {BATCH_COLUMNS} FROM cloudfront_batches WHERE id = (SELECT batch_id FROM cloudfront_batch_jobs WHERE job_id = $1)"
        ))
        .bind(job)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(batch_from_row).transpose()
    }

    /// The jobs a batch serves.
    pub async fn batch_jobs(&self, batch: i64) -> Result<Vec<JobRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id IN (SELECT job_id FROM cloudfront_batch_jobs WHERE batch_id = $1) ORDER BY id"
        ))
        .bind(batch)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Files and wildcards of a distribution's batches not yet ended (what counts against
    /// CloudFront's in-progress limits).
    pub async fn in_flight(&self, distribution_id: &str) -> Result<(i64, i64), StoreError> {
        Ok(sqlx::query_as(IN_FLIGHT)
            .bind(distribution_id)
            .fetch_one(self.pool())
            .await?)
    }

    /// Forms a batch led by job `lead` (claimed by `owner`) from the unbatched live jobs of
    /// `target` created at or before `cutoff` that no other worker holds, oldest first; `plan`
    /// chooses which fit. The lead drives the batch; the others are parked until it ends
    /// them. Returns the batch id, or `None` when the plan takes nothing.
    #[allow(clippy::too_many_arguments)]
    pub async fn form_batch(
        &self,
        target: &str,
        distribution_id: &str,
        lead: i64,
        owner: &str,
        cutoff: i64,
        now: i64,
        plan: impl FnOnce(&[JobRecord], (i64, i64)) -> Option<BatchPlan>,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE kind = $1 AND target = $2 AND state IN ('queued', 'running') AND created_at <= $3 \
             AND id NOT IN (SELECT job_id FROM cloudfront_batch_jobs) \
             AND (id = $4 OR lease_owner IS NULL OR lease_owner = $5 OR lease_until < $6) ORDER BY id{lock}"
        ))
        .bind(KIND)
        .bind(target)
        .bind(cutoff)
        .bind(lead)
        .bind(owner)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let candidates: Vec<JobRecord> = rows.iter().map(job_from_row).collect::<Result<_, _>>()?;
        let in_flight: (i64, i64) = sqlx::query_as(IN_FLIGHT)
            .bind(distribution_id)
            .fetch_one(&mut *tx)
            .await?;
        let Some(plan) = plan(&candidates, in_flight).filter(|p| p.jobs.contains(&lead)) else {
            return Ok(None);
        };
        let items_json =
            serde_json::to_string(&plan.items).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let provisional = format!("pending-{}", uuid::Uuid::new_v4());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cloudfront_batches (target, distribution_id, caller_reference, items, files, wildcards, state, next_attempt_at, created_at, lead_job_id) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $8) RETURNING id",
        )
        .bind(target)
        .bind(distribution_id)
        .bind(&provisional)
        .bind(&items_json)
        .bind(plan.files)
        .bind(plan.wildcards)
        .bind(now)
        .bind(lead)
        .fetch_one(&mut *tx)
        .await?;
        // Derived from the batch id and its items: a retried call after a crash or a timeout
        // sends the same reference, and CloudFront answers with the invalidation it has.
        let digest = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(items_json.as_bytes()))
        };
        sqlx::query("UPDATE cloudfront_batches SET caller_reference = $1 WHERE id = $2")
            .bind(format!("cachewarden-{id}-{}", &digest[..16]))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for job in &plan.jobs {
            sqlx::query("INSERT INTO cloudfront_batch_jobs (job_id, batch_id) VALUES ($1, $2)")
                .bind(job)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let run_after = if *job == lead { now } else { i64::MAX };
            sqlx::query(
                "UPDATE jobs SET state = 'running', started_at = COALESCE(started_at, $1), updated_at = $1, run_after = $2 WHERE id = $3",
            )
            .bind(now)
            .bind(run_after)
            .bind(job)
            .execute(&mut *tx)
            .await?;
        }
        sync_results(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// CloudFront accepted the batch. The first acceptance is billed (a retry with the same
    /// caller reference is not); `completed` when CloudFront already says so.
    pub async fn batch_accepted(
        &self,
        b: &Batch,
        invalidation_id: &str,
        completed: bool,
        month: &str,
        now: i64,
        next_check: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let state = if completed {
            "completed"
        } else {
            "in_progress"
        };
        let first = sqlx::query(
            "UPDATE cloudfront_batches SET state = $1, invalidation_id = $2, sent_at = COALESCE(sent_at, $3), attempts = attempts + 1, \
             next_attempt_at = $4, error = NULL, completed_at = $5, maybe_sent = 1 WHERE id = $6 AND state = 'pending'",
        )
        .bind(state)
        .bind(invalidation_id)
        .bind(now)
        .bind(next_check)
        .bind(completed.then_some(now))
        .bind(b.id)
        .execute(&mut *tx)
        .await?;
        // Billed once: only the update that moved the batch out of `pending` counts.
        if first.rows_affected() == 1 && b.sent_at.is_none() {
            sqlx::query("INSERT INTO cloudfront_billing (month, paths) VALUES ($1, $2) ON CONFLICT (month) DO UPDATE SET paths = cloudfront_billing.paths + excluded.paths")
                .bind(month)
                .bind(b.items.len() as i64)
                .execute(&mut *tx)
                .await?;
        }
        if completed {
            finish_jobs(&mut tx, b.id, crate::domain::JobState::Completed, None, now).await?;
            wake_waiting(&mut tx, b.id, now).await?;
        }
        sync_results(&mut tx, b.id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The attempt did not go through but will be retried at `next_at`; `maybe_sent` when the
    /// error leaves open whether CloudFront received it.
    pub async fn batch_retry(
        &self,
        id: i64,
        note: &str,
        next_at: i64,
        maybe_sent: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE cloudfront_batches SET attempts = attempts + 1, next_attempt_at = $1, error = $2, \
             maybe_sent = CASE WHEN $3 = 1 THEN 1 ELSE maybe_sent END WHERE id = $4",
        )
        .bind(next_at)
        .bind(note)
        .bind(i64::from(maybe_sent))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sync_results(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// CloudFront says the invalidation is done.
    pub async fn batch_completed(&self, id: i64, now: i64) -> Result<(), StoreError> {
        self.end_batch(id, BatchState::Completed, None, now).await
    }

    /// The batch cannot succeed; its jobs fail with `error`.
    pub async fn batch_failed(&self, id: i64, error: &str, now: i64) -> Result<(), StoreError> {
        self.end_batch(id, BatchState::Failed, Some(error), now)
            .await
    }

    async fn end_batch(
        &self,
        id: i64,
        state: BatchState,
        error: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE cloudfront_batches SET state = $1, completed_at = $2, error = $3 WHERE id = $4",
        )
        .bind(state.as_str())
        .bind(now)
        .bind(error)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        // A batch's end is its jobs' end: the two states are named alike.
        let job_state = match state {
            BatchState::Completed => crate::domain::JobState::Completed,
            BatchState::Cancelled => crate::domain::JobState::Cancelled,
            _ => crate::domain::JobState::Failed,
        };
        finish_jobs(&mut tx, id, job_state, error, now).await?;
        wake_waiting(&mut tx, id, now).await?;
        sync_results(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes apart a batch CloudFront has certainly not received, because some of its jobs
    /// were asked to stop: those are cancelled, the others go back to being batched.
    pub async fn dissolve_batch(&self, id: i64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE cloudfront_batches SET state = 'cancelled', completed_at = $1, error = 'dissolved: a job in it was cancelled' WHERE id = $2 AND maybe_sent = 0")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE jobs SET state = 'cancelled', error = 'cancelled on request before CloudFront accepted it', result = NULL, \
             lease_owner = NULL, lease_until = NULL, updated_at = $1, completed_at = $1 \
             WHERE cancel_requested = 1 AND state IN ('queued', 'running') AND id IN (SELECT job_id FROM cloudfront_batch_jobs WHERE batch_id = $2)",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE jobs SET run_after = $1, result = NULL, updated_at = $1 \
             WHERE state IN ('queued', 'running') AND id IN (SELECT job_id FROM cloudfront_batch_jobs WHERE batch_id = $2)",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM cloudfront_batch_jobs WHERE batch_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The earliest deadline among a batch's jobs.
    pub async fn batch_deadline(&self, id: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(deadline_at) AS d FROM jobs WHERE id IN (SELECT job_id FROM cloudfront_batch_jobs WHERE batch_id = $1)",
        )
        .bind(id)
        .fetch_one(self.pool())
        .await?)
    }

    /// Paths billed in `month` (`YYYY-MM`).
    pub async fn billed_paths(&self, month: &str) -> Result<i64, StoreError> {
        let paths: Option<i64> =
            sqlx::query_scalar("SELECT paths FROM cloudfront_billing WHERE month = $1")
                .bind(month)
                .fetch_optional(self.pool())
                .await?;
        Ok(paths.unwrap_or(0))
    }
}
