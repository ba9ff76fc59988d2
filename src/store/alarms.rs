//! Alarm states (one per alarm and target) and their transitions.

use serde::Serialize;

use crate::domain::AlarmState;
use sqlx::any::AnyRow;

use super::columns::JsonText;
use super::{Store, StoreError};

/// The stored state of one alarm on one target.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AlarmStateRecord {
    pub id: i64,
    pub alarm: String,
    pub target: String,
    #[sqlx(try_from = "String")]
    pub state: AlarmState,
    /// When the current state began.
    pub since: i64,
    pub evaluated_at: i64,
    pub reason: String,
    /// When this alarm episode's message last went out; `None` while it was held.
    pub notified_at: Option<i64>,
    /// Who acknowledged the current alarm, when, and why.
    pub acked_by: Option<String>,
    pub acked_at: Option<i64>,
    pub ack_comment: Option<String>,
}

/// One change of state.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Transition {
    pub id: i64,
    pub state_id: i64,
    #[sqlx(rename = "from_state", try_from = "String")]
    pub from: AlarmState,
    #[sqlx(rename = "to_state", try_from = "String")]
    pub to: AlarmState,
    pub at: i64,
    pub reason: String,
    /// The evaluation that caused it (periods, verdicts, counts), as JSON.
    #[sqlx(try_from = "JsonText")]
    #[schema(value_type = Object)]
    pub evaluation: serde_json::Value,
}

/// The outcome of one evaluation, to record.
#[derive(Debug, Clone, Copy)]
pub struct Evaluated<'a> {
    pub alarm: &'a str,
    pub target: &'a str,
    pub state: AlarmState,
    pub reason: &'a str,
    pub evaluation: &'a serde_json::Value,
}

fn state_from_row(r: &AnyRow) -> Result<AlarmStateRecord, StoreError> {
    super::record(r)
}

const STATE_COLUMNS: &str = "id, alarm, target, state, since, evaluated_at, reason, notified_at, acked_by, acked_at, ack_comment";

/// One state by its key; read outside and inside the evaluation transaction.
fn state_by_key_sql() -> String {
    format!("SELECT {STATE_COLUMNS} FROM alarm_states WHERE alarm = $1 AND target = $2")
}

impl Store {
    /// The state of `alarm` on `target`, if it was ever evaluated.
    pub async fn alarm_state(
        &self,
        alarm: &str,
        target: &str,
    ) -> Result<Option<AlarmStateRecord>, StoreError> {
        let row = sqlx::query(&state_by_key_sql())
            .bind(alarm)
            .bind(target)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(state_from_row).transpose()
    }

