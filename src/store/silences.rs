//! Silences: people holding the notifications of an alarm, or of alarms on matching targets,
//! until a time or until the alarm resolves.

use serde::Serialize;
use sqlx::any::AnyRow;

use super::{Store, StoreError, inserted_row};

/// One silence.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Silence {
    pub id: i64,
    /// One alarm state (an alarm on one target).
    #[sqlx(rename = "state_id")]
    pub alarm_id: Option<i64>,
    /// An alarm name.
    pub alarm: Option<String>,
    /// A target name or glob.
    pub target: Option<String>,
    /// Ends then; `None`: when the alarm (`alarm_id`) resolves.
    #[sqlx(rename = "until_at")]
    pub until: Option<i64>,
    pub comment: String,
    pub created_by: String,
    pub created_at: i64,
    /// Expired early by someone, or ended by the resolution.
    pub ended_at: Option<i64>,
    pub ended_by: Option<String>,
}

impl Silence {
    /// Whether it holds notifications at `now`.
    pub fn is_active(&self, now: i64) -> bool {
        self.ended_at.is_none() && self.until.is_none_or(|u| now < u)
    }
}

/// A silence to create; what it matches is checked by the caller.
#[derive(Debug, Clone, Default)]
pub struct NewSilence {
    pub alarm_id: Option<i64>,
    pub alarm: Option<String>,
    pub target: Option<String>,
    pub until: Option<i64>,
    pub comment: String,
    pub created_by: String,
}

const COLUMNS: &str =
    "id, state_id, alarm, target, until_at, comment, created_by, created_at, ended_at, ended_by";

fn from_row(r: &AnyRow) -> Result<Silence, StoreError> {
    super::record(r)
}

impl Store {
    pub async fn create_silence(&self, s: &NewSilence, now: i64) -> Result<Silence, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO silences (state_id, alarm, target, until_at, comment, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        ))
        .bind(s.alarm_id)
        .bind(s.alarm.as_deref())
        .bind(s.target.as_deref())
        .bind(s.until)
        .bind(&s.comment)
        .bind(&s.created_by)
        .bind(now)
        .fetch_all(self.pool())
        .await
        .and_then(inserted_row)?;
        from_row(&row)
    }

    pub async fn silence(&self, id: i64) -> Result<Option<Silence>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM silences WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Silences active at `now` (what the evaluator consults), oldest first.
    pub async fn active_silences(&self, now: i64) -> Result<Vec<Silence>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM silences WHERE ended_at IS NULL AND (until_at IS NULL OR until_at > $1) ORDER BY id"
        ))
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every silence, newest first.
    pub async fn list_silences(&self, limit: u32) -> Result<Vec<Silence>, StoreError> {
        self.silences_before(None, limit).await
    }

    /// Silences older than `before` (an id), newest first: a page of a longer read.
    pub async fn silences_before(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Silence>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM silences WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
        ))
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Changes when a silence ends and its comment.
    pub async fn update_silence(
        &self,
        id: i64,
        until: Option<i64>,
        comment: &str,
    ) -> Result<Option<Silence>, StoreError> {
        sqlx::query("UPDATE silences SET until_at = $1, comment = $2 WHERE id = $3")
            .bind(until)
            .bind(comment)
            .bind(id)
            .execute(self.pool())
            .await?;
        self.silence(id).await
    }

    /// Expires a silence now (kept for the record); ending it twice keeps the first end.
    pub async fn end_silence(
        &self,
        id: i64,
        by: &str,
        now: i64,
    ) -> Result<Option<Silence>, StoreError> {
        sqlx::query(
            "UPDATE silences SET ended_at = $1, ended_by = $2 WHERE id = $3 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(by)
        .bind(id)
        .execute(self.pool())
        .await?;
        self.silence(id).await
    }
}
