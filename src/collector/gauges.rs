//! The collected series on `/metrics`, labelled by target and node, named as `exposition`
//! says: a gauge holds the newest value, a counter adds up every interval's count once, so
//! teams that already run Prometheus and Grafana can use them directly.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use prometheus::core::Collector;
use prometheus::{CounterVec, GaugeVec, Opts, Registry};

use super::exposition;
use crate::store::Sample;

/// The registry owns what it collects; the gauges keep setting it.
struct SharedInfo(std::sync::Arc<super::info::TargetInfo>);

impl Collector for SharedInfo {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.0.desc()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.0.collect()
    }
}

/// A metric family, created the first time one of its series is seen.
#[derive(Clone)]
enum Family {
    Gauge(GaugeVec),
    Counter(CounterVec),
}

/// What `/metrics` shows of the collected series.
pub struct CacheGauges {
    registry: Registry,
    state: Mutex<State>,
    /// When each exported value was measured (the start of its interval), so a value from an
    /// earlier interval (a hit ratio with no traffic since) is not read as current.
    timestamps: Option<GaugeVec>,
    /// `cachewarden_target_info`: where each target in force lives, and its tags.
    info: std::sync::Arc<super::info::TargetInfo>,
}

#[derive(Default)]
struct State {
    /// By metric name (two series can share one: `evicted_keys` and `evictions`).
    families: HashMap<String, Family>,
    /// By series name, with the scale into the base unit: named once, not per sample.
    series: HashMap<String, (Family, f64)>,
    /// (target, node, series) → the newest interval already added to its counter. CloudWatch
    /// polls re-read their lookback window, so the same interval arrives several times.
    counted: HashMap<(String, String, String), i64>,
    /// After a reload, the targets in force: a poll of a removed target that was still
    /// running when it was dropped adds nothing back.
    in_force: Option<HashSet<String>>,
}

impl CacheGauges {
    /// Gauges registered in `registry` as series appear.
    pub fn new(registry: Registry) -> Self {
        let timestamps = GaugeVec::new(
            Opts::new(
                "cachewarden_target_sample_timestamp_seconds",
                "When the exported value of a series was measured (Unix time of its interval); \
                 older than the others when the series had no datapoint since (a hit ratio \
                 without traffic).",
            ),
            &["target", "node", "series"],
        )
        .ok()
        .filter(|g| registry.register(Box::new(g.clone())).is_ok());
        let info = std::sync::Arc::new(super::info::TargetInfo::default());
        if let Err(e) = registry.register(Box::new(SharedInfo(info.clone()))) {
            tracing::warn!(error = %e, "cachewarden_target_info is registered already.");
        }
        Self {
            registry,
            state: Mutex::new(State::default()),
            timestamps,
            info,
        }
    }

    /// Describes the targets of `settings` in `cachewarden_target_info` (those in force).
    pub fn describe_targets(&self, settings: &crate::config::Settings) {
        self.info.set(settings);
    }

    /// Takes a poll's samples: gauges to the newest value, counters up by each interval not
    /// counted yet.
    pub fn observe(&self, samples: &[Sample]) {
        let mut ordered: Vec<&Sample> = samples.iter().collect();
        ordered.sort_by_key(|s| s.ts);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for s in ordered {
            if state
                .in_force
                .as_ref()
                .is_some_and(|k| !k.contains(&s.target))
            {
                continue;
            }
            let Some((family, scale)) = self.exported(&mut state, &s.series) else {
                continue;
            };
            let labels = [s.target.as_str(), s.node.as_str()];
            match family {
                Family::Gauge(g) => g.with_label_values(&labels).set(s.value * scale),
                Family::Counter(c) => {
                    let key = (s.target.clone(), s.node.clone(), s.series.clone());
                    let seen = state.counted.get(&key).copied().unwrap_or(i64::MIN);
                    // A count is never negative (deltas are reset-aware); a counter cannot
                    // go down.
                    if s.ts > seen && s.value.is_finite() && s.value >= 0.0 {
                        c.with_label_values(&labels).inc_by(s.value * scale);
                        state.counted.insert(key, s.ts);
                    }
                }
            }
            if let Some(t) = &self.timestamps {
                t.with_label_values(&[&s.target, &s.node, &s.series])
                    .set(s.ts as f64 / 1000.0);
            }
        }
    }