    /// Records an evaluation in one transaction: the state row is created or updated; when the
    /// state changed, the transition with the evaluation that caused it; and the notifications
    /// `notify(state id)` returns (the transition's own, or a reminder), held with `held_by`
    /// when a silence, acknowledgement, maintenance window or expected dip holds them.
    /// Reaching `ok` ends an episode: its acknowledgement, its "until resolved" silences and
    /// its notified mark are cleared.
    pub async fn record_alarm_evaluation(
        &self,
        e: &Evaluated<'_>,
        held_by: Option<&str>,
        notify: impl FnOnce(i64) -> Vec<super::NewNotification>,
        now: i64,
    ) -> Result<Option<Transition>, StoreError> {
        let Evaluated {
            alarm,
            target,
            state,
            reason,
            evaluation,
        } = *e;
        let mut tx = self.pool().begin().await?;
        let current = sqlx::query(&state_by_key_sql())
            .bind(alarm)
            .bind(target)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(state_from_row)
            .transpose()?;
        // A state never evaluated before starts as insufficient_data (as CloudWatch's do).
        let (id, from) = match current {
            Some(c) => {
                let since_sql = if c.state == state { "since" } else { "$4" };
                sqlx::query(&format!(
                    "UPDATE alarm_states SET state = $1, reason = $2, evaluated_at = $4, since = {since_sql} WHERE id = $3"
                ))
                .bind(state.as_str())
                .bind(reason)
                .bind(c.id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                (c.id, c.state)
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO alarm_states (alarm, target, state, since, evaluated_at, reason) VALUES ($1, $2, $3, $4, $4, $5) RETURNING id",
                )
                .bind(alarm)
                .bind(target)
                .bind(state.as_str())
                .bind(now)
                .bind(reason)
                .fetch_one(&mut *tx)
                .await?;
                (id, AlarmState::InsufficientData)
            }
        };
        // The episode ends in ok (a data gap in between does not end it).
        if state == AlarmState::Ok && from != AlarmState::Ok {
            sqlx::query("UPDATE alarm_states SET notified_at = NULL, acked_by = NULL, acked_at = NULL, ack_comment = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE silences SET ended_at = $1, ended_by = 'resolved' WHERE state_id = $2 AND until_at IS NULL AND ended_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let transition = if from != state {
            let tid: i64 = sqlx::query_scalar(
                "INSERT INTO alarm_transitions (state_id, from_state, to_state, at, reason, evaluation) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(id)
            .bind(from.as_str())
            .bind(state.as_str())
            .bind(now)
            .bind(reason)
            .bind(evaluation.to_string())
            .fetch_one(&mut *tx)
            .await?;
            Some(Transition {
                id: tid,
                state_id: id,
                from,
                to: state,
                at: now,
                reason: reason.to_owned(),
                evaluation: evaluation.clone(),
            })
        } else {
            None
        };
        let items = notify(id);
        if !items.is_empty() {
            // A reminder belongs to the transition that opened the episode.
            let tid: Option<i64> = match &transition {
                Some(t) => Some(t.id),
                None => {
                    sqlx::query_scalar("SELECT MAX(id) FROM alarm_transitions WHERE state_id = $1")
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?
                }
            };
            if let Some(tid) = tid {
                // The notifications are part of the evaluation: stored with it or not at all.
                super::outbox::insert_in(&mut tx, tid, &items, held_by, now).await?;
                if held_by.is_none() && state == AlarmState::Alarm {
                    sqlx::query("UPDATE alarm_states SET notified_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(transition)
    }

    /// Acknowledges an alarm that is in the `alarm` state: its reminders are held until it
    /// leaves that state. Acknowledging twice keeps the first acknowledgement. `None` when
    /// there is no such state.
    pub async fn ack_alarm(
        &self,
        id: i64,
        by: &str,
        comment: &str,
        now: i64,
    ) -> Result<Option<AlarmStateRecord>, StoreError> {
        sqlx::query("UPDATE alarm_states SET acked_by = $1, acked_at = $2, ack_comment = $3 WHERE id = $4 AND state = 'alarm' AND acked_by IS NULL")
            .bind(by)
            .bind(now)
            .bind(comment)
            .bind(id)
            .execute(self.pool())
            .await?;
        self.alarm_state_by_id(id).await
    }

    /// Withdraws an acknowledgement (reminders resume).
    pub async fn unack_alarm(&self, id: i64) -> Result<Option<AlarmStateRecord>, StoreError> {
        sqlx::query("UPDATE alarm_states SET acked_by = NULL, acked_at = NULL, ack_comment = NULL WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        self.alarm_state_by_id(id).await
    }

    /// Every alarm state, by alarm and target.
    pub async fn list_alarm_states(&self) -> Result<Vec<AlarmStateRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {STATE_COLUMNS} FROM alarm_states ORDER BY alarm, target"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(state_from_row).collect()
    }

    /// One state by id.
    pub async fn alarm_state_by_id(&self, id: i64) -> Result<Option<AlarmStateRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {STATE_COLUMNS} FROM alarm_states WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(state_from_row).transpose()
    }

    /// The transitions of one state, newest first.
    pub async fn alarm_history(
        &self,
        state_id: i64,
        limit: u32,
    ) -> Result<Vec<Transition>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, state_id, from_state, to_state, at, reason, evaluation FROM alarm_transitions WHERE state_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(state_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?)
    }

    /// Raw samples of a series with their denominators (request volume of ratios), in
    /// [from, to], oldest first.
    pub async fn samples_with_volume(
        &self,
        target: &str,
        series: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, f64, Option<f64>)>, StoreError> {
        Ok(self
            .raw_rows(target, series, from, to)
            .await?
            .iter()
            .map(|r| (r.ts, r.v[0].unwrap_or(f64::NAN), r.v[2]))
            .collect())
    }

    /// Timestamps of a series of a target in [from, to], oldest first (the poll grid).
    pub async fn sample_times(
        &self,
        target: &str,
        series: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(self
            .raw_rows(target, series, from, to)
            .await?
            .iter()
            .map(|r| r.ts)
            .collect())
    }

    /// Forgets alert history older than `before`: notifications no longer pending, transitions
    /// without notifications (except each alarm's latest, which reminders belong to),
    /// silences that ended, and discovery runs. Returns the rows deleted.
    pub async fn prune_alert_history(&self, before: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let mut deleted = 0;
        for sql in [
            "DELETE FROM notifications WHERE state <> 'pending' AND created_at < $1",
            "DELETE FROM alarm_transitions WHERE at < $1 \
             AND id NOT IN (SELECT transition_id FROM notifications) \
             AND id NOT IN (SELECT MAX(id) FROM alarm_transitions GROUP BY state_id)",
            "DELETE FROM silences WHERE COALESCE(ended_at, until_at) < $1",
            // Discovery runs go with the alert history; each discovery's last one stays (its
            // next turn is counted from it).
            "DELETE FROM discovery_runs WHERE finished_at < $1 \
             AND id NOT IN (SELECT MAX(id) FROM discovery_runs GROUP BY discovery)",
        ] {
            deleted += sqlx::query(sql)
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }
}
