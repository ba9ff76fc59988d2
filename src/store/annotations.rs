//! What happened to a target over a time range, to draw on its charts: jobs (invalidations,
//! purges, event children) and alarm transitions. Dry runs changed nothing and are left out.

use sqlx::Row;

use super::{Store, StoreError};

/// One mark on a chart's time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub at: i64,
    /// `job` or `alarm`.
    pub source: &'static str,
    /// The job's id, or the alarm state's.
    pub id: i64,
    /// The job's kind, or the alarm's name.
    pub what: String,
    /// The job's requester; empty for alarms (the daemon decided).
    pub who: String,
    /// The job's state, or `from → to` for an alarm.
    pub detail: String,
}

impl Store {
    /// Jobs created on `target` and transitions of its alarms within [from, to), oldest
    /// first, at most `limit` of each.
    pub async fn annotations(
        &self,
        target: &str,
        from: i64,
        to: i64,
        limit: u32,
    ) -> Result<Vec<Annotation>, StoreError> {
        let jobs = sqlx::query(
            "SELECT id, kind, requester, state, created_at FROM jobs \
             WHERE target = $1 AND dry_run = 0 AND created_at >= $2 AND created_at < $3 ORDER BY created_at DESC LIMIT $4",
        )
        .bind(target)
        .bind(from)
        .bind(to)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let alarms = sqlx::query(
            "SELECT s.id, s.alarm, t.from_state, t.to_state, t.at FROM alarm_transitions t \
             JOIN alarm_states s ON s.id = t.state_id \
             WHERE s.target = $1 AND t.at >= $2 AND t.at < $3 ORDER BY t.at DESC LIMIT $4",
        )
        .bind(target)
        .bind(from)
        .bind(to)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(jobs.len() + alarms.len());
        for r in &jobs {
            out.push(Annotation {
                at: r.try_get("created_at")?,
                source: "job",
                id: r.try_get("id")?,
                what: r.try_get("kind")?,
                who: r.try_get("requester")?,
                detail: r.try_get("state")?,
            });
        }
        for r in &alarms {
            let (from, to): (String, String) = (r.try_get("from_state")?, r.try_get("to_state")?);
            out.push(Annotation {
                at: r.try_get("at")?,
                source: "alarm",
                id: r.try_get("id")?,
                what: r.try_get("alarm")?,
                who: String::new(),
                detail: format!("{from} → {to}"),
            });
        }
        out.sort_by_key(|a| a.at);
        Ok(out)
    }
}
