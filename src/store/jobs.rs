//! Jobs of every kind: stored before anything external is called, claimed by workers with a
//! lease, finished once. The rules (which state follows which, what a kind does) live in
//! `domain::JobState` and `jobs`; this module only reads and writes rows, with the guards
//! that keep two workers or two replicas from acting on one job at once.

use serde_json::Value;
use sqlx::FromRow;
use sqlx::any::AnyRow;

use super::columns::{Flag, JsonText, MaybeJson};
use super::{Backend, Placeholders, Store, StoreError, inserted_row, only_row};
use crate::domain::{JobState, TargetName};

/// A job as submitted.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub target: String,
    pub requester: String,
    pub idempotency_key: Option<String>,
    /// Hash of the canonical request, to tell a retry from a different request with a reused key.
    pub request_hash: String,
    /// The request as the kind stores it.
    pub request: Value,
    pub deadline_at: i64,
    /// Not claimed before this time (a coalescing window).
    pub run_after: i64,
    /// It only looks and changes nothing (see `jobs::Validated::dry_run`).
    pub dry_run: bool,
    pub parent_id: Option<i64>,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub requester: String,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    #[sqlx(try_from = "JsonText")]
    pub request: Value,
    #[sqlx(try_from = "MaybeJson")]
    pub result: Option<Value>,
    #[sqlx(try_from = "MaybeJson")]
    pub progress: Option<Value>,
    #[sqlx(try_from = "String")]
    pub state: JobState,
    pub error: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub cancel_requested: bool,
    /// It only looked and changed nothing.
    #[sqlx(try_from = "Flag")]
    pub dry_run: bool,
    pub parent_id: Option<i64>,
    pub attempts: i64,
    pub run_after: i64,
    pub lease_owner: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub deadline_at: i64,
    pub completed_at: Option<i64>,
}

/// Which jobs to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only these kinds (the registry's names; empty: all).
    pub kinds: Vec<&'static str>,
    pub target: Option<String>,
    pub state: Option<JobState>,
    pub parent_id: Option<i64>,
    /// Only jobs of these targets (a token limited to targets); `None`: all.
    pub targets: Option<Vec<TargetName>>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// How a cancel request was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelRecorded {
    /// It was queued and is now cancelled.
    Cancelled,
    /// It is running and was asked to stop.
    Requested,
    /// It was already final (or does not exist).
    Unchanged,
}

pub(super) const JOB_COLUMNS: &str = "id, kind, target, requester, idempotency_key, request_hash, request, result, progress, state, \
    error, cancel_requested, dry_run, parent_id, attempts, run_after, lease_owner, created_at, updated_at, started_at, deadline_at, completed_at";

pub(super) fn job_from_row(r: &AnyRow) -> Result<JobRecord, StoreError> {
    Ok(JobRecord::from_row(r)?)
}

