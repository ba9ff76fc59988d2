//! `[[rules]]`: domain events mapped to invalidations.

use super::{Checker, KeyPath};
use crate::config::raw;
use crate::config::settings::*;
use crate::domain::{TargetKind, TargetName};

pub(super) fn all(
    v: &mut Checker,
    raw: Vec<(KeyPath, raw::Rule)>,
    targets: &[TargetSettings],
) -> Vec<RuleSettings> {
    raw.into_iter()
        .filter_map(|(path, r)| rule(v, &path, r, targets))
        .collect()
}

fn rule(
    v: &mut Checker,
    path: &KeyPath,
    r: raw::Rule,
    targets: &[TargetSettings],
) -> Option<RuleSettings> {
    v.unknown(path, &r.unknown);
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
        v.unknown(&at, &a.unknown);
        let Some(target) = target_of(
            v,
            &at,
            &a.target,
            targets,
            &[TargetKind::Redis, TargetKind::Memcached],
        ) else {
            continue;
        };
        let kind = targets
            .iter()
            .find(|t| t.name == target)
            .map(TargetSettings::kind);
        if kind == Some(TargetKind::Memcached) {
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
        v.unknown(&at, &a.unknown);
        let Some(target) = target_of(v, &at, &a.target, targets, &[TargetKind::Cloudfront]) else {
            continue;
        };
        let tags_enabled = targets.iter().any(|t| {
            t.name == target
                && matches!(
                    t.source,
                    TargetSource::Cloudfront {
                        cache_tags: true,
                        ..
                    }
                )
        });
        if !a.tags.is_empty() && !tags_enabled {
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
        v.unknown(&at, &b.unknown);
        let target = target_of(v, &at, &b.target, targets, &[TargetKind::Redis]);
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
    targets: &[TargetSettings],
    kinds: &[TargetKind],
) -> Option<TargetName> {
    let name = v.required(at, "target", name)?;
    let Some(t) = targets.iter().find(|t| t.name.as_str() == name) else {
        v.error(
            at.key("target"),
            format!("{name:?} is not a configured target"),
        );
        return None;
    };
    if !kinds.contains(&t.kind()) {
        let want: Vec<_> = kinds.iter().map(|k| k.as_str()).collect();
        v.error(
            at.key("target"),
            format!(
                "{name:?} is a {} target; this action needs {}",
                t.kind(),
                want.join(" or ")
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
