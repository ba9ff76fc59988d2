//! The notification outbox.

use serde::Serialize;
use sqlx::FromRow;
use sqlx::any::AnyRow;

use super::columns::JsonText;
use super::{Store, StoreError};
use crate::domain::DeliveryState;

/// A notification to deliver.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Notification {
    pub id: i64,
    pub transition_id: i64,
    pub notifier: String,
    /// 0 for a transition's own message; 1, 2… for reminders and released messages.
    pub seq: i64,
    /// `alarm`, `resolved` or `reminder`.
    pub kind: String,
    /// The message as receivers get it.
    #[sqlx(try_from = "JsonText")]
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    #[sqlx(try_from = "String")]
    pub state: DeliveryState,
    /// What held it (state `held`): a silence, an acknowledgement, a window, an expected dip.
    pub held_by: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// A notification to write with a transition.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub notifier: String,
    pub kind: String,
    pub payload: serde_json::Value,
}

const COLUMNS: &str = "id, transition_id, notifier, seq, kind, payload, state, held_by, attempts, next_attempt_at, last_error, created_at, delivered_at";

fn from_row(r: &AnyRow) -> Result<Notification, StoreError> {
    Ok(Notification::from_row(r)?)
}

/// Inserts the notifications of a transition inside its transaction, each with the next
/// sequence number for its transition and notifier; held ones are recorded but never sent.
pub(super) async fn insert_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    transition_id: i64,
    items: &[NewNotification],
    held_by: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    let state = if held_by.is_some() {
        DeliveryState::Held
    } else {
        DeliveryState::Pending
    };
    for n in items {
        sqlx::query(
            "INSERT INTO notifications (transition_id, notifier, seq, kind, payload, state, held_by, next_attempt_at, created_at) \
             VALUES ($1, $2, (SELECT COALESCE(MAX(seq) + 1, 0) FROM notifications WHERE transition_id = $1 AND notifier = $2), $3, $4, $5, $6, $7, $7)",
        )
        .bind(transition_id)
        .bind(&n.notifier)
        .bind(&n.kind)
        .bind(n.payload.to_string())
        .bind(state.as_str())
        .bind(held_by)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Pending notifications due for an attempt, oldest first.
    pub async fn due_notifications(
        &self,
        now: i64,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM notifications WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2"))
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Takes up to `limit` due notifications for `owner` until `now + lease_ms`, so that of
    /// several replicas one sends each (`SKIP LOCKED` on PostgreSQL; SQLite has one writer).
    /// A claim that expires (its replica died mid-send) is taken again: at least once.
    pub async fn claim_notifications(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        let lock = match self.backend() {
            super::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            super::Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "UPDATE notifications SET claimed_by = $1, claimed_until = $2 WHERE id IN (\
               SELECT id FROM notifications WHERE state = 'pending' AND next_attempt_at <= $3 \
               AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY id LIMIT $4{lock}) \
             RETURNING {COLUMNS}"
        ))
        .bind(owner)
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let mut claimed: Vec<Notification> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
        claimed.sort_by_key(|n| n.id);
        Ok(claimed)
    }

    /// The receiver accepted it: never send it again.
    pub async fn notification_delivered(&self, id: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE notifications SET state = 'delivered', delivered_at = $1, attempts = attempts + 1, last_error = NULL, claimed_by = NULL, claimed_until = NULL WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The attempt failed: retry at `next_at`, or give up (`failed`, kept visible) when `None`.
    pub async fn notification_attempt_failed(
        &self,
        id: i64,
        error: &str,
        next_at: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE notifications SET attempts = attempts + 1, last_error = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
             state = CASE WHEN $2 IS NULL THEN 'failed' ELSE 'pending' END, claimed_by = NULL, claimed_until = NULL WHERE id = $3",
        )
        .bind(error)
        .bind(next_at)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Notifications, newest first, optionally in one state.
    pub async fn list_notifications(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        self.notifications_before(state, None, limit).await
    }

    /// Notifications older than `before` (an id), newest first: a page of a longer read.
    pub async fn notifications_before(
        &self,
        state: Option<DeliveryState>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM notifications WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"))
            .bind(state.map(DeliveryState::as_str))
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }
}
