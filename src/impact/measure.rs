//! What a change cost a cache, from the target's intervals around it. Pure: the caller reads
//! the intervals (a hit ratio and the requests behind it, one per poll) and says when the job
//! started and when the next change on the target did.
//!
//! - The **baseline** is the median hit ratio of the last intervals with traffic before the
//!   job. The median, not the mean: one odd interval (a warm-up, a burst of misses from a
//!   crawler) moves a mean by its size and a median not at all, and a baseline that a single
//!   interval can drag would make every later figure wrong.
//! - **Extra misses** are the misses beyond what the baseline ratio predicts for the requests
//!   each interval had, summed from the job until recovery. For CloudFront they are requests
//!   the origin served because of the change.
//! - **Recovered** when the ratio is back within the tolerance of the baseline for a few
//!   consecutive intervals; the time is from the job to the first of them.
//! - Another change on the target before recovery ends this one's window there: what comes
//!   after is the next change's, so nothing is counted twice, and the other job is named.

use serde::{Deserialize, Serialize};

use crate::domain::text::duration_text;

/// One poll interval of a target: its hit ratio and the requests behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// When it ended (ms).
    pub at: i64,
    pub ratio: f64,
    pub requests: f64,
}

/// How impact is measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Intervals with traffic before the job the baseline is the median of.
    pub baseline_intervals: usize,
    /// Fewer intervals with traffic than this before the job: not measurable.
    pub min_baseline_intervals: usize,
    /// Fewer requests per interval than this, on average, before the job: not measurable (a
    /// ratio of a handful of requests is noise).
    pub min_requests: f64,
    /// Back within this many points (0-1) of the baseline counts as recovered.
    pub tolerance: f64,
    /// For this many consecutive intervals.
    pub recovered_for: usize,
    /// Not recovered after this long (ms): measured as "not recovered".
    pub limit_ms: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            baseline_intervals: 12,
            min_baseline_intervals: 4,
            min_requests: 20.0,
            tolerance: 0.02,
            recovered_for: 3,
            limit_ms: 2 * 3600 * 1000,
        }
    }
}

/// What a change cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Measured {
    /// The hit ratio before the job (median of the baseline intervals), 0-1.
    pub baseline: f64,
    /// Requests per interval before the job (mean).
    pub baseline_requests: f64,
    /// The lowest hit ratio after the job, until recovery, 0-1.
    pub dip: f64,
    /// How far it fell, in points of ratio (baseline − dip), never negative.
    pub depth: f64,
    /// Misses beyond what the baseline predicts, until recovery.
    pub extra_misses: f64,
    /// From the job to recovery (ms); `None`: not recovered within the limit (or before the
    /// next change).
    pub recovered_after_ms: Option<i64>,
    /// Intervals counted after the job.
    pub intervals: usize,
    /// The next change on the target, which came before recovery and whose window the rest
    /// is.
    pub cut_by_job: Option<i64>,
}

/// The outcome of measuring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Impact {
    /// Final: the figures.
    Measured(Measured),
    /// Final: why there are no figures (never a guess).
    NotMeasurable { reason: String },
    /// Not recovered yet, and not past the limit: the figures so far.
    Pending(Measured),
}

impl Impact {
    /// Whether more data can no longer change it.
    pub fn is_final(&self) -> bool {
        !matches!(self, Impact::Pending(_))
    }

    /// When the target recovered, for people: "in 2m 30s", "not before job #12".
    pub fn recovery(&self) -> String {
        let m = match self {
            Impact::NotMeasurable { .. } => return "not measurable".to_owned(),
            Impact::Measured(m) | Impact::Pending(m) => m,
        };
        match (m.recovered_after_ms, m.cut_by_job) {
            (Some(ms), _) => format!("in {}", duration_text(ms)),
            (None, Some(next)) => format!("not before job #{next}, which takes the rest"),
            (None, None) if !self.is_final() => "not yet (still measuring)".to_owned(),
            (None, None) => "not within the limit".to_owned(),
        }
    }