    /// Drops every series of the targets not in `kept` (removed by a reload), so `/metrics`
    /// shows no value that is no longer measured.
    pub fn retain_targets(&self, kept: &HashSet<&str>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.in_force = Some(kept.iter().map(|t| t.to_string()).collect());
        state
            .counted
            .retain(|(target, _, _), _| kept.contains(target.as_str()));
        // The label sets are read from the metrics themselves rather than tracked per sample.
        let gone = |labels: &[String]| labels.first().is_some_and(|t| !kept.contains(t.as_str()));
        for family in state.families.values() {
            match family {
                Family::Gauge(g) => remove_where(g, &gone),
                Family::Counter(c) => remove_where(c, &gone),
            }
        }
        if let Some(t) = &self.timestamps {
            remove_where(t, &gone);
        }
    }

    /// The family `series` is exported in, and its scale.
    fn exported(&self, state: &mut State, series: &str) -> Option<(Family, f64)> {
        if let Some(known) = state.series.get(series) {
            return Some(known.clone());
        }
        let how = exposition::of(series);
        let family = self.family(state, &how)?;
        state
            .series
            .insert(series.to_owned(), (family.clone(), how.scale));
        Some((family, how.scale))
    }

    /// The family of `how`, registering it the first time.
    fn family(&self, state: &mut State, how: &exposition::Exposition) -> Option<Family> {
        if let Some(f) = state.families.get(&how.name) {
            return Some(f.clone());
        }
        let opts = Opts::new(how.name.clone(), how.help);
        let labels = &["target", "node"];
        let (family, collector): (Family, Box<dyn Collector>) = if how.counter {
            let c = CounterVec::new(opts, labels).ok()?;
            (Family::Counter(c.clone()), Box::new(c))
        } else {
            let g = GaugeVec::new(opts, labels).ok()?;
            (Family::Gauge(g.clone()), Box::new(g))
        };
        if let Err(e) = self.registry.register(collector) {
            tracing::warn!(metric = %how.name, error = %e, "Could not export a series.");
            return None;
        }
        state.families.insert(how.name.clone(), family.clone());
        Some(family)
    }
}

/// Removes the series of `vec` whose label values (in the vec's label order) match `gone`.
fn remove_where<P: prometheus::core::MetricVecBuilder>(
    vec: &prometheus::core::MetricVec<P>,
    gone: &dyn Fn(&[String]) -> bool,
) {
    let names = vec
        .desc()
        .first()
        .map(|d| d.variable_labels.clone())
        .unwrap_or_default();
    for family in vec.collect() {
        for m in family.get_metric() {
            let values: Vec<String> = names
                .iter()
                .map(|n| {
                    m.get_label()
                        .iter()
                        .find(|l| l.name() == n)
                        .map(|l| l.value().to_owned())
                        .unwrap_or_default()
                })
                .collect();
            if gone(&values) {
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                // Absent already is fine: the aim is that none is left.
                let _ = vec.remove_label_values(&refs);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exported(registry: &Registry) -> String {
        let mut out = Vec::new();
        prometheus::Encoder::encode(
            &prometheus::TextEncoder::new(),
            &registry.gather(),
            &mut out,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_removed_target_leaves_no_series_and_a_late_poll_adds_none_back() {
        let registry = Registry::new();
        let gauges = CacheGauges::new(registry.clone());
        let poll = |target: &str, ts: i64| {
            vec![
                Sample::new(target, "", "up", ts, 1.0),
                Sample::new(target, "n1", "keyspace_hits", ts, 5.0),
            ]
        };
        gauges.observe(&[poll("kept", 1_000), poll("gone", 1_000)].concat());
        assert!(exported(&registry).contains("target=\"gone\""));

        gauges.retain_targets(&HashSet::from(["kept"]));
        let text = exported(&registry);
        assert!(!text.contains("target=\"gone\""), "{text}");
        assert!(text.contains("target=\"kept\""), "{text}");

        // A poll of the removed target that was still running ends after the reload.
        gauges.observe(&poll("gone", 2_000));
        assert!(!exported(&registry).contains("target=\"gone\""));
    }
}
