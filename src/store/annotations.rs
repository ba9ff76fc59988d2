//! What happened to a target over a time range, to draw on its charts: jobs (invalidations,
//! purges, event children) and alarm transitions. Dry runs changed nothing and are left out.

use super::{Store, StoreError};
use crate::domain::{AlarmState, JobState};

/// A job started on the target.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobMark {
    #[sqlx(rename = "created_at")]
    pub at: i64,
    pub id: i64,
    pub kind: String,
    pub requester: String,
    #[sqlx(try_from = "String")]
    pub state: JobState,
}

/// An alarm on the target changed state.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AlarmMark {
    pub at: i64,
    /// The alarm state's id.
    pub id: i64,
    pub alarm: String,
    #[sqlx(rename = "from_state", try_from = "String")]
    pub from: AlarmState,
    #[sqlx(rename = "to_state", try_from = "String")]
    pub to: AlarmState,
}

/// One mark on a chart's time axis.
#[derive(Debug, Clone, PartialEq)]
pub enum Annotation {
    Job(JobMark),
    Alarm(AlarmMark),
}

impl Annotation {
    pub fn at(&self) -> i64 {
        match self {
            Self::Job(j) => j.at,
            Self::Alarm(a) => a.at,
        }
    }
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
        let jobs: Vec<JobMark> = sqlx::query_as(
            "SELECT id, kind, requester, state, created_at FROM jobs \
             WHERE target = $1 AND dry_run = 0 AND created_at >= $2 AND created_at < $3 ORDER BY created_at DESC LIMIT $4",
        )
        .bind(target)
        .bind(from)
        .bind(to)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let alarms: Vec<AlarmMark> = sqlx::query_as(
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
        let mut out: Vec<Annotation> = jobs
            .into_iter()
            .map(Annotation::Job)
            .chain(alarms.into_iter().map(Annotation::Alarm))
            .collect();
        out.sort_by_key(Annotation::at);
        Ok(out)
    }
}
