//! The outcome of each target's latest poll.

use serde::Serialize;

use super::columns::Flag;
use super::{Store, StoreError};

/// How a target's latest poll went.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TargetStatus {
    pub target: String,
    #[sqlx(try_from = "Flag")]
    pub up: bool,
    pub last_poll_at: i64,
    pub last_success_at: Option<i64>,
    pub last_error: Option<String>,
    /// Up, but with something to fix (e.g. a metric the distribution does not publish).
    pub notice: Option<String>,
    pub duration_ms: i64,
}

impl Store {
    /// Records a poll's outcome; `last_success_at` is kept from before when the poll failed.
    pub async fn record_poll(&self, s: &TargetStatus) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO target_status (target, up, last_poll_at, last_success_at, last_error, notice, duration_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (target) DO UPDATE SET up = excluded.up, \
             last_poll_at = excluded.last_poll_at, \
             last_success_at = COALESCE(excluded.last_success_at, target_status.last_success_at), \
             last_error = excluded.last_error, notice = excluded.notice, duration_ms = excluded.duration_ms",
        )
        .bind(&s.target)
        .bind(i64::from(s.up))
        .bind(s.last_poll_at)
        .bind(s.last_success_at)
        .bind(s.last_error.as_deref())
        .bind(s.notice.as_deref())
        .bind(s.duration_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every target's latest poll.
    pub async fn list_target_status(&self) -> Result<Vec<TargetStatus>, StoreError> {
        self.target_statuses(None).await
    }

    /// How one target's latest poll went; `None` before its first poll.
    pub async fn target_status(&self, target: &str) -> Result<Option<TargetStatus>, StoreError> {
        Ok(self.target_statuses(Some(target)).await?.pop())
    }

    async fn target_statuses(&self, target: Option<&str>) -> Result<Vec<TargetStatus>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT target, up, last_poll_at, last_success_at, last_error, notice, duration_ms FROM target_status \
             WHERE ($1 IS NULL OR target = $1) ORDER BY target",
        )
        .bind(target)
        .fetch_all(self.pool())
        .await?)
    }
}
