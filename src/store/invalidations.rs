//! Invalidation jobs and the CloudFront batches that serve them.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError};

/// A job as requested.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub target: String,
    pub requester: String,
    pub idempotency_key: Option<String>,
    /// Hash of the canonical request, to tell a retry from a different request with a reused key.
    pub request_hash: String,
    /// The items as requested (validated).
    pub items: Vec<String>,
    pub deadline_at: i64,
}

/// The CloudFront side of a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchInfo {
    pub id: i64,
    pub state: String,
    pub caller_reference: String,
    /// CloudFront's invalidation id, once created.
    pub invalidation_id: Option<String>,
    /// The paths actually sent (coalesced with other jobs' items).
    pub items: Vec<String>,
    pub attempts: i64,
    /// Why the last attempt did not go through, while it is retried.
    pub note: Option<String>,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    pub id: i64,
    pub target: String,
    pub requester: String,
    pub idempotency_key: Option<String>,
    #[serde(skip)]
    pub request_hash: String,
    pub items: Vec<String>,
    pub state: String,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deadline_at: i64,
    pub completed_at: Option<i64>,
    pub cloudfront: Option<BatchInfo>,
}

impl JobRecord {
    /// Completed, failed or cancelled: nothing more will happen.
    pub fn is_final(&self) -> bool {
        matches!(self.state.as_str(), "completed" | "failed" | "cancelled")
    }
}

/// A batch due for work.
#[derive(Debug, Clone)]
pub struct Batch {
    pub id: i64,
    pub target: String,
    pub distribution_id: String,
    pub caller_reference: String,
    pub items: Vec<String>,
    pub state: String,
    pub invalidation_id: Option<String>,
    pub attempts: i64,
    pub sent_at: Option<i64>,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub target: Option<String>,
    pub state: Option<String>,
    /// Only jobs of these targets (a token limited to targets); `None`: all.
    pub targets: Option<Vec<crate::domain::TargetName>>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

const JOB_COLUMNS: &str = "j.id, j.target, j.requester, j.idempotency_key, j.request_hash, j.items, j.state, j.error, \
    j.created_at, j.updated_at, j.deadline_at, j.completed_at, b.id AS b_id, b.state AS b_state, b.caller_reference, \
    b.invalidation_id, b.items AS b_items, b.attempts, b.error AS b_error";

fn json_list(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("item list: {e}")))
}

fn job_from_row(r: &AnyRow) -> Result<JobRecord, StoreError> {
    let batch_id: Option<i64> = r.try_get("b_id")?;
    let cloudfront = match batch_id {
        None => None,
        Some(id) => Some(BatchInfo {
            id,
            state: r.try_get("b_state")?,
            caller_reference: r.try_get("caller_reference")?,
            invalidation_id: r.try_get("invalidation_id")?,
            items: json_list(&r.try_get::<String, _>("b_items")?)?,
            attempts: r.try_get("attempts")?,
            note: r.try_get("b_error")?,
        }),
    };
    Ok(JobRecord {
        id: r.try_get("id")?,
        target: r.try_get("target")?,
        requester: r.try_get("requester")?,
        idempotency_key: r.try_get("idempotency_key")?,
        request_hash: r.try_get("request_hash")?,
        items: json_list(&r.try_get::<String, _>("items")?)?,
        state: r.try_get("state")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        deadline_at: r.try_get("deadline_at")?,
        completed_at: r.try_get("completed_at")?,
        cloudfront,
    })
}

fn batch_from_row(r: &AnyRow) -> Result<Batch, StoreError> {
    Ok(Batch {
        id: r.try_get("id")?,
        target: r.try_get("target")?,
        distribution_id: r.try_get("distribution_id")?,
        caller_reference: r.try_get("caller_reference")?,
        items: json_list(&r.try_get::<String, _>("items")?)?,
        state: r.try_get("state")?,
        invalidation_id: r.try_get("invalidation_id")?,
        attempts: r.try_get("attempts")?,
        sent_at: r.try_get("sent_at")?,
    })
}

