//! What an alarm watches, in words, for its card and the API: "hit rate below 80.0 % in 3 of
//! the last 5 periods", "a change costing over 50,000 extra misses or recovering slower than
//! 15m".

use crate::config::{AlarmSettings, Baseline, Condition};
use crate::domain::text::{duration_text, thousands};
use crate::targets::is_ratio_series;

/// A value of `metric` for people: ratios in percent.
fn value(v: f64, ratio: bool) -> String {
    if ratio {
        format!("{:.1} %", v * 100.0)
    } else if v.fract() == 0.0 {
        thousands(v)
    } else {
        format!("{v}")
    }
}

/// The alarm's condition in one line.
pub fn condition(a: &AlarmSettings) -> String {
    let series = a.metric.replace('_', " ");
    let ratio = is_ratio_series(&a.metric);
    let periods = match a.datapoints {
        (1, 1) => "in the latest period".to_owned(),
        (m, n) => format!("in {m} of the last {n} periods"),
    };
    match &a.condition {
        Condition::Below(t) => format!("{series} below {} {periods}", value(*t, ratio)),
        Condition::Above(t) => format!("{series} above {} {periods}", value(*t, ratio)),
        Condition::Drop { points, baseline } => {
            let by = if ratio {
                format!("{:.1} points", points * 100.0)
            } else {
                value(*points, false)
            };
            let against = match baseline {
                Baseline::Trailing(d) => format!(
                    "its mean over the {} before",
                    duration_text(d.as_millis() as i64)
                ),
                Baseline::LastWeek => "the same time a week earlier".to_owned(),
            };
            format!("{series} {by} under {against}, {periods}")
        }
        Condition::ChangeCost(l) => {
            let mut over = Vec::new();
            if let Some(x) = l.extra_misses {
                over.push(format!("over {} extra misses", thousands(x)));
            }
            if let Some(d) = l.recovery {
                over.push(format!(
                    "recovering slower than {}",
                    duration_text(d.as_millis() as i64)
                ));
            }
            format!("a change costing {}", over.join(" or "))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{CostLimits, MissingData, Severity};

    fn alarm(metric: &str, condition: Condition, datapoints: (u32, u32)) -> AlarmSettings {
        AlarmSettings {
            name: "a".into(),
            targets: crate::targets::Selector::new(globset::Glob::new("*").unwrap(), vec![], None),
            metric: metric.into(),
            condition,
            datapoints,
            missing: MissingData::Missing,
            min_volume: None,
            repeat: None,
            severity: Severity::Warning,
            notify: Vec::new(),
            mute_expected: false,
        }
    }

    #[test]
    fn conditions_read_as_people_say_them() {
        let cases = [
            (
                alarm("hit_rate", Condition::Below(0.8), (3, 5)),
                "hit rate below 80.0 % in 3 of the last 5 periods",
            ),
            (
                alarm("evicted_keys", Condition::Above(100.0), (1, 1)),
                "evicted keys above 100 in the latest period",
            ),
            (
                alarm(
                    "hit_rate",
                    Condition::Drop {
                        points: 0.15,
                        baseline: Baseline::Trailing(Duration::from_secs(3600)),
                    },
                    (1, 1),
                ),
                "hit rate 15.0 points under its mean over the 1h before, in the latest period",
            ),
            (
                alarm(
                    "",
                    Condition::ChangeCost(CostLimits {
                        extra_misses: Some(50_000.0),
                        recovery: Some(Duration::from_secs(900)),
                    }),
                    (1, 1),
                ),
                "a change costing over 50,000 extra misses or recovering slower than 15m",
            ),
        ];
        for (a, want) in cases {
            assert_eq!(condition(&a), want);
        }
    }
}
