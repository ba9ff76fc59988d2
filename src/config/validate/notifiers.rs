//! `[[notifiers]]`: name and kind are checked here; the rest belongs to the receiver kind.

use crate::checker::{Checker, KeyPath};
use crate::notify::{NotifierSettings, RECEIVERS, kind_named};

pub(super) fn all(v: &mut Checker, tables: Vec<(KeyPath, toml::Table)>) -> Vec<NotifierSettings> {
    v.unique_names(tables, "notifier", |n: &NotifierSettings| &n.name, one)
}

fn one(v: &mut Checker, path: &KeyPath, mut table: toml::Table) -> Option<NotifierSettings> {
    let mut text = |key: &str, v: &mut Checker| match table.remove(key) {
        None => {
            v.error(path.key(key), "is required");
            None
        }
        Some(toml::Value::String(s)) => Some(s),
        Some(_) => {
            v.error(path.key(key), "must be a string");
            None
        }
    };
    let name = text("name", v).and_then(|n| v.name(path.key("name"), &n));
    let kind = text("kind", v)?;
    let Some(receiver) = kind_named(&kind) else {
        let names: Vec<&str> = RECEIVERS.iter().map(|k| k.name()).collect();
        v.error(
            path.key("kind"),
            format!(
                "unknown kind {kind:?}: expected one of {}",
                names.join(", ")
            ),
        );
        return None;
    };
    let foreign = |key: &str| {
        let elsewhere = RECEIVERS
            .iter()
            .any(|k| k.fields().iter().any(|f| f.name == key));
        if elsewhere {
            format!("does not apply to kind {}", receiver.name())
        } else {
            "unknown key".to_owned()
        }
    };
    let config = receiver.parse(v, path, table, &foreign);
    Some(NotifierSettings {
        name: name?,
        kind: receiver.name(),
        config: config?,
    })
}
