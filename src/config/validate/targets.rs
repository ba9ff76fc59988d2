//! `[[targets]]`: the keys every target has (name, kind, schedule, timeout) are checked here;
//! the rest belong to the target's kind, which checks them itself.

use std::time::Duration;

use crate::checker::{Checker, KeyPath};
use crate::domain::{Schedule, TargetName};
use crate::targets::{KINDS, Kind, Labels, TargetSettings};

/// The keys every target has; the rest are its kind's.
pub(super) const COMMON: [&str; 10] = [
    "name",
    "kind",
    "every",
    "cron",
    "timeout",
    "role_arn",
    "external_id",
    "session_name",
    "group",
    "tags",
];

/// A target as far as others refer to it: its name, and its kind when that is one, known
/// even when the rest of its entry has mistakes, so that alarms and rules on it are checked
/// all the same (and not also reported as referring to nothing).
#[derive(Debug, Clone)]
pub struct Declared {
    pub name: TargetName,
    pub kind: Option<Kind>,
    /// Its group and tags as far as readable, for alarms that select by them.
    pub labels: Labels,
}

/// Every target that is valid, and every one declared (name and kind readable).
pub(super) fn all(
    v: &mut Checker,
    tables: Vec<(KeyPath, toml::Table)>,
) -> (Vec<TargetSettings>, Vec<Declared>) {
    let mut valid = Vec::new();
    let mut declared: Vec<Declared> = Vec::new();
    for (path, table) in tables {
        let d = declare(v, &path, &table);
        // A second target of one name is reported, and still checked for its own mistakes.
        let duplicate = d.as_ref().is_some_and(|d| {
            let taken = declared.iter().any(|o| o.name == d.name);
            if taken {
                v.error(
                    path.key("name"),
                    format!(
                        "{:?} is already the name of another target",
                        d.name.as_str()
                    ),
                );
            }
            taken
        });
        if let (Some(d), false) = (&d, duplicate) {
            declared.push(d.clone());
        }
        if let Some(t) = one(v, &path, table, d).filter(|_| !duplicate) {
            valid.push(t);
        }
    }
    (valid, declared)
}

