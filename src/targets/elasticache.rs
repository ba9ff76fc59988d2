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
    /// A Memcached node within its cluster (`CacheNodeId`, like `0001`): CloudWatch publishes
    /// a Memcached cluster's figures per node.
    cache_node_id: Option<String>,
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
    pub cache_node_id: Option<String>,
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
    fn discovery(&self) -> Option<&dyn super::Discovery> {
        Some(self)
    }

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
        let node = match raw.cache_node_id {
            None => Some(None),
            Some(n)
                if !n.is_empty()
                    && n.len() <= 20
                    && n.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                Some(Some(n))
            }
            Some(n) => {
                v.error(
                    path.key("cache_node_id"),
                    format!("{n:?} is not a cache node id like \"0001\""),
                );
                None
            }
        };
        let id = v.required(path, "cache_cluster_id", &raw.cache_cluster_id)?;
        Some(Arc::new(Config {
            cache_cluster_id: id.clone(),
            cache_node_id: node?,
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
# cache_node_id = "0001"              # a Memcached node (CloudWatch has Memcached per node)
"#
    }
}

impl CloudWatchQueries for Config {
    fn metrics(&self) -> Vec<MetricSpec> {
        let mut d = vec![("CacheClusterId", self.cache_cluster_id.as_str())];
        if let Some(node) = &self.cache_node_id {
            d.push(("CacheNodeId", node.as_str()));
        }
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
        match &self.cache_node_id {
            Some(n) => vec![("node", format!("{} {n}", self.cache_cluster_id))],
            None => vec![("node", self.cache_cluster_id.clone())],
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Found through `DescribeReplicationGroups` (one target per member node, all in the group)
/// and `DescribeCacheClusters` (clusters outside a group: Memcached, single-node Redis), with
/// each resource's tags (`ListTagsForResource`). A group or cluster being deleted is not
/// found, so its nodes go like any that disappeared.
impl super::discover::Discovery for ElastiCache {
    fn fills(&self) -> &'static [&'static str] {
        &["cache_cluster_id", "cache_node_id", "engine", "region"]
    }

    fn placeholder(&self) -> toml::Table {
        super::discover::keys([("cache_cluster_id", "placeholder-0001-001".to_owned())])
    }

    fn find<'a>(
        &'a self,
        sdk: &'a aws_config::SdkConfig,
        region: &'a str,
    ) -> super::discover::Finding<'a> {
        Box::pin(async move {
            use super::discover::{Found, keys};
            let client = aws_sdk_elasticache::Client::new(sdk);
            let gone = |status: Option<&str>| matches!(status, Some("deleting" | "deleted"));
            let node = |id: &str, engine: Option<&str>| {
                keys([
                    ("cache_cluster_id", id.to_owned()),
                    ("engine", engine.unwrap_or("redis").to_owned()),
                    ("region", region.to_owned()),
                ])
            };
            let mut found = Vec::new();
            let mut groups = client
                .describe_replication_groups()
                .into_paginator()
                .items()
                .send();
            while let Some(g) = groups.next().await {
                let g = g.map_err(|e| {
                    crate::aws_error::explain("elasticache:DescribeReplicationGroups", &e)
                })?;
                let Some(id) = g.replication_group_id().filter(|_| !gone(g.status())) else {
                    continue;
                };
                let tags = tags_of(&client, g.arn()).await?;
                for member in g.member_clusters() {
                    found.push(Found {
                        id: member.clone(),
                        name: id.to_owned(),
                        keys: node(member, g.engine()),
                        group: Some(id.to_owned()),
                        tags: tags.clone(),
                    });
                }
            }
            let mut clusters = client
                .describe_cache_clusters()
                .show_cache_node_info(true)
                .into_paginator()
                .items()
                .send();
            while let Some(c) = clusters.next().await {
                let c = c.map_err(|e| {
                    crate::aws_error::explain("elasticache:DescribeCacheClusters", &e)
                })?;
                let standalone = c.replication_group_id().is_none();
                let Some(id) = c
                    .cache_cluster_id()
                    .filter(|_| standalone && !gone(c.cache_cluster_status()))
                else {
                    continue;
                };
                let tags = tags_of(&client, c.arn()).await?;
                if c.engine() != Some("memcached") {
                    found.push(Found {
                        id: id.to_owned(),
                        name: id.to_owned(),
                        keys: node(id, c.engine()),
                        group: None,
                        tags,
                    });
                    continue;
                }
                // A Memcached cluster: one target per node, all in the cluster's group.
                for n in memcached_nodes(&c) {
                    let mut keys = node(id, c.engine());
                    keys.insert("cache_node_id".into(), n.clone().into());
                    found.push(Found {
                        id: format!("{id}-{n}"),
                        name: id.to_owned(),
                        keys,
                        group: Some(id.to_owned()),
                        tags: tags.clone(),
                    });
                }
            }
            Ok(found)
        })
    }
}

/// A group's or cluster's tags (none without an ARN).
async fn tags_of(
    client: &aws_sdk_elasticache::Client,
    arn: Option<&str>,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let Some(arn) = arn else {
        return Ok(Default::default());
    };
    let out = client
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(|e| crate::aws_error::explain("elasticache:ListTagsForResource", &e))?;
    Ok(super::discover::tag_map(
        out.tag_list().iter().map(|t| (t.key(), t.value())),
    ))
}

/// A Memcached cluster's node ids: as listed (`ShowCacheNodeInfo`), or, where a listing has
/// none, `0001` up to its node count (ElastiCache numbers a cluster's nodes so).
fn memcached_nodes(c: &aws_sdk_elasticache::types::CacheCluster) -> Vec<String> {
    let listed: Vec<String> = c
        .cache_nodes()
        .iter()
        .filter_map(|n| n.cache_node_id().map(str::to_owned))
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    (1..=c.num_cache_nodes().unwrap_or(1).max(1))
        .map(|i| format!("{i:04}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use aws_sdk_elasticache::types::{CacheCluster, CacheNode};

    /// Nodes as ElastiCache lists them; without a listing, numbered up to the count.
    #[test]
    fn memcached_nodes_are_listed_or_numbered() {
        let listed = CacheCluster::builder()
            .num_cache_nodes(3)
            .cache_nodes(CacheNode::builder().cache_node_id("0001").build())
            .cache_nodes(CacheNode::builder().cache_node_id("0003").build())
            .build();
        assert_eq!(
            super::memcached_nodes(&listed),
            ["0001", "0003"],
            "a node removed keeps its gap"
        );
        let counted = CacheCluster::builder().num_cache_nodes(3).build();
        assert_eq!(super::memcached_nodes(&counted), ["0001", "0002", "0003"]);
    }
}
