//! `[[discover]]`: where targets are found instead of written. Checked like every section
//! (every mistake with its key), and `[discover.targets]` is checked by building a target of
//! each kind from it with the kind's placeholder keys, through the same code as `[[targets]]`,
//! so a key a kind does not have is reported before anything is discovered.
//!
//! [`target`] builds a discovered target the same way, from what the kind found.

use std::time::Duration;

use super::targets::{COMMON, Declared, one};
use crate::checker::{Checker, ConfigErrors, KeyPath};
use crate::config::settings::DiscoverSettings;
use crate::domain::{Account, NameTemplate, TargetName};
use crate::targets::{Found, KINDS, Kind, Labels, TargetSettings};

const KEYS: [&str; 9] = [
    "name",
    "kinds",
    "regions",
    "accounts",
    "tags",
    "names",
    "every",
    "name_template",
    "targets",
];

/// What `[discover.targets]` may set beside each kind's own table: the rest of a target's
/// common keys are the discovery's (name, kind, account, group, tags).
const SHARED: [&str; 3] = ["every", "cron", "timeout"];

pub(super) fn all(v: &mut Checker, tables: Vec<(KeyPath, toml::Table)>) -> Vec<DiscoverSettings> {
    let mut out: Vec<DiscoverSettings> = Vec::new();
    for (path, table) in tables {
        if let Some(d) = one_discovery(v, &path, table) {
            if out.iter().any(|o| o.name == d.name) {
                v.error(
                    path.key("name"),
                    format!("{:?} is already the name of another discovery", d.name),
                );
                continue;
            }
            out.push(d);
        }
    }
    out
}

fn strings(v: &mut Checker, path: KeyPath, value: Option<&toml::Value>) -> Option<Vec<String>> {
    match value {
        None => Some(Vec::new()),
        Some(toml::Value::Array(items)) if items.iter().all(toml::Value::is_str) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
        ),
        Some(_) => {
            v.error(path, "must be a list of strings");
            None
        }
    }
}

fn one_discovery(v: &mut Checker, path: &KeyPath, table: toml::Table) -> Option<DiscoverSettings> {
    for key in table.keys() {
        if !KEYS.contains(&key.as_str()) {
            v.error(
                path.key(key),
                format!("unknown key; expected one of {}", KEYS.join(", ")),
            );
        }
    }
    let name = match table.get("name") {
        Some(toml::Value::String(n)) => v.name(path.key("name"), n),
        Some(_) => {
            v.error(path.key("name"), "must be a string");
            None
        }
        None => {
            v.error(path.key("name"), "is required");
            None
        }
    };
    let kinds = kinds(v, path, table.get("kinds"));
    let regions = strings(v, path.key("regions"), table.get("regions")).and_then(|rs| {
        let checked: Vec<Option<String>> = rs
            .iter()
            .enumerate()
            .map(|(i, r)| v.region(path.key("regions").index(i), r))
            .collect();
        checked.into_iter().collect::<Option<Vec<_>>>()
    });
    let accounts = accounts(v, path, table.get("accounts"));
    let tags = super::selectors::tag_globs(v, &path.key("tags"), table.get("tags"));
    let names = strings(v, path.key("names"), table.get("names")).and_then(|ns| {
        ns.iter()
            .enumerate()
            .map(|(i, n)| super::selectors::glob(v, path.key("names").index(i), n))
            .collect::<Vec<_>>()
            .into_iter()
            .collect::<Option<Vec<_>>>()
    });
    let every = match table.get("every") {
        None => Some(Duration::from_secs(300)),
        Some(toml::Value::String(t)) => v.duration(path.key("every"), t).and_then(|d| {
            if d < Duration::from_secs(30) {
                v.error(
                    path.key("every"),
                    "must be at least 30s: each discovery lists every resource of its accounts and regions",
                );
                None
            } else {
                Some(d)
            }
        }),
        Some(_) => {
            v.error(path.key("every"), "must be a duration like \"5m\"");
            None
        }
    };
    let name_template = match table.get("name_template") {
        None => Some(NameTemplate::default()),
        Some(toml::Value::String(t)) => NameTemplate::parse(t)
            .map_err(|e| v.error(path.key("name_template"), e))
            .ok(),
        Some(_) => {
            v.error(
                path.key("name_template"),
                "must be a string like \"{account}-{region}-{id}\"",
            );
            None
        }
    };
    let targets = match table.get("targets") {
        None => Some(toml::Table::new()),
        Some(toml::Value::Table(t)) => Some(t.clone()),
        Some(_) => {
            v.error(
                path.key("targets"),
                "must be a table of the keys every target found gets",
            );
            None
        }
    };
    let d = DiscoverSettings {
        name: name?,
        kinds: kinds?,
        regions: regions?,
        accounts: accounts?,
        tags: tags?,
        names: names?,
        every: every?,
        name_template: name_template?,
        targets: targets?,
    };
    check_targets(v, &path.key("targets"), &d).then_some(d)
}

