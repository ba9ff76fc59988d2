//! The `change_cost` condition (pure): an alarm on what each change cost its target, read
//! from the changes' measured impacts rather than from a series.
//!
//! Each costly change is one episode: the alarm fires when a change on the target is measured
//! over a limit, naming the job and who asked for it, and ends [`EPISODE_MS`] after that
//! measurement (the cost is history by then: the impact is final only once the target has
//! recovered or the measuring limit has passed). A second costly change while the first's
//! episode is open ends that one and opens its own, so every costly change is announced once
//! and can be acknowledged on its own.

use serde_json::{Value, json};

use super::eval::{AlarmState, Evaluation};
use crate::config::CostLimits;
use crate::impact::Impact;
use crate::store::CostedChange;

/// How long a costly change's episode stays open after it was measured (an hour).
pub const EPISODE_MS: i64 = 3_600_000;

/// The costly change an evaluation is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub job: i64,
    /// What it was over the limits, in words.
    pub over: String,
    /// For the message: the job, its kind and requester, and its figures.
    pub detail: Value,
}

/// What a change with these figures exceeded of `limits`, in words ("41,200 extra misses,
/// over 10,000"), or `None` when it stayed within them.
pub fn exceeded(
    limits: &CostLimits,
    extra_misses: f64,
    recovered_after_ms: Option<i64>,
) -> Option<String> {
    use crate::domain::text::{duration_text, thousands};
    let mut over = Vec::new();
    if let Some(max) = limits.extra_misses
        && extra_misses > max
    {
        over.push(format!(
            "{} extra misses, over {}",
            thousands(extra_misses),
            thousands(max)
        ));
    }
    if let Some(max) = limits.recovery {
        let limit = duration_text(max.as_millis() as i64);
        match recovered_after_ms {
            Some(ms) if ms <= max.as_millis() as i64 => {}
            Some(ms) => over.push(format!("recovered in {}, over {limit}", duration_text(ms))),
            None => over.push(format!("not recovered, over {limit}")),
        }
    }
    (!over.is_empty()).then(|| over.join("; "))
}

/// The newest of `changes` (newest first, measured within the episode) that exceeded
/// `limits`. A change whose window the next change cut short never counts as "not
/// recovered": the rest of its window is the next one's.
pub fn costliest_recent(limits: &CostLimits, changes: &[CostedChange]) -> Option<Subject> {
    changes.iter().find_map(|c| {
        let Ok(Impact::Measured(m)) = serde_json::from_str::<Impact>(&c.body) else {
            return None;
        };
        if m.recovered_after_ms.is_none() && m.cut_by_job.is_some() {
            let extra_only = CostLimits {
                recovery: None,
                ..limits.clone()
            };
            return subject(c, &m, exceeded(&extra_only, m.extra_misses, None)?);
        }
        subject(
            c,
            &m,
            exceeded(limits, m.extra_misses, m.recovered_after_ms)?,
        )
    })
}

fn subject(c: &CostedChange, m: &crate::impact::Measured, over: String) -> Option<Subject> {
    Some(Subject {
        job: c.job_id,
        detail: json!({
            "job": c.job_id,
            "kind": c.kind,
            "requester": c.requester,
            "extra_misses": m.extra_misses.round(),
            "recovered_after_ms": m.recovered_after_ms,
            "baseline": m.baseline,
            "dip": m.dip,
        }),
        over,
    })
}

/// The state `subject` calls for; `label` is what people call the job's kind ("purge").
pub fn evaluate(subject: Option<&Subject>, label: &str) -> Evaluation {
    let (state, reason) = match subject {
        Some(s) => (
            AlarmState::Alarm,
            format!(
                "{label} #{} by {} cost {}",
                s.job,
                s.detail["requester"].as_str().unwrap_or("?"),
                s.over
            ),
        ),
        None => (
            AlarmState::Ok,
            format!(
                "no change measured over the limits in the last {}",
                crate::domain::text::duration_text(EPISODE_MS)
            ),
        ),
    };
    Evaluation {
        state,
        breaching: u32::from(subject.is_some()),
        considered: 1,
        verdicts: Vec::new(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::impact::Measured;

    fn change(job: i64, extra: f64, recovered: Option<i64>, cut: Option<i64>) -> CostedChange {
        let m = Measured {
            baseline: 0.9,
            baseline_requests: 100.0,
            dip: 0.3,
            depth: 0.6,
            extra_misses: extra,
            recovered_after_ms: recovered,
            intervals: 4,
            cut_by_job: cut,
        };
        CostedChange {
            job_id: job,
            kind: "redis_purge".into(),
            requester: "deploy-bot".into(),
            body: serde_json::to_string(&Impact::Measured(m)).unwrap(),
            measured_at: 0,
        }
    }

    fn limits(extra: Option<f64>, recovery_s: Option<u64>) -> CostLimits {
        CostLimits {
            extra_misses: extra,
            recovery: recovery_s.map(Duration::from_secs),
        }
    }

    #[test]
    fn which_change_an_alarm_is_about() {
        let cases: &[(&str, CostLimits, Vec<CostedChange>, Option<i64>)] = &[
            ("nothing measured", limits(Some(100.0), None), vec![], None),
            (
                "within the limits",
                limits(Some(100.0), Some(600)),
                vec![change(1, 100.0, Some(600_000), None)],
                None,
            ),
            (
                "over the misses",
                limits(Some(100.0), None),
                vec![change(1, 101.0, Some(1000), None)],
                Some(1),
            ),
            (
                "slow to recover",
                limits(None, Some(60)),
                vec![change(1, 5.0, Some(61_000), None)],
                Some(1),
            ),
            (
                "never recovered",
                limits(None, Some(60)),
                vec![change(1, 5.0, None, None)],
                Some(1),
            ),
            (
                "cut short by the next change: its recovery is not known",
                limits(None, Some(60)),
                vec![change(1, 5.0, None, Some(2))],
                None,
            ),
            (
                "cut short, yet over the misses",
                limits(Some(1.0), Some(60)),
                vec![change(1, 5.0, None, Some(2))],
                Some(1),
            ),
            (
                "the newest costly one",
                limits(Some(10.0), None),
                vec![
                    change(3, 1.0, Some(1000), None),
                    change(2, 50.0, Some(1000), None),
                    change(1, 90.0, Some(1000), None),
                ],
                Some(2),
            ),
        ];
        for (what, l, changes, want) in cases {
            let got = costliest_recent(l, changes).map(|s| s.job);
            assert_eq!(got, *want, "{what}");
        }
    }

    #[test]
    fn the_reason_names_the_job_its_requester_and_what_it_exceeded() {
        let s = costliest_recent(
            &limits(Some(10_000.0), Some(60)),
            &[change(7, 41_200.0, Some(120_000), None)],
        )
        .unwrap();
        let e = evaluate(Some(&s), "purge");
        assert_eq!(e.state, AlarmState::Alarm);
        assert_eq!(
            e.reason,
            "purge #7 by deploy-bot cost 41,200 extra misses, over 10,000; recovered in 2m, over 1m"
        );
        assert_eq!(evaluate(None, "purge").state, AlarmState::Ok);
    }
}