impl Store {
    /// Stores a job, or returns the job already stored under the same idempotency key for
    /// the same kind and target: `(job, created)`. The same key with a different request is a
    /// conflict.
    pub async fn create_job(
        &self,
        job: &NewJob,
        now: i64,
    ) -> Result<(JobRecord, bool), StoreError> {
        if let Some(key) = &job.idempotency_key
            && let Some(existing) = self.job_by_key(job.kind, &job.target, key).await?
        {
            return same_request(existing, job).map(|j| (j, false));
        }
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO jobs (kind, target, requester, idempotency_key, request_hash, request, state, parent_id, run_after, \
             created_at, updated_at, deadline_at, dry_run) VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9, $9, $10, $11) RETURNING id",
        )
        .bind(job.kind)
        .bind(&job.target)
        .bind(&job.requester)
        .bind(job.idempotency_key.as_deref())
        .bind(&job.request_hash)
        .bind(job.request.to_string())
        .bind(job.parent_id)
        .bind(job.run_after)
        .bind(now)
        .bind(job.deadline_at)
        .bind(i64::from(job.dry_run))
        .fetch_all(self.pool())
        .await
        .and_then(inserted_row);
        match inserted {
            // Not a 404: the caller asked for nothing that could be missing.
            Ok(id) => Ok((
                self.job(id).await?.ok_or_else(|| {
                    StoreError::Corrupt(format!("job {id} was inserted but cannot be read"))
                })?,
                true,
            )),
            // Two requests with one key raced: the loser answers with the winner's job.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                let key = job.idempotency_key.as_deref().unwrap_or_default();
                let existing = self
                    .job_by_key(job.kind, &job.target, key)
                    .await?
                    .ok_or_else(|| {
                        StoreError::Corrupt(
                            "a job with this key conflicts but cannot be read".into(),
                        )
                    })?;
                same_request(existing, job).map(|j| (j, false))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn job_by_key(
        &self,
        kind: &str,
        target: &str,
        key: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE kind = $1 AND target = $2 AND idempotency_key = $3"
        ))
        .bind(kind)
        .bind(target)
        .bind(key)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// One job.
    pub async fn job(&self, id: i64) -> Result<Option<JobRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Jobs, newest first: filtered in the query, then paged.
    pub async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<JobRecord>, StoreError> {
        let mut list = Placeholders::after(5);
        let kinds = if f.kinds.is_empty() {
            String::new()
        } else {
            format!(" AND kind IN ({})", list.take(f.kinds.len()))
        };
        let targets = match &f.targets {
            None => String::new(),
            // A token limited to no target sees no job.
            Some(t) if t.is_empty() => " AND 1 = 0".to_owned(),
            Some(t) => format!(" AND target IN ({})", list.take(t.len())),
        };
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 IS NULL OR target = $1) \
             AND ($2 IS NULL OR state = $2) AND ($3 IS NULL OR parent_id = $3) AND ($4 IS NULL OR id < $4){kinds}{targets} \
             ORDER BY id DESC LIMIT $5"
        );
        let mut q = sqlx::query_as(&sql)
            .bind(f.target.as_deref())
            .bind(f.state.map(JobState::as_str))
            .bind(f.parent_id)
            .bind(f.before_id)
            .bind(i64::from(f.limit));
        for k in &f.kinds {
            q = q.bind(*k);
        }
        for t in f.targets.iter().flatten() {
            q = q.bind(t.as_str());
        }
        Ok(q.fetch_all(self.pool()).await?)
    }

    /// Takes the oldest runnable job of one of `kinds` for `owner` until `now + lease_ms`: live,
    /// due, and not held by a live lease. On PostgreSQL the row is locked with `SKIP LOCKED`, so
    /// replicas claiming at once take different jobs; SQLite runs one writer at a time, which
    /// gives the same guarantee.
    pub async fn claim_job(
        &self,
        owner: &str,
        kinds: &[&str],
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<JobRecord>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let list = Placeholders::after(3).take(kinds.len());
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 WHERE id = (\
               SELECT id FROM jobs WHERE state IN ('queued', 'running') AND run_after <= $3 \
               AND (lease_until IS NULL OR lease_until < $3) AND kind IN ({list}) ORDER BY run_after, id LIMIT 1{lock}) \
             RETURNING {JOB_COLUMNS}"
        );
        let mut q = sqlx::query_as(&sql)
            .bind(owner)
            .bind(now.saturating_add(lease_ms))
            .bind(now);
        for k in kinds {
            q = q.bind(*k);
        }
        Ok(q.fetch_all(self.pool()).await.map(only_row)?)
    }

    /// Extends `owner`'s lease; `false` when the lease was lost (expired and taken by another
    /// worker, or the job ended).
    pub async fn renew_lease(&self, id: i64, owner: &str, until: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state IN ('queued', 'running')")
            .bind(until)
            .bind(id)
            .bind(owner)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Lets go of a job that has more to do from `run_after` on.
    pub async fn release_job(
        &self,
        id: i64,
        owner: &str,
        run_after: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET lease_owner = NULL, lease_until = NULL, run_after = $1, updated_at = $2 WHERE id = $3 AND lease_owner = $4",
        )
        .bind(run_after)
        .bind(now)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Makes a waiting job due at `now` (a parent whose child just ended).
    pub async fn wake_job(&self, id: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET run_after = $1 WHERE id = $2 AND state IN ('queued', 'running') AND run_after > $1",
        )
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Marks a job started (queued → running), once.
    pub async fn job_started(&self, id: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET state = 'running', started_at = COALESCE(started_at, $1), updated_at = $1 WHERE id = $2 AND state = 'queued'")
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Stores a running job's progress.
    pub async fn save_job_progress(
        &self,
        id: i64,
        progress: &Value,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET progress = $1, updated_at = $2 WHERE id = $3 AND state IN ('queued', 'running')")
            .bind(progress.to_string())
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends a live job in a final `state`, releasing its lease; `false` when it had already
    /// ended (a second worker, or its kind ended it with others in one transaction).
    pub async fn finish_job(
        &self,
        id: i64,
        state: JobState,
        result: Option<&Value>,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        debug_assert!(state.is_final());
        let done = sqlx::query(
            "UPDATE jobs SET state = $1, result = COALESCE($2, result), error = $3, lease_owner = NULL, lease_until = NULL, \
             updated_at = $4, completed_at = $4 WHERE id = $5 AND state IN ('queued', 'running')",
        )
        .bind(state.as_str())
        .bind(result.map(Value::to_string))
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a cancel request: a queued job is cancelled at once, a running one is flagged
    /// for its executor to see at its next safe point. Guarded by the state in the same
    /// statement, so a worker starting the job at that moment is never overruled.
    pub async fn request_cancel(
        &self,
        id: i64,
        by: &str,
        now: i64,
    ) -> Result<CancelRecorded, StoreError> {
        let cancelled = sqlx::query(
            "UPDATE jobs SET state = 'cancelled', cancel_requested = 1, error = $1, updated_at = $2, completed_at = $2 \
             WHERE id = $3 AND state = 'queued'",
        )
        .bind(format!("cancelled by {by} before it started"))
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        if cancelled.rows_affected() == 1 {
            return Ok(CancelRecorded::Cancelled);
        }
        let flagged = sqlx::query("UPDATE jobs SET cancel_requested = 1, updated_at = $1 WHERE id = $2 AND state = 'running'")
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(if flagged.rows_affected() == 1 {
            CancelRecorded::Requested
        } else {
            CancelRecorded::Unchanged
        })
    }

    /// Whether someone asked to cancel the job (read fresh, at a safe point).
    pub async fn cancel_requested(&self, id: i64) -> Result<bool, StoreError> {
        let v: Option<i64> = sqlx::query_scalar("SELECT cancel_requested FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(v.unwrap_or(0) != 0)
    }

    /// The newest change (job id and kind) cachewarden ran on `target` whose expected-dip window
    /// (from its creation until `window` after it completed) contains `now`. Failed and
    /// cancelled jobs, and dry runs, changed nothing, so they open no window.
    pub async fn expected_dip(
        &self,
        target: &str,
        now: i64,
        window: i64,
    ) -> Result<Option<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, kind FROM jobs WHERE target = $1 AND state IN ('queued', 'running', 'completed') AND dry_run = 0 \
             AND created_at <= $2 AND COALESCE(completed_at, $2) >= $2 - $3 ORDER BY id DESC LIMIT 1",
        )
        .bind(target)
        .bind(now)
        .bind(window)
        .fetch_optional(self.pool())
        .await?)
    }
}

impl Store {
    /// Completed changes (not dry runs) on `targets` that ended since `since` and have no
    /// final impact stored, oldest first.
    pub async fn unmeasured_changes(
        &self,
        since: i64,
        targets: &[&str],
        limit: i64,
    ) -> Result<Vec<JobRecord>, StoreError> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let list = Placeholders::after(2).take(targets.len());
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'completed' AND dry_run = 0 AND completed_at >= $1 \
             AND target IN ({list}) \
             AND NOT EXISTS (SELECT 1 FROM job_impacts i WHERE i.job_id = jobs.id) ORDER BY id LIMIT $2"
        );
        let mut q = sqlx::query_as(&sql).bind(since).bind(limit);
        for t in targets {
            q = q.bind(*t);
        }
        Ok(q.fetch_all(self.pool()).await?)
    }

    /// The next change on `target` after job `id` started at `at`: its id and when it was
    /// made. Failed and cancelled jobs, and dry runs, changed nothing, so they are not one.
    pub async fn next_change(
        &self,
        target: &str,
        id: i64,
        at: i64,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, created_at FROM jobs WHERE target = $1 AND id > $2 AND created_at >= $3 \
             AND state IN ('queued', 'running', 'completed') AND dry_run = 0 ORDER BY id LIMIT 1",
        )
        .bind(target)
        .bind(id)
        .bind(at)
        .fetch_optional(self.pool())
        .await?)
    }
}

/// A stored job answers a request with the same key only if it is the same request.
fn same_request(existing: JobRecord, job: &NewJob) -> Result<JobRecord, StoreError> {
    if existing.request_hash == job.request_hash {
        Ok(existing)
    } else {
        Err(StoreError::Conflict(format!(
            "idempotency key {:?} was already used for a different request (job {}); use a new key for a new request",
            job.idempotency_key.as_deref().unwrap_or_default(),
            existing.id
        )))
    }
}
