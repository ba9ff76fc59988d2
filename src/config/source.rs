//! The configuration text as parsed TOML, with the positions of its keys, and the environment
//! overrides applied on top of it.

use std::collections::HashMap;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::ENV_PREFIX;
use crate::checker::{ConfigError, ConfigErrors, KeyPath, Origin, Segment};

/// A parsed configuration file: the values, and where each key was written.
pub(super) struct Document<'a> {
    text: &'a str,
    spans: Spanned<DeTable<'a>>,
    table: toml::Table,
}

impl<'a> Document<'a> {
    /// Parses TOML text; a syntax error is reported with its line.
    pub(super) fn parse(text: &'a str) -> Result<Self, ConfigErrors> {
        let syntax = |e: toml::de::Error| {
            let mut err = ConfigError::new(KeyPath::root(), e.message().to_owned());
            if let Some(span) = e.span() {
                err.origin = Origin::Line(line_at(text, span.start));
            }
            ConfigErrors::single(err)
        };
        // Parsed twice: once keeping positions for error messages, once into plain values.
        // A configuration file is small, and this keeps both representations simple.
        let spans = DeTable::parse(text).map_err(syntax)?;
        let table: toml::Table = toml::from_str(text).map_err(syntax)?;
        Ok(Self { text, spans, table })
    }

    /// The values as written in the file.
    pub(super) fn table(&self) -> &toml::Table {
        &self.table
    }

    /// The line on which the key at `path` (or the nearest enclosing key) was written.
    pub(super) fn line_of(&self, path: &KeyPath) -> Option<usize> {
        let mut table: Option<&DeTable<'_>> = Some(self.spans.get_ref());
        let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
        let mut best: Option<usize> = None;
        for seg in path.segments() {
            let next = match (seg, table, array) {
                (Segment::Key(k), Some(t), _) => t
                    .iter()
                    .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
                    .map(|(key, v)| (key.span().start, v)),
                (Segment::Index(i), _, Some(a)) => a.get(*i).map(|v| (v.span().start, v)),
                _ => None,
            };
            match next {
                Some((start, v)) => {
                    best = Some(start);
                    (table, array) = match v.get_ref() {
                        DeValue::Table(t) => (Some(t), None),
                        DeValue::Array(a) => (None, Some(&a[..])),
                        _ => (None, None),
                    };
                }
                None => break,
            }
        }
        best.map(|offset| line_at(self.text, offset))
    }
}

fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Applies `CACHEWARDEN__SECTION__KEY=value` overrides to a copy of `base`. Segments are
/// lowercased; a numeric segment indexes an array (`CACHEWARDEN__TARGETS__0__URL`), and the
/// index one past the end appends a new table. A value is read as TOML when it parses as a
/// TOML value (numbers, booleans, arrays) and the key it replaces is not a string; otherwise
/// it is taken as a string. Returns the merged table and which paths came from which variable.
pub(super) fn apply_env_overrides(
    base: &toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(toml::Table, HashMap<KeyPath, String>), ConfigErrors> {
    let mut root = toml::Value::Table(base.clone());
    let mut origins = HashMap::new();
    let mut errors = Vec::new();
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    // Sorted so that appending array elements by index is deterministic.
    vars.sort();
    for (var, raw) in vars {
        match apply_one(&mut root, &var, &raw) {
            Ok(path) => {
                origins.insert(path, var);
            }
            Err(message) => {
                let mut e = ConfigError::new(KeyPath::root(), message);
                e.origin = Origin::Env(var);
                errors.push(e);
            }
        }
    }
    if !errors.is_empty() {
        return Err(ConfigErrors::new(errors));
    }
    match root {
        toml::Value::Table(t) => Ok((t, origins)),
        _ => unreachable!("the root was constructed as a table"),
    }
}

fn apply_one(root: &mut toml::Value, var: &str, raw: &str) -> Result<KeyPath, String> {
    let segments: Vec<String> = var[ENV_PREFIX.len()..]
        .split("__")
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if segments.iter().any(String::is_empty) {
        return Err("empty key segment in variable name (use single words joined by __)".into());
    }
    let mut path = KeyPath::root();
    let mut node = root;
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let slot: &mut toml::Value = match node {
            toml::Value::Table(t) => {
                path = path.key(seg);
                if last {
                    let value = override_value(seg, t.get(seg), raw);
                    t.insert(seg.clone(), value);
                    return Ok(path);
                }
                t.entry(seg.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            }
            toml::Value::Array(a) => {
                let idx: usize = seg
                    .parse()
                    .map_err(|_| format!("{path} is a list: expected an index, got {seg:?}"))?;
                if idx == a.len() {
                    a.push(toml::Value::Table(toml::Table::new()));
                } else if idx > a.len() {
                    return Err(format!(
                        "{path} has {} entries: index {idx} would leave a gap",
                        a.len()
                    ));
                }
                path = path.index(idx);
                if last {
                    a[idx] = override_value(seg, Some(&a[idx]), raw);
                    return Ok(path);
                }
                &mut a[idx]
            }
            _ => return Err(format!("{path} is a single value and has no key {seg:?}")),
        };
        node = slot;
    }
    Ok(path)
}

/// Keys of the fixed sections whose type is not a string (`raw.rs`): only their environment
/// values are read as TOML. Every other value is taken as a string, so an all-digit secret
/// stays a string and never shows up in a type error. The keys of target kinds and receivers
/// come from their own schemas (see [`non_string`]).
const NON_STRING_KEYS: &[&str] = &[
    "max_connections",
    // An alarm's and a target's tags; a discovery's lists.
    "target_tags",
    "tags",
    "kinds",
    "regions",
    "accounts",
    "names",
    "max_concurrent_polls",
    "price_per_path",
    "free_paths_per_month",
    "monthly_budget_usd",
    "alarms",
    "below",
    "above",
    "drop",
    "min_volume",
    "notify",
    "mute_expected",
    "change_cost",
    "extra_misses",
    "redis",
    "cloudfront",
    "fields",
    "broadcast",
    "keys",
    "patterns",
    "tags",
    "paths",
    "price_per_1000_metrics",
    "trusted_proxies",
    "proxy_roles",
];

/// Whether `key` holds something other than text, in a fixed section or in any target kind's
/// or receiver's own keys.
fn non_string(key: &str) -> bool {
    NON_STRING_KEYS.contains(&key)
        || crate::targets::KINDS
            .iter()
            .flat_map(|k| k.fields())
            .chain(crate::notify::RECEIVERS.iter().flat_map(|r| r.fields()))
            .any(|f| f.name == key && !f.text)
}

fn override_value(key: &str, existing: Option<&toml::Value>, raw: &str) -> toml::Value {
    if existing.is_some_and(toml::Value::is_str) || !non_string(key) {
        return toml::Value::String(raw.to_owned());
    }
    let parsed = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"));
    parsed.unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

#[cfg(test)]
mod key_types {
    /// Every field of the raw schema that is not a string is listed in NON_STRING_KEYS, so a
    /// new numeric or list field cannot silently be read as a string from the environment.
    #[test]
    fn non_string_keys_match_the_schema() {
        let raw = include_str!("raw.rs");
        for line in raw.lines().map(str::trim) {
            let Some(rest) = line.strip_prefix("pub ") else {
                continue;
            };
            let Some((name, ty)) = rest.split_once(": Option<") else {
                continue;
            };
            if ty.starts_with("String>") || ty.starts_with("toml::") {
                continue;
            }
            assert!(
                super::NON_STRING_KEYS.contains(&name),
                "{name} ({ty}) is not a string: list it in NON_STRING_KEYS"
            );
        }
    }
}
