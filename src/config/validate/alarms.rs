//! `[[alarms]]`: what is alerted on, checked against the targets and notifiers declared.

use super::{Checker, Declarations, KeyPath, target_glob};
use crate::config::raw;
use crate::config::settings::*;
use crate::targets::{Kind, Selector};

pub(super) fn all(
    v: &mut Checker,
    raw: Vec<(KeyPath, raw::Alarm)>,
    declared: &Declarations,
) -> Vec<AlarmSettings> {
    v.unique_names(
        raw,
        "alarm",
        |a: &AlarmSettings| &a.name,
        |v, path, a| alarm(v, path, a, declared),
    )
}

fn alarm(
    v: &mut Checker,
    path: &KeyPath,
    a: raw::Alarm,
    declared: &Declarations,
) -> Option<AlarmSettings> {
    let targets = &declared.targets;
    let name = v
        .required(path, "name", &a.name)
        .and_then(|s| v.name(path.key("name"), s));
    let target = selector(v, path, &a, declared);
    if a.change_cost.is_some() {
        return change_cost_alarm(v, path, a, declared, name, target);
    }
    let metric = v.required(path, "metric", &a.metric).and_then(|m| {
        let ok = !m.is_empty()
            && m.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            v.error(
                path.key("metric"),
                format!("{m:?} is not a series name like \"hit_rate\""),
            );
        }
        ok.then(|| m.clone())
    });
    // An alarm on a series none of its targets records could never fire.
    if let (Some(m), Some(selector)) = (&metric, &target) {
        let kinds: Vec<Kind> = targets
            .iter()
            .filter(|t| selector.matches(t.name.as_str(), &t.labels))
            .filter_map(|t| t.kind)
            .collect();
        if !kinds.is_empty() && !kinds.iter().any(|k| k.series_named(m).is_some()) {
            let mut known: Vec<&str> = kinds
                .iter()
                .flat_map(|k| std::iter::once("up").chain(k.series().iter().map(|s| s.name)))
                .collect();
            known.sort_unstable();
            known.dedup();
            v.error(
                path.key("metric"),
                format!(
                    "{m:?} is not a series of the targets it watches; they record {}",
                    known.join(", ")
                ),
            );
        }
    }
    let condition = condition(v, path, &a, metric.as_deref());
    let datapoints = match a.datapoints.as_deref() {
        None => Some((1, 1)),
        Some(text) => datapoints(text).or_else(|| {
            v.error(
                path.key("datapoints"),
                format!("{text:?} is not \"M of N\" with 1 <= M <= N <= 100, like \"3 of 5\""),
            );
            None
        }),
    };
    let missing = match a.missing.as_deref().unwrap_or("missing") {
        "missing" => Some(MissingData::Missing),
        "breaching" => Some(MissingData::Breaching),
        "not_breaching" => Some(MissingData::NotBreaching),
        "ignore" => Some(MissingData::Ignore),
        other => {
            v.error(path.key("missing"), format!("unknown treatment {other:?}: expected missing, breaching, not_breaching or ignore"));
            None
        }
    };
    let Delivery {
        repeat,
        severity,
        notify,
    } = delivery(v, path, &a, declared);
    Some(AlarmSettings {
        name: name?,
        targets: target?,
        metric: metric?,
        condition: condition?,
        datapoints: datapoints?,
        missing: missing?,
        min_volume: a.min_volume,
        repeat: repeat?,
        severity: severity?,
        notify,
        mute_expected: a.mute_expected.unwrap_or(false),
    })
}

/// How an alarm's messages go out, whatever it watches.
struct Delivery {
    repeat: Option<Option<std::time::Duration>>,
    severity: Option<Severity>,
    notify: Vec<String>,
}

