//! `kind = "apigateway"`: a REST API stage's cache, through CloudWatch's `AWS/ApiGateway`
//! (dimensions `ApiName` and `Stage`); the hit rate is computed from `CacheHitCount` and
//! `CacheMissCount`. What invalidating it needs is here too: the REST API's id (configured,
//! or looked up from the name), the stage's invoke URL, and what the stage caches by, so an
//! entry (`GET /products/42?lang=en`) names exactly one cache entry.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::rules::{Rendered, RuleAction, check_templates, render_all};
use super::series::{Role, Series, Unit, common, gauge};
use super::{Polling, TargetConfig, TargetKind};
use crate::checker::fields::{self, Field};
use crate::checker::{Checker, KeyPath};
use crate::domain::Action;
use crate::domain::template::{self, Place, RenderError};
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
    /// The REST API's id (`a1b2c3d4e5`); else found from `api_name` when first needed.
    rest_api_id: Option<String>,
    /// Where entries are requested to invalidate them: a custom domain's base (with its base
    /// path); else `https://ID.execute-api.REGION.amazonaws.com/STAGE`.
    invoke_url: Option<String>,
    /// Query string parameters the stage's methods cache by.
    cache_key_query: Option<Vec<String>>,
    /// Headers the stage's methods cache by.
    cache_key_headers: Option<Vec<String>>,
    /// Entries invalidated per second at most (default 10).
    invalidation_rate: Option<f64>,
}

/// An API Gateway stage.
#[derive(Debug, Clone)]
pub struct Config {
    pub api_name: String,
    pub stage: String,
    pub region: Option<String>,
    pub rest_api_id: Option<String>,
    pub invoke_url: Option<Url>,
    pub cache_key: CacheKey,
    /// Entries per second.
    pub invalidation_rate: f64,
}

/// What a stage's methods cache by, beside the method and path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheKey {
    pub query: Vec<String>,
    /// Lower case.
    pub headers: Vec<String>,
}

impl Config {
    /// The base entries' paths are appended to, once the REST API's id is known.
    pub fn invoke_base(&self, rest_api_id: &str, region: &str) -> String {
        match &self.invoke_url {
            Some(u) => u.as_str().trim_end_matches('/').to_owned(),
            None => format!(
                "https://{rest_api_id}.execute-api.{region}.amazonaws.com/{}",
                self.stage
            ),
        }
    }
}

/// The most entries one invalidation may name.
pub const MAX_ENTRIES: usize = 10_000;

/// One cache entry of a stage: a method, a path, and the cache-key parameters that select
/// it, written `GET /products/42?lang=en accept-language:en` (the method defaults to GET).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub method: String,
    /// As requested: percent-encoded, without the query.
    pub path: String,
    /// Sorted; names and values as written (percent-encoded).
    pub query: Vec<(String, String)>,
    /// Sorted; names in lower case.
    pub headers: Vec<(String, String)>,
}

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

