//! Configuration: a TOML file plus `CACHEWARDEN__SECTION__KEY` environment overrides, parsed
//! into [`Settings`] whose fields are already valid. Loading never stops at the first mistake:
//! [`load`] returns every error it finds, each with its key path and (for values that came from
//! the file) its line, so `check-config` can list them all at once.

mod database;
mod raw;
mod settings;
mod source;
mod validate;

pub use crate::checker::{ConfigError, ConfigErrors, KeyPath, Origin};
pub use settings::*;
pub use validate::Declared;
pub use validate::discovered_target;

use std::path::Path;

/// A commented example configuration, printed by `cachewarden print-default-config`: the
/// fixed sections, then an example of every target kind and every receiver (each from its own
/// module, so a new kind shows up here by itself), then alarms, rules and the rest. It is
/// parsed in a unit test so it cannot drift from what is accepted.
pub fn example_config() -> String {
    let mut out = String::from(include_str!("example_head.toml"));
    out.push_str(&format!("# {}\n\n", kinds_help().replace('\n', "\n# ")));
    for kind in crate::targets::KINDS {
        out.push_str(kind.example());
        out.push('\n');
    }
    for receiver in crate::notify::RECEIVERS {
        out.push_str(receiver.example());
        out.push('\n');
    }
    out.push_str(include_str!("example_tail.toml"));
    out
}

/// The kinds a configuration may name, from the registries: what `check-config --help` and
/// the example configuration list.
pub fn kinds_help() -> String {
    let targets: Vec<&str> = crate::targets::KINDS.iter().map(|k| k.name()).collect();
    let receivers: Vec<&str> = crate::notify::RECEIVERS.iter().map(|r| r.name()).collect();
    format!(
        "Target kinds: {}.\nReceiver kinds (notifiers): {}.",
        targets.join(", "),
        receivers.join(", ")
    )
}

/// Where a service reads the settings in force from (the daemon's `live::Live`, swapped by a
/// reload). A trait, so that services need not know what else a reload replaces.
pub trait InForce: Send + Sync {
    fn settings(&self) -> std::sync::Arc<Settings>;
}

/// The prefix of environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "CACHEWARDEN__";

/// Loads configuration from an optional file and the process environment.
pub fn load(file: Option<&Path>) -> Result<Settings, ConfigErrors> {
    let text = match file {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors::single(ConfigError::new(
                KeyPath::root(),
                format!("cannot read {}: {e}", path.display()),
            ))
        })?),
        None => None,
    };
    let mut settings = load_from(text.as_deref(), std::env::vars())?;
    if let Some(dir) = file.and_then(Path::parent) {
        settings.database.anchor(dir);
    }
    Ok(settings)
}

/// Loads configuration from TOML text (or none: every default) and the given environment.
/// Separated from [`load`] so tests never touch the process environment.
pub fn load_from(
    text: Option<&str>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigErrors> {
    let doc = source::Document::parse(text.unwrap_or(""))?;
    let (table, overridden) = source::apply_env_overrides(doc.table(), env)?;
    validate::settings(&table).map_err(|mut errors| {
        for e in errors.iter_mut() {
            e.origin = match overridden.get(&e.path) {
                Some(var) => Origin::Env(var.clone()),
                None => doc
                    .line_of(&e.path)
                    .map(Origin::Line)
                    .unwrap_or(Origin::Unknown),
            };
        }
        errors.sort_by_origin();
        errors
    })
}

#[cfg(test)]
mod tests;
