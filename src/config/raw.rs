//! The fixed sections as written: plain serde shapes with every field optional that deny
//! unknown keys. They are read with `checker::fields::read`, which reports a mistake, sets
//! its key aside and reads on, so validation lists every mistake instead of serde's first.
//! Targets and notifiers are not here: each kind and receiver reads its own keys.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Server {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub shutdown_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Database {
    pub url: Option<String>,
    pub max_connections: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Aws {
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub profile: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Collector {
    pub max_concurrent_polls: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Retention {
    pub raw: Option<String>,
    pub five_minute: Option<String>,
    pub one_hour: Option<String>,
    pub alerts: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Cloudwatch {
    pub lookback: Option<String>,
    pub price_per_1000_metrics: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Invalidation {
    pub coalesce_window: Option<String>,
    pub deadline: Option<String>,
    pub price_per_path: Option<f64>,
    pub free_paths_per_month: Option<u64>,
    pub monthly_budget_usd: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Dashboard {
    pub auth_proxy_header: Option<String>,
    pub auth_proxy_groups_header: Option<String>,
    pub trusted_proxies: Option<Vec<String>>,
    pub proxy_roles: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Alerting {
    pub expected_dip_window: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Maintenance {
    pub name: Option<String>,
    pub target: Option<String>,
    pub alarms: Option<Vec<String>>,
    pub cron: Option<String>,
    pub duration: Option<String>,
    pub timezone: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Alarm {
    pub name: Option<String>,
    pub target: Option<String>,
    /// Targets carrying every one of these tags (glob values).
    pub target_tags: Option<toml::Table>,
    /// Targets of this group (a glob).
    pub group: Option<String>,
    pub metric: Option<String>,
    pub below: Option<f64>,
    pub above: Option<f64>,
    pub drop: Option<f64>,
    pub baseline: Option<String>,
    pub datapoints: Option<String>,
    pub missing: Option<String>,
    pub min_volume: Option<u64>,
    pub repeat: Option<String>,
    pub severity: Option<String>,
    pub notify: Option<Vec<String>>,
    pub mute_expected: Option<bool>,
    pub change_cost: Option<ChangeCost>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChangeCost {
    pub extra_misses: Option<f64>,
    pub recovery: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Broadcast {
    pub target: Option<String>,
    pub channel: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Stream {
    pub name: Option<String>,
    pub table: Option<String>,
    pub stream_arn: Option<String>,
    pub event: Option<String>,
    pub fields: Option<Vec<String>>,
    pub start: Option<String>,
    pub every: Option<String>,
    pub region: Option<String>,
}
