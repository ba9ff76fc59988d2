//! Silences: holding the notifications of one alarm, or of an alarm name and/or a target
//! glob, until a time, for a while, or (one alarm) until it resolves. Who may create, see,
//! change and end which silence is decided here.

use std::time::Duration;

use serde::Serialize;

use super::{RespondService, SCAN_PAGE, comment, first_kept};
use crate::alarms::hold::silence_matches;
use crate::auth::{AuthError, Principal};
use crate::domain::{Scope, TargetName};
use crate::service_error::ServiceError;
use crate::store::{AlarmStateRecord, NewSilence, Silence};

/// The longest a silence may last: longer is a configuration change, not a silence.
const MAX_SPAN_MS: i64 = 90 * 24 * 3600 * 1000;

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

impl RespondService {
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

    /// The silence `id`, if `who` may see it (not found otherwise: no probing), and every
    /// alarm state (to describe it).
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
