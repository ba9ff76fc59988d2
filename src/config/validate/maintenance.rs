//! `[alerting]` and `[[maintenance]]`: what holds notifications besides people's silences.

use std::collections::HashSet;
use std::time::Duration;

use super::{Checker, KeyPath};
use crate::config::raw;
use crate::config::settings::*;

pub(super) fn alerting(
    v: &mut Checker,
    path: &KeyPath,
    raw: raw::Alerting,
) -> Option<AlertingSettings> {
    v.unknown(path, &raw.unknown);
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
    targets: &[TargetSettings],
    alarms: &[AlarmSettings],
) -> Vec<MaintenanceWindow> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (path, m) in raw {
        if let Some(w) = window(v, &path, m, targets, alarms) {
            if !seen.insert(w.name.clone()) {
                v.error(
                    path.key("name"),
                    format!("{:?} is already the name of another window", w.name),
                );
                continue;
            }
            out.push(w);
        }
    }
    out
}

fn window(
    v: &mut Checker,
    path: &KeyPath,
    m: raw::Maintenance,
    targets: &[TargetSettings],
    alarms: &[AlarmSettings],
) -> Option<MaintenanceWindow> {
    v.unknown(path, &m.unknown);
    let name = v
        .required(path, "name", &m.name)
        .and_then(|s| v.name(path.key("name"), s));
    let pattern = m.target.as_deref().unwrap_or("*");
    let target = match globset::Glob::new(pattern) {
        Ok(glob) => {
            let matcher = glob.compile_matcher();
            if !targets.iter().any(|t| matcher.is_match(t.name.as_str())) {
                v.error(
                    path.key("target"),
                    format!("{pattern:?} matches no configured target"),
                );
            }
            Some(glob)
        }
        Err(e) => {
            v.error(
                path.key("target"),
                format!("{pattern:?} is not a valid glob ({e})"),
            );
            None
        }
    };
    let names = m.alarms.clone().unwrap_or_default();
    for (i, a) in names.iter().enumerate() {
        if !alarms.iter().any(|x| &x.name == a) {
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
    if duration.is_some_and(|d| d > Duration::from_secs(31 * 24 * 3600)) {
        v.error(
            path.key("duration"),
            "must be at most 31 days (use a silence for longer)",
        );
        return None;
    }
    Some(MaintenanceWindow {
        name: name?,
        target: target?,
        alarms: names,
        cron: cron?,
        duration: duration?,
    })
}