/// `kinds`: a non-empty list of kinds that can be discovered.
fn kinds(v: &mut Checker, path: &KeyPath, value: Option<&toml::Value>) -> Option<Vec<Kind>> {
    let discoverable: Vec<&str> = KINDS
        .iter()
        .filter(|k| k.discovery().is_some())
        .map(|k| k.name())
        .collect();
    let names = match value {
        None => {
            v.error(
                path.key("kinds"),
                format!("is required: a list of {}", discoverable.join(", ")),
            );
            return None;
        }
        v2 => strings(v, path.key("kinds"), v2)?,
    };
    if names.is_empty() {
        v.error(
            path.key("kinds"),
            format!("must name at least one of {}", discoverable.join(", ")),
        );
        return None;
    }
    let mut kinds = Vec::new();
    let mut ok = true;
    for (i, n) in names.iter().enumerate() {
        match Kind::named(n).filter(|k| k.discovery().is_some()) {
            Some(k) if !kinds.contains(&k) => kinds.push(k),
            Some(_) => {}
            None => {
                let why = if Kind::named(n).is_some() {
                    format!(
                        "{n:?} cannot be discovered (it is reached directly); write it in [[targets]]"
                    )
                } else {
                    format!(
                        "unknown kind {n:?}: expected one of {}",
                        discoverable.join(", ")
                    )
                };
                v.error(path.key("kinds").index(i), why);
                ok = false;
            }
        }
    }
    kinds.sort_by_key(|k| k.tier());
    ok.then_some(kinds)
}

/// `accounts = [{ role_arn = "…", external_id = "…", session_name = "…" }]`.
fn accounts(v: &mut Checker, path: &KeyPath, value: Option<&toml::Value>) -> Option<Vec<Account>> {
    let Some(value) = value else {
        return Some(Vec::new());
    };
    let Some(items) = value.as_array() else {
        v.error(
            path.key("accounts"),
            "must be a list like [{ role_arn = \"arn:aws:iam::111111111111:role/cachewarden\" }]",
        );
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let at = path.key("accounts").index(i);
        let Some(t) = item.as_table() else {
            v.error(at, "must be a table with role_arn");
            ok = false;
            continue;
        };
        let text = |k: &str| t.get(k).and_then(|x| x.as_str());
        for key in t.keys() {
            if !["role_arn", "external_id", "session_name"].contains(&key.as_str()) {
                v.error(
                    at.key(key),
                    "unknown key; expected role_arn, external_id or session_name",
                );
                ok = false;
            }
        }
        let Some(role) = text("role_arn") else {
            v.error(at.key("role_arn"), "is required (a string)");
            ok = false;
            continue;
        };
        match Account::parse(role, text("external_id"), text("session_name")) {
            Ok(a) if out.contains(&a) => {
                v.error(at.key("role_arn"), "is listed twice");
                ok = false;
            }
            Ok(a) => out.push(a),
            Err(e) => {
                v.error(at.key(e.key), e.message);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Checks `[discover.targets]`: shared keys, a table per kind named in `kinds` holding none of
/// the keys discovery fills, and a target of each kind built from them.
fn check_targets(v: &mut Checker, path: &KeyPath, d: &DiscoverSettings) -> bool {
    let mut ok = true;
    for (key, value) in &d.targets {
        if SHARED.contains(&key.as_str()) {
            continue;
        }
        match Kind::named(key) {
            Some(k) if d.kinds.contains(&k) && value.is_table() => {
                let fills = k.discovery().map(|x| x.fills()).unwrap_or_default();
                for own in value.as_table().into_iter().flat_map(|t| t.keys()) {
                    if fills.contains(&own.as_str()) || COMMON.contains(&own.as_str()) {
                        v.error(
                            path.key(key).key(own),
                            "is set by discovery for each target found",
                        );
                        ok = false;
                    }
                }
            }
            Some(_) => {
                v.error(
                    path.key(key),
                    "must be a table of that kind's keys, and the kind must be in kinds",
                );
                ok = false;
            }
            None => {
                v.error(
                    path.key(key),
                    format!(
                        "cannot be set here; expected {}, or a table per kind",
                        SHARED.join(", ")
                    ),
                );
                ok = false;
            }
        }
    }
    if !ok {
        return false;
    }
    for kind in &d.kinds {
        let Some(discovery) = kind.discovery() else {
            continue;
        };
        let table = entry(d, *kind, &discovery.placeholder(), None);
        let declared = Declared {
            name: TargetName::parse("discovered").expect("a valid literal name"),
            kind: Some(*kind),
            labels: Labels::default(),
        };
        ok &= one(v, path, table, Some(declared)).is_some();
    }
    ok
}

/// The `[[targets]]` entry a discovered target amounts to.
fn entry(
    d: &DiscoverSettings,
    kind: Kind,
    keys: &toml::Table,
    account: Option<&Account>,
) -> toml::Table {
    let mut table: toml::Table = d
        .targets
        .iter()
        .filter(|(k, _)| SHARED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(own) = d.targets.get(kind.name()).and_then(|t| t.as_table()) {
        table.extend(own.clone());
    }
    table.extend(keys.clone());
    if let Some(a) = account {
        table.insert("role_arn".into(), a.role_arn().into());
        table.insert("session_name".into(), a.session_name().into());
        if let Some(x) = a.external_id() {
            table.insert("external_id".into(), x.into());
        }
    }
    table
}

/// What a discovered resource is once it is a target: checked by the same code as a written
/// one, labelled with where it was found. An error lists what is wrong with its keys.
pub fn target(
    d: &DiscoverSettings,
    kind: Kind,
    name: TargetName,
    found: &Found,
    account: Option<&Account>,
    account_id: &str,
) -> Result<TargetSettings, ConfigErrors> {
    let mut v = Checker::default();
    let table = entry(d, kind, &found.keys, account);
    let declared = Declared {
        name,
        kind: Some(kind),
        labels: Labels::default(),
    };
    let built = one(
        &mut v,
        &KeyPath::root().key(&found.id),
        table,
        Some(declared),
    );
    match built {
        Some(mut t) if !v.has_errors() => {
            t.labels = Labels {
                group: found.group.clone(),
                tags: found.tags.clone(),
                discovered_by: Some(d.name.clone()),
                account_id: Some(account_id.to_owned()),
            };
            Ok(t)
        }
        _ => Err(ConfigErrors::new(v.into_errors())),
    }
}
