//! Turns the configuration as written into [`Settings`], collecting every error on the way.
//!
//! Sections refer to each other (an alarm to targets and notifiers, a window to alarms, a rule
//! to targets). Those references are checked against what each section *declares*, the names
//! (and a target's kind) readable from its entries even when an entry has other mistakes, so
//! a mistake in a target never hides, or adds, one in an alarm on it: one run of
//! `check-config` lists everything.

mod alarms;
mod dashboard;
mod discover;
mod maintenance;
mod notifiers;
mod rules;
mod sections;
mod selectors;
mod streams;
mod targets;

pub use discover::target as discovered_target;
pub use targets::Declared;

use crate::checker::{Checker, ConfigErrors, KeyPath};
use crate::config::raw;
use crate::config::settings::*;

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
    "discover",
    "notifiers",
    "alarms",
    "alerting",
    "maintenance",
    "rules",
    "streams",
    "dashboard",
];

/// What each list declares, for the sections that refer to it.
pub(super) struct Declarations {
    pub targets: Vec<Declared>,
    /// Targets are also discovered: a selector matching no written target may match those.
    pub discovering: bool,
    pub notifiers: Vec<String>,
    pub alarms: Vec<String>,
}

/// The `name` of every entry of a `[[list]]` that has a readable one.
fn names(tables: &[(KeyPath, toml::Table)]) -> Vec<String> {
    tables
        .iter()
        .filter_map(|(_, t)| t.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .collect()
}

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
    macro_rules! section {
        ($key:literal, $raw:ty, $check:path) => {
            v.section::<$raw>(table, $key)
                .and_then(|(p, r)| $check(&mut v, &p, r))
        };
    }
    let server = section!("server", raw::Server, sections::server);
    let database = section!("database", raw::Database, sections::database);
    let aws = section!("aws", raw::Aws, sections::aws);
    let collector = section!("collector", raw::Collector, sections::collector);
    let retention = section!("retention", raw::Retention, sections::retention);
    let invalidation = section!("invalidation", raw::Invalidation, sections::invalidation);
    let cloudwatch = section!("cloudwatch", raw::Cloudwatch, sections::cloudwatch);
    let dashboard = section!("dashboard", raw::Dashboard, dashboard::dashboard);
    let alerting = section!("alerting", raw::Alerting, maintenance::alerting);

    let target_tables = v.tables(table, "targets");
    let (targets, declared_targets) = targets::all(&mut v, target_tables);
    let discover_tables = v.tables(table, "discover");
    let discover = discover::all(&mut v, discover_tables);
    let notifier_tables = v.tables(table, "notifiers");
    let alarm_tables = v.tables(table, "alarms");
    let declared = Declarations {
        targets: declared_targets,
        discovering: table.contains_key("discover"),
        notifiers: names(&notifier_tables),
        alarms: names(&alarm_tables),
    };
    let notifiers = notifiers::all(&mut v, notifier_tables);
    let raw_alarms = v.list::<raw::Alarm>(table, "alarms");
    let alarms = alarms::all(&mut v, raw_alarms, &declared);
    let raw_windows = v.list::<raw::Maintenance>(table, "maintenance");
    let maintenance = maintenance::windows(&mut v, raw_windows, &declared);
    let rule_tables = v.tables(table, "rules");
    // The events rules are written for, whether or not each rule is valid.
    let rule_events: Vec<String> = rule_tables
        .iter()
        .filter_map(|(_, t)| t.get("event").and_then(|e| e.as_str()).map(str::to_owned))
        .collect();
    let rules = rules::all(&mut v, rule_tables, &declared, &targets);
    let raw_streams = v.list::<raw::Stream>(table, "streams");
    let streams = streams::all(&mut v, raw_streams, &rule_events);
    let built = (|| {
        Some(Settings {
            server: server?,
            database: database?,
            aws: aws?,
            collector: collector?,
            retention: retention?,
            cloudwatch: cloudwatch?,
            invalidation: invalidation?,
            targets,
            discover,
            notifiers,
            alarms,
            alerting: alerting?,
            maintenance,
            rules,
            streams,
            dashboard: dashboard?,
        })
    })();
    match built {
        Some(s) if !v.has_errors() => Ok(s),
        _ => Err(ConfigErrors::new(v.into_errors())),
    }
}

/// A target name or glob that matches at least one declared target.
pub(super) fn target_glob(
    v: &mut Checker,
    path: KeyPath,
    pattern: &str,
    targets: &[Declared],
    may_match_none: bool,
) -> Option<globset::Glob> {
    match globset::Glob::new(pattern) {
        Ok(glob) => {
            let matcher = glob.compile_matcher();
            if !may_match_none && !targets.iter().any(|t| matcher.is_match(t.name.as_str())) {
                v.error(path, format!("{pattern:?} matches no configured target"));
            }
            Some(glob)
        }
        Err(e) => {
            v.error(path, format!("{pattern:?} is not a valid glob ({e})"));
            None
        }
    }
}
