//! The toolkit every piece of configuration is checked with: a [`Checker`] that collects
//! every error with the key path it belongs to (so one run of `check-config` lists them all),
//! and helpers for the values configurations are made of (durations, URLs, names, regions,
//! cron expressions, files). It knows no section and no kind: `config` checks the sections,
//! and each target kind and receiver checks its own fields with it.

mod errors;
pub mod fields;

use std::time::Duration;

use croner::parser::{CronParser, Seconds};
use serde::de::DeserializeOwned;
use url::Url;

pub use errors::{ConfigError, ConfigErrors, KeyPath, Origin, Segment};

/// Collects errors while checking; helpers return `None` after recording what was wrong.
#[derive(Default)]
pub struct Checker {
    errors: Vec<ConfigError>,
    /// Keys whose values were wrong and set aside (see [`fields::read`]): their error is
    /// reported, so they are not also reported as missing.
    aside: std::collections::HashSet<KeyPath>,
}

impl Checker {
    pub fn error(&mut self, path: KeyPath, message: impl Into<String>) {
        self.errors.push(ConfigError::new(path, message));
    }

    /// Whether anything was wrong so far.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Takes the errors `other` collected (a check tried aside, which turned out to matter).
    pub fn absorb(&mut self, other: Checker) {
        self.errors.extend(other.errors);
    }

    /// The errors collected.
    pub fn into_errors(self) -> Vec<ConfigError> {
        self.errors
    }

    /// Reads an optional `[section]`; absent means all defaults. Every unknown key and every
    /// value of the wrong type is reported (see [`fields::read`]).
    pub fn section<T: DeserializeOwned + Default>(
        &mut self,
        table: &toml::Table,
        key: &str,
    ) -> Option<(KeyPath, T)> {
        let path = KeyPath::root().key(key);
        match table.get(key) {
            None => Some((path, T::default())),
            Some(toml::Value::Table(t)) => {
                fields::read(self, &path, t.clone(), |_| "unknown key".into()).map(|t| (path, t))
            }
            Some(_) => {
                self.error(path, format!("must be a table ([{key}])"));
                None
            }
        }
    }

