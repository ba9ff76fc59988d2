//! Final impacts of changes, one row per job (see `crate::impact`).

use super::{Store, StoreError};
use crate::domain::ImpactState;

/// A final impact as stored.
pub struct NewImpact<'a> {
    pub job_id: i64,
    pub state: ImpactState,
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
        .bind(i.state.as_str())
        .bind(i.extra_misses)
        .bind(i.recovered_after_ms)
        .bind(i.body)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// The extra misses of the measured changes of `kind` on `target` since `since` whose
    /// request holds a wildcard (`*`, which only a wildcard path can hold).
    pub async fn wildcard_impacts(
        &self,
        target: &str,
        kind: &str,
        since: i64,
    ) -> Result<Vec<f64>, StoreError> {
        let rows: Vec<Option<f64>> = sqlx::query_scalar(
            "SELECT i.extra_misses FROM job_impacts i JOIN jobs j ON j.id = i.job_id \
             WHERE j.target = $1 AND j.kind = $2 AND j.completed_at >= $3 AND i.state = $4 \
             AND j.request LIKE '%*%' ORDER BY j.id DESC LIMIT 1000",
        )
        .bind(target)
        .bind(kind)
        .bind(since)
        .bind(ImpactState::Measured.as_str())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().flatten().collect())
    }
}

/// One measured change, as reports add them up.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ImpactRow {
    pub job_id: i64,
    pub kind: String,
    pub target: String,
    pub requester: String,
    /// The event it was made for (its parent's type), if any.
    pub event_type: Option<String>,
    #[sqlx(try_from = "String")]
    pub state: ImpactState,
    pub extra_misses: Option<f64>,
    pub recovered_after_ms: Option<i64>,
}

/// Which measured changes a report covers.
pub struct ImpactFilter<'a> {
    /// Changes that ended at or after this time (ms).
    pub since: i64,
    pub target: Option<&'a str>,
    pub requester: Option<&'a str>,
    pub kind: Option<&'a str>,
    /// Only these targets (a caller limited to targets); `None`: all.
    pub targets: Option<&'a [crate::domain::TargetName]>,
}

/// The most changes one report adds up.
pub const MAX_REPORTED: i64 = 10_000;

impl Store {
    /// The changes with a final impact that `f` selects, newest first.
    pub async fn impacts(&self, f: &ImpactFilter<'_>) -> Result<Vec<ImpactRow>, StoreError> {
        let mut list = super::Placeholders::after(5);
        let targets = match f.targets {
            None => String::new(),
            Some([]) => " AND 1 = 0".to_owned(),
            Some(t) => format!(" AND j.target IN ({})", list.take(t.len())),
        };
        let sql = format!(
            "SELECT j.id AS job_id, j.kind, j.target, j.requester, p.target AS event_type, \
             i.state, i.extra_misses, i.recovered_after_ms \
             FROM job_impacts i JOIN jobs j ON j.id = i.job_id LEFT JOIN jobs p ON p.id = j.parent_id \
             WHERE j.completed_at >= $1 AND ($2 IS NULL OR j.target = $2) \
             AND ($3 IS NULL OR j.requester = $3) AND ($4 IS NULL OR j.kind = $4){targets} \
             ORDER BY j.id DESC LIMIT $5"
        );
        let mut q = sqlx::query_as(&sql)
            .bind(f.since)
            .bind(f.target)
            .bind(f.requester)
            .bind(f.kind)
            .bind(MAX_REPORTED);
        for t in f.targets.into_iter().flatten() {
            q = q.bind(t.as_str());
        }
        Ok(q.fetch_all(self.pool()).await?)
    }
}

/// A change with a measured impact, as a `change_cost` alarm reads it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CostedChange {
    pub job_id: i64,
    pub kind: String,
    pub requester: String,
    /// The measurement (the API's JSON).
    pub body: String,
    pub measured_at: i64,
}

impl Store {
    /// The changes on `target` measured (with figures) at or after `since`, newest first.
    pub async fn costed_changes(
        &self,
        target: &str,
        since: i64,
    ) -> Result<Vec<CostedChange>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT j.id AS job_id, j.kind, j.requester, i.body, i.measured_at \
             FROM job_impacts i JOIN jobs j ON j.id = i.job_id \
             WHERE j.target = $1 AND i.state = $2 AND i.measured_at >= $3 \
             ORDER BY j.id DESC LIMIT 100",
        )
        .bind(target)
        .bind(ImpactState::Measured.as_str())
        .bind(since)
        .fetch_all(self.pool())
        .await?)
    }
}