    /// In a few words, for a chart's mark: "100 extra misses, recovered in 2m".
    pub fn brief(&self) -> String {
        match self {
            Impact::NotMeasurable { .. } => "impact not measurable".to_owned(),
            Impact::Measured(m) | Impact::Pending(m) => format!(
                "{:.0} extra misses, recovered {}",
                m.extra_misses,
                self.recovery()
            ),
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Measures a job that started at `job_at` from the target's `intervals` (in time order, any
/// span around the job). `until` is when the next change on the target started, if one did;
/// `now` is when it is measured.
pub fn measure(
    intervals: &[Interval],
    job_at: i64,
    until: Option<i64>,
    now: i64,
    rules: &Rules,
) -> Impact {
    let traffic = |i: &&Interval| i.requests > 0.0 && i.ratio.is_finite();
    let before: Vec<&Interval> = intervals
        .iter()
        .filter(|i| i.at <= job_at)
        .filter(traffic)
        .collect();
    let before = &before[before.len().saturating_sub(rules.baseline_intervals)..];
    if before.len() < rules.min_baseline_intervals {
        return Impact::NotMeasurable {
            reason: format!(
                "{} intervals with traffic before the change; at least {} are needed for a baseline",
                before.len(),
                rules.min_baseline_intervals
            ),
        };
    }
    let baseline = median(before.iter().map(|i| i.ratio).collect());
    let baseline_requests = before.iter().map(|i| i.requests).sum::<f64>() / before.len() as f64;
    if baseline_requests < rules.min_requests {
        return Impact::NotMeasurable {
            reason: format!(
                "{baseline_requests:.1} requests per interval before the change; at least {} are needed for a ratio to mean something",
                rules.min_requests
            ),
        };
    }
    let end = until.unwrap_or(i64::MAX).min(job_at + rules.limit_ms);
    let after: Vec<&Interval> = intervals
        .iter()
        .filter(|i| i.at > job_at && i.at <= end)
        .filter(traffic)
        .collect();
    let mut m = Measured {
        baseline,
        baseline_requests,
        dip: baseline,
        depth: 0.0,
        extra_misses: 0.0,
        recovered_after_ms: None,
        intervals: 0,
        cut_by_job: None,
    };
    // Intervals back near the baseline belong to the dip only if the recovery does not hold:
    // they wait here until it does (dropped) or a relapse comes (counted).
    let mut near: Vec<&Interval> = Vec::new();
    let count = |m: &mut Measured, i: &Interval| {
        m.intervals += 1;
        m.dip = m.dip.min(i.ratio);
        m.depth = (baseline - m.dip).max(0.0);
        m.extra_misses += ((baseline - i.ratio) * i.requests).max(0.0);
    };
    for i in &after {
        if i.ratio >= baseline - rules.tolerance {
            near.push(i);
            if near.len() == rules.recovered_for {
                m.recovered_after_ms = Some(near[0].at - job_at);
                return Impact::Measured(m);
            }
        } else {
            for n in near.drain(..) {
                count(&mut m, n);
            }
            count(&mut m, i);
        }
    }
    for n in near {
        count(&mut m, n);
    }
    let window_over = now >= end || until.is_some_and(|u| u <= now);
    if window_over {
        Impact::Measured(m)
    } else {
        Impact::Pending(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: i64 = 60_000;

    /// `n` intervals ending at `from + STEP`, `from + 2 STEP`, …, with ratios from `ratio(k)`
    /// and `requests` each.
    fn series(from: i64, ratios: &[f64], requests: f64) -> Vec<Interval> {
        ratios
            .iter()
            .enumerate()
            .map(|(k, r)| Interval {
                at: from + (k as i64 + 1) * STEP,
                ratio: *r,
                requests,
            })
            .collect()
    }

    fn measured(i: Impact) -> Measured {
        match i {
            Impact::Measured(m) => m,
            other => panic!("not measured: {other:?}"),
        }
    }

    #[test]
    fn a_dip_and_a_recovery_of_known_shape_are_measured() {
        // 12 steady intervals at 0.9, a purge, then 0.3, 0.6, 0.8 and back to 0.9.
        let mut ratios = vec![0.9; 12];
        ratios.extend([0.3, 0.6, 0.8, 0.9, 0.9, 0.9, 0.9]);
        let iv = series(0, &ratios, 1000.0);
        let job_at = 12 * STEP + 1;
        let m = measured(measure(&iv, job_at, None, 40 * STEP, &Rules::default()));
        assert!((m.baseline - 0.9).abs() < 1e-9);
        assert!((m.dip - 0.3).abs() < 1e-9);
        assert!((m.depth - 0.6).abs() < 1e-9);
        // (0.6 + 0.3 + 0.1) × 1000 misses beyond the baseline.
        assert!((m.extra_misses - 1000.0).abs() < 1e-6, "{}", m.extra_misses);
        assert_eq!(m.intervals, 3);
        // The first of three intervals back at 0.9 ends 4 steps after the last one before.
        assert_eq!(m.recovered_after_ms, Some(16 * STEP - job_at));
    }

    #[test]
    fn the_baseline_is_the_median_so_one_odd_interval_does_not_move_it() {
        let mut ratios = vec![0.9; 11];
        ratios.push(0.1); // a crawler's burst right before the change
        ratios.extend([0.5, 0.9, 0.9, 0.9]);
        let iv = series(0, &ratios, 500.0);
        let m = measured(measure(&iv, 12 * STEP, None, 40 * STEP, &Rules::default()));
        assert!((m.baseline - 0.9).abs() < 1e-9, "{}", m.baseline);
        assert!((m.extra_misses - 200.0).abs() < 1e-6);
    }

    #[test]
    fn too_little_data_or_traffic_is_not_measurable_with_the_reason() {
        let cases: [(&str, Vec<Interval>, &str); 3] = [
            (
                "no history",
                series(0, &[0.9, 0.9], 1000.0),
                "2 intervals with traffic",
            ),
            (
                "idle",
                series(0, &[0.9; 12], 3.0),
                "3.0 requests per interval",
            ),
            (
                "no traffic at all",
                series(0, &[0.0; 12], 0.0),
                "0 intervals with traffic",
            ),
        ];
        for (what, iv, reason) in cases {
            match measure(&iv, 12 * STEP, None, 40 * STEP, &Rules::default()) {
                Impact::NotMeasurable { reason: r } => assert!(r.contains(reason), "{what}: {r}"),
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_recovery_under_way_is_pending_until_the_limit_then_not_recovered() {
        let mut ratios = vec![0.9; 12];
        ratios.extend([0.2, 0.3, 0.4]);
        let iv = series(0, &ratios, 100.0);
        let rules = Rules {
            limit_ms: 10 * STEP,
            ..Rules::default()
        };
        let job_at = 12 * STEP;
        match measure(&iv, job_at, None, 15 * STEP, &rules) {
            Impact::Pending(m) => assert_eq!(m.intervals, 3),
            other => panic!("{other:?}"),
        }
        let m = measured(measure(&iv, job_at, None, 30 * STEP, &rules));
        assert_eq!(m.recovered_after_ms, None);
        assert!((m.extra_misses - (70.0 + 60.0 + 50.0)).abs() < 1e-6);
    }

    #[test]
    fn a_second_change_before_recovery_takes_the_rest_of_the_window() {
        let mut ratios = vec![0.9; 12];
        ratios.extend([0.4, 0.5, 0.3, 0.6, 0.9, 0.9, 0.9]);
        let iv = series(0, &ratios, 100.0);
        let first = 12 * STEP;
        let second = 14 * STEP; // after the first two intervals of the dip
        let m = measured(measure(
            &iv,
            first,
            Some(second),
            40 * STEP,
            &Rules::default(),
        ));
        assert_eq!(m.intervals, 2);
        assert_eq!(m.recovered_after_ms, None);
        assert!((m.extra_misses - (50.0 + 40.0)).abs() < 1e-6);
        // The second one's baseline is its own last 12 intervals, the first dip included:
        // the median still says 0.9, and it is measured to its recovery.
        let m2 = measured(measure(&iv, second, None, 40 * STEP, &Rules::default()));
        assert_eq!(m2.recovered_after_ms, Some(17 * STEP - second));
        assert!((m2.extra_misses - (60.0 + 30.0)).abs() < 1e-6);
    }

    #[test]
    fn a_change_that_cost_nothing_measures_zero() {
        let iv = series(0, &[0.9; 20], 1000.0);
        let m = measured(measure(&iv, 12 * STEP, None, 40 * STEP, &Rules::default()));
        assert_eq!(m.extra_misses, 0.0);
        assert_eq!(m.depth, 0.0);
        assert_eq!(m.recovered_after_ms, Some(STEP));
    }
}
