//! What on-call people do about alarms: look at them, acknowledge them, silence them. The
//! rules (who may, what a silence may cover, how long, what an acknowledgement holds) live
//! here, so that the API and the dashboard answer the same way; handlers only parse and
//! answer, the store only persists. Silences are in `silences`.

mod silences;

pub use silences::{SilenceChange, SilenceEnd, SilenceFilter, SilenceRequest, SilenceView};

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::hold::silence_matches;
use crate::auth::Principal;
use crate::config::InForce;
use crate::config::{AlarmSettings, Settings};
use crate::domain::{AlarmState, DeliveryState, Scope, TargetName};
use crate::service_error::ServiceError;
use crate::store::{AlarmStateRecord, Notification, Silence, Store, StoreError, Transition};

/// The longest comment kept.
pub const MAX_COMMENT: usize = 1000;

/// An acknowledgement as answered.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AckView {
    pub by: String,
    pub at: Option<i64>,
    pub comment: Option<String>,
}

/// An alarm state as answered.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlarmView {
    pub id: i64,
    pub alarm: String,
    pub target: String,
    pub state: AlarmState,
    pub since: i64,
    pub evaluated_at: i64,
    pub reason: String,
    pub metric: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub condition: Option<Value>,
    /// The condition in words ("hit rate below 80.0 % in 3 of the last 5 periods").
    pub watches: Option<String>,
    /// The receivers its messages go to (none: states are recorded only).
    pub notify: Vec<String>,
    pub datapoints: Option<String>,
    pub severity: Option<String>,
    pub notified_at: Option<i64>,
    pub acknowledged: Option<AckView>,
    /// Active silences that hold its messages.
    pub silenced_by: Vec<i64>,
}

/// An alarm state with its transitions, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlarmHistory {
    pub alarm: AlarmView,
    pub transitions: Vec<Transition>,
}

fn condition(a: &AlarmSettings) -> Value {
    crate::alarms::payload::threshold(&a.condition)
}

/// A comment, trimmed; `required`: it must say something.
pub fn comment(text: Option<&str>, required: bool) -> Result<String, ServiceError> {
    let c = text.unwrap_or("").trim();
    crate::domain::text::plain(c).map_err(|e| ServiceError::invalid("comment", e.to_string()))?;
    if required && c.is_empty() {
        return Err(ServiceError::invalid(
            "comment",
            "say why (whoever is on call next reads it)",
        ));
    }
    if c.chars().count() > MAX_COMMENT {
        return Err(ServiceError::invalid(
            "comment",
            format!("must be at most {MAX_COMMENT} characters"),
        ));
    }
    Ok(c.to_owned())
}

/// Rows read per page when a filter runs in Rust over a longer list.
pub(crate) const SCAN_PAGE: u32 = 500;

