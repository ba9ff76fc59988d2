//! What a new configuration changes against the running one: pure, so the rules (what is
//! added, changed or removed; what only a restart applies) have table tests.

use std::fmt::Debug;

use secrecy::ExposeSecret;
use serde::Serialize;

use crate::config::{Secrets, Settings, same};

/// Names added, changed and removed in one list of the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Changes {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// Everything a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Diff {
    pub targets: Changes,
    pub notifiers: Changes,
    pub alarms: Changes,
    /// Keyed by event type (`event#2` for a second rule on the same event).
    pub rules: Changes,
    pub maintenance: Changes,
    pub streams: Changes,
    /// Other sections whose values changed (`retention`, `invalidation`…), applied at once.
    pub sections: Vec<String>,
    /// Keys that differ from the running values but take a restart to apply
    /// (`server.listen`, `database.url`…); the running values stay.
    pub restart_required: Vec<String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        [
            &self.targets,
            &self.notifiers,
            &self.alarms,
            &self.rules,
            &self.maintenance,
            &self.streams,
        ]
        .iter()
        .all(|c| c.is_empty())
            && self.sections.is_empty()
            && self.restart_required.is_empty()
    }
}

/// Compares `old` (running) with `new` (just read).
pub fn between(old: &Settings, new: &Settings) -> Diff {
    Diff {
        targets: changes(&old.targets, &new.targets, |t| t.name.to_string()),
        notifiers: changes(&old.notifiers, &new.notifiers, |n| n.name.clone()),
        alarms: changes(&old.alarms, &new.alarms, |a| a.name.clone()),
        rules: changes(&numbered(&old.rules), &numbered(&new.rules), |(k, _)| {
            k.clone()
        }),
        maintenance: changes(&old.maintenance, &new.maintenance, |m| m.name.clone()),
        streams: changes(&old.streams, &new.streams, |s| s.name.clone()),
        sections: sections(old, new),
        restart_required: restart_required(old, new),
    }
}

/// Rules keyed by event type, numbered when several share one.
fn numbered(rules: &[crate::config::RuleSettings]) -> Vec<(String, &crate::config::RuleSettings)> {
    let mut seen = std::collections::HashMap::<&str, usize>::new();
    rules
        .iter()
        .map(|r| {
            let n = seen.entry(r.event.as_str()).or_default();
            *n += 1;
            let key = match *n {
                1 => r.event.clone(),
                n => format!("{}#{n}", r.event),
            };
            (key, r)
        })
        .collect()
}

impl Secrets for (String, &crate::config::RuleSettings) {
    fn secrets(&self) -> Vec<&str> {
        self.1.secrets()
    }
}

fn changes<T: Debug + Secrets>(old: &[T], new: &[T], key: impl Fn(&T) -> String) -> Changes {
    // By key, not by scanning: a discovered fleet is thousands of targets.
    let by_key: std::collections::HashMap<String, &T> = old.iter().map(|o| (key(o), o)).collect();
    let new_keys: std::collections::HashSet<String> = new.iter().map(&key).collect();
    let mut c = Changes::default();
    for n in new {
        match by_key.get(&key(n)) {
            None => c.added.push(key(n)),
            Some(o) if !same(*o, n) => c.changed.push(key(n)),
            Some(_) => {}
        }
    }
    for o in old {
        if !new_keys.contains(&key(o)) {
            c.removed.push(key(o));
        }
    }
    c
}

/// Sections without names or secrets, applied whole.
fn sections(old: &Settings, new: &Settings) -> Vec<String> {
    fn differ<T: Debug>(a: &T, b: &T) -> bool {
        format!("{a:?}") != format!("{b:?}")
    }
    [
        (
            "server.public_url",
            differ(&old.server.public_url, &new.server.public_url),
        ),
        ("aws", old.aws != new.aws),
        ("collector", differ(&old.collector, &new.collector)),
        ("retention", differ(&old.retention, &new.retention)),
        ("cloudwatch", differ(&old.cloudwatch, &new.cloudwatch)),
        ("invalidation", differ(&old.invalidation, &new.invalidation)),
        ("alerting", differ(&old.alerting, &new.alerting)),
        ("dashboard", differ(&old.dashboard, &new.dashboard)),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(name, _)| name.to_owned())
    .collect()
}

