//! How each collected series is named on `/metrics`, following Prometheus conventions: base
//! units in the name (`_bytes`, `_seconds`, `_ratio`), and what is counted per interval (hits,
//! misses, evictions, requests) as a cumulative `_total` counter that `rate()` reads, rather
//! than as a gauge of the latest interval.

/// How one series is exported.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposition {
    /// The metric name, `cachewarden_target_…`.
    pub name: String,
    /// A counter (`_total`, increased by each new interval's count) or a gauge.
    pub counter: bool,
    /// Multiplies the stored value into the base unit (milliseconds → seconds).
    pub scale: f64,
    pub help: &'static str,
}

/// The exposition of `series` (a series name the sources produce).
pub fn of(series: &str) -> Exposition {
    use Kind::*;
    enum Kind {
        Gauge(&'static str, f64, &'static str),
        Counter(&'static str, &'static str),
    }
    let kind = match series {
        "up" => Gauge(
            "up",
            1.0,
            "1 if the latest poll of the target succeeded, 0 if it failed.",
        ),
        "hit_rate" => Gauge(
            "hit_ratio",
            1.0,
            "Cache hit ratio (0-1) over the latest interval with traffic.",
        ),
        "item_hit_rate" => Gauge("item_hit_ratio", 1.0, "DAX item cache hit ratio (0-1)."),
        "query_hit_rate" => Gauge("query_hit_ratio", 1.0, "DAX query cache hit ratio (0-1)."),
        "hits" => Counter("hits_total", "Cache hits."),
        "misses" => Counter("misses_total", "Cache misses."),
        "item_hits" => Counter("item_hits_total", "DAX item cache hits."),
        "item_misses" => Counter("item_misses_total", "DAX item cache misses."),
        "query_hits" => Counter("query_hits_total", "DAX query cache hits."),
        "query_misses" => Counter("query_misses_total", "DAX query cache misses."),
        "evicted_keys" | "evictions" => Counter("evictions_total", "Keys or items evicted."),
        "expired_keys" => Counter("expired_keys_total", "Keys expired."),
        "requests" => Counter("requests_total", "Requests (CloudFront, API Gateway)."),
        "bytes_downloaded" => Counter("downloaded_bytes_total", "Bytes served to viewers."),
        "evicted_size" => Counter("evicted_bytes_total", "Bytes evicted from the DAX cache."),
        "used_memory" => Gauge("used_memory_bytes", 1.0, "Memory used."),
        "maxmemory" => Gauge(
            "max_memory_bytes",
            1.0,
            "Configured memory limit (0: none).",
        ),
        "bytes" => Gauge("stored_bytes", 1.0, "Bytes stored."),
        "limit_maxbytes" => Gauge("memory_limit_bytes", 1.0, "Memory limit."),
        "memory_usage" => Gauge("memory_usage_ratio", 1.0, "Share of memory used (0-1)."),
        "error_rate_4xx" => Gauge("error_4xx_ratio", 1.0, "Share of requests answered 4xx."),
        "error_rate_5xx" => Gauge("error_5xx_ratio", 1.0, "Share of requests answered 5xx."),
        "origin_latency_ms" => Gauge(
            "origin_latency_seconds",
            0.001,
            "CloudFront origin latency (average).",
        ),
        "latency_ms" => Gauge("latency_seconds", 0.001, "API Gateway latency (average)."),
        "connected_clients" | "curr_connections" => {
            Gauge("connections", 1.0, "Open client connections.")
        }
        "keys" => Gauge("keys", 1.0, "Keys stored."),
        "curr_items" => Gauge("items", 1.0, "Items stored."),
        "nodes" => Gauge("nodes", 1.0, "Nodes of the cluster that answered."),
        _ => Gauge("", 1.0, "A series collected by cachewarden; see its name."),
    };
    match kind {
        Gauge(name, scale, help) => Exposition {
            name: format!(
                "cachewarden_target_{}",
                if name.is_empty() { series } else { name }
            ),
            counter: false,
            scale,
            help,
        },
        Counter(name, help) => Exposition {
            name: format!("cachewarden_target_{name}"),
            counter: true,
            scale: 1.0,
            help,
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::TargetKind;

    /// Every series of every kind has a conventional name: a counter ends in `_total`, a gauge
    /// does not, and no name keeps a non-base unit (`_ms`) or the ambiguous `_rate`.
    #[test]
    fn every_series_follows_the_conventions() {
        for kind in TargetKind::ALL {
            for series in kind.series() {
                let e = super::of(series);
                assert!(e.name.starts_with("cachewarden_target_"), "{series}");
                assert_eq!(
                    e.counter,
                    e.name.ends_with("_total"),
                    "{series}: {}",
                    e.name
                );
                for bad in ["_ms", "_rate", "curr_", "maxbytes"] {
                    assert!(!e.name.contains(bad), "{series}: {}", e.name);
                }
                assert!(
                    !e.help.starts_with("A series collected"),
                    "{series} has no entry"
                );
            }
        }
        assert_eq!(super::of("origin_latency_ms").scale, 0.001);
    }
}
