//! The parts of a selector, read the same way wherever one is written: an alarm's and a
//! rule entry's `target_tags` and `group`, a discovery's `tags` and `names`.

use globset::Glob;

use super::{Checker, KeyPath};

/// `pattern` as a glob, or its mistake reported at `at`.
pub(super) fn glob(v: &mut Checker, at: KeyPath, pattern: &str) -> Option<Glob> {
    Glob::new(pattern)
        .map_err(|e| v.error(at, format!("{pattern:?} is not a valid glob ({e})")))
        .ok()
}

/// A table of tag globs (`{ env = "prod", team = "cat*" }`) at `at`; absent: none. Every
/// mistake is reported.
pub(super) fn tag_globs(
    v: &mut Checker,
    at: &KeyPath,
    value: Option<&toml::Value>,
) -> Option<Vec<(String, Glob)>> {
    let table = match value {
        None => return Some(Vec::new()),
        Some(toml::Value::Table(t)) => t,
        Some(_) => {
            v.error(at.clone(), "must be a table like { env = \"prod\" }");
            return None;
        }
    };
    let mut out = Some(Vec::new());
    for (k, value) in table {
        let g = match value.as_str() {
            Some(p) => glob(v, at.key(k), p),
            None => {
                v.error(at.key(k), "must be a string (a glob over the tag's values)");
                None
            }
        };
        match (g, out.as_mut()) {
            (Some(g), Some(o)) => o.push((k.clone(), g)),
            (None, _) => out = None,
            _ => {}
        }
    }
    out
}

/// A `group` glob at `at`; absent: none.
pub(super) fn group_glob(
    v: &mut Checker,
    at: KeyPath,
    value: Option<&toml::Value>,
) -> Option<Option<Glob>> {
    match value {
        None => Some(None),
        Some(toml::Value::String(g)) => glob(v, at, g).map(Some),
        Some(_) => {
            v.error(at, "must be a string (a group's name, or a glob)");
            None
        }
    }
}
