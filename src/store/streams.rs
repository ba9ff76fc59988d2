//! Where each DynamoDB stream was read to: checkpoints per shard, and the first read.

use super::columns::Flag;
use super::{Store, StoreError};

/// How far one shard was read.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Checkpoint {
    pub shard_id: String,
    /// The last sequence number whose events were accepted.
    pub sequence: Option<String>,
    /// Closed and read to its end: its children may be read.
    #[sqlx(try_from = "Flag")]
    pub finished: bool,
}

impl Store {
    /// Every checkpoint of `stream`.
    pub async fn stream_checkpoints(&self, stream: &str) -> Result<Vec<Checkpoint>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT shard_id, sequence, finished FROM stream_checkpoints WHERE stream = $1 ORDER BY shard_id",
        )
        .bind(stream)
        .fetch_all(self.pool())
        .await?)
    }

    /// Records that `shard_id` was read to `sequence` (and to its end, when `finished`).
    pub async fn save_checkpoint(
        &self,
        stream: &str,
        c: &Checkpoint,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO stream_checkpoints (stream, shard_id, sequence, finished, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (stream, shard_id) DO UPDATE SET sequence = COALESCE(excluded.sequence, stream_checkpoints.sequence), \
             finished = excluded.finished, updated_at = excluded.updated_at",
        )
        .bind(stream)
        .bind(&c.shard_id)
        .bind(c.sequence.as_deref())
        .bind(i64::from(c.finished))
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// When `stream` was first read: `now` the first time it is asked, the stored time after.
    pub async fn stream_started(&self, stream: &str, now: i64) -> Result<i64, StoreError> {
        sqlx::query("INSERT INTO stream_starts (stream, started_at) VALUES ($1, $2) ON CONFLICT (stream) DO NOTHING")
            .bind(stream)
            .bind(now)
            .execute(self.pool())
            .await?;
        let at: i64 = sqlx::query_scalar("SELECT started_at FROM stream_starts WHERE stream = $1")
            .bind(stream)
            .fetch_one(self.pool())
            .await?;
        Ok(at)
    }
}
