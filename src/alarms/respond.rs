//! What on-call people do about alarms: look at them, acknowledge them, silence them. The
//! rules (who may, what a silence may cover, how long, what an acknowledgement holds) live
//! here, so that the API and the dashboard answer the same way; handlers only parse and
//! answer, the store only persists.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::hold::silence_matches;
use crate::auth::{AuthError, Principal};
use crate::config::{AlarmSettings, Condition, Settings};
use crate::domain::{AlarmState, DeliveryState, Scope, TargetName};
use crate::live::Live;
use crate::service_error::ServiceError;
use crate::store::{
    AlarmStateRecord, NewSilence, Notification, Silence, Store, StoreError, Transition,
};

/// The longest a silence may last: longer is a configuration change, not a silence.
const MAX_SPAN_MS: i64 = 90 * 24 * 3600 * 1000;
/// The longest comment kept.
pub const MAX_COMMENT: usize = 1000;

/// When a silence ends, as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceEnd {
    /// When its one alarm resolves.
    Resolved,
    /// At this time (ms).
    At(i64),
    /// This long from now.
    For(Duration),
}

/// A silence as asked for (parsed, not yet checked).
#[derive(Debug, Clone)]
pub struct SilenceRequest {
    pub alarm_id: Option<i64>,
    pub alarm: Option<String>,
    pub target: Option<String>,
    pub end: SilenceEnd,
    pub comment: Option<String>,
}

/// A change to a silence: a new end, a new comment, or both.
#[derive(Debug, Clone, Default)]
pub struct SilenceChange {
    pub end: Option<SilenceEnd>,
    pub comment: Option<String>,
}

/// Which silences to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SilenceFilter {
    /// Holding notifications now.
    Active,
    /// Expired or ended early.
    Ended,
    All,
}

/// A silence as answered: with whether it holds now and which alarm states it covers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SilenceView {
    #[serde(flatten)]
    pub silence: Silence,
    pub active: bool,
    pub until_resolved: bool,
    pub covers: Vec<i64>,
    /// The one target it is confined to, if it is (for the audit log).
    #[serde(skip)]
    #[schema(ignore)]
    pub confined_to: Option<String>,
}

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
    match &a.condition {
        Condition::Below(t) => json!({ "below": t }),
        Condition::Above(t) => json!({ "above": t }),
        Condition::Drop { points, baseline } => {
            json!({ "drop": points, "baseline": format!("{baseline:?}") })
        }
    }
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

/// The end time of a silence asked for at `now`; `None`: until resolved. `field` names the
/// input the end came from.
fn end_time(end: SilenceEnd, field: &str, now: i64) -> Result<Option<i64>, ServiceError> {
    let at = match end {
        SilenceEnd::Resolved => return Ok(None),
        SilenceEnd::At(at) => at,
        SilenceEnd::For(d) => now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
    };
    if at <= now {
        return Err(ServiceError::invalid(field, "must end in the future"));
    }
    if at - now > MAX_SPAN_MS {
        return Err(ServiceError::invalid(
            field,
            "must end within 90 days (change the alarm's configuration instead)",
        ));
    }
    Ok(Some(at))
}

/// Which input an end came from.
fn end_field(end: SilenceEnd) -> &'static str {
    match end {
        SilenceEnd::For(_) => "for",
        _ => "until",
    }
}

/// The one target a silence is confined to, if it is: its alarm's target, or an exact name.
fn single_target(states: &[AlarmStateRecord], s: &Silence) -> Option<String> {
    match s.alarm_id {
        Some(id) => states.iter().find(|a| a.id == id).map(|a| a.target.clone()),
        None => s.target.clone().filter(|t| TargetName::parse(t).is_ok()),
    }
}

/// Limited tokens see and change only silences confined to one of their targets.
fn may_touch(states: &[AlarmStateRecord], who: &Principal, s: &Silence) -> bool {
    who.targets.is_empty()
        || single_target(states, s)
            .and_then(|t| TargetName::parse(&t).ok())
            .is_some_and(|t| who.may_access(&t))
}