fn delivery(v: &mut Checker, path: &KeyPath, a: &raw::Alarm, declared: &Declarations) -> Delivery {
    let repeat = match &a.repeat {
        None => Some(None),
        Some(r) => v.duration(path.key("repeat"), r).map(Some),
    };
    let severity = match a.severity.as_deref().unwrap_or("warning") {
        "info" => Some(Severity::Info),
        "warning" => Some(Severity::Warning),
        "critical" => Some(Severity::Critical),
        other => {
            v.error(
                path.key("severity"),
                format!("unknown severity {other:?}: expected info, warning or critical"),
            );
            None
        }
    };
    let notify = a.notify.clone().unwrap_or_default();
    for (i, n) in notify.iter().enumerate() {
        if !declared.notifiers.contains(n) {
            v.error(
                path.key("notify").index(i),
                format!("{n:?} is not a configured notifier"),
            );
        }
    }
    Delivery {
        repeat,
        severity,
        notify,
    }
}

/// An alarm on what each change cost (`change_cost = { extra_misses = …, recovery = … }`):
/// it watches measured changes, not a series, so the keys of a series condition do not apply.
fn change_cost_alarm(
    v: &mut Checker,
    path: &KeyPath,
    a: raw::Alarm,
    declared: &Declarations,
    name: Option<String>,
    target: Option<Selector>,
) -> Option<AlarmSettings> {
    let series_keys = [
        ("metric", a.metric.is_some()),
        ("below", a.below.is_some()),
        ("above", a.above.is_some()),
        ("drop", a.drop.is_some()),
        ("baseline", a.baseline.is_some()),
        ("datapoints", a.datapoints.is_some()),
        ("missing", a.missing.is_some()),
        ("min_volume", a.min_volume.is_some()),
        ("mute_expected", a.mute_expected.is_some()),
    ];
    for (key, set) in series_keys {
        if set {
            v.error(
                path.key(key),
                "applies only to an alarm on a series; a change_cost alarm watches each change's measured cost",
            );
        }
    }
    // Only a target with a hit ratio has its changes measured.
    if let Some(selector) = &target {
        let matched: Vec<Kind> = declared
            .targets
            .iter()
            .filter(|t| selector.matches(t.name.as_str(), &t.labels))
            .filter_map(|t| t.kind)
            .collect();
        if !matched.is_empty()
            && !matched
                .iter()
                .any(|k| k.series_with(crate::targets::Role::HitRatio).is_some())
        {
            v.error(
                path.key("target"),
                "none of the targets it watches has a hit ratio, so no change on them is measured",
            );
        }
    }
    let cost = a.change_cost.as_ref()?;
    let at = path.key("change_cost");
    let extra_misses = match cost.extra_misses {
        Some(x) if !(x.is_finite() && x >= 0.0) => {
            v.error(
                at.key("extra_misses"),
                "must be a count of misses, 0 or more",
            );
            None
        }
        x => Some(x),
    };
    let recovery = match &cost.recovery {
        None => Some(None),
        Some(text) => v.duration(at.key("recovery"), text).map(Some),
    };
    if cost.extra_misses.is_none() && cost.recovery.is_none() {
        v.error(at.clone(), "needs extra_misses, recovery or both");
    }
    let Delivery {
        repeat,
        severity,
        notify,
    } = delivery(v, path, &a, declared);
    Some(AlarmSettings {
        name: name?,
        targets: target?,
        metric: String::new(),
        condition: Condition::ChangeCost(CostLimits {
            extra_misses: extra_misses?,
            recovery: recovery?,
        }),
        datapoints: (1, 1),
        missing: MissingData::Missing,
        min_volume: None,
        repeat: repeat?,
        severity: severity?,
        notify,
        mute_expected: false,
    })
}

