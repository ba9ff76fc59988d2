//! Turns the raw configuration into [`Settings`], collecting every error on the way.

mod alerting;
mod dashboard;
mod maintenance;
mod rules;
mod streams;
mod targets;

use std::net::SocketAddr;
use std::time::Duration;

use croner::parser::{CronParser, Seconds};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use url::Url;

use super::errors::{ConfigError, ConfigErrors, KeyPath};
use super::raw;
use super::settings::*;

/// Sections a configuration may have; anything else is a mistake worth reporting.
const SECTIONS: &[&str] = &[
    "server",
    "database",
    "aws",
    "collector",
    "retention",
    "cloudwatch",
    "invalidation",
    "targets",
    "notifiers",
    "alarms",
    "alerting",
    "maintenance",
    "rules",
    "streams",
    "dashboard",
];

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_DATABASE_URL: &str = "sqlite://cachewarden.db";

/// Validates a whole configuration table.
pub(super) fn settings(table: &toml::Table) -> Result<Settings, ConfigErrors> {
    let mut v = Checker::default();
    let root = KeyPath::root();
    for key in table.keys() {
        if !SECTIONS.contains(&key.as_str()) {
            v.error(
                root.key(key),
                format!("unknown section; expected one of {}", SECTIONS.join(", ")),
            );
        }
    }
    let server = v
        .section::<raw::Server>(table, "server")
        .map(|(p, r)| v.server(&p, r));
    let database = v
        .section::<raw::Database>(table, "database")
        .map(|(p, r)| v.database(&p, r));
    let aws = v
        .section::<raw::Aws>(table, "aws")
        .map(|(p, r)| v.aws(&p, r));
    let collector = v
        .section::<raw::Collector>(table, "collector")
        .map(|(p, r)| v.collector(&p, r));
    let retention = v
        .section::<raw::Retention>(table, "retention")
        .map(|(p, r)| v.retention(&p, r));
    let invalidation = v
        .section::<raw::Invalidation>(table, "invalidation")
        .map(|(p, r)| v.invalidation(&p, r));
    let cloudwatch = v
        .section::<raw::Cloudwatch>(table, "cloudwatch")
        .map(|(p, r)| v.cloudwatch(&p, r));
    let dashboard = v
        .section::<raw::Dashboard>(table, "dashboard")
        .map(|(p, r)| dashboard::dashboard(&mut v, &p, r));
    let raw_targets = v.list::<raw::Target>(table, "targets");
    let targets = targets::all(&mut v, raw_targets);
    let raw_notifiers = v.list::<raw::Notifier>(table, "notifiers");
    let notifiers = alerting::notifiers(&mut v, raw_notifiers);
    let raw_alarms = v.list::<raw::Alarm>(table, "alarms");
    let alarms = alerting::alarms(&mut v, raw_alarms, &targets, &notifiers);
    let alerting = v
        .section::<raw::Alerting>(table, "alerting")
        .map(|(p, r)| maintenance::alerting(&mut v, &p, r));
    let raw_windows = v.list::<raw::Maintenance>(table, "maintenance");
    let maintenance = maintenance::windows(&mut v, raw_windows, &targets, &alarms);
    let raw_rules = v.list::<raw::Rule>(table, "rules");
    let rules = rules::all(&mut v, raw_rules, &targets);
    let raw_streams = v.list::<raw::Stream>(table, "streams");
    let streams = streams::all(&mut v, raw_streams, &rules);
    let sections = (
        server.flatten(),
        database.flatten(),
        aws,
        collector.flatten(),
        retention.flatten(),
        cloudwatch.flatten(),
        invalidation.flatten(),
        alerting.flatten(),
        dashboard.flatten(),
    );
    match (sections, v.errors.is_empty()) {
        (
            (
                Some(server),
                Some(database),
                Some(aws),
                Some(collector),
                Some(retention),
                Some(cloudwatch),
                Some(invalidation),
                Some(alerting),
                Some(dashboard),
            ),
            true,
        ) => Ok(Settings {
            server,
            database,
            aws,
            collector,
            retention,
            cloudwatch,
            invalidation,
            targets,
            notifiers,
            alarms,
            alerting,
            maintenance,
            rules,
            streams,
            dashboard,
        }),
        _ => Err(ConfigErrors::new(v.errors)),
    }
}

/// Collects errors while checking; helpers return `None` after recording what was wrong.
#[derive(Default)]
pub(super) struct Checker {
    errors: Vec<ConfigError>,
}