impl Entry {
    /// Reads an entry, refusing what would not select exactly one entry of this stage's
    /// cache (a wildcard, a parameter the stage does not cache by).
    pub fn parse(text: &str, key: &CacheKey) -> Result<Entry, String> {
        let mut words = text.split_whitespace().peekable();
        let method = match words.peek() {
            Some(w) if !w.starts_with('/') => {
                let m = words.next().unwrap_or_default();
                if !METHODS.contains(&m) {
                    return Err(format!(
                        "{m:?} is not an HTTP method ({})",
                        METHODS.join(", ")
                    ));
                }
                m.to_owned()
            }
            _ => "GET".to_owned(),
        };
        let Some(target) = words.next() else {
            return Err("names no path: write an entry as GET /path?param=value".into());
        };
        if !target.starts_with('/') {
            return Err(format!("{target:?} must start with /"));
        }
        if target.contains(['*', '#']) {
            return Err(
                "API Gateway has no wildcard invalidation: name each entry, or flush the stage"
                    .into(),
            );
        }
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        check_encoding(path)?;
        let mut pairs = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            check_encoding(pair)?;
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !key.query.iter().any(|q| q == name) {
                return Err(not_a_key(
                    "query parameter",
                    name,
                    "cache_key_query",
                    &key.query,
                ));
            }
            pairs.push((name.to_owned(), value.to_owned()));
        }
        let mut headers = Vec::new();
        for h in words {
            let Some((name, value)) = h
                .split_once(':')
                .filter(|(n, v)| !n.is_empty() && !v.is_empty())
            else {
                return Err(format!("{h:?} is not a header like accept-language:en"));
            };
            let name = name.to_ascii_lowercase();
            if !key.headers.contains(&name) {
                return Err(not_a_key(
                    "header",
                    &name,
                    "cache_key_headers",
                    &key.headers,
                ));
            }
            headers.push((name, value.to_owned()));
        }
        pairs.sort();
        headers.sort();
        Ok(Entry {
            method,
            path: path.to_owned(),
            query: pairs,
            headers,
        })
    }

    /// The path and query string, as requested.
    pub fn path_and_query(&self) -> String {
        let query: Vec<String> = self.query.iter().map(|(n, v)| format!("{n}={v}")).collect();
        if query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, query.join("&"))
        }
    }
}

/// The one way an entry is written, so that equal entries compare equal.
impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path_and_query())?;
        for (n, v) in &self.headers {
            write!(f, " {n}:{v}")?;
        }
        Ok(())
    }
}

fn not_a_key(what: &str, name: &str, setting: &str, known: &[String]) -> String {
    let known = if known.is_empty() {
        "none".to_owned()
    } else {
        known.join(", ")
    };
    format!(
        "{name:?} is not a {what} the stage caches by ({setting}: {known}), so it selects no entry"
    )
}

/// Percent signs must start an escape; spaces and controls must be escaped.
fn check_encoding(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
    for (i, c) in b.iter().enumerate() {
        if *c == b'%' && !(hex(i + 1) && hex(i + 2)) {
            return Err(format!(
                "{s:?} has a % that does not start an escape like %20"
            ));
        }
        if c.is_ascii_control() || *c == b' ' || !c.is_ascii() {
            return Err(format!(
                "{s:?} must be percent-encoded (no spaces or non-ASCII)"
            ));
        }
    }
    Ok(())
}

/// Entries to invalidate, or the whole stage, when an event comes (the `apigateway`
/// section of a rule).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EntryRule {
    /// Entries; an event's values are percent-encoded into them.
    #[serde(default)]
    items: Vec<String>,
}

impl RuleAction for EntryRule {
    fn render(&self, fields: &BTreeMap<String, String>) -> Result<Rendered, RenderError> {
        Ok(Rendered {
            action: Action::Invalidate,
            request: json!({ "items": render_all(&self.items, fields, Place::Path)? }),
            keys: Vec::new(),
            tags: Vec::new(),
        })
    }
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
    fn discovery(&self) -> Option<&dyn super::Discovery> {
        Some(self)
    }

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
        if let Some(id) = &raw.rest_api_id
            && (id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            v.error(
                path.key("rest_api_id"),
                format!("{id:?} is not a REST API id like \"a1b2c3d4e5\""),
            );
        }
        let invoke_url = match &raw.invoke_url {
            None => Some(None),
            Some(u) => v
                .url(path.key("invoke_url"), u, &["https", "http"])
                .map(Some),
        };
        let rate = raw.invalidation_rate.unwrap_or(10.0);
        if !(rate > 0.0 && rate <= 1000.0) {
            v.error(
                path.key("invalidation_rate"),
                format!("{rate} is outside 0-1000 entries a second"),
            );
        }
        let headers: Vec<String> = raw
            .cache_key_headers
            .unwrap_or_default()
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        Some(Arc::new(Config {
            api_name: api_name?,
            stage: stage?,
            region: region?,
            rest_api_id: raw.rest_api_id,
            invoke_url: invoke_url?,
            cache_key: CacheKey {
                query: raw.cache_key_query.unwrap_or_default(),
                headers,
            },
            invalidation_rate: rate,
        }))
    }

    fn example(&self) -> &'static str {
        r#"[[targets]]