/// The first `limit` rows, newest first, that `keep` accepts: pages of `SCAN_PAGE` rows
/// (`fetch(before)`) are read until enough are kept or none are left. Filtering first and
/// paging after keeps older matches from hiding behind newer rows that do not match.
async fn first_kept<T, F, Fut>(
    limit: u32,
    id: impl Fn(&T) -> i64,
    mut fetch: F,
    keep: impl Fn(&T) -> bool,
) -> Result<Vec<T>, StoreError>
where
    F: FnMut(Option<i64>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, StoreError>>,
{
    let mut kept = Vec::new();
    let mut before = None;
    loop {
        let page = fetch(before).await?;
        let last = page.last().map(&id);
        let done = page.len() < SCAN_PAGE as usize;
        for row in page {
            if keep(&row) {
                kept.push(row);
                if kept.len() == limit as usize {
                    return Ok(kept);
                }
            }
        }
        if done || last.is_none() {
            return Ok(kept);
        }
        before = last;
    }
}

fn may_see(who: &Principal, target: &str) -> bool {
    TargetName::parse(target).is_ok_and(|t| who.may_access(&t))
}

/// Whether an alarm state belongs to the configuration in force: its alarm is configured and
/// still watches its target. A reload that removes an alarm or a target (or narrows a glob)
/// leaves its states in the store, as history, but no longer lists them.
fn in_force(settings: &Settings, s: &AlarmStateRecord) -> bool {
    settings
        .targets
        .iter()
        .find(|t| t.name.as_str() == s.target)
        .is_some_and(|t| {
            settings
                .alarms
                .iter()
                .any(|a| a.name == s.alarm && a.watches(t))
        })
}

pub struct RespondService {
    store: Store,
    /// Alarms and targets are read from the configuration in force at each call.
    live: Arc<dyn InForce>,
}

impl RespondService {
    pub fn new(store: Store, live: Arc<dyn InForce>) -> Self {
        Self { store, live }
    }

    fn alarm_view(&self, s: &AlarmStateRecord, silences: &[Silence]) -> AlarmView {
        let settings = self.live.settings();
        let alarm = settings.alarms.iter().find(|a| a.name == s.alarm);
        AlarmView {
            id: s.id,
            alarm: s.alarm.clone(),
            target: s.target.clone(),
            state: s.state,
            since: s.since,
            evaluated_at: s.evaluated_at,
            reason: s.reason.clone(),
            metric: alarm
                .filter(|a| !a.metric.is_empty())
                .map(|a| a.metric.clone()),
            condition: alarm.map(condition),
            watches: alarm.map(crate::alarms::describe::condition),
            notify: alarm.map(|a| a.notify.clone()).unwrap_or_default(),
            datapoints: alarm.map(|a| format!("{} of {}", a.datapoints.0, a.datapoints.1)),
            severity: alarm.map(|a| format!("{:?}", a.severity).to_lowercase()),
            notified_at: s.notified_at,
            acknowledged: s.acked_by.as_ref().map(|by| AckView {
                by: by.clone(),
                at: s.acked_at,
                comment: s.ack_comment.clone(),
            }),
            silenced_by: silences
                .iter()
                .filter(|x| silence_matches(x, &s.alarm, &s.target, Some(s.id)))
                .map(|x| x.id)
                .collect(),
        }
    }

    /// The notification outbox on the targets `who` may see, newest first, optionally in one
    /// state.
    pub async fn notifications(
        &self,
        who: &Principal,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Vec<Notification>, ServiceError> {
        who.require(Scope::Read)?;
        Ok(self
            .store
            .list_notifications(state, limit)
            .await?
            .into_iter()
            .filter(|n| {
                n.payload["target"]
                    .as_str()
                    .is_some_and(|t| may_see(who, t))
            })
            .collect())
    }

    /// Alarm states on the targets `who` may see.
    pub async fn alarms(&self, who: &Principal, now: i64) -> Result<Vec<AlarmView>, ServiceError> {
        who.require(Scope::Read)?;
        let silences = self.store.active_silences(now).await?;
        let settings = self.live.settings();
        Ok(self
            .store
            .list_alarm_states()
            .await?
            .iter()
            .filter(|s| may_see(who, &s.target) && in_force(&settings, s))
            .map(|s| self.alarm_view(s, &silences))
            .collect())
    }

    /// The alarm states `who` may see, each with its newest `limit` transitions (one query
    /// per state on top of the list, for a page that shows them all).
    pub async fn alarms_with_history(
        &self,
        who: &Principal,
        limit: u32,
        now: i64,
    ) -> Result<Vec<AlarmHistory>, ServiceError> {
        let mut out = Vec::new();
        for alarm in self.alarms(who, now).await? {
            let transitions = self.store.alarm_history(alarm.id, limit).await?;
            out.push(AlarmHistory { alarm, transitions });
        }
        Ok(out)
    }

    /// The alarm state `id`, if `who` may act on its target with `scope`.
    async fn alarm_for(
        &self,
        who: &Principal,
        id: i64,
        scope: Scope,
    ) -> Result<AlarmStateRecord, ServiceError> {
        who.require(scope)?;
        let Some(s) = self.store.alarm_state_by_id(id).await? else {
            who.missing(&format!("alarm state {id}"))?;
            return Err(ServiceError::NotFound(format!("no alarm state {id}")));
        };
        let target = TargetName::parse(&s.target)
            .map_err(|e| StoreError::Corrupt(format!("alarm state {id} target: {e}")))?;
        who.require_target(scope, &target)?;
        Ok(s)
    }

    /// One alarm state and its transitions.
    pub async fn history(
        &self,
        who: &Principal,
        id: i64,
        limit: u32,
        now: i64,
    ) -> Result<AlarmHistory, ServiceError> {
        let s = self.alarm_for(who, id, Scope::Read).await?;
        let transitions = self.store.alarm_history(s.id, limit).await?;
        let silences = self.store.active_silences(now).await?;
        Ok(AlarmHistory {
            alarm: self.alarm_view(&s, &silences),
            transitions,
        })
    }

    /// Acknowledges an alarm in the `alarm` state: its reminders are held until it leaves that
    /// state (the resolved message still goes out). Acknowledging again keeps the first.
    pub async fn ack(
        &self,
        who: &Principal,
        id: i64,
        text: Option<&str>,
        now: i64,
    ) -> Result<AlarmView, ServiceError> {
        let text = comment(text, false)?;
        let s = self.alarm_for(who, id, Scope::Respond).await?;
        if s.state != AlarmState::Alarm {
            return Err(ServiceError::Conflict {
                code: "conflict",
                message: format!(
                    "alarm state {} is {}; only an alarm in state alarm can be acknowledged",
                    s.id, s.state
                ),
            });
        }
        let s = self
            .store
            .ack_alarm(s.id, who.name.as_str(), &text, now)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no alarm state {id}")))?;
        let silences = self.store.active_silences(now).await?;
        Ok(self.alarm_view(&s, &silences))
    }

    /// Withdraws an acknowledgement: reminders resume.
    pub async fn unack(
        &self,
        who: &Principal,
        id: i64,
        now: i64,
    ) -> Result<AlarmView, ServiceError> {
        let s = self.alarm_for(who, id, Scope::Respond).await?;
        let s = self
            .store
            .unack_alarm(s.id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no alarm state {id}")))?;
        let silences = self.store.active_silences(now).await?;
        Ok(self.alarm_view(&s, &silences))
    }
}
