//! What to ask CloudWatch for each target, and how the answers become samples (pure).
//!
//! Namespaces, metric names, dimensions and statistics follow DESIGN §2. Ratios AWS publishes
//! (ElastiCache Redis and CloudFront `CacheHitRate`, in percent) are scaled to 0-1; ratios it
//! does not publish are computed here from hit and miss sums, never with metric math.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::config::{CacheEngine, TargetSettings, TargetSource};
use crate::store::Sample;

/// One metric to request for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    pub namespace: &'static str,
    pub metric: &'static str,
    pub stat: &'static str,
    pub dimensions: Vec<(&'static str, String)>,
    /// The series the values are stored as.
    pub series: &'static str,
    /// Multiplier applied to each value (0.01 for percentages).
    pub scale: f64,
}

fn spec(
    namespace: &'static str,
    metric: &'static str,
    stat: &'static str,
    dims: &[(&'static str, &str)],
    series: &'static str,
    scale: f64,
) -> MetricSpec {
    MetricSpec {
        namespace,
        metric,
        stat,
        dimensions: dims.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        series,
        scale,
    }
}

/// The metrics polled for one target; empty for kinds CloudWatch does not serve.
pub fn specs_for(target: &TargetSettings) -> Vec<MetricSpec> {
    const PCT: f64 = 0.01;
    match &target.source {
        TargetSource::Elasticache {
            cache_cluster_id,
            engine,
            ..
        } => {
            let d = [("CacheClusterId", cache_cluster_id.as_str())];
            let ns = "AWS/ElastiCache";
            let mut v = match engine {
                CacheEngine::Redis => vec![
                    spec(ns, "CacheHitRate", "Average", &d, "hit_rate", PCT),
                    spec(ns, "CacheHits", "Sum", &d, "hits", 1.0),
                    spec(ns, "CacheMisses", "Sum", &d, "misses", 1.0),
                    spec(
                        ns,
                        "DatabaseMemoryUsagePercentage",
                        "Average",
                        &d,
                        "memory_usage",
                        PCT,
                    ),
                ],
                CacheEngine::Memcached => vec![
                    spec(ns, "GetHits", "Sum", &d, "hits", 1.0),
                    spec(ns, "GetMisses", "Sum", &d, "misses", 1.0),
                ],
            };
            v.push(spec(ns, "Evictions", "Sum", &d, "evictions", 1.0));
            v.push(spec(
                ns,
                "CurrConnections",
                "Average",
                &d,
                "curr_connections",
                1.0,
            ));
            v
        }
        TargetSource::Cloudfront {
            distribution_id, ..
        } => {
            let d = [
                ("DistributionId", distribution_id.as_str()),
                ("Region", "Global"),
            ];
            let ns = "AWS/CloudFront";
            vec![
                spec(ns, "CacheHitRate", "Average", &d, "hit_rate", PCT),
                spec(ns, "Requests", "Sum", &d, "requests", 1.0),
                spec(ns, "4xxErrorRate", "Average", &d, "error_rate_4xx", PCT),
                spec(ns, "5xxErrorRate", "Average", &d, "error_rate_5xx", PCT),
                spec(ns, "OriginLatency", "Average", &d, "origin_latency_ms", 1.0),
                spec(ns, "BytesDownloaded", "Sum", &d, "bytes_downloaded", 1.0),
            ]
        }
        TargetSource::Apigateway {
            api_name, stage, ..
        } => {
            let d = [("ApiName", api_name.as_str()), ("Stage", stage.as_str())];
            let ns = "AWS/ApiGateway";
            vec![
                spec(ns, "CacheHitCount", "Sum", &d, "hits", 1.0),
                spec(ns, "CacheMissCount", "Sum", &d, "misses", 1.0),
                spec(ns, "Count", "Sum", &d, "requests", 1.0),
                spec(ns, "Latency", "Average", &d, "latency_ms", 1.0),
            ]
        }
        TargetSource::Dax { cluster_id, .. } => {
            let d = [("ClusterId", cluster_id.as_str())];
            let ns = "AWS/DAX";
            vec![
                spec(ns, "ItemCacheHits", "Sum", &d, "item_hits", 1.0),
                spec(ns, "ItemCacheMisses", "Sum", &d, "item_misses", 1.0),
                spec(ns, "QueryCacheHits", "Sum", &d, "query_hits", 1.0),
                spec(ns, "QueryCacheMisses", "Sum", &d, "query_misses", 1.0),
                spec(ns, "EvictedSize", "Sum", &d, "evicted_size", 1.0),
            ]
        }
        TargetSource::Redis { .. } | TargetSource::Memcached { .. } => Vec::new(),
    }
}

/// Datapoints returned for one target: series → (timestamp ms → value, already scaled).
pub type Answers = HashMap<&'static str, BTreeMap<i64, f64>>;

/// Samples (and an optional notice) for one target from its answers.
pub fn samples_for(target: &TargetSettings, mut answers: Answers) -> (Vec<Sample>, Option<String>) {
    let name = target.name.as_str();
    let mut notice = None;
    let mut out = Vec::new();
    let ratio = |out: &mut Vec<Sample>,
                 series: &str,
                 hits: &BTreeMap<i64, f64>,
                 misses: &BTreeMap<i64, f64>| {
        let stamps: BTreeSet<i64> = hits.keys().chain(misses.keys()).copied().collect();
        for ts in stamps {
            // Within one answer, a missing side had no events: 0.
            let (h, m) = (
                hits.get(&ts).copied().unwrap_or(0.0),
                misses.get(&ts).copied().unwrap_or(0.0),
            );
            if h + m > 0.0 {
                out.push(Sample::ratio(name, "", series, ts, h, h + m));
            }
        }
    };
    match &target.source {
        TargetSource::Dax { .. } => {
            // DAX publishes some metrics only when they are non-zero: at any minute where one
            // of them has a datapoint, the others' absence means zero.
            let stamps: BTreeSet<i64> = answers.values().flat_map(|m| m.keys().copied()).collect();
            for series in [
                "item_hits",
                "item_misses",
                "query_hits",
                "query_misses",
                "evicted_size",
            ] {
                let m = answers.entry(series).or_default();
                for ts in &stamps {
                    m.entry(*ts).or_insert(0.0);
                }
            }
            ratio(
                &mut out,
                "item_hit_rate",
                &answers["item_hits"],
                &answers["item_misses"],
            );
            ratio(
                &mut out,
                "query_hit_rate",
                &answers["query_hits"],
                &answers["query_misses"],
            );
        }
        TargetSource::Apigateway { .. }
        | TargetSource::Elasticache {
            engine: CacheEngine::Memcached,
            ..
        } => {
            let empty = BTreeMap::new();
            ratio(
                &mut out,
                "hit_rate",
                answers.get("hits").unwrap_or(&empty),
                answers.get("misses").unwrap_or(&empty),
            );
        }
        TargetSource::Elasticache {
            engine: CacheEngine::Redis,
            ..
        } => {
            // Published rate; weighted by hits + misses when those are there, so rollups
            // can sum them.
            let rates = answers.remove("hit_rate").unwrap_or_default();
            for (ts, rate) in rates {
                let h = answers.get("hits").and_then(|m| m.get(&ts)).copied();
                let m = answers.get("misses").and_then(|m| m.get(&ts)).copied();
                out.push(match (h, m) {
                    (Some(h), Some(m)) if h + m > 0.0 => Sample {
                        value: rate,
                        ..Sample::ratio(name, "", "hit_rate", ts, h, h + m)
                    },
                    _ => Sample::new(name, "", "hit_rate", ts, rate),
                });
            }
        }
        TargetSource::Cloudfront {
            distribution_id, ..
        } => {
            let rates = answers.remove("hit_rate").unwrap_or_default();
            let requests = answers.get("requests").cloned().unwrap_or_default();
            if rates.is_empty() && requests.values().any(|r| *r > 0.0) {
                notice = Some(format!(
                    "CloudWatch has requests but no CacheHitRate for distribution {distribution_id}: \
                     enable the distribution's additional metrics to get its hit rate"
                ));
            }
            for (ts, rate) in rates {
                out.push(match requests.get(&ts) {
                    Some(r) if *r > 0.0 => Sample {
                        value: rate,
                        ..Sample::ratio(name, "", "hit_rate", ts, rate * r, *r)
                    },
                    _ => Sample::new(name, "", "hit_rate", ts, rate),
                });
            }
        }
        TargetSource::Redis { .. } | TargetSource::Memcached { .. } => {}
    }
    for (series, points) in answers {
        for (ts, v) in points {
            out.push(Sample::new(name, "", series, ts, v));
        }
    }
    out.sort_by(|a, b| (a.ts, &a.series).cmp(&(b.ts, &b.series)));
    (out, notice)
}