impl Store {
    /// Stores a job, or returns the job already stored under the same idempotency key for the
    /// same target: `(job, created)`. The same key with a different request is a conflict.
    pub async fn create_job(
        &self,
        job: &NewJob,
        now: i64,
    ) -> Result<(JobRecord, bool), StoreError> {
        if let Some(key) = &job.idempotency_key
            && let Some(existing) = self.job_by_key(&job.target, key).await?
        {
            return same_request(existing, job).map(|j| (j, false));
        }
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO invalidation_jobs (target, requester, idempotency_key, request_hash, items, state, created_at, updated_at, deadline_at) \
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6, $7) RETURNING id",
        )
        .bind(&job.target)
        .bind(&job.requester)
        .bind(job.idempotency_key.as_deref())
        .bind(&job.request_hash)
        .bind(serde_json::to_string(&job.items).unwrap_or_default())
        .bind(now)
        .bind(job.deadline_at)
        .fetch_one(self.pool())
        .await;
        match inserted {
            Ok(id) => Ok((self.job(id).await?.ok_or(StoreError::NotFound)?, true)),
            // Two requests with one key raced: the loser answers with the winner's job.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                let key = job.idempotency_key.as_deref().unwrap_or_default();
                let existing = self
                    .job_by_key(&job.target, key)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                same_request(existing, job).map(|j| (j, false))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn job_by_key(&self, target: &str, key: &str) -> Result<Option<JobRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM invalidation_jobs j LEFT JOIN cloudfront_batches b ON b.id = j.batch_id \
             WHERE j.target = $1 AND j.idempotency_key = $2"
        ))
        .bind(target)
        .bind(key)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// One job with its CloudFront side.
    pub async fn job(&self, id: i64) -> Result<Option<JobRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM invalidation_jobs j LEFT JOIN cloudfront_batches b ON b.id = j.batch_id WHERE j.id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Jobs, newest first.
    pub async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<JobRecord>, StoreError> {
        let mut sql = format!(
            "SELECT {JOB_COLUMNS} FROM invalidation_jobs j LEFT JOIN cloudfront_batches b ON b.id = j.batch_id \
             WHERE ($1 IS NULL OR j.target = $1) AND ($2 IS NULL OR j.state = $2) AND ($3 IS NULL OR j.id < $3)"
        );
        if let Some(targets) = &f.targets {
            // Inlined: target names are parsed names (a-z, 0-9, '-', '_', '.'), which cannot
            // break out of a quoted literal; an empty list matches nothing.
            let list: Vec<String> = targets
                .iter()
                .map(|t| format!("'{}'", t.as_str()))
                .collect();
            sql.push_str(&format!(
                " AND j.target IN ({})",
                if list.is_empty() {
                    "NULL".into()
                } else {
                    list.join(",")
                }
            ));
        }
        sql.push_str(" ORDER BY j.id DESC LIMIT $4");
        let rows = sqlx::query(&sql)
            .bind(f.target.as_deref())
            .bind(f.state.as_deref())
            .bind(f.before_id)
            .bind(i64::from(f.limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Targets with queued jobs, the oldest of which was created at or before `cutoff`.
    pub async fn targets_ready_to_batch(&self, cutoff: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT target FROM invalidation_jobs WHERE state = 'queued' GROUP BY target HAVING MIN(created_at) <= $1 ORDER BY target",
        )
        .bind(cutoff)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| r.try_get("target").map_err(StoreError::from))
            .collect()
    }

    /// Queued jobs of a target, oldest first.
    pub async fn queued_jobs(&self, target: &str) -> Result<Vec<JobRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM invalidation_jobs j LEFT JOIN cloudfront_batches b ON b.id = j.batch_id \
             WHERE j.target = $1 AND j.state = 'queued' ORDER BY j.id"
        ))
        .bind(target)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Files and wildcards of a distribution's batches not yet completed (what counts against
    /// CloudFront's in-progress limits).
    pub async fn in_flight(&self, distribution_id: &str) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(files), 0) AS BIGINT) AS files, CAST(COALESCE(SUM(wildcards), 0) AS BIGINT) AS wildcards \
             FROM cloudfront_batches WHERE distribution_id = $1 AND state IN ('pending', 'in_progress')",
        )
        .bind(distribution_id)
        .fetch_one(self.pool())
        .await?;
        Ok((row.try_get("files")?, row.try_get("wildcards")?))
    }

    /// Creates a batch for `jobs` and marks them running, in one transaction. The caller
    /// reference is derived from the batch id and a digest of the items.
    pub async fn create_batch(
        &self,
        target: &str,
        distribution_id: &str,
        items: &[String],
        counts: (i64, i64),
        jobs: &[i64],
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let items_json = serde_json::to_string(items).unwrap_or_default();
        let provisional = format!("pending-{}", uuid::Uuid::new_v4());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cloudfront_batches (target, distribution_id, caller_reference, items, files, wildcards, state, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) RETURNING id",
        )
        .bind(target)
        .bind(distribution_id)
        .bind(&provisional)
        .bind(&items_json)
        .bind(counts.0)
        .bind(counts.1)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let digest = crate::auth::hash_token(&items_json);
        sqlx::query("UPDATE cloudfront_batches SET caller_reference = $1 WHERE id = $2")
            .bind(format!("cachewarden-{id}-{}", &digest[..16]))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for job in jobs {
            sqlx::query("UPDATE invalidation_jobs SET state = 'running', batch_id = $1, updated_at = $2 WHERE id = $3 AND state = 'queued'")
                .bind(id)
                .bind(now)
                .bind(job)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Batches in `state` whose next attempt is due.
    pub async fn due_batches(&self, state: &str, now: i64) -> Result<Vec<Batch>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, target, distribution_id, caller_reference, items, state, invalidation_id, attempts, sent_at \
             FROM cloudfront_batches WHERE state = $1 AND next_attempt_at <= $2 ORDER BY id",
        )
        .bind(state)
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(batch_from_row).collect()
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
        sqlx::query(
            "UPDATE cloudfront_batches SET state = $1, invalidation_id = $2, sent_at = COALESCE(sent_at, $3), attempts = attempts + 1, \
             next_attempt_at = $4, error = NULL, completed_at = $5 WHERE id = $6",
        )
        .bind(state)
        .bind(invalidation_id)
        .bind(now)
        .bind(next_check)
        .bind(completed.then_some(now))
        .bind(b.id)
        .execute(&mut *tx)
        .await?;
        if b.sent_at.is_none() {
            sqlx::query("INSERT INTO cloudfront_billing (month, paths) VALUES ($1, $2) ON CONFLICT (month) DO UPDATE SET paths = cloudfront_billing.paths + excluded.paths")
                .bind(month)
                .bind(b.items.len() as i64)
                .execute(&mut *tx)
                .await?;
        }
        if completed {
            finish_jobs(&mut tx, b.id, "completed", None, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The attempt did not go through but will be retried at `next_at`.
    pub async fn batch_retry(&self, id: i64, note: &str, next_at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE cloudfront_batches SET attempts = attempts + 1, next_attempt_at = $1, error = $2 WHERE id = $3")
            .bind(next_at)
            .bind(note)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// CloudFront says the invalidation is done.
    pub async fn batch_completed(&self, id: i64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE cloudfront_batches SET state = 'completed', completed_at = $1, error = NULL WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        finish_jobs(&mut tx, id, "completed", None, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The batch cannot succeed; its jobs fail with `error`.
    pub async fn batch_failed(&self, id: i64, error: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE cloudfront_batches SET state = 'failed', completed_at = $1, error = $2 WHERE id = $3")
            .bind(now)
            .bind(error)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        finish_jobs(&mut tx, id, "failed", Some(error), now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The earliest deadline among a batch's jobs.
    pub async fn batch_deadline(&self, id: i64) -> Result<Option<i64>, StoreError> {
        let row =
            sqlx::query("SELECT MIN(deadline_at) AS d FROM invalidation_jobs WHERE batch_id = $1")
                .bind(id)
                .fetch_one(self.pool())
                .await?;
        Ok(row.try_get("d")?)
    }

    /// Fails one queued job (it can no longer be carried out).
    pub async fn fail_queued_job(&self, id: i64, error: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE invalidation_jobs SET state = 'failed', error = $1, updated_at = $2, completed_at = $2 WHERE id = $3 AND state = 'queued'",
        )
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Fails queued jobs past their deadline (they never fit within CloudFront's limits).
    pub async fn expire_queued_jobs(&self, now: i64, error: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE invalidation_jobs SET state = 'failed', error = $1, updated_at = $2, completed_at = $2 WHERE state = 'queued' AND deadline_at <= $2",
        )
        .bind(error)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Paths billed in `month` (`YYYY-MM`).
    pub async fn billed_paths(&self, month: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT paths FROM cloudfront_billing WHERE month = $1")
            .bind(month)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("paths")).transpose()?.unwrap_or(0))
    }

    /// The newest purge or invalidation cachewarden ran on `target` whose expected-dip window
    /// (from its creation until `window` after it completed) contains `now`. Failed and
    /// cancelled jobs purged nothing, so they open no window.
    pub async fn expected_dip(
        &self,
        target: &str,
        now: i64,
        window: i64,
    ) -> Result<Option<i64>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(id) FROM invalidation_jobs WHERE target = $1 AND state IN ('queued', 'running', 'completed') \
             AND created_at <= $2 AND COALESCE(completed_at, $2) >= $2 - $3",
        )
        .bind(target)
        .bind(now)
        .bind(window)
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }
}

/// A stored job answers a request with the same key only if it is the same request.
fn same_request(existing: JobRecord, job: &NewJob) -> Result<JobRecord, StoreError> {
    if existing.request_hash == job.request_hash {
        Ok(existing)
    } else {
        Err(StoreError::Conflict(format!(
            "idempotency key {:?} was already used for a different request (job {}); use a new key for new items",
            job.idempotency_key.as_deref().unwrap_or_default(),
            existing.id
        )))
    }
}

async fn finish_jobs(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    batch: i64,
    state: &str,
    error: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE invalidation_jobs SET state = $1, error = $2, updated_at = $3, completed_at = $3 WHERE batch_id = $4 AND state = 'running'")
        .bind(state)
        .bind(error)
        .bind(now)
        .bind(batch)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
