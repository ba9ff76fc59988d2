//! `[[rules]]`: domain events mapped to changes on every tier. A rule has an `event`, an
//! optional `broadcast`, and sections of entries (`redis = [...]`, `cloudfront = [...]`):
//! each section belongs to the target kinds that name it (`TargetKind::rule_section`), and
//! the kind of the target an entry names checks the rest of the entry.

use super::{Checker, Declarations, Declared, KeyPath};
use crate::config::raw;
use crate::config::settings::*;
use crate::domain::TargetName;
use crate::targets::{KINDS, Kind};

/// Every section a rule may have, in tier order, without repeats.
fn sections() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for s in KINDS.iter().filter_map(|k| k.rule_section()) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The kinds whose targets a section's entries act on.
fn kinds_of(section: &str) -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|k| k.rule_section() == Some(section))
        .map(|k| k.name())
        .collect()
}

pub(super) fn all(
    v: &mut Checker,
    tables: Vec<(KeyPath, toml::Table)>,
    declared: &Declarations,
    valid: &[TargetSettings],
) -> Vec<RuleSettings> {
    tables
        .into_iter()
        .filter_map(|(path, t)| rule(v, &path, t, declared, valid))
        .collect()
}

fn rule(
    v: &mut Checker,
    path: &KeyPath,
    mut table: toml::Table,
    declared: &Declarations,
    valid: &[TargetSettings],
) -> Option<RuleSettings> {
    let targets = &declared.targets;
    let sections = sections();
    let event = match table.remove("event") {
        None => {
            v.error(path.key("event"), "is required");
            None
        }
        Some(toml::Value::String(e)) => event_type(v, path, e),
        Some(_) => {
            v.error(path.key("event"), "must be a string");
            None
        }
    };
    let broadcast_written = table.contains_key("broadcast");
    let broadcast = table.remove("broadcast").and_then(|b| {
        let at = path.key("broadcast");
        let (_, b) = v.shape::<raw::Broadcast>(at.clone(), &b)?;
        let target = target_of(v, &at, &b.target, targets, &["redis"]);
        let channel = v.required(&at, "channel", &b.channel).cloned();
        Some(Broadcast {
            target: target?,
            channel: channel?,
        })
    });
    let mut actions = Vec::new();
    // Entries as written, valid or not: a rule with a broken entry is not also empty.
    let mut written = broadcast_written;
    for key in table.keys() {
        if !sections.contains(&key.as_str()) {
            written = true;
            v.error(
                path.key(key),
                format!(
                    "unknown key; a rule has event, broadcast and the sections {}",
                    sections.join(", ")
                ),
            );
        }
    }
    // From the origin outwards, whatever order they are written in: a data cache is purged
    // before the API and the edge in front of it are told to fetch again.
    for &section in sections.iter().rev() {
        let Some(entries) = table.remove(section) else {
            continue;
        };
        let at = path.key(section);
        let toml::Value::Array(entries) = entries else {
            v.error(at, "must be a list of tables");
            continue;
        };
        written |= !entries.is_empty();
        for (i, entry) in entries.into_iter().enumerate() {
            let at = at.index(i);
            let toml::Value::Table(mut entry) = entry else {
                v.error(at, "must be a table");
                continue;
            };
            let name = match entry.remove("target") {
                Some(toml::Value::String(n)) => Some(n),
                Some(_) => {
                    v.error(at.key("target"), "must be a string");
                    continue;
                }
                None => None,
            };
            if entry.contains_key("target_tags") || entry.contains_key("group") {
                if name.is_some() {
                    v.error(
                        at.key("target"),
                        "name one target, or select targets by target_tags and group; not both",
                    );
                    continue;
                }
                actions.extend(selected(v, &at, section, entry, declared));
                continue;
            }
            let Some(target) = target_of(v, &at, &name, targets, &kinds_of(section)) else {
                continue;
            };
            let Some(kind) = kind_of(targets, &target) else {
                continue;
            };
            let config = valid
                .iter()
                .find(|t| t.name == target)
                .map(|t| t.config.as_ref());
            let unknown = |_: &str| "unknown key".to_owned();
            if let Some(action) = kind.parse_rule(v, &at, entry, config, &unknown) {
                actions.push(RuleTarget {
                    to: RuleTargets::Named(target),
                    actions: vec![(kind, action)],
                });
            }
        }
    }
    if !written {
        v.error(
            path.clone(),
            format!(
                "does nothing: add entries to {} or a broadcast",
                sections.join(", ")
            ),
        );
    }
    Some(RuleSettings {
        event: event?,
        actions,
        broadcast,
    })
}

