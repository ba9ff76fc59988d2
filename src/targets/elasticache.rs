//! `kind = "elasticache"`: one ElastiCache node (`CacheClusterId`, such as `rg-0001-001`),
//! through CloudWatch's `AWS/ElastiCache`. The Redis engine publishes its hit rate; for
//! Memcached it is computed from `GetHits` and `GetMisses`.

use std::sync::Arc;

use serde::Deserialize;

use super::series::{Role, Series, Unit, common, gauge};
use super::{Polling, TargetConfig, TargetKind};
use crate::checker::fields::{self, Field};
use crate::checker::{Checker, KeyPath};
use crate::sources::cloudwatch::plan::{self, Answers, CloudWatchQueries, MetricSpec, spec};
use crate::store::Sample;

pub struct ElastiCache;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// The node id (`CacheClusterId`): one target per node.
    cache_cluster_id: Option<String>,
    /// redis (default), valkey or memcached: which metrics give the hit rate.
    engine: Option<String>,
    /// Else `[aws] region`.
    region: Option<String>,
}

/// The engine, which decides how the hit rate is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Redis,
    Memcached,
}

/// An ElastiCache node.
#[derive(Debug, Clone)]
pub struct Config {
    pub cache_cluster_id: String,
    pub engine: Engine,
    pub region: Option<String>,
}

const SERIES: &[Series] = &[
    common::HIT_RATE,
    common::HITS,
    common::MISSES,
    common::EVICTIONS,
    gauge(
        "memory_usage",
        Role::MemoryShare,
        Unit::Ratio,
        "memory_usage_ratio",
        "Share of memory used (0-1).",
    ),
    common::CURR_CONNECTIONS,
];

impl TargetKind for ElastiCache {
    fn name(&self) -> &'static str {
        "elasticache"
    }

    fn label(&self) -> &'static str {
        "ElastiCache"
    }

    fn polling(&self) -> Polling {
        Polling::CloudWatch
    }

    fn series(&self) -> &'static [Series] {
        SERIES
    }

    fn fields(&self) -> Vec<Field> {
        fields::of::<Raw>()
    }

    fn parse(
        &self,
        v: &mut Checker,
        path: &KeyPath,
        table: toml::Table,
        foreign: &dyn Fn(&str) -> String,
    ) -> Option<Arc<dyn TargetConfig>> {
        let raw: Raw = fields::read(v, path, table, foreign)?;
        let region = match &raw.region {
            None => Some(None),
            Some(r) => v.region(path.key("region"), r).map(Some),
        };
        let engine = match raw.engine.as_deref() {
            None | Some("redis") | Some("valkey") => Some(Engine::Redis),
            Some("memcached") => Some(Engine::Memcached),
            Some(other) => {
                v.error(
                    path.key("engine"),
                    format!("unknown engine {other:?}: expected redis, valkey or memcached"),
                );
                None
            }
        };
        let id = v.required(path, "cache_cluster_id", &raw.cache_cluster_id)?;
        Some(Arc::new(Config {
            cache_cluster_id: id.clone(),
            engine: engine?,
            region: region?,
        }))
    }

    fn example(&self) -> &'static str {
        r#"# An ElastiCache node, through CloudWatch (one target per node id).
[[targets]]
name = "catalog-cache-1"
kind = "elasticache"
cache_cluster_id = "catalog-0001-001"
engine = "redis"                      # redis | valkey | memcached
"#
    }
}

impl CloudWatchQueries for Config {
    fn metrics(&self) -> Vec<MetricSpec> {
        let d = [("CacheClusterId", self.cache_cluster_id.as_str())];
        let ns = "AWS/ElastiCache";
        let mut v = match self.engine {
            Engine::Redis => vec![
                spec(ns, "CacheHitRate", "Average", &d, "hit_rate", plan::PERCENT),
                spec(ns, "CacheHits", "Sum", &d, "hits", 1.0),
                spec(ns, "CacheMisses", "Sum", &d, "misses", 1.0),
                spec(
                    ns,
                    "DatabaseMemoryUsagePercentage",
                    "Average",
                    &d,
                    "memory_usage",
                    plan::PERCENT,
                ),
            ],
            Engine::Memcached => vec![
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

    fn samples(&self, target: &str, mut answers: Answers) -> (Vec<Sample>, Option<String>) {
        let mut out = match self.engine {
            // Published rate, weighted by hits + misses where those are there.
            Engine::Redis => {
                let rates = answers.remove("hit_rate").unwrap_or_default();
                let volume = |ts: i64| {
                    let h = answers.get("hits").and_then(|m| m.get(&ts))?;
                    let m = answers.get("misses").and_then(|m| m.get(&ts))?;
                    Some(h + m)
                };
                plan::weighted(target, "hit_rate", rates, volume)
            }
            Engine::Memcached => plan::ratio(
                target,
                "hit_rate",
                answers.get("hits"),
                answers.get("misses"),
            ),
        };
        out.extend(plan::plain(target, answers));
        plan::sort(&mut out);
        (out, None)
    }
}

impl TargetConfig for Config {
    fn region(&self, default: Option<&str>) -> Option<String> {
        self.region.clone().or_else(|| default.map(str::to_owned))
    }

    fn cloudwatch(&self) -> Option<Arc<dyn CloudWatchQueries>> {
        Some(Arc::new(self.clone()))
    }

    fn facts(&self) -> Vec<(&'static str, String)> {
        vec![("node", self.cache_cluster_id.clone())]
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
