//! `kind = "apigateway"`: a REST API stage's cache, through CloudWatch's `AWS/ApiGateway`
//! (dimensions `ApiName` and `Stage`); the hit rate is computed from `CacheHitCount` and
//! `CacheMissCount`.

use std::sync::Arc;

use serde::Deserialize;

use super::series::{Role, Series, Unit, common, gauge};
use super::{Polling, TargetConfig, TargetKind};
use crate::checker::fields::{self, Field};
use crate::checker::{Checker, KeyPath};
use crate::sources::cloudwatch::plan::{self, Answers, CloudWatchQueries, MetricSpec, spec};
use crate::store::Sample;

pub struct ApiGateway;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// The API's name, as CloudWatch's `ApiName` dimension has it.
    api_name: Option<String>,
    /// The stage whose cache is watched.
    stage: Option<String>,
    /// Else `[aws] region`.
    region: Option<String>,
}

/// An API Gateway stage.
#[derive(Debug, Clone)]
pub struct Config {
    pub api_name: String,
    pub stage: String,
    pub region: Option<String>,
}

const SERIES: &[Series] = &[
    common::HIT_RATE,
    common::HITS,
    common::MISSES,
    common::REQUESTS,
    gauge(
        "latency_ms",
        Role::Latency,
        Unit::Milliseconds,
        "latency_seconds",
        "API Gateway latency (average).",
    ),
];

impl TargetKind for ApiGateway {
    fn name(&self) -> &'static str {
        "apigateway"
    }

    fn label(&self) -> &'static str {
        "API Gateway"
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
        let api_name = v.required(path, "api_name", &raw.api_name).cloned();
        let stage = v.required(path, "stage", &raw.stage).cloned();
        Some(Arc::new(Config {
            api_name: api_name?,
            stage: stage?,
            region: region?,
        }))
    }

    fn example(&self) -> &'static str {
        r#"[[targets]]
name = "public-api"
kind = "apigateway"
api_name = "storefront"
stage = "prod"
"#
    }
}

impl CloudWatchQueries for Config {
    fn metrics(&self) -> Vec<MetricSpec> {
        let d = [
            ("ApiName", self.api_name.as_str()),
            ("Stage", self.stage.as_str()),
        ];
        let ns = "AWS/ApiGateway";
        vec![
            spec(ns, "CacheHitCount", "Sum", &d, "hits", 1.0),
            spec(ns, "CacheMissCount", "Sum", &d, "misses", 1.0),
            spec(ns, "Count", "Sum", &d, "requests", 1.0),
            spec(ns, "Latency", "Average", &d, "latency_ms", 1.0),
        ]
    }

    fn samples(&self, target: &str, answers: Answers) -> (Vec<Sample>, Option<String>) {
        let mut out = plan::ratio(
            target,
            "hit_rate",
            answers.get("hits"),
            answers.get("misses"),
        );
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
        vec![
            ("API", self.api_name.clone()),
            ("stage", self.stage.clone()),
        ]
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
