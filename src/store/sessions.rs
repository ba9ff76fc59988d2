//! Dashboard sessions (stored by the SHA-256 of their secret) and failed sign-ins.

use super::users::{COLUMNS, UserRecord};
use super::{Store, StoreError, only_row};

/// A session to store; `id_hash` is the SHA-256 of the cookie's secret.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf: String,
    pub address: String,
    pub expires_at: i64,
}

/// A live session and the person it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    #[sqlx(flatten)]
    pub user: UserRecord,
    pub csrf: String,
    #[sqlx(rename = "s_created")]
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

impl Store {
    pub async fn create_session(&self, s: &NewSession, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf, address, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(&s.id_hash)
        .bind(s.user_id)
        .bind(&s.csrf)
        .bind(&s.address)
        .bind(now)
        .bind(s.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The session with this hash, whatever its age: expiry is the caller's rule. `None`
    /// when there is none or it was revoked.
    pub async fn find_session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let cols = COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(sqlx::query_as(&format!(
            "SELECT {cols}, s.csrf, s.created_at AS s_created, s.last_seen_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.revoked_at IS NULL"
        ))
        .bind(id_hash)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Records activity (idle expiry counts from here).
    pub async fn touch_session(&self, id_hash: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(id_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends one session (signing out); false when it was not live.
    pub async fn revoke_session(&self, id_hash: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE id_hash = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id_hash)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Counts a failed sign-in under each key (`user:NAME`, `addr:IP`, …), and forgets the
    /// failures that no longer count: those before `keep_since`, and the oldest beyond `cap`
    /// rows, so that a sustained attack from ever new addresses cannot grow the table without
    /// bound (at the price of forgetting its oldest failures early).
    pub async fn record_sign_in_failure(
        &self,
        keys: &[&str],
        now: i64,
        keep_since: i64,
        cap: u32,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for key in keys {
            sqlx::query("INSERT INTO sign_in_failures (key, at) VALUES ($1, $2)")
                .bind(*key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
            .bind(keep_since)
            .execute(&mut *tx)
            .await?;
        // The time of the cap-th newest failure, through the index on `at`; older ones go.
        sqlx::query(
            "DELETE FROM sign_in_failures WHERE at < \
             (SELECT at FROM sign_in_failures ORDER BY at DESC LIMIT 1 OFFSET $1)",
        )
        .bind(i64::from(cap))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remembers that the browser holding the device secret hashed to `id_hash` signed in
    /// as `user_id`.
    pub async fn trust_device(
        &self,
        id_hash: &str,
        user_id: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO trusted_devices (id_hash, user_id, created_at, last_used_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (id_hash) DO UPDATE SET user_id = excluded.user_id, last_used_at = excluded.last_used_at",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The person a device secret's hash signed in as, if it did since `since`.
    pub async fn trusted_device_user(
        &self,
        id_hash: &str,
        since: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM trusted_devices WHERE id_hash = $1 AND last_used_at >= $2",
        )
        .bind(id_hash)
        .bind(since)
        .fetch_optional(self.pool())
        .await?)
    }

    /// How many failed sign-ins are remembered (for tests of the bound).
    pub async fn count_sign_in_failures(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sign_in_failures")
            .fetch_one(self.pool())
            .await?)
    }

    /// Failed sign-ins under `key` since `since`, and the oldest of them (when the window
    /// frees a place).
    pub async fn sign_in_failures(
        &self,
        key: &str,
        since: i64,
    ) -> Result<(i64, Option<i64>), StoreError> {
        sqlx::query_as(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM sign_in_failures WHERE key = $1 AND at >= $2",
        )
        .bind(key)
        .bind(since)
        .fetch_all(self.pool())
        .await
        .map(only_row)?
        .ok_or(StoreError::NotFound)
    }

    /// Forgets failures under `key` (a successful sign-in), and every failure older than
    /// `before` (so the table stays small).
    pub async fn clear_sign_in_failures(&self, key: &str, before: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sign_in_failures WHERE key = $1 OR at < $2")
            .bind(key)
            .bind(before)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Deletes sessions that ended (expired or revoked) before `before`, and failed
    /// sign-ins older than it; returns how many sessions went.
    pub async fn prune_sessions(&self, before: i64) -> Result<u64, StoreError> {
        let gone = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
            .bind(before)
            .execute(self.pool())
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
            .bind(before)
            .execute(self.pool())
            .await?;
        Ok(gone)
    }

    /// Forgets browsers unused since `before`.
    pub async fn prune_trusted_devices(&self, before: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM trusted_devices WHERE last_used_at < $1")
                .bind(before)
                .execute(self.pool())
                .await?
                .rows_affected(),
        )
    }
}