/// Rows read per page when a filter runs in Rust over a longer list.
const SCAN_PAGE: u32 = 500;

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
    settings.targets.iter().any(|t| t.name.as_str() == s.target)
        && settings
            .alarms
            .iter()
            .any(|a| a.name == s.alarm && a.target.compile_matcher().is_match(&s.target))
}

pub struct RespondService {
    store: Store,
    /// Alarms and targets are read from the configuration in force at each call.
    live: Arc<Live>,
}

impl RespondService {
    pub fn new(store: Store, live: Arc<Live>) -> Self {
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
            metric: alarm.map(|a| a.metric.clone()),
            condition: alarm.map(condition),
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

    fn silence_view(states: &[AlarmStateRecord], s: Silence, now: i64) -> SilenceView {
        let covers = states
            .iter()
            .filter(|a| silence_matches(&s, &a.alarm, &a.target, Some(a.id)))
            .map(|a| a.id)
            .collect();
        SilenceView {
            active: s.is_active(now),
            until_resolved: s.until.is_none(),
            covers,
            confined_to: single_target(states, &s),
            silence: s,
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

    /// Creates a silence of one alarm state, or of an alarm name and/or a target glob.
    pub async fn silence(
        &self,
        who: &Principal,
        r: SilenceRequest,
        now: i64,
    ) -> Result<SilenceView, ServiceError> {
        who.require(Scope::Respond)?;
        for (field, text) in [("alarm", &r.alarm), ("target", &r.target)] {
            if let Some(t) = text {
                crate::domain::text::plain(t)
                    .map_err(|e| ServiceError::invalid(field, e.to_string()))?;
            }
        }
        let mut confined_to: Option<TargetName> = None;
        match (r.alarm_id, &r.alarm, &r.target) {
            (None, None, None) => {
                return Err(ServiceError::invalid(
                    "alarm_id",
                    "name what to silence: alarm_id (one alarm on one target), or alarm and/or target",
                ));
            }
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(ServiceError::invalid(
                    "alarm_id",
                    "already names one alarm on one target; leave alarm and target out",
                ));
            }
            (Some(id), None, None) => {
                let a = self.store.alarm_state_by_id(id).await?.ok_or_else(|| {
                    ServiceError::invalid("alarm_id", format!("there is no alarm state {id}"))
                })?;
                confined_to = TargetName::parse(&a.target).ok();
            }
            (None, alarm, target) => {
                let settings = self.live.settings();
                if let Some(name) = alarm
                    && !settings.alarms.iter().any(|a| &a.name == name)
                {
                    return Err(ServiceError::invalid(
                        "alarm",
                        format!("{name:?} is not a configured alarm"),
                    ));
                }
                if let Some(pattern) = target {
                    let glob = globset::Glob::new(pattern).map_err(|e| {
                        ServiceError::invalid(
                            "target",
                            format!("{pattern:?} is not a valid glob ({e})"),
                        )
                    })?;
                    let m = glob.compile_matcher();
                    if !settings.targets.iter().any(|t| m.is_match(t.name.as_str())) {
                        return Err(ServiceError::invalid(
                            "target",
                            format!("{pattern:?} matches no configured target"),
                        ));
                    }
                    confined_to = TargetName::parse(pattern).ok();
                }
            }
        }
        // Least privilege: a token limited to some targets may only silence one of them.
        if !who.targets.is_empty() {
            match &confined_to {
                Some(t) => who.require_target(Scope::Respond, t)?,
                None => {
                    return Err(ServiceError::Forbidden(AuthError::NamedTargetOnly {
                        who: who.describe(),
                        hint: "silence one alarm or one of its targets by name",
                    }));
                }
            }
        }
        let until = end_time(r.end, end_field(r.end), now)?;
        if until.is_none() && r.alarm_id.is_none() {
            return Err(ServiceError::invalid(
                "until",
                "\"resolved\" needs alarm_id: only one alarm resolves; give a time or a duration",
            ));
        }
        let silence = self
            .store
            .create_silence(
                &NewSilence {
                    alarm_id: r.alarm_id,
                    alarm: r.alarm,
                    target: r.target,
                    until,
                    comment: comment(r.comment.as_deref(), true)?,
                    created_by: who.name.to_string(),
                },
                now,
            )
            .await?;
        let states = self.store.list_alarm_states().await?;
        Ok(Self::silence_view(&states, silence, now))
    }

    /// Silences `who` may see, newest first.
    pub async fn silences(
        &self,
        who: &Principal,
        filter: SilenceFilter,
        limit: u32,
        now: i64,
    ) -> Result<Vec<SilenceView>, ServiceError> {
        who.require(Scope::Read)?;
        let states = self.store.list_alarm_states().await?;
        let kept = first_kept(
            limit,
            |s: &Silence| s.id,
            |before| self.store.silences_before(before, SCAN_PAGE),
            |s| {
                let in_state = match filter {
                    SilenceFilter::Active => s.is_active(now),
                    SilenceFilter::Ended => !s.is_active(now),
                    SilenceFilter::All => true,
                };
                in_state && may_touch(&states, who, s)
            },
        )
        .await?;
        Ok(kept
            .into_iter()
            .map(|s| Self::silence_view(&states, s, now))
            .collect())
    }

    /// The silence `id`, if `who` may see it (not found otherwise: no probing), and every
    /// alarm state (to describe it).
    async fn visible(
        &self,
        who: &Principal,
        id: i64,
    ) -> Result<(Silence, Vec<AlarmStateRecord>), ServiceError> {
        let missing = || ServiceError::NotFound(format!("no silence {id}"));
        let s = self.store.silence(id).await?.ok_or_else(missing)?;
        let states = self.store.list_alarm_states().await?;
        if may_touch(&states, who, &s) {
            Ok((s, states))
        } else {
            Err(missing())
        }
    }

    pub async fn silence_by_id(
        &self,
        who: &Principal,
        id: i64,
        now: i64,
    ) -> Result<SilenceView, ServiceError> {
        who.require(Scope::Read)?;
        let (s, states) = self.visible(who, id).await?;
        Ok(Self::silence_view(&states, s, now))
    }

    /// Extends or shortens an active silence, or rewords it.
    pub async fn change_silence(
        &self,
        who: &Principal,
        id: i64,
        change: SilenceChange,
        now: i64,
    ) -> Result<SilenceView, ServiceError> {
        who.require(Scope::Respond)?;
        let (s, states) = self.visible(who, id).await?;
        if !s.is_active(now) {
            return Err(ServiceError::Conflict {
                code: "conflict",
                message: format!("silence {} has ended; create a new one", s.id),
            });
        }
        let until = match change.end {
            Some(end) => {
                let until = end_time(end, end_field(end), now)?;
                if until.is_none() && s.alarm_id.is_none() {
                    return Err(ServiceError::invalid(
                        "until",
                        "\"resolved\" needs a silence of one alarm (alarm_id)",
                    ));
                }
                until
            }
            None => s.until,
        };
        let text = match &change.comment {
            Some(c) => comment(Some(c), true)?,
            None => s.comment.clone(),
        };
        let s = self
            .store
            .update_silence(s.id, until, &text)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no silence {id}")))?;
        Ok(Self::silence_view(&states, s, now))
    }

    /// Ends a silence now; it stays listed (ended).
    pub async fn end_silence(
        &self,
        who: &Principal,
        id: i64,
        now: i64,
    ) -> Result<SilenceView, ServiceError> {
        who.require(Scope::Respond)?;
        let (s, states) = self.visible(who, id).await?;
        let s = self
            .store
            .end_silence(s.id, who.name.as_str(), now)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no silence {id}")))?;
        Ok(Self::silence_view(&states, s, now))
    }
}
