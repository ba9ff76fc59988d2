//! The fixed sections: `[server]`, `[database]`, `[aws]`, `[collector]`, `[retention]`,
//! `[cloudwatch]`, `[invalidation]`. Each key is checked on its own, so one run reports every
//! mistake of a section rather than stopping at the first.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;

use crate::checker::{Checker, KeyPath};
use crate::config::raw;
use crate::config::settings::*;

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_DATABASE_URL: &str = "sqlite://cachewarden.db";
const DAY: u64 = 24 * 3600;

/// `Some(value)` when `ok`, else the error at `field` and `None`.
fn rule<T>(
    v: &mut Checker,
    path: &KeyPath,
    field: &str,
    value: T,
    ok: bool,
    message: &str,
) -> Option<T> {
    if !ok {
        v.error(path.key(field), message);
    }
    ok.then_some(value)
}

/// A price or a budget in USD.
fn usd(v: &mut Checker, path: &KeyPath, field: &str, value: f64) -> Option<f64> {
    rule(
        v,
        path,
        field,
        value,
        value >= 0.0 && value.is_finite(),
        "must be a non-negative number of USD",
    )
}

pub(super) fn server(v: &mut Checker, path: &KeyPath, raw: raw::Server) -> Option<ServerSettings> {
    let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen = listen_text.parse::<SocketAddr>().ok();
    if listen.is_none() {
        v.error(
            path.key("listen"),
            format!("{listen_text:?} is not an address like \"127.0.0.1:8080\""),
        );
    }
    let public_url = match &raw.public_url {
        None => Some(None),
        Some(u) => v
            .url(path.key("public_url"), u, &["http", "https"])
            .map(Some),
    };
    let shutdown_timeout = v.optional_duration(
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

pub(super) fn database(
    v: &mut Checker,
    path: &KeyPath,
    raw: raw::Database,
) -> Option<DatabaseSettings> {
    let url = raw.url.as_deref().unwrap_or(DEFAULT_DATABASE_URL);
    let scheme_ok = ["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|p| url.starts_with(p));
    let url = rule(
        v,
        path,
        "url",
        url,
        scheme_ok,
        "must start with sqlite:// (embedded) or postgres:// (production and HA)",
    );
    let max = raw.max_connections.unwrap_or(10);
    let max = rule(
        v,
        path,
        "max_connections",
        max,
        max > 0,
        "must be at least 1",
    );
    Some(DatabaseSettings {
        url: SecretString::from(url?.to_owned()),
        max_connections: max?,
    })
}

pub(super) fn aws(v: &mut Checker, path: &KeyPath, raw: raw::Aws) -> Option<AwsSettings> {
    let endpoint = match raw.endpoint.as_deref() {
        None => Some(None),
        Some(e) => v.url(path.key("endpoint"), e, &["http", "https"]).map(Some),
    };
    let region = match &raw.region {
        None => Some(None),
        Some(r) => v.region(path.key("region"), r).map(Some),
    };
    Some(AwsSettings {
        region: region?,
        endpoint: endpoint?,
        profile: raw.profile,
    })
}

pub(super) fn collector(
    v: &mut Checker,
    path: &KeyPath,
    raw: raw::Collector,
) -> Option<CollectorSettings> {
    let max = raw.max_concurrent_polls.unwrap_or(64);
    let max = rule(
        v,
        path,
        "max_concurrent_polls",
        max,
        max > 0,
        "must be at least 1",
    )?;
    Some(CollectorSettings {
        max_concurrent_polls: max,
    })
}

pub(super) fn retention(
    v: &mut Checker,
    path: &KeyPath,
    raw: raw::Retention,
) -> Option<RetentionSettings> {
    let keep =
        |v: &mut Checker, field: &str, text: &Option<String>, default: u64, min: u64, why: &str| {
            let d = v.optional_duration(path, field, text, Duration::from_secs(default))?;
            rule(v, path, field, d, d >= Duration::from_secs(min), why)
        };
    // Rollups are computed from the finer resolution, so it must outlive one rollup period.
    let raw_keep = keep(
        v,
        "raw",
        &raw.raw,
        2 * DAY,
        3600,
        "must be at least 1h (5-minute rollups are computed from raw samples)",
    );
    let five = keep(
        v,
        "five_minute",
        &raw.five_minute,
        30 * DAY,
        2 * 3600,
        "must be at least 2h (1-hour rollups are computed from 5-minute ones)",
    );
    let hour = v.optional_duration(
        path,
        "one_hour",
        &raw.one_hour,
        Duration::from_secs(400 * DAY),
    );
    let alerts = keep(
        v,
        "alerts",
        &raw.alerts,
        400 * DAY,
        DAY,
        "must be at least 1d",
    );
    Some(RetentionSettings {
        raw: raw_keep?,
        five_minute: five?,
        one_hour: hour?,
        alerts: alerts?,
    })
}

pub(super) fn cloudwatch(
    v: &mut Checker,
    path: &KeyPath,
    raw: raw::Cloudwatch,
) -> Option<CloudwatchSettings> {
    let lookback = v
        .optional_duration(
            path,
            "lookback",
            &raw.lookback,
            Duration::from_secs(15 * 60),
        )
        .and_then(|d| {
            let ok = (Duration::from_secs(120)..=Duration::from_secs(DAY)).contains(&d);
            rule(v, path, "lookback", d, ok, "must be from 2m to 24h")
        });
    let price = usd(
        v,
        path,
        "price_per_1000_metrics",
        raw.price_per_1000_metrics.unwrap_or(0.01),
    );
    Some(CloudwatchSettings {
        lookback: lookback?,
        price_per_1000_metrics: price?,
    })
}

pub(super) fn invalidation(
    v: &mut Checker,
    path: &KeyPath,
    raw: raw::Invalidation,
) -> Option<InvalidationSettings> {
    let window = v
        .optional_duration(
            path,
            "coalesce_window",
            &raw.coalesce_window,
            Duration::from_secs(2),
        )
        .and_then(|w| {
            rule(
                v,
                path,
                "coalesce_window",
                w,
                w <= Duration::from_secs(60),
                "must be at most 60s (pipelines wait for it)",
            )
        });
    let deadline = v.optional_duration(path, "deadline", &raw.deadline, Duration::from_secs(3600));
    let price = usd(
        v,
        path,
        "price_per_path",
        raw.price_per_path.unwrap_or(0.005),
    );
    let budget = match raw.monthly_budget_usd {
        None => Some(None),
        Some(b) => usd(v, path, "monthly_budget_usd", b).map(Some),
    };
    Some(InvalidationSettings {
        coalesce_window: window?,
        deadline: deadline?,
        price_per_path: price?,
        free_paths_per_month: raw.free_paths_per_month.unwrap_or(1000),
        monthly_budget_usd: budget?,
    })
}
