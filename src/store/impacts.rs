//! Final impacts of changes, one row per job (see `crate::impact`).

use super::{Store, StoreError};

/// A final impact as stored.
pub struct NewImpact<'a> {
    pub job_id: i64,
    /// `measured` or `not_measurable`.
    pub state: &'a str,
    pub extra_misses: Option<f64>,
    pub recovered_after_ms: Option<i64>,
    /// The measurement as the API shows it (JSON).
    pub body: &'a str,
}

impl Store {
    /// The stored final impact of job `id` (its JSON), if it has one.
    pub async fn stored_impact(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT body FROM job_impacts WHERE job_id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Stores a final impact; `false` when the job had one already (another replica, or an
    /// earlier read, stored it first), so what counts it counts it once.
    pub async fn record_impact(&self, i: &NewImpact<'_>, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO job_impacts (job_id, state, extra_misses, recovered_after_ms, body, measured_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id) DO NOTHING",
        )
        .bind(i.job_id)
        .bind(i.state)
        .bind(i.extra_misses)
        .bind(i.recovered_after_ms)
        .bind(i.body)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
