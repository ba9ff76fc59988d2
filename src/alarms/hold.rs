//! Which message an evaluation sends, and what holds it (pure).
//!
//! An alarm episode runs from entering `alarm` until `ok`. Its alarm message goes out when it
//! starts, a reminder every `repeat` while it lasts, and a resolved message when it ends. Silences, acknowledgements, maintenance windows and (with `mute_expected`)
//! expected dips hold messages: a held transition message is recorded but never sent; when
//! the hold ends while the alarm still fires, the alarm message goes out then (as
//! Alertmanager does after a silence expires). A resolved message goes only where the
//! episode's alarm message went, so nobody hears of a recovery they were never told about.

use chrono::{DateTime, Utc};

use super::eval::AlarmState;
use crate::config::{AlarmSettings, MaintenanceWindow};
use crate::store::Silence;

/// A message kind (stored as `kind` in the outbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Alarm,
    Reminder,
    Resolved,
    /// The target went away (discovery removed it) while the alarm fired: the episode ends
    /// without having recovered.
    TargetRemoved,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Alarm => "alarm",
            Kind::Reminder => "reminder",
            Kind::Resolved => "resolved",
            Kind::TargetRemoved => "target_removed",
        }
    }

    /// Whether it ends an episode (a receiver closes its incident or alert).
    pub fn ends(self) -> bool {
        matches!(self, Kind::Resolved | Kind::TargetRemoved)
    }
}

/// The message an evaluation from `from` to `to` calls for, if any. `notified_at`: when the
/// open episode's message last went out (`None`: no episode, or its message was held).
///
/// A gap in the data (`insufficient_data`) does not end an episode that was announced: coming
/// back in `alarm` is the same episode (no second page), and coming back `ok` resolves it (so a
/// PagerDuty incident does not stay open because the target was briefly unreachable).
pub fn message(
    from: AlarmState,
    to: AlarmState,
    notified_at: Option<i64>,
    repeat_ms: Option<i64>,
    now: i64,
) -> Option<Kind> {
    use AlarmState::{Alarm, Ok};
    let reminder = || match (notified_at, repeat_ms) {
        (Some(at), Some(r)) if now - at >= r => Some(Kind::Reminder),
        _ => None,
    };
    match (from, to, notified_at) {
        (Alarm, Alarm, None) => Some(Kind::Alarm),
        (_, Alarm, Some(_)) => reminder(),
        (_, Alarm, None) => Some(Kind::Alarm),
        (Alarm, Ok, _) => Some(Kind::Resolved),
        (_, Ok, Some(_)) => Some(Kind::Resolved),
        _ => None,
    }
}

/// A purge or invalidation cachewarden ran, in whose window a dip is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub job: i64,
    /// "expected after invalidation #12"
    pub label: String,
}

/// Everything that can hold an alarm's messages on one target.
pub struct Holds<'a> {
    pub alarm: &'a AlarmSettings,
    pub target: &'a str,
    /// The alarm state (None before its first evaluation).
    pub state_id: Option<i64>,
    pub acked_by: Option<&'a str>,
    /// Active silences.
    pub silences: &'a [Silence],
    pub windows: &'a [MaintenanceWindow],
    pub expected: Option<&'a Expected>,
    pub now: i64,
}

/// Whether a silence covers this alarm on this target: its alarm state, or its alarm name
/// and target glob (each matching when unset).
pub fn silence_matches(s: &Silence, alarm: &str, target: &str, state_id: Option<i64>) -> bool {
    if let Some(id) = s.alarm_id {
        return Some(id) == state_id;
    }
    let alarm_ok = s.alarm.as_deref().is_none_or(|a| a == alarm);
    let target_ok = s
        .target
        .as_deref()
        .is_none_or(|g| globset::Glob::new(g).is_ok_and(|g| g.compile_matcher().is_match(target)));
    alarm_ok && target_ok
}

/// When the window that contains `now` ends, if one does: the latest start at or before
/// `now`, plus the duration.
pub fn window_end(w: &MaintenanceWindow, now: i64) -> Option<i64> {
    let at = DateTime::<Utc>::from_timestamp_millis(now)?.with_timezone(&w.timezone);
    let start = w.cron.find_previous_occurrence(&at, true).ok()?;
    let end = start.timestamp_millis() + w.duration.as_millis() as i64;
    (now < end).then_some(end)
}

/// What holds a message of `kind` (its description, stored as `held_by`), if anything.
/// `notified_at` as for [`message`].
pub fn held_by(kind: Kind, notified_at: Option<i64>, h: &Holds<'_>) -> Option<String> {
    if kind.ends() {
        return notified_at
            .is_none()
            .then(|| "its alarm message was held".to_owned());
    }
    if let Some(by) = h.acked_by {
        return Some(format!("acknowledged by {by}"));
    }
    if let Some(s) = h
        .silences
        .iter()
        .find(|s| s.is_active(h.now) && silence_matches(s, &h.alarm.name, h.target, h.state_id))
    {
        return Some(format!("silence #{} by {}", s.id, s.created_by));
    }
    if let Some(w) = h.windows.iter().find(|w| {
        w.target.compile_matcher().is_match(h.target)
            && (w.alarms.is_empty() || w.alarms.contains(&h.alarm.name))
            && window_end(w, h.now).is_some()
    }) {
        return Some(format!("maintenance window {}", w.name));
    }
    match h.expected {
        Some(e) if h.alarm.mute_expected => Some(e.label.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