name = "public-api"
kind = "apigateway"
api_name = "storefront"
stage = "prod"
# For invalidations (all optional): the REST API's id (else looked up from api_name), a
# custom domain's base URL, what the stage caches by, and entries per second.
# rest_api_id = "a1b2c3d4e5"
# invoke_url = "https://api.example.com"
# cache_key_query = ["lang"]
# cache_key_headers = ["Accept-Language"]
# invalidation_rate = 10
"#
    }

    fn rule_section(&self) -> Option<&'static str> {
        Some("apigateway")
    }

    fn parse_rule(
        &self,
        v: &mut Checker,
        at: &KeyPath,
        table: toml::Table,
        config: Option<&dyn TargetConfig>,
        foreign: &dyn Fn(&str) -> String,
    ) -> Option<Arc<dyn RuleAction>> {
        let r: EntryRule = fields::read(v, at, table, foreign)?;
        if r.items.is_empty() {
            v.error(at.key("items"), "must list at least one entry");
        }
        check_templates(v, at, "items", &r.items);
        // Known only of a target whose own keys are valid; a broken one says so itself.
        let key = config
            .and_then(|c| c.downcast::<Config>())
            .map(|c| &c.cache_key);
        for (i, item) in r.items.iter().enumerate() {
            if let (Some(key), Ok(())) = (key, template::check(item))
                && let Err(why) = Entry::parse(&template::sample(item), key)
            {
                v.error(at.key("items").index(i), format!("{item:?}: {why}"));
            }
        }
        Some(Arc::new(r))
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

/// Found through `GetRestApis` and each API's `GetStages`: one target per stage whose cache
/// is enabled (a stage without one has no hit rate to watch), tagged with the API's tags
/// and the stage's over them.
impl super::discover::Discovery for ApiGateway {
    fn fills(&self) -> &'static [&'static str] {
        &["api_name", "stage", "rest_api_id", "region"]
    }

    fn placeholder(&self) -> toml::Table {
        super::discover::keys([
            ("api_name", "placeholder".to_owned()),
            ("stage", "prod".to_owned()),
            ("rest_api_id", "a1b2c3d4e5".to_owned()),
        ])
    }

    fn find<'a>(
        &'a self,
        sdk: &'a aws_config::SdkConfig,
        region: &'a str,
    ) -> super::discover::Finding<'a> {
        Box::pin(async move {
            use super::discover::{Found, keys};
            let client = aws_sdk_apigateway::Client::new(sdk);
            let mut found = Vec::new();
            let mut apis = client.get_rest_apis().into_paginator().items().send();
            while let Some(api) = apis.next().await {
                let api = api.map_err(|e| crate::aws_error::explain("apigateway:GET", &e))?;
                let (Some(id), Some(name)) = (api.id(), api.name()) else {
                    continue;
                };
                let stages = client
                    .get_stages()
                    .rest_api_id(id)
                    .send()
                    .await
                    .map_err(|e| crate::aws_error::explain("apigateway:GET", &e))?;
                for stage in stages.item().iter().filter(|s| s.cache_cluster_enabled()) {
                    let Some(stage_name) = stage.stage_name() else {
                        continue;
                    };
                    let mut tags: BTreeMap<String, String> = api
                        .tags()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    tags.extend(
                        stage
                            .tags()
                            .into_iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), v.clone())),
                    );
                    found.push(Found {
                        id: format!("{id}-{stage_name}"),
                        name: name.to_owned(),
                        keys: keys([
                            ("api_name", name.to_owned()),
                            ("stage", stage_name.to_owned()),
                            ("rest_api_id", id.to_owned()),
                            ("region", region.to_owned()),
                        ]),
                        group: None,
                        tags,
                    });
                }
            }
            Ok(found)
        })
    }
}