fn condition(
    v: &mut Checker,
    path: &KeyPath,
    a: &raw::Alarm,
    metric: Option<&str>,
) -> Option<Condition> {
    let set: Vec<&str> = [
        ("below", a.below.is_some()),
        ("above", a.above.is_some()),
        ("drop", a.drop.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, is)| is.then_some(k))
    .collect();
    if set.len() != 1 {
        v.error(
            path.clone(),
            format!(
                "needs exactly one of below, above, drop or change_cost (found {})",
                if set.is_empty() {
                    "none".into()
                } else {
                    set.join(", ")
                }
            ),
        );
        return None;
    }
    if a.baseline.is_some() && a.drop.is_none() {
        v.error(path.key("baseline"), "applies only to a drop condition");
    }
    // Ratios are 0.0-1.0 everywhere; "80" for 80 % is the classic mistake. Whether a series
    // is a ratio is its kinds' to say, whatever the targets matched.
    let ratio = metric.is_some_and(crate::targets::is_ratio_series);
    let check_ratio = |v: &mut Checker, key: &str, x: f64| {
        if ratio && !(0.0..=1.0).contains(&x) {
            v.error(
                path.key(key),
                format!("{x} is outside 0.0-1.0; ratios are fractions (0.8 means 80 %)"),
            );
            return false;
        }
        true
    };
    if let Some(x) = a.below {
        return check_ratio(v, "below", x).then_some(Condition::Below(x));
    }
    if let Some(x) = a.above {
        return check_ratio(v, "above", x).then_some(Condition::Above(x));
    }
    let points = a.drop?;
    if points <= 0.0 || !check_ratio(v, "drop", points) {
        if points <= 0.0 {
            v.error(path.key("drop"), "must be a positive number of points");
        }
        return None;
    }
    let baseline = match a.baseline.as_deref().unwrap_or("trailing 1h") {
        "last_week" => Baseline::LastWeek,
        text => match text.strip_prefix("trailing ") {
            Some(window) => Baseline::Trailing(v.duration(path.key("baseline"), window.trim())?),
            None => {
                v.error(path.key("baseline"), format!("{text:?} is neither \"trailing DURATION\" (like \"trailing 1h\") nor \"last_week\""));
                return None;
            }
        },
    };
    Some(Condition::Drop { points, baseline })
}

/// Parses `"M of N"`.
fn datapoints(text: &str) -> Option<(u32, u32)> {
    let (m, n) = text.split_once(" of ")?;
    let (m, n): (u32, u32) = (m.trim().parse().ok()?, n.trim().parse().ok()?);
    (1 <= m && m <= n && n <= 100).then_some((m, n))
}

/// `target` (a name or glob), `target_tags` (every tag must match, glob values) and `group`:
/// at least one. Without discovery, what it selects must be among the targets written.
fn selector(
    v: &mut Checker,
    path: &KeyPath,
    a: &raw::Alarm,
    declared: &Declarations,
) -> Option<Selector> {
    let by_labels = a.target_tags.is_some() || a.group.is_some();
    let name = match &a.target {
        Some(pattern) => target_glob(
            v,
            path.key("target"),
            pattern,
            &declared.targets,
            declared.discovering || by_labels,
        ),
        None if by_labels => globset::Glob::new("*").ok(),
        None => {
            v.error(
                path.key("target"),
                "is required: a target name or glob (or select by target_tags or group)",
            );
            None
        }
    };
    let tags = super::selectors::tag_globs(
        v,
        &path.key("target_tags"),
        a.target_tags.clone().map(toml::Value::Table).as_ref(),
    );
    let group = super::selectors::group_glob(
        v,
        path.key("group"),
        a.group.clone().map(toml::Value::String).as_ref(),
    );
    let selector = Selector::new(name?, tags?, group?);
    let matches_one = declared
        .targets
        .iter()
        .any(|t| selector.matches(t.name.as_str(), &t.labels));
    if !selector.by_name_only() && !declared.discovering && !matches_one {
        v.error(
            path.key(if a.group.is_some() {
                "group"
            } else {
                "target_tags"
            }),
            format!(
                "selects no configured target ({}), and no [[discover]] could find one",
                selector.describe()
            ),
        );
        return None;
    }
    Some(selector)
}
