//! `kind = "dax"`: a DAX cluster, through CloudWatch's `AWS/DAX` (dimension `ClusterId`). Its
//! item cache and query cache have a hit rate each; the item cache's is the one shown first.
//! DAX publishes some metrics only when they are non-zero, so at a minute where any of them
//! has a datapoint, the others' absence means zero.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Deserialize;

use super::series::{Role, Series, Unit, counter, gauge};
use super::{Polling, TargetConfig, TargetKind};
use crate::checker::fields::{self, Field};
use crate::checker::{Checker, KeyPath};
use crate::sources::cloudwatch::plan::{self, Answers, CloudWatchQueries, MetricSpec, spec};
use crate::store::Sample;

pub struct Dax;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// The cluster's id (`ClusterId`).
    cluster_id: Option<String>,
    /// Else `[aws] region`.
    region: Option<String>,
}

/// A DAX cluster.
#[derive(Debug, Clone)]
pub struct Config {
    pub cluster_id: String,
    pub region: Option<String>,
}

/// The counts DAX publishes only when non-zero.
const SPARSE: [&str; 5] = [
    "item_hits",
    "item_misses",
    "query_hits",
    "query_misses",
    "evicted_size",
];

const SERIES: &[Series] = &[
    gauge(
        "item_hit_rate",
        Role::HitRatio,
        Unit::Ratio,
        "item_hit_ratio",
        "DAX item cache hit ratio (0-1).",
    ),
    gauge(
        "query_hit_rate",
        Role::HitRatio,
        Unit::Ratio,
        "query_hit_ratio",
        "DAX query cache hit ratio (0-1).",
    ),
    counter(
        "item_hits",
        Role::Hits,
        Unit::Count,
        "item_hits_total",
        "DAX item cache hits.",
    ),
    counter(
        "item_misses",
        Role::Misses,
        Unit::Count,
        "item_misses_total",
        "DAX item cache misses.",
    ),
    counter(
        "query_hits",
        Role::Other,
        Unit::Count,
        "query_hits_total",
        "DAX query cache hits.",
    ),
    counter(
        "query_misses",
        Role::Other,
        Unit::Count,
        "query_misses_total",
        "DAX query cache misses.",
    ),
    counter(
        "evicted_size",
        Role::Other,
        Unit::Bytes,
        "evicted_bytes_total",
        "Bytes evicted from the DAX cache.",
    ),
];

impl TargetKind for Dax {
    fn discovery(&self) -> Option<&dyn super::Discovery> {
        Some(self)
    }

    fn name(&self) -> &'static str {
        "dax"
    }

    fn label(&self) -> &'static str {
        "DAX"
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
        let id = v.required(path, "cluster_id", &raw.cluster_id)?;
        Some(Arc::new(Config {
            cluster_id: id.clone(),
            region: region?,
        }))
    }

    fn example(&self) -> &'static str {
        r#"[[targets]]
name = "orders-dax"
kind = "dax"
cluster_id = "orders"
"#
    }
}

impl CloudWatchQueries for Config {
    fn metrics(&self) -> Vec<MetricSpec> {
        let d = [("ClusterId", self.cluster_id.as_str())];
        let ns = "AWS/DAX";
        vec![
            spec(ns, "ItemCacheHits", "Sum", &d, "item_hits", 1.0),
            spec(ns, "ItemCacheMisses", "Sum", &d, "item_misses", 1.0),
            spec(ns, "QueryCacheHits", "Sum", &d, "query_hits", 1.0),
            spec(ns, "QueryCacheMisses", "Sum", &d, "query_misses", 1.0),
            spec(ns, "EvictedSize", "Sum", &d, "evicted_size", 1.0),
        ]
    }

    fn samples(&self, target: &str, mut answers: Answers) -> (Vec<Sample>, Option<String>) {
        let stamps: BTreeSet<i64> = answers.values().flat_map(|m| m.keys().copied()).collect();
        for series in SPARSE {
            let m = answers.entry(series).or_default();
            for ts in &stamps {
                m.entry(*ts).or_insert(0.0);
            }
        }
        let mut out = plan::ratio(
            target,
            "item_hit_rate",
            answers.get("item_hits"),
            answers.get("item_misses"),
        );
        out.extend(plan::ratio(
            target,
            "query_hit_rate",
            answers.get("query_hits"),
            answers.get("query_misses"),
        ));
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
        vec![("cluster", self.cluster_id.clone())]
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Found through `DescribeClusters` (page by page) and each cluster's `ListTags`. A cluster
/// being deleted is not found.
impl super::discover::Discovery for Dax {
    fn fills(&self) -> &'static [&'static str] {
        &["cluster_id", "region"]
    }

    fn placeholder(&self) -> toml::Table {
        super::discover::keys([("cluster_id", "placeholder".to_owned())])
    }

    fn find<'a>(
        &'a self,
        sdk: &'a aws_config::SdkConfig,
        region: &'a str,
    ) -> super::discover::Finding<'a> {
        Box::pin(async move {
            use super::discover::{Found, keys, tag_map};
            let client = aws_sdk_dax::Client::new(sdk);
            let mut found = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = client
                    .describe_clusters()
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| crate::aws_error::explain("dax:DescribeClusters", &e))?;
                for c in page.clusters() {
                    let Some(name) = c.cluster_name() else {
                        continue;
                    };
                    if matches!(c.status(), Some("deleting" | "deleted")) {
                        continue;
                    }
                    let tags =
                        match c.cluster_arn() {
                            None => Default::default(),
                            Some(arn) => {
                                let out =
                                    client.list_tags().resource_name(arn).send().await.map_err(
                                        |e| crate::aws_error::explain("dax:ListTags", &e),
                                    )?;
                                tag_map(out.tags().iter().map(|t| (t.key(), t.value())))
                            }
                        };
                    found.push(Found {
                        id: name.to_owned(),
                        name: name.to_owned(),
                        keys: keys([
                            ("cluster_id", name.to_owned()),
                            ("region", region.to_owned()),
                        ]),
                        group: None,
                        tags,
                    });
                }
                match page.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                    _ => break,
                }
            }
            Ok(found)
        })
    }
}
