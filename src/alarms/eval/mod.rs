//! Alarm evaluation (pure): M breaching datapoints out of the last N, a treatment for missing
//! data (CloudWatch's four), a minimum request volume under which the state is held, and
//! below / above / drop-against-a-baseline conditions.

use serde::Serialize;

use crate::config::{Condition, MissingData};

pub use crate::domain::AlarmState;

/// One evaluation period: the series' value (None: no datapoint) and the request volume of
/// that period (None: not known, e.g. the series has no volume).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Period {
    pub ts: i64,
    pub value: Option<f64>,
    pub volume: Option<f64>,
}

/// What the rule needs besides the datapoints.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub condition: Condition,
    /// M of N.
    pub datapoints: (u32, u32),
    pub missing: MissingData,
    pub min_volume: Option<u64>,
}

/// How one period counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Breaching,
    NotBreaching,
    Missing,
}

/// The outcome: the state to be in, and why (kept with a transition).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub state: AlarmState,
    pub breaching: u32,
    pub considered: u32,
    pub verdicts: Vec<Verdict>,
    pub reason: String,
}

/// Whether a value breaches: below/above a threshold, or dropped by at least `points` from
/// the baseline (no baseline: cannot tell, treated as missing).
fn breaches(condition: &Condition, value: f64, baseline: Option<f64>) -> Option<bool> {
    match condition {
        Condition::Below(t) => Some(value < *t),
        Condition::Above(t) => Some(value > *t),
        Condition::Drop { points, .. } => baseline.map(|b| b - value >= *points),
        // Judged per change, not per datapoint (`change_cost.rs`).
        Condition::ChangeCost(_) => None,
    }
}

/// Evaluates the last N periods (oldest first; fewer than N means the rest are missing)
/// against the rule, given the current state and, for a drop condition, the baseline.
pub fn evaluate(
    rule: &Rule,
    periods: &[Period],
    baseline: Option<f64>,
    current: AlarmState,
) -> Evaluation {
    let (m, n) = rule.datapoints;
    let window: Vec<&Period> = periods
        .iter()
        .rev()
        .take(n as usize)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let hold = |reason: String, verdicts: Vec<Verdict>| Evaluation {
        state: current,
        breaching: 0,
        considered: 0,
        verdicts,
        reason,
    };

    // Too little traffic in the latest period: a ratio over it is noise, keep the state.
    if let (Some(min), Some(latest)) = (rule.min_volume, window.last())
        && latest.volume.is_some_and(|v| v < min as f64)
    {
        return hold(
            format!(
                "held: {} requests in the latest period, under min_volume {min}",
                latest.volume.unwrap_or_default()
            ),
            Vec::new(),
        );
    }

    let mut verdicts: Vec<Verdict> = window
        .iter()
        .map(|p| {
            let low_volume = rule
                .min_volume
                .is_some_and(|min| p.volume.is_some_and(|v| v < min as f64));
            match p.value {
                Some(v) if !low_volume => match breaches(&rule.condition, v, baseline) {
                    Some(true) => Verdict::Breaching,
                    Some(false) => Verdict::NotBreaching,
                    None => Verdict::Missing,
                },
                _ => Verdict::Missing,
            }
        })
        .collect();
    // Periods before the first datapoint the window reaches are missing too.
    while verdicts.len() < n as usize {
        verdicts.insert(0, Verdict::Missing);
    }
    let missing = verdicts.iter().filter(|v| **v == Verdict::Missing).count() as u32;
    if rule.missing == MissingData::Ignore && verdicts.last() == Some(&Verdict::Missing) {
        return hold(
            "held: the latest period has no datapoint (missing = ignore)".into(),
            verdicts,
        );
    }
    if rule.missing == MissingData::Missing && missing == n {
        return Evaluation {
            state: AlarmState::InsufficientData,
            breaching: 0,
            considered: 0,
            verdicts,
            reason: format!("no datapoint in the last {n} periods"),
        };
    }
    let as_breaching = matches!(rule.missing, MissingData::Breaching);
    let counted: Vec<bool> = verdicts
        .iter()
        .filter_map(|v| match v {
            Verdict::Breaching => Some(true),
            Verdict::NotBreaching => Some(false),
            Verdict::Missing => match rule.missing {
                MissingData::Breaching | MissingData::NotBreaching => Some(as_breaching),
                MissingData::Missing | MissingData::Ignore => None,
            },
        })
        .collect();
    let breaching = counted.iter().filter(|b| **b).count() as u32;
    let considered = counted.len() as u32;
    // Periods that count neither way (missing, under `missing` or `ignore`) could still be
    // breaching: a state is left only on evidence, when enough present datapoints rule M
    // breaching ones out (CloudWatch looks further back for the same reason). A gap never
    // resolves an alarm, and a new alarm leaves insufficient_data only once it can tell.
    let unknown = n - considered;
    let reason = format!(
        "{breaching} of the last {n} periods breaching ({m} needed), {missing} without datapoint"
    );
    let (state, reason) = if breaching >= m {
        (AlarmState::Alarm, reason)
    } else if breaching + unknown >= m && current != AlarmState::Ok {
        (
            current,
            format!("held: {reason}; too few datapoints to rule out {m} breaching"),
        )
    } else {
        (AlarmState::Ok, reason)
    };
    Evaluation {
        state,
        breaching,
        considered,
        reason,
        verdicts,
    }
}

#[cfg(test)]
mod tests;
