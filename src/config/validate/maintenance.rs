//! `[alerting]` and `[[maintenance]]`: what holds notifications besides people's silences.

use std::time::Duration;

use super::{Checker, Declarations, KeyPath, target_glob};
use crate::config::raw;
use crate::config::settings::*;

pub(super) fn alerting(
    v: &mut Checker,
    path: &KeyPath,
    raw: raw::Alerting,
) -> Option<AlertingSettings> {
    let window = v.optional_duration(
        path,
        "expected_dip_window",
        &raw.expected_dip_window,
        Duration::from_secs(600),
    )?;
    if window > Duration::from_secs(24 * 3600) {
        v.error(path.key("expected_dip_window"), "must be at most 24h");
        return None;
    }
    Some(AlertingSettings {
        expected_dip_window: window,
    })
}

pub(super) fn windows(
    v: &mut Checker,
    raw: Vec<(KeyPath, raw::Maintenance)>,
    declared: &Declarations,
) -> Vec<MaintenanceWindow> {
    v.unique_names(
        raw,
        "window",
        |w: &MaintenanceWindow| &w.name,
        |v, path, m| window(v, path, m, declared),
    )
}

fn window(
    v: &mut Checker,
    path: &KeyPath,
    m: raw::Maintenance,
    declared: &Declarations,
) -> Option<MaintenanceWindow> {
    let name = v
        .required(path, "name", &m.name)
        .and_then(|s| v.name(path.key("name"), s));
    let pattern = m.target.as_deref().unwrap_or("*");
    let target = target_glob(
        v,
        path.key("target"),
        pattern,
        &declared.targets,
        declared.discovering,
    );
    let names = m.alarms.clone().unwrap_or_default();
    for (i, a) in names.iter().enumerate() {
        if !declared.alarms.contains(a) {
            v.error(
                path.key("alarms").index(i),
                format!("{a:?} is not a configured alarm"),
            );
        }
    }
    let cron = v
        .required(path, "cron", &m.cron)
        .and_then(|c| v.cron(path.key("cron"), c));
    let duration = v
        .required(path, "duration", &m.duration)
        .and_then(|d| v.duration(path.key("duration"), d));
    let timezone = match m.timezone.as_deref() {
        None => Some(chrono_tz::UTC),
        Some(name) => name.parse::<chrono_tz::Tz>().ok().or_else(|| {
            v.error(
                path.key("timezone"),
                format!("{name:?} is not an IANA time zone like \"Europe/Berlin\" or \"UTC\""),
            );
            None
        }),
    };
    let duration = duration.filter(|d| {
        let ok = *d <= Duration::from_secs(31 * 24 * 3600);
        if !ok {
            v.error(
                path.key("duration"),
                "must be at most 31 days (use a silence for longer)",
            );
        }
        ok
    });
    Some(MaintenanceWindow {
        name: name?,
        target: target?,
        alarms: names,
        cron: cron?,
        duration: duration?,
        timezone: timezone?,
    })
}