/// What a running process cannot change: the socket it listens on, how it stops, and the
/// database it opened.
fn restart_required(old: &Settings, new: &Settings) -> Vec<String> {
    [
        ("server.listen", old.server.listen != new.server.listen),
        (
            "server.shutdown_timeout",
            old.server.shutdown_timeout != new.server.shutdown_timeout,
        ),
        (
            "database.url",
            old.database.url.expose_secret() != new.database.url.expose_secret(),
        ),
        (
            "database.max_connections",
            old.database.max_connections != new.database.max_connections,
        ),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(name, _)| name.to_owned())
    .collect()
}

/// `new` with the keys only a restart applies set back to the running values, so what runs
/// is always consistent with the process (the report says what was left).
pub fn keep_restart_only(old: &Settings, mut new: Settings) -> Settings {
    new.server.listen = old.server.listen;
    new.server.shutdown_timeout = old.server.shutdown_timeout;
    new.database = old.database.clone();
    new
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_from;

    fn settings(toml: &str) -> Settings {
        load_from(Some(toml), Vec::new()).unwrap_or_else(|e| panic!("{e}"))
    }

    const BASE: &str = r#"
[[targets]]
name = "sessions"
kind = "redis"
url = "redis://:old@127.0.0.1:6379"

[[targets]]
name = "pages"
kind = "memcached"
address = "127.0.0.1:11211"

[[notifiers]]
name = "ops"
kind = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "one"

[[alarms]]
name = "low"
target = "sessions"
metric = "hit_rate"
below = 0.8
notify = ["ops"]

[[rules]]
event = "product.updated"
redis = [{ target = "sessions", keys = ["product:{id}"] }]

[[rules]]
event = "product.updated"
redis = [{ target = "sessions", keys = ["price:{id}"] }]
"#;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_kind_of_change_is_named() {
        let old = settings(BASE);
        struct Case {
            what: &'static str,
            from: &'static str,
            to: &'static str,
            check: fn(&Diff) -> bool,
        }
        let cases = [
            Case {
                what: "nothing changed",
                from: "",
                to: "",
                check: Diff::is_empty,
            },
            Case {
                what: "a rotated Redis password is a changed target",
                from: "redis://:old@",
                to: "redis://:new@",
                check: |d| d.targets.changed == names(&["sessions"]) && d.targets.added.is_empty(),
            },
            Case {
                what: "a rotated webhook secret is a changed notifier",
                from: "secret = \"one\"",
                to: "secret = \"two\"",
                check: |d| d.notifiers.changed == names(&["ops"]),
            },
            Case {
                what: "a renamed target is one removed and one added",
                from: "name = \"pages\"",
                to: "name = \"fragments\"",
                check: |d| {
                    d.targets.removed == names(&["pages"])
                        && d.targets.added == names(&["fragments"])
                },
            },
            Case {
                what: "a threshold is a changed alarm",
                from: "below = 0.8",
                to: "below = 0.7",
                check: |d| d.alarms.changed == names(&["low"]) && d.targets.is_empty(),
            },
            Case {
                what: "the second rule on one event has its own key",
                from: "price:{id}",
                to: "cost:{id}",
                check: |d| d.rules.changed == names(&["product.updated#2"]),
            },
        ];
        for c in cases {
            let new = settings(&BASE.replace(c.from, c.to));
            let d = between(&old, &new);
            assert!((c.check)(&d), "{}: {d:?}", c.what);
        }
    }

    #[test]
    fn sections_and_restart_only_keys() {
        let old = settings(BASE);
        let new = settings(&format!(
            "[server]\nlisten = \"127.0.0.1:9999\"\n[retention]\nraw = \"12h\"\n[database]\nurl = \"sqlite://other.db\"\n{BASE}"
        ));
        let d = between(&old, &new);
        assert_eq!(d.sections, names(&["retention"]));
        assert_eq!(
            d.restart_required,
            names(&["server.listen", "database.url"])
        );
        let kept = keep_restart_only(&old, new);
        assert_eq!(kept.server.listen, old.server.listen);
        assert_eq!(
            kept.database.url.expose_secret(),
            old.database.url.expose_secret()
        );
        assert!(between(&old, &kept).restart_required.is_empty());
        assert_eq!(between(&old, &kept).sections, names(&["retention"]));
    }
}
