//! A target's current values, each with the time of the interval it belongs to. A ratio such
//! as `hit_rate` has no datapoint for an interval without traffic, so its newest value can be
//! older than the newest counts beside it; callers show that instead of presenting the old
//! value as now.

use crate::store::Sample;

/// The newest sample of each series of one target.
pub struct Current<'a> {
    samples: &'a [Sample],
}

impl<'a> Current<'a> {
    pub fn new(samples: &'a [Sample]) -> Self {
        Self { samples }
    }

    pub fn get(&self, series: &str) -> Option<&'a Sample> {
        self.samples.iter().find(|s| s.series == series)
    }

    /// Whether `series` is from an earlier interval than other collected values (`up` aside:
    /// it is written at every poll, ahead of CloudWatch's minutes-late data).
    pub fn is_behind(&self, series: &str) -> bool {
        let Some(this) = self.get(series) else {
            return false;
        };
        self.samples
            .iter()
            .any(|s| s.series != "up" && s.ts > this.ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(series: &str, ts: i64, value: f64) -> Sample {
        Sample::new("t", "", series, ts, value)
    }

    #[test]
    fn a_ratio_without_traffic_since_is_behind_the_counts() {
        let quiet = [
            at("hit_rate", 1_000, 0.97),
            at("hits", 2_000, 0.0),
            at("misses", 2_000, 0.0),
            at("up", 2_000, 1.0),
        ];
        assert!(Current::new(&quiet).is_behind("hit_rate"));
        assert!(!Current::new(&quiet).is_behind("hits"));
        // CloudWatch: every series of the same minute, `up` written later at poll time.
        let cloudwatch = [
            at("hit_rate", 1_000, 0.9),
            at("requests", 1_000, 10.0),
            at("up", 5_000, 1.0),
        ];
        assert!(!Current::new(&cloudwatch).is_behind("hit_rate"));
        assert!(!Current::new(&cloudwatch).is_behind("absent"));
    }
}