fn event_type(v: &mut Checker, path: &KeyPath, e: String) -> Option<String> {
    let ok = !e.is_empty()
        && e.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !ok {
        v.error(
            path.key("event"),
            format!("{e:?} is not an event type like \"product.updated\""),
        );
    }
    ok.then_some(e)
}

fn kind_of(targets: &[Declared], name: &TargetName) -> Option<Kind> {
    targets
        .iter()
        .find(|t| t.name == *name)
        .and_then(|t| t.kind)
}

/// A target reference that must name a configured target of one of `kinds`.
fn target_of(
    v: &mut Checker,
    at: &KeyPath,
    name: &Option<String>,
    targets: &[Declared],
    kinds: &[&str],
) -> Option<TargetName> {
    let name = v.required(at, "target", name)?;
    let Some(t) = targets.iter().find(|t| t.name.as_str() == name) else {
        v.error(
            at.key("target"),
            format!("{name:?} is not a configured target"),
        );
        return None;
    };
    // A target whose kind is unknown has that error already; its actions are not judged.
    if let Some(kind) = t.kind
        && !kinds.contains(&kind.name())
    {
        v.error(
            at.key("target"),
            format!(
                "{name:?} is a {kind} target; this action needs {}",
                kinds.join(" or ")
            ),
        );
        return None;
    }
    Some(t.name.clone())
}

/// An entry that selects its targets (`target_tags`, `group`): checked by each kind of the
/// section, kept for the kinds that accept it (reported with the first kind's errors when
/// none does). Without discovery, it must select a written target of one of those kinds.
fn selected(
    v: &mut Checker,
    at: &KeyPath,
    section: &str,
    mut entry: toml::Table,
    declared: &Declarations,
) -> Option<RuleTarget> {
    let tags = super::selectors::tag_globs(
        v,
        &at.key("target_tags"),
        entry.remove("target_tags").as_ref(),
    );
    let group = super::selectors::group_glob(v, at.key("group"), entry.remove("group").as_ref());
    let (ok, tags, group) = (
        tags.is_some() && group.is_some(),
        tags.unwrap_or_default(),
        group.flatten(),
    );
    let selector = crate::targets::Selector::new(globset::Glob::new("*").ok()?, tags, group);
    let kinds: Vec<Kind> = kinds_of(section)
        .iter()
        .filter_map(|k| Kind::named(k))
        .collect();
    let unknown = |_: &str| "unknown key".to_owned();
    let mut actions = Vec::new();
    let mut first_refusal: Option<Checker> = None;
    for kind in &kinds {
        let mut aside = Checker::default();
        match kind.parse_rule(&mut aside, at, entry.clone(), None, &unknown) {
            Some(a) if !aside.has_errors() => actions.push((*kind, a)),
            _ => {
                first_refusal.get_or_insert(aside);
            }
        }
    }
    if actions.is_empty() {
        if let Some(refusal) = first_refusal {
            v.absorb(refusal);
        }
        return None;
    }
    let selects_one = declared.targets.iter().any(|t| {
        t.kind.is_some_and(|k| actions.iter().any(|(a, _)| *a == k))
            && selector.matches(t.name.as_str(), &t.labels)
    });
    if !declared.discovering && !selects_one {
        v.error(
            at.key(if selector.group.is_some() {
                "group"
            } else {
                "target_tags"
            }),
            format!(
                "selects no configured {section} target ({}), and no [[discover]] could find one",
                selector.describe()
            ),
        );
        return None;
    }
    ok.then_some(RuleTarget {
        to: RuleTargets::Selected(Box::new(selector)),
        actions,
    })
}
