//! `[[rules]]`: domain events mapped to invalidations.

use super::{Checker, Declarations, Declared, KeyPath};
use crate::config::raw;
use crate::config::settings::*;
use crate::domain::TargetName;

pub(super) fn all(
    v: &mut Checker,
    raw: Vec<(KeyPath, raw::Rule)>,
    declared: &Declarations,
    valid: &[TargetSettings],
) -> Vec<RuleSettings> {
    raw.into_iter()
        .filter_map(|(path, r)| rule(v, &path, r, &declared.targets, valid))
        .collect()
}

fn rule(
    v: &mut Checker,
    path: &KeyPath,
    r: raw::Rule,
    targets: &[Declared],
    valid: &[TargetSettings],
) -> Option<RuleSettings> {
    let event = v.required(path, "event", &r.event).and_then(|e| {
        let ok = !e.is_empty()
            && e.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            });
        if !ok {
            v.error(
                path.key("event"),
                format!("{e:?} is not an event type like \"product.updated\""),
            );
        }
        ok.then(|| e.clone())
    });
    let mut redis = Vec::new();
    for (i, a) in r.redis.unwrap_or_default().into_iter().enumerate() {
        let at = path.key("redis").index(i);
        let Some(target) = target_of(v, &at, &a.target, targets, &["redis", "memcached"]) else {
            continue;
        };
        let kind = targets
            .iter()
            .find(|t| t.name == target)
            .and_then(|t| t.kind)
            .map(|k| k.name());
        if kind == Some("memcached") {
            for (field, set) in [
                ("patterns", !a.patterns.is_empty()),
                ("tags", !a.tags.is_empty()),
            ] {
                if set {
                    v.error(at.key(field), "Memcached can only delete exact keys");
                }
            }
        }
        templates(v, &at, "keys", &a.keys);
        templates(v, &at, "patterns", &a.patterns);
        templates(v, &at, "tags", &a.tags);
        redis.push(RedisAction {
            target,
            keys: a.keys,
            patterns: a.patterns,
            tags: a.tags,
        });
    }
    let mut cloudfront = Vec::new();
    for (i, a) in r.cloudfront.unwrap_or_default().into_iter().enumerate() {
        let at = path.key("cloudfront").index(i);
        let Some(target) = target_of(v, &at, &a.target, targets, &["cloudfront"]) else {
            continue;
        };
        // Known only of a target whose own keys are valid; a broken one says so itself.
        let tags_disabled = valid.iter().any(|t| {
            t.name == target
                && t.config::<crate::targets::cloudfront::Config>()
                    .is_some_and(|c| !c.cache_tags)
        });
        if !a.tags.is_empty() && tags_disabled {
            v.error(
                at.key("tags"),
                format!(
                    "target {:?} does not have cache_tags = true",
                    target.as_str()
                ),
            );
        }
        for (j, p) in a.paths.iter().enumerate() {
            if !p.starts_with('/') {
                v.error(at.key("paths").index(j), format!("{p:?} must start with /"));
            }
        }
        templates(v, &at, "paths", &a.paths);
        templates(v, &at, "tags", &a.tags);
        cloudfront.push(CloudfrontAction {
            target,
            paths: a.paths,
            tags: a.tags,
        });
    }
    let broadcast = r.broadcast.and_then(|b| {
        let at = path.key("broadcast");
        let target = target_of(v, &at, &b.target, targets, &["redis"]);
        let channel = v.required(&at, "channel", &b.channel).cloned();
        Some(Broadcast {
            target: target?,
            channel: channel?,
        })
    });
    if redis.is_empty() && cloudfront.is_empty() && broadcast.is_none() {
        v.error(
            path.clone(),
            "does nothing: add redis, cloudfront or broadcast actions",
        );
    }
    Some(RuleSettings {
        event: event?,
        redis,
        cloudfront,
        broadcast,
    })
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

/// Checks `{field}` placeholders: balanced braces around a field name.
fn templates(v: &mut Checker, at: &KeyPath, field: &str, items: &[String]) {
    for (i, item) in items.iter().enumerate() {
        if let Err(why) = check_template(item) {
            v.error(at.key(field).index(i), format!("{item:?}: {why}"));
        }
    }
}

fn check_template(s: &str) -> Result<(), &'static str> {
    let mut rest = s;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("'}' without a matching '{'");
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("'{' without a matching '}'")?;
        let name = &after[..close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err("placeholders are {field} with letters, digits and _");
        }
        rest = &after[close + 1..];
    }
    Ok(())
}
