//! What a notification says (pure): one payload for every receiver, and a one-line summary.

use serde_json::{Value, json};

use crate::config::{AlarmSettings, Condition};

/// One alarm transition, as much as a message tells of it.
pub struct Change<'a> {
    pub alarm: &'a AlarmSettings,
    pub target: &'a str,
    pub state_id: i64,
    /// `alarm` or `resolved`.
    pub kind: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    /// The evaluation detail (periods, verdicts, baseline).
    pub evaluation: &'a Value,
    pub reason: &'a str,
    pub link: &'a str,
    pub recent_invalidations: Value,
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
        link,
        recent_invalidations,
        at,
    } = c;
    let value = evaluation["periods"]
        .as_array()
        .and_then(|p| p.last())
        .map(|p| p["value"].clone())
        .unwrap_or(Value::Null);
    let threshold = match &alarm.condition {
        Condition::Below(t) => json!({ "below": t }),
        Condition::Above(t) => json!({ "above": t }),
        Condition::Drop { points, .. } => {
            json!({ "drop": points, "baseline": evaluation["baseline"] })
        }
    };
    json!({
        "kind": kind,
        "alarm": alarm.name,
        "alarm_id": state_id,
        "target": target,
        "series": alarm.metric,
        "severity": format!("{:?}", alarm.severity).to_lowercase(),
        "from": from,
        "state": to,
        "value": value,
        "threshold": threshold,
        "since": at,
        "reason": reason,
        "link": link,
        "recent_invalidations": recent_invalidations,
    })
}

/// `ALARM sessions-hit-rate on sessions: hit_rate 0.20 (below 0.8) — 2 of the last 3 …`
pub fn summary(p: &Value) -> String {
    let head = if p["kind"] == "resolved" {
        "RESOLVED"
    } else {
        "ALARM"
    };
    let value = p["value"]
        .as_f64()
        .map(|v| format!("{v:.3}"))
        .unwrap_or_else(|| "no datapoint".into());
    let threshold = p["threshold"]
        .as_object()
        .and_then(|o| o.iter().next())
        .map(|(k, v)| format!(" ({k} {v})"))
        .unwrap_or_default();
    let mut line = format!(
        "{head} {} on {}: {} {value}{threshold} — {}",
        p["alarm"].as_str().unwrap_or_default(),
        p["target"].as_str().unwrap_or_default(),
        p["series"].as_str().unwrap_or_default(),
        p["reason"].as_str().unwrap_or_default()
    );
    if let Some(jobs) = p["recent_invalidations"]
        .as_array()
        .filter(|j| !j.is_empty())
    {
        line.push_str(&format!(
            ". {} invalidation(s) ran on this target in the previous 30 minutes",
            jobs.len()
        ));
    }
    if let Some(link) = p["link"].as_str() {
        line.push_str(&format!(". {link}"));
    }
    line
}