    /// Reads an optional `[[list]]` of tables, each as it is written (every entry kept, so
    /// that an entry's mistakes are each reported by whoever reads it).
    pub fn tables(&mut self, table: &toml::Table, key: &str) -> Vec<(KeyPath, toml::Table)> {
        let path = KeyPath::root().key(key);
        match table.get(key) {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item {
                    toml::Value::Table(t) => Some((path.index(i), t.clone())),
                    _ => {
                        self.error(path.index(i), "must be a table");
                        None
                    }
                })
                .collect(),
            Some(_) => {
                self.error(path, format!("must be a list of tables ([[{key}]])"));
                Vec::new()
            }
        }
    }

    /// Reads an optional `[[list]]`; an entry with a mistake in its shape (an unknown key, a
    /// value of the wrong type) is reported key by key, and then skipped.
    pub fn list<T: DeserializeOwned>(
        &mut self,
        table: &toml::Table,
        key: &str,
    ) -> Vec<(KeyPath, T)> {
        self.tables(table, key)
            .into_iter()
            .filter_map(|(path, t)| {
                fields::read(self, &path, t, |_| "unknown key".into()).map(|t| (path, t))
            })
            .collect()
    }

    /// Deserializes one value, reporting a type error at the exact key serde names.
    pub fn shape<T: DeserializeOwned>(
        &mut self,
        path: KeyPath,
        value: &toml::Value,
    ) -> Option<(KeyPath, T)> {
        match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(t) => Some((path, t)),
            Err(e) => {
                let at = path.join_serde(e.path());
                self.error(at, e.inner().message().to_owned());
                None
            }
        }
    }

    /// A required field (one whose wrong value was set aside is not also said to be missing).
    pub fn required<'a, T>(
        &mut self,
        path: &KeyPath,
        field: &str,
        value: &'a Option<T>,
    ) -> Option<&'a T> {
        let at = path.key(field);
        if value.is_none() && !self.aside.contains(&at) {
            self.error(at, "is required");
        }
        value.as_ref()
    }

    /// Notes that the value at `path` was wrong, reported, and left out of what is read.
    pub fn set_aside(&mut self, path: KeyPath) {
        self.aside.insert(path);
    }

    /// A duration such as `15s`, `5m`, `1h 30m`; zero is refused.
    pub fn duration(&mut self, path: KeyPath, text: &str) -> Option<Duration> {
        match humantime::parse_duration(text) {
            Ok(d) if d.is_zero() => {
                self.error(path, "must be longer than zero");
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                self.error(
                    path,
                    format!("{text:?} is not a duration like \"15s\", \"5m\" or \"1h 30m\""),
                );
                None
            }
        }
    }

    pub fn optional_duration(
        &mut self,
        path: &KeyPath,
        field: &str,
        text: &Option<String>,
        default: Duration,
    ) -> Option<Duration> {
        match text {
            None => Some(default),
            Some(t) => self.duration(path.key(field), t),
        }
    }

    /// An absolute URL with one of the given schemes.
    pub fn url(&mut self, path: KeyPath, text: &str, schemes: &[&str]) -> Option<Url> {
        match Url::parse(text) {
            Ok(u) if schemes.contains(&u.scheme()) => Some(u),
            Ok(u) => {
                self.error(
                    path,
                    format!(
                        "scheme {:?} is not allowed; use {}",
                        u.scheme(),
                        schemes.join(" or ")
                    ),
                );
                None
            }
            // The text is not echoed: URLs here may carry credentials.
            Err(e) => {
                self.error(path, format!("is not a valid URL ({e})"));
                None
            }
        }
    }

    /// A name under the shared name rule.
    pub fn name(&mut self, path: KeyPath, text: &str) -> Option<String> {
        match crate::domain::check_name(text) {
            Ok(()) => Some(text.to_owned()),
            Err(e) => {
                self.error(path, format!("{text:?} {e}"));
                None
            }
        }
    }

    /// Checks each entry of a `[[list]]` with `one`; a later entry reusing a name is reported
    /// and dropped (`what`: "target", "alarm"…).
    pub fn unique_names<R, T>(
        &mut self,
        raw: Vec<(KeyPath, R)>,
        what: &str,
        name: impl Fn(&T) -> &str,
        mut one: impl FnMut(&mut Checker, &KeyPath, R) -> Option<T>,
    ) -> Vec<T> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (path, r) in raw {
            if let Some(item) = one(self, &path, r) {
                if !seen.insert(name(&item).to_owned()) {
                    self.error(
                        path.key("name"),
                        format!("{:?} is already the name of another {what}", name(&item)),
                    );
                    continue;
                }
                out.push(item);
            }
        }
        out
    }

    /// A file that exists (a CA bundle, say); read when used.
    pub fn file(&mut self, path: KeyPath, file: &str) -> Option<std::path::PathBuf> {
        match std::fs::metadata(file) {
            Ok(m) if m.is_file() => Some(std::path::PathBuf::from(file)),
            _ => {
                self.error(path, format!("{file:?} is not a readable file"));
                None
            }
        }
    }

    /// A six-field cron expression with seconds, parsed with the settings tokio-cron-scheduler
    /// uses, so what passes here runs.
    pub fn cron(&mut self, path: KeyPath, text: &str) -> Option<croner::Cron> {
        match CronParser::builder()
            .seconds(Seconds::Required)
            .build()
            .parse(text)
        {
            Ok(c) => Some(c),
            Err(e) => {
                self.error(
                    path,
                    format!("{text:?} is not a six-field cron expression with seconds, like \"*/15 * * * * *\" ({e})"),
                );
                None
            }
        }
    }

    /// An AWS region code such as `eu-west-1`.
    pub fn region(&mut self, path: KeyPath, region: &str) -> Option<String> {
        let parts: Vec<&str> = region.split('-').collect();
        let ok = parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
            && parts
                .last()
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
        if !ok {
            self.error(
                path,
                format!("{region:?} is not an AWS region like \"eu-west-1\""),
            );
        }
        ok.then(|| region.to_owned())
    }

    /// `host:port`, as a server address.
    pub fn host_port(&mut self, path: KeyPath, text: &str) -> Option<String> {
        let ok = text.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !ok {
            self.error(
                path,
                format!("{text:?} is not host:port, like \"127.0.0.1:11211\""),
            );
        }
        ok.then(|| text.to_owned())
    }
}
