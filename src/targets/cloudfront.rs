//! `kind = "cloudfront"`: a distribution, through CloudWatch's `AWS/CloudFront` (always read
//! in us-east-1, dimensions `DistributionId` and `Region=Global`). Its hit rate is one of the
//! "additional metrics" a distribution must have turned on: a notice says so when it is
//! missing while requests are not.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use super::rules::{Rendered, RuleAction, check_templates, render_all};
use super::series::{Role, Series, Unit, common, counter, gauge};
use super::{Polling, TargetConfig, TargetKind};
use crate::checker::fields::{self, Field};
use crate::checker::{Checker, KeyPath};
use crate::domain::Action;
use crate::domain::template::{self, Place, RenderError};
use crate::sources::cloudwatch::plan::{self, Answers, CloudWatchQueries, MetricSpec, spec};
use crate::store::Sample;

/// CloudFront's API and its CloudWatch metrics live in us-east-1, whatever the stack's region.
pub const CLOUDFRONT_REGION: &str = "us-east-1";

pub struct CloudFront;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// The distribution's id, like `E2QWRUHEXAMPLE`.
    distribution_id: Option<String>,
    /// The distribution has a `CacheTagConfig`: invalidations may name `#tags`.
    cache_tags: Option<bool>,
    /// Refused with the reason: CloudFront is read in us-east-1 only.
    region: Option<String>,
    /// Opt-in: the paths of one directory beyond this many are sent as one wildcard
    /// (`/products/*`), billed as one path.
    collapse_over: Option<u32>,
}

/// Paths and cache tags to invalidate when an event comes (the `cloudfront` section of a rule).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PathRule {
    /// Paths; an event's values are percent-encoded into them.
    #[serde(default)]
    paths: Vec<String>,
    /// Cache tags, with or without `#`.
    #[serde(default)]
    tags: Vec<String>,
}

impl RuleAction for PathRule {
    fn render(&self, fields: &BTreeMap<String, String>) -> Result<Rendered, RenderError> {
        let mut items = render_all(&self.paths, fields, Place::Path)?;
        let mut tags = Vec::with_capacity(self.tags.len());
        for t in &self.tags {
            let tag = template::render(t.trim_start_matches('#'), fields, Place::CacheTag)?;
            items.push(format!("#{tag}"));
            tags.push(tag);
        }
        Ok(Rendered {
            action: Action::Invalidate,
            request: json!({ "items": items }),
            keys: Vec::new(),
            tags,
        })
    }
}

/// A distribution.
#[derive(Debug, Clone)]
pub struct Config {
    pub distribution_id: String,
    /// Whether it has `CacheTagConfig`.
    pub cache_tags: bool,
    /// Paths of one directory beyond this many go as one wildcard; `None`: never.
    pub collapse_over: Option<usize>,
}

const SERIES: &[Series] = &[
    common::HIT_RATE,
    common::REQUESTS,
    gauge(
        "error_rate_4xx",
        Role::ErrorRatio,
        Unit::Ratio,
        "error_4xx_ratio",
        "Share of requests answered 4xx.",
    ),
    gauge(
        "error_rate_5xx",
        Role::ErrorRatio,
        Unit::Ratio,
        "error_5xx_ratio",
        "Share of requests answered 5xx.",
    ),
    gauge(
        "origin_latency_ms",
        Role::Latency,
        Unit::Milliseconds,
        "origin_latency_seconds",
        "CloudFront origin latency (average).",
    ),
    counter(
        "bytes_downloaded",
        Role::Other,
        Unit::Bytes,
        "downloaded_bytes_total",
        "Bytes served to viewers.",
    ),
];

impl TargetKind for CloudFront {
    fn discovery(&self) -> Option<&dyn super::Discovery> {
        Some(self)
    }

    fn name(&self) -> &'static str {
        "cloudfront"
    }

    fn label(&self) -> &'static str {
        "CloudFront"
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
        if raw.region.is_some() {
            v.error(
                path.key("region"),
                "CloudFront metrics are always read in us-east-1; remove region",
            );
        }
        let id = v.required(path, "distribution_id", &raw.distribution_id)?;
        let id_ok = (10..=20).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !id_ok {
            v.error(
                path.key("distribution_id"),
                format!("{id:?} is not a CloudFront distribution id like \"E2QWRUHEXAMPLE\""),
            );
            return None;
        }
        if raw.collapse_over.is_some_and(|n| n < 2) {
            v.error(
                path.key("collapse_over"),
                "must be at least 2: a wildcard for one path saves nothing",
            );
            return None;
        }
        (raw.region.is_none()).then(|| {
            Arc::new(Config {
                distribution_id: id.clone(),
                cache_tags: raw.cache_tags.unwrap_or(false),
                collapse_over: raw.collapse_over.map(|n| n as usize),
            }) as Arc<dyn TargetConfig>
        })
    }

    fn example(&self) -> &'static str {
        r#"# A CloudFront distribution; CloudWatch metrics are always read in us-east-1.