impl Checker {
    pub(super) fn error(&mut self, path: KeyPath, message: impl Into<String>) {
        self.errors.push(ConfigError::new(path, message));
    }

    /// Reads an optional `[section]`; absent means all defaults.
    fn section<T: DeserializeOwned + Default>(
        &mut self,
        table: &toml::Table,
        key: &str,
    ) -> Option<(KeyPath, T)> {
        let path = KeyPath::root().key(key);
        match table.get(key) {
            None => Some((path, T::default())),
            Some(value) => self.shape(path, value),
        }
    }

    /// Reads an optional `[[list]]`; an entry with a shape error is reported and skipped.
    fn list<T: DeserializeOwned>(&mut self, table: &toml::Table, key: &str) -> Vec<(KeyPath, T)> {
        let path = KeyPath::root().key(key);
        match table.get(key) {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.shape(path.index(i), item))
                .collect(),
            Some(_) => {
                self.error(path, format!("must be a list of tables ([[{key}]])"));
                Vec::new()
            }
        }
    }

    /// Deserializes one value, reporting a type error at the exact key serde names.
    pub(super) fn shape<T: DeserializeOwned>(
        &mut self,
        path: KeyPath,
        value: &toml::Value,
    ) -> Option<(KeyPath, T)> {
        match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(t) => Some((path, t)),
            Err(e) => {
                let at = path.join_serde(e.path());
                self.error(at, e.inner().message().to_owned());
                None
            }
        }
    }

    /// Reports each key no field claimed.
    pub(super) fn unknown(&mut self, path: &KeyPath, unknown: &raw::Unknown) {
        for key in unknown.keys() {
            self.error(path.key(key), "unknown key");
        }
    }

    /// A required field.
    pub(super) fn required<'a, T>(
        &mut self,
        path: &KeyPath,
        field: &str,
        value: &'a Option<T>,
    ) -> Option<&'a T> {
        if value.is_none() {
            self.error(path.key(field), "is required");
        }
        value.as_ref()
    }

    /// A duration such as `15s`, `5m`, `1h 30m`; zero is refused.
    pub(super) fn duration(&mut self, path: KeyPath, text: &str) -> Option<Duration> {
        match humantime::parse_duration(text) {
            Ok(d) if d.is_zero() => {
                self.error(path, "must be longer than zero");
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                self.error(
                    path,
                    format!("{text:?} is not a duration like \"15s\", \"5m\" or \"1h 30m\""),
                );
                None
            }
        }
    }

    pub(super) fn optional_duration(
        &mut self,
        path: &KeyPath,
        field: &str,
        text: &Option<String>,
        default: Duration,
    ) -> Option<Duration> {
        match text {
            None => Some(default),
            Some(t) => self.duration(path.key(field), t),
        }
    }

    /// An absolute URL with one of the given schemes.
    pub(super) fn url(&mut self, path: KeyPath, text: &str, schemes: &[&str]) -> Option<Url> {
        match Url::parse(text) {
            Ok(u) if schemes.contains(&u.scheme()) => Some(u),
            Ok(u) => {
                self.error(
                    path,
                    format!(
                        "scheme {:?} is not allowed; use {}",
                        u.scheme(),
                        schemes.join(" or ")
                    ),
                );
                None
            }
            // The text is not echoed: URLs here may carry credentials.
            Err(e) => {
                self.error(path, format!("is not a valid URL ({e})"));
                None
            }
        }
    }

    /// A name under the shared name rule.
    pub(super) fn name(&mut self, path: KeyPath, text: &str) -> Option<String> {
        match crate::domain::check_name(text) {
            Ok(()) => Some(text.to_owned()),
            Err(e) => {
                self.error(path, format!("{text:?} {e}"));
                None
            }
        }
    }

    /// Reports fields that do not apply to this kind: a misplaced key is usually a typo or a
    /// copy-paste from another target, and silently ignoring it hides the mistake.
    pub(super) fn not_for_kind(&mut self, path: &KeyPath, kind: &str, present: &[(&str, bool)]) {
        for (field, is_set) in present {
            if *is_set {
                self.error(path.key(field), format!("does not apply to kind {kind}"));
            }
        }
    }

    fn server(&mut self, path: &KeyPath, raw: raw::Server) -> Option<ServerSettings> {
        self.unknown(path, &raw.unknown);
        let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = match listen_text.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.error(
                    path.key("listen"),
                    format!("{listen_text:?} is not an address like \"127.0.0.1:8080\""),
                );
                None
            }
        };
        let public_url = match &raw.public_url {
            None => Some(None),
            Some(u) => self
                .url(path.key("public_url"), u, &["http", "https"])
                .map(Some),
        };
        let shutdown_timeout = self.optional_duration(
            path,
            "shutdown_timeout",
            &raw.shutdown_timeout,
            Duration::from_secs(3),
        );
        Some(ServerSettings {
            listen: listen?,
            public_url: public_url?,
            shutdown_timeout: shutdown_timeout?,
        })
    }

    fn database(&mut self, path: &KeyPath, raw: raw::Database) -> Option<DatabaseSettings> {
        self.unknown(path, &raw.unknown);
        let url = raw.url.as_deref().unwrap_or(DEFAULT_DATABASE_URL);
        let scheme_ok = ["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|p| url.starts_with(p));
        if !scheme_ok {
            self.error(
                path.key("url"),
                "must start with sqlite:// (embedded) or postgres:// (production and HA)",
            );
        }
        let max_connections = raw.max_connections.unwrap_or(10);
        if max_connections == 0 {
            self.error(path.key("max_connections"), "must be at least 1");
        }
        (scheme_ok && max_connections > 0).then(|| DatabaseSettings {
            url: SecretString::from(url.to_owned()),
            max_connections,
        })
    }

    fn aws(&mut self, path: &KeyPath, raw: raw::Aws) -> AwsSettings {
        self.unknown(path, &raw.unknown);
        let endpoint = raw
            .endpoint
            .as_deref()
            .and_then(|e| self.url(path.key("endpoint"), e, &["http", "https"]));
        if let Some(region) = &raw.region {
            self.region(path.key("region"), region);
        }
        AwsSettings {
            region: raw.region,
            endpoint,
            profile: raw.profile,
        }
    }

    fn collector(&mut self, path: &KeyPath, raw: raw::Collector) -> Option<CollectorSettings> {
        self.unknown(path, &raw.unknown);
        let max = raw.max_concurrent_polls.unwrap_or(64);
        if max == 0 {
            self.error(path.key("max_concurrent_polls"), "must be at least 1");
            return None;
        }
        Some(CollectorSettings {
            max_concurrent_polls: max,
        })
    }

    fn retention(&mut self, path: &KeyPath, raw: raw::Retention) -> Option<RetentionSettings> {
        self.unknown(path, &raw.unknown);
        let day = 24 * 3600;
        let raw_keep = self.optional_duration(path, "raw", &raw.raw, Duration::from_secs(2 * day));
        let five = self.optional_duration(
            path,
            "five_minute",
            &raw.five_minute,
            Duration::from_secs(30 * day),
        );
        let hour = self.optional_duration(
            path,
            "one_hour",
            &raw.one_hour,
            Duration::from_secs(400 * day),
        );
        let alerts =
            self.optional_duration(path, "alerts", &raw.alerts, Duration::from_secs(400 * day));
        let (raw_keep, five, hour, alerts) = (raw_keep?, five?, hour?, alerts?);
        if alerts < Duration::from_secs(day) {
            self.error(path.key("alerts"), "must be at least 1d");
            return None;
        }
        // Rollups are computed from the finer resolution, so it must outlive one rollup period.
        if raw_keep < Duration::from_secs(3600) {
            self.error(
                path.key("raw"),
                "must be at least 1h (5-minute rollups are computed from raw samples)",
            );
            return None;
        }
        if five < Duration::from_secs(2 * 3600) {
            self.error(
                path.key("five_minute"),
                "must be at least 2h (1-hour rollups are computed from 5-minute ones)",
            );
            return None;
        }
        Some(RetentionSettings {
            raw: raw_keep,
            five_minute: five,
            one_hour: hour,
            alerts,
        })
    }

    fn cloudwatch(&mut self, path: &KeyPath, raw: raw::Cloudwatch) -> Option<CloudwatchSettings> {
        self.unknown(path, &raw.unknown);
        let lookback = self.optional_duration(
            path,
            "lookback",
            &raw.lookback,
            Duration::from_secs(15 * 60),
        )?;
        if lookback < Duration::from_secs(120) || lookback > Duration::from_secs(24 * 3600) {
            self.error(path.key("lookback"), "must be from 2m to 24h");
            return None;
        }
        let price = raw.price_per_1000_metrics.unwrap_or(0.01);
        if !(price >= 0.0 && price.is_finite()) {
            self.error(
                path.key("price_per_1000_metrics"),
                "must be a non-negative number of USD",
            );
            return None;
        }
        Some(CloudwatchSettings {
            lookback,
            price_per_1000_metrics: price,
        })
    }

    fn invalidation(
        &mut self,
        path: &KeyPath,
        raw: raw::Invalidation,
    ) -> Option<InvalidationSettings> {
        self.unknown(path, &raw.unknown);
        let window = self.optional_duration(
            path,
            "coalesce_window",
            &raw.coalesce_window,
            Duration::from_secs(2),
        );
        let deadline =
            self.optional_duration(path, "deadline", &raw.deadline, Duration::from_secs(3600));
        let (window, deadline) = (window?, deadline?);
        if window > Duration::from_secs(60) {
            self.error(
                path.key("coalesce_window"),
                "must be at most 60s (pipelines wait for it)",
            );
            return None;
        }
        let price = raw.price_per_path.unwrap_or(0.005);
        if !(price >= 0.0 && price.is_finite()) {
            self.error(
                path.key("price_per_path"),
                "must be a non-negative number of USD",
            );
            return None;
        }
        if let Some(b) = raw.monthly_budget_usd
            && !(b >= 0.0 && b.is_finite())
        {
            self.error(
                path.key("monthly_budget_usd"),
                "must be a non-negative number of USD",
            );
            return None;
        }
        Some(InvalidationSettings {
            coalesce_window: window,
            deadline,
            price_per_path: price,
            free_paths_per_month: raw.free_paths_per_month.unwrap_or(1000),
            monthly_budget_usd: raw.monthly_budget_usd,
        })
    }

    /// Checks each entry of a `[[list]]` with `one`; a later entry reusing a name is reported
    /// and dropped (`what`: "target", "alarm"…).
    pub(super) fn unique_names<R, T>(
        &mut self,
        raw: Vec<(KeyPath, R)>,
        what: &str,
        name: impl Fn(&T) -> &str,
        mut one: impl FnMut(&mut Checker, &KeyPath, R) -> Option<T>,
    ) -> Vec<T> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (path, r) in raw {
            if let Some(item) = one(self, &path, r) {
                if !seen.insert(name(&item).to_owned()) {
                    self.error(
                        path.key("name"),
                        format!("{:?} is already the name of another {what}", name(&item)),
                    );
                    continue;
                }
                out.push(item);
            }
        }
        out
    }

    /// A target name or glob that matches at least one configured target.
    pub(super) fn target_glob(
        &mut self,
        path: KeyPath,
        pattern: &str,
        targets: &[TargetSettings],
    ) -> Option<globset::Glob> {
        match globset::Glob::new(pattern) {
            Ok(glob) => {
                let matcher = glob.compile_matcher();
                if !targets.iter().any(|t| matcher.is_match(t.name.as_str())) {
                    self.error(path, format!("{pattern:?} matches no configured target"));
                }
                Some(glob)
            }
            Err(e) => {
                self.error(path, format!("{pattern:?} is not a valid glob ({e})"));
                None
            }
        }
    }

    /// A file that exists (a CA bundle, say); read when used.
    pub(super) fn file(&mut self, path: KeyPath, file: &str) -> Option<std::path::PathBuf> {
        match std::fs::metadata(file) {
            Ok(m) if m.is_file() => Some(std::path::PathBuf::from(file)),
            _ => {
                self.error(path, format!("{file:?} is not a readable file"));
                None
            }
        }
    }

    /// A six-field cron expression with seconds, parsed with the settings tokio-cron-scheduler
    /// uses, so what passes here runs.
    pub(super) fn cron(&mut self, path: KeyPath, text: &str) -> Option<croner::Cron> {
        match CronParser::builder()
            .seconds(Seconds::Required)
            .build()
            .parse(text)
        {
            Ok(c) => Some(c),
            Err(e) => {
                self.error(
                    path,
                    format!("{text:?} is not a six-field cron expression with seconds, like \"*/15 * * * * *\" ({e})"),
                );
                None
            }
        }
    }

    /// An AWS region code such as `eu-west-1`.
    pub(super) fn region(&mut self, path: KeyPath, region: &str) {
        let parts: Vec<&str> = region.split('-').collect();
        let ok = parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
            && parts
                .last()
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
        if !ok {
            self.error(
                path,
                format!("{region:?} is not an AWS region like \"eu-west-1\""),
            );
        }
    }
}