/// The target's name and kind, each reported when missing or wrong.
fn declare(v: &mut Checker, path: &KeyPath, table: &toml::Table) -> Option<Declared> {
    let text = |key: &str, v: &mut Checker| match table.get(key) {
        None => {
            v.error(path.key(key), "is required");
            None
        }
        Some(toml::Value::String(s)) => Some(s.clone()),
        Some(_) => {
            v.error(path.key(key), "must be a string");
            None
        }
    };
    let name = text("name", v).and_then(|n| match TargetName::parse(&n) {
        Ok(n) => Some(n),
        Err(e) => {
            v.error(path.key("name"), format!("{n:?} {e}"));
            None
        }
    });
    let kind = text("kind", v).and_then(|k| {
        let found = Kind::named(&k);
        if found.is_none() {
            let names: Vec<&str> = KINDS.iter().map(|k| k.name()).collect();
            v.error(
                path.key("kind"),
                format!("unknown kind {k:?}: expected one of {}", names.join(", ")),
            );
        }
        found
    });
    let labels = Labels {
        group: table
            .get("group")
            .and_then(|g| g.as_str())
            .map(str::to_owned),
        tags: table
            .get("tags")
            .and_then(|t| t.as_table())
            .map(|t| {
                t.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default(),
        ..Labels::default()
    };
    Some(Declared {
        name: name?,
        kind,
        labels,
    })
}

/// What to say of a key `kind` does not have: another kind's key is misplaced, not unknown.
fn foreign(kind: Kind) -> impl Fn(&str) -> String {
    move |key: &str| {
        let elsewhere = KINDS
            .iter()
            .any(|k| k.fields().iter().any(|f| f.name == key));
        if elsewhere {
            format!("does not apply to kind {}", kind.name())
        } else {
            "unknown key".to_owned()
        }
    }
}

pub(super) fn one(
    v: &mut Checker,
    path: &KeyPath,
    mut table: toml::Table,
    declared: Option<Declared>,
) -> Option<TargetSettings> {
    let common: toml::Table = COMMON
        .iter()
        .filter_map(|k| table.remove(*k).map(|value| ((*k).to_owned(), value)))
        .collect();
    // Without a kind, its own keys cannot be read; the name and kind errors are reported.
    let kind = declared.as_ref().and_then(|d| d.kind)?;
    let (default_every, default_timeout) = kind.polling().defaults();
    let schedule = schedule(v, path, &common, default_every);
    let timeout = match common.get("timeout") {
        None => Some(default_timeout),
        Some(toml::Value::String(t)) => v.duration(path.key("timeout"), t),
        Some(_) => {
            v.error(path.key("timeout"), "must be a duration like \"5s\"");
            None
        }
    };
    let config = kind.parse(v, path, table, &foreign(kind));
    let account = account(v, path, &common, kind);
    let labels = labels(v, path, &common, account.as_ref().and_then(Option::as_ref));
    let declared = declared?;
    Some(TargetSettings {
        name: declared.name,
        kind,
        schedule: schedule?,
        timeout: timeout?,
        config: config?,
        account: account?,
        labels: labels?,
    })
}

/// `group` and `tags`: what alarms and the dashboard may select a target by.
fn labels(
    v: &mut Checker,
    path: &KeyPath,
    common: &toml::Table,
    account: Option<&crate::domain::Account>,
) -> Option<Labels> {
    let group = match common.get("group") {
        None => Some(None),
        Some(toml::Value::String(g)) if !g.is_empty() && g.len() <= 256 => Some(Some(g.clone())),
        Some(_) => {
            v.error(
                path.key("group"),
                "must be a non-empty string of at most 256 characters",
            );
            None
        }
    };
    let tags = match common.get("tags") {
        None => Some(Default::default()),
        Some(toml::Value::Table(t)) => {
            let mut ok = true;
            let mut tags = std::collections::BTreeMap::new();
            for (k, value) in t {
                match value {
                    toml::Value::String(s) if !k.is_empty() && k.len() <= 128 && s.len() <= 256 => {
                        tags.insert(k.clone(), s.clone());
                    }
                    _ => {
                        v.error(
                            path.key("tags").key(k),
                            "must be a string (keys up to 128 characters, values up to 256, as AWS allows)",
                        );
                        ok = false;
                    }
                }
            }
            ok.then_some(tags)
        }
        Some(_) => {
            v.error(path.key("tags"), "must be a table like { env = \"prod\" }");
            None
        }
    };
    Some(Labels {
        group: group?,
        tags: tags?,
        discovered_by: None,
        account_id: account.map(|a| a.id().to_owned()),
    })
}

/// `role_arn`, `external_id`, `session_name`: the account a target's AWS calls are made in.
/// Only kinds read through AWS have one.
fn account(
    v: &mut Checker,
    path: &KeyPath,
    common: &toml::Table,
    kind: Kind,
) -> Option<Option<crate::domain::Account>> {
    let mut text = |key: &str| match common.get(key) {
        None => Some(None),
        Some(toml::Value::String(s)) => Some(Some(s.clone())),
        Some(_) => {
            v.error(path.key(key), "must be a string");
            None
        }
    };
    let (role, external, session) = (text("role_arn"), text("external_id"), text("session_name"));
    let (role, external, session) = (role?, external?, session?);
    let Some(role) = role else {
        for (key, set) in [("external_id", &external), ("session_name", &session)] {
            if set.is_some() {
                v.error(path.key(key), "needs role_arn");
            }
        }
        return (external.is_none() && session.is_none()).then_some(None);
    };
    if kind.polling() != crate::targets::Polling::CloudWatch {
        v.error(
            path.key("role_arn"),
            format!(
                "does not apply to kind {}: cachewarden makes no AWS call for it",
                kind.name()
            ),
        );
        return None;
    }
    match crate::domain::Account::parse(&role, external.as_deref(), session.as_deref()) {
        Ok(a) => Some(Some(a)),
        Err(e) => {
            v.error(path.key(e.key), e.message);
            None
        }
    }
}

fn schedule(
    v: &mut Checker,
    path: &KeyPath,
    common: &toml::Table,
    default: Duration,
) -> Option<Schedule> {
    let text = |key: &str, v: &mut Checker| match common.get(key) {
        None => Some(None),
        Some(toml::Value::String(s)) => Some(Some(s.clone())),
        Some(_) => {
            v.error(path.key(key), "must be a string");
            None
        }
    };
    match (text("every", v)?, text("cron", v)?) {
        (Some(_), Some(_)) => {
            v.error(path.key("cron"), "set either every or cron, not both");
            None
        }
        (Some(every), None) => {
            let d = v.duration(path.key("every"), &every)?;
            if d < Duration::from_secs(1) {
                v.error(path.key("every"), "must be at least 1s");
                return None;
            }
            Some(Schedule::Every(d))
        }
        (None, Some(cron)) => {
            v.cron(path.key("cron"), &cron)?;
            Some(Schedule::Cron(cron))
        }
        (None, None) => Some(Schedule::Every(default)),
    }
}
