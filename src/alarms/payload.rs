//! What a notification carries (pure): one payload for every receiver, built from an alarm
//! transition.

use serde_json::{Value, json};

use crate::config::{AlarmSettings, Condition};
use crate::domain::AlarmState;

/// One alarm transition, as much as a message tells of it.
pub struct Change<'a> {
    pub alarm: &'a AlarmSettings,
    pub target: &'a str,
    pub state_id: i64,
    /// `alarm`, `reminder` or `resolved`.
    pub kind: &'a str,
    pub from: AlarmState,
    pub to: AlarmState,
    /// The evaluation detail (periods, verdicts, baseline).
    pub evaluation: &'a Value,
    pub reason: &'a str,
    /// Where people reach the dashboard (`https://…/`): links to the alarm and its target
    /// are made from it.
    pub dashboard: &'a str,
    pub recent_invalidations: Value,
    /// "expected after invalidation #12" inside an expected-dip window.
    pub expected: Option<&'a str>,
    /// When the current state began.
    pub since: i64,
    pub at: i64,
}

/// The payload stored in the outbox and sent (as JSON or as text) to receivers.
pub fn payload(c: Change<'_>) -> Value {
    let Change {
        alarm,
        target,
        state_id,
        kind,
        from,
        to,
        evaluation,
        reason,
        dashboard,
        recent_invalidations,
        expected,
        since,
        at,
    } = c;
    // A change_cost alarm's value is the change's extra misses.
    let value = evaluation["periods"]
        .as_array()
        .and_then(|p| p.last())
        .map(|p| p["value"].clone())
        .unwrap_or_else(|| evaluation["change"]["extra_misses"].clone());
    let threshold = match &alarm.condition {
        // The baseline a drop was measured against, as a number.
        Condition::Drop { points, .. } => {
            json!({ "drop": points, "baseline": evaluation["baseline"] })
        }
        c => threshold(c),
    };
    json!({
        "kind": kind,
        "alarm": alarm.name,
        "alarm_id": state_id,
        "target": target,
        "series": (!alarm.metric.is_empty()).then_some(&alarm.metric),
        "severity": format!("{:?}", alarm.severity).to_lowercase(),
        "from": from,
        "state": to,
        "value": value,
        "threshold": threshold,
        "since": since,
        "at": at,
        "reason": reason,
        "expected": expected,
        // The alarm's card (acknowledge, silence, history) and the target's charts, where
        // the transition is marked; target names are URL-safe by construction.
        "link": format!("{dashboard}alarms#alarm-{state_id}"),
        "target_link": format!("{dashboard}targets/{target}"),
        "recent_invalidations": recent_invalidations,
        // The change a change_cost alarm is about: job, kind, requester and figures.
        "change": evaluation.get("change"),
    })
}

/// An alarm's condition as messages and the API show it.
pub fn threshold(c: &Condition) -> Value {
    match c {
        Condition::Below(t) => json!({ "below": t }),
        Condition::Above(t) => json!({ "above": t }),
        Condition::Drop { points, baseline } => {
            let baseline = match baseline {
                crate::config::Baseline::Trailing(d) => {
                    format!("trailing {}", humantime::format_duration(*d))
                }
                crate::config::Baseline::LastWeek => "last_week".to_owned(),
            };
            json!({ "drop": points, "baseline": baseline })
        }
        Condition::ChangeCost(l) => json!({ "change_cost": {
            "extra_misses": l.extra_misses,
            "recovery_ms": l.recovery.map(|d| d.as_millis() as i64),
        } }),
    }
}
