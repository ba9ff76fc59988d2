//! The collected series on `/metrics`: the latest value of each series as a gauge labelled by
//! target and node, so teams that already run Prometheus and Grafana can use them directly.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus::{GaugeVec, Opts, Registry};

use crate::store::Sample;

/// Gauges per series name, created the first time a series is seen.
pub struct CacheGauges {
    registry: Registry,
    gauges: Mutex<HashMap<String, GaugeVec>>,
    /// When each exported value was measured (the start of its interval), so a value from an
    /// earlier interval (a hit ratio with no traffic since) is not read as current.
    timestamps: Option<GaugeVec>,
}

/// Help text for the series the sources produce.
fn help(series: &str) -> String {
    let text = match series {
        "up" => "1 if the latest poll of the target succeeded, 0 if it failed.",
        "hit_rate" => "Cache hit ratio (0-1) over the latest interval.",
        "hits" => "Cache hits in the latest interval.",
        "misses" => "Cache misses in the latest interval.",
        "evicted_keys" | "evictions" => "Keys evicted in the latest interval.",
        "expired_keys" => "Keys expired in the latest interval.",
        "used_memory" => "Memory used, in bytes.",
        "maxmemory" => "Configured memory limit, in bytes (0: none).",
        "connected_clients" | "curr_connections" => "Open client connections.",
        "keys" => "Keys stored.",
        "curr_items" => "Items stored.",
        "bytes" => "Bytes stored.",
        "limit_maxbytes" => "Memory limit, in bytes.",
        "memory_usage" => "Share of memory used (0-1).",
        "requests" => "Requests in the latest interval.",
        _ => "A series collected by cachewarden; see the series name.",
    };
    text.to_owned()
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
        Self {
            registry,
            gauges: Mutex::new(HashMap::new()),
            timestamps,
        }
    }

    /// Sets each series' gauge to the newest of the given samples.
    pub fn observe(&self, samples: &[Sample]) {
        let mut newest: HashMap<(&str, &str, &str), (i64, f64)> = HashMap::new();
        for s in samples {
            let e = newest
                .entry((&s.target, &s.node, &s.series))
                .or_insert((s.ts, s.value));
            if s.ts >= e.0 {
                *e = (s.ts, s.value);
            }
        }
        let mut gauges = self.gauges.lock().unwrap_or_else(|p| p.into_inner());
        for ((target, node, series), (ts, value)) in newest {
            let gauge = match gauges.get(series) {
                Some(g) => g.clone(),
                None => {
                    let name = format!("cachewarden_target_{series}");
                    let Ok(g) = GaugeVec::new(Opts::new(name, help(series)), &["target", "node"])
                    else {
                        tracing::warn!(
                            series,
                            "A series name is not a valid metric name; it is not exported."
                        );
                        continue;
                    };
                    if let Err(e) = self.registry.register(Box::new(g.clone())) {
                        tracing::warn!(series, error = %e, "Could not export a series.");
                        continue;
                    }
                    gauges.insert(series.to_owned(), g.clone());
                    g
                }
            };
            gauge.with_label_values(&[target, node]).set(value);
            if let Some(t) = &self.timestamps {
                t.with_label_values(&[target, node, series])
                    .set(ts as f64 / 1000.0);
            }
        }
    }
}