[[targets]]
name = "web"
kind = "cloudfront"
distribution_id = "E2QWRUHEXAMPLE"
cache_tags = true                     # the distribution has a CacheTagConfig
# collapse_over = 20                  # opt-in: >20 paths of one directory go as one dir/* wildcard
every = "60s"
"#
    }

    fn rule_section(&self) -> Option<&'static str> {
        Some("cloudfront")
    }

    fn parse_rule(
        &self,
        v: &mut Checker,
        at: &KeyPath,
        table: toml::Table,
        config: Option<&dyn TargetConfig>,
        foreign: &dyn Fn(&str) -> String,
    ) -> Option<Arc<dyn RuleAction>> {
        let r: PathRule = fields::read(v, at, table, foreign)?;
        // Known only of a target whose own keys are valid; a broken one says so itself.
        let tags_off = config
            .and_then(|c| c.downcast::<Config>())
            .is_some_and(|c| !c.cache_tags);
        if !r.tags.is_empty() && tags_off {
            v.error(at.key("tags"), "the target does not have cache_tags = true");
        }
        for (j, p) in r.paths.iter().enumerate() {
            if !p.starts_with('/') {
                v.error(at.key("paths").index(j), format!("{p:?} must start with /"));
            }
        }
        check_templates(v, at, "paths", &r.paths);
        check_templates(v, at, "tags", &r.tags);
        Some(Arc::new(r))
    }
}

impl CloudWatchQueries for Config {
    fn metrics(&self) -> Vec<MetricSpec> {
        let d = [
            ("DistributionId", self.distribution_id.as_str()),
            ("Region", "Global"),
        ];
        let ns = "AWS/CloudFront";
        vec![
            spec(ns, "CacheHitRate", "Average", &d, "hit_rate", plan::PERCENT),
            spec(ns, "Requests", "Sum", &d, "requests", 1.0),
            spec(
                ns,
                "4xxErrorRate",
                "Average",
                &d,
                "error_rate_4xx",
                plan::PERCENT,
            ),
            spec(
                ns,
                "5xxErrorRate",
                "Average",
                &d,
                "error_rate_5xx",
                plan::PERCENT,
            ),
            spec(ns, "OriginLatency", "Average", &d, "origin_latency_ms", 1.0),
            spec(ns, "BytesDownloaded", "Sum", &d, "bytes_downloaded", 1.0),
        ]
    }

    fn samples(&self, target: &str, mut answers: Answers) -> (Vec<Sample>, Option<String>) {
        let rates = answers.remove("hit_rate").unwrap_or_default();
        let requests = answers.get("requests").cloned().unwrap_or_default();
        let notice = (rates.is_empty() && requests.values().any(|r| *r > 0.0)).then(|| {
            format!(
                "CloudWatch has requests but no CacheHitRate for distribution {}: \
                 enable the distribution's additional metrics to get its hit rate",
                self.distribution_id
            )
        });
        let mut out = plan::weighted(target, "hit_rate", rates, |ts| requests.get(&ts).copied());
        out.extend(plan::plain(target, answers));
        plan::sort(&mut out);
        (out, notice)
    }
}

impl TargetConfig for Config {
    fn region(&self, _default: Option<&str>) -> Option<String> {
        Some(CLOUDFRONT_REGION.to_owned())
    }

    fn cloudwatch(&self) -> Option<Arc<dyn CloudWatchQueries>> {
        Some(Arc::new(self.clone()))
    }

    fn facts(&self) -> Vec<(&'static str, String)> {
        let mut facts = vec![("distribution", self.distribution_id.clone())];
        if self.cache_tags {
            facts.push(("cache tags", "yes".into()));
        }
        facts
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Found through `ListDistributions` (in us-east-1, whatever regions a discovery names), with
/// each distribution's tags. A disabled distribution serves nothing and is not found.
impl super::discover::Discovery for CloudFront {
    fn only_region(&self) -> Option<&'static str> {
        Some(CLOUDFRONT_REGION)
    }

    fn fills(&self) -> &'static [&'static str] {
        &["distribution_id"]
    }

    fn placeholder(&self) -> toml::Table {
        super::discover::keys([("distribution_id", "EPLACEHOLDER".to_owned())])
    }

    fn find<'a>(
        &'a self,
        sdk: &'a aws_config::SdkConfig,
        _region: &'a str,
    ) -> super::discover::Finding<'a> {
        Box::pin(async move {
            use super::discover::{Found, keys, tag_map};
            let client = aws_sdk_cloudfront::Client::new(sdk);
            let mut found = Vec::new();
            let mut pages = client.list_distributions().into_paginator().items().send();
            while let Some(d) = pages.next().await {
                let d =
                    d.map_err(|e| crate::aws_error::explain("cloudfront:ListDistributions", &e))?;
                if !d.enabled() {
                    continue;
                }
                let tags = client
                    .list_tags_for_resource()
                    .resource(d.arn())
                    .send()
                    .await
                    .map_err(|e| crate::aws_error::explain("cloudfront:ListTagsForResource", &e))?;
                let tags = tags.tags().map(|t| t.items()).unwrap_or_default();
                found.push(Found {
                    id: d.id().to_owned(),
                    name: d.id().to_owned(),
                    keys: keys([("distribution_id", d.id().to_owned())]),
                    group: None,
                    tags: tag_map(tags.iter().map(|t| (Some(t.key()), t.value()))),
                });
            }
            Ok(found)
        })
    }
}
