//! The fields of a table a component owns (a target kind's keys, a receiver's), read into the
//! component's own struct. The struct denies unknown fields; serde stops at the first mistake,
//! so [`read`] reports it, sets that key aside and reads again, until every mistake of the
//! table is listed in one run. What a struct's fields are, and which hold text, comes from its
//! schema (utoipa), so no list of keys is kept by hand.

use serde::de::DeserializeOwned;
use utoipa::PartialSchema;

use super::{Checker, KeyPath};

/// One field a component's struct declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    /// Holds text (read from the environment as it is written, never as TOML).
    pub text: bool,
}

/// The fields of `T`, from its schema.
pub fn of<T: PartialSchema>() -> Vec<Field> {
    let schema = serde_json::to_value(T::schema()).unwrap_or_default();
    schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, property)| Field {
            name: name.clone(),
            text: is_text(property),
        })
        .collect()
}

/// Whether a property's schema is a string (optional or not).
fn is_text(property: &serde_json::Value) -> bool {
    let types: Vec<&str> = match &property["type"] {
        serde_json::Value::String(t) => vec![t.as_str()],
        serde_json::Value::Array(ts) => ts.iter().filter_map(|t| t.as_str()).collect(),
        _ => Vec::new(),
    };
    types.contains(&"string") && types.iter().all(|t| matches!(*t, "string" | "null"))
}

/// Reads `table` into `T`. Each key `T` has no field for is reported with what `foreign`
/// says about it ("does not apply to kind redis" when another kind has it, else "unknown
/// key"); each value of the wrong type with serde's words. Those keys are set aside and the
/// rest is read, so its own mistakes are reported too (the settings are refused either way,
/// since the checker has errors). `None` only when the rest cannot be read at all.
pub fn read<T: DeserializeOwned>(
    v: &mut Checker,
    path: &KeyPath,
    mut table: toml::Table,
    foreign: impl Fn(&str) -> String,
) -> Option<T> {
    loop {
        let value = toml::Value::Table(table.clone());
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(t) => return Some(t),
            Err(e) => {
                let message = e.inner().message().to_owned();
                let key = unknown_field(&message).or_else(|| {
                    e.path().iter().find_map(|s| match s {
                        serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                        _ => None,
                    })
                });
                match key {
                    Some(k) if table.remove(&k).is_some() => {
                        let said = if unknown_field(&message).is_some() {
                            foreign(&k)
                        } else {
                            message
                        };
                        let at = path.join_serde(e.path()).with_last_key(&k);
                        v.error(at.clone(), said);
                        v.set_aside(at);
                    }
                    // Nothing to set aside: report it where serde says, and stop.
                    _ => {
                        v.error(path.join_serde(e.path()), message);
                        return None;
                    }
                }
            }
        }
    }
}

/// The key serde's "unknown field `k`, expected …" names.
fn unknown_field(message: &str) -> Option<String> {
    message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read by the test only
    struct Sample {
        url: Option<String>,
        cluster: Option<bool>,
        prefixes: Option<Vec<String>>,
        limit: Option<u64>,
    }

    #[test]
    fn fields_and_their_types_come_from_the_schema() {
        let mut fields = of::<Sample>();
        fields.sort_by(|a, b| a.name.cmp(&b.name));
        let shown: Vec<(&str, bool)> = fields.iter().map(|f| (f.name.as_str(), f.text)).collect();
        assert_eq!(
            shown,
            [
                ("cluster", false),
                ("limit", false),
                ("prefixes", false),
                ("url", true)
            ]
        );
    }

    #[test]
    fn every_mistake_of_a_table_is_reported_in_one_read() {
        let table: toml::Table = toml::from_str(
            "url = \"redis://x\"\ncluster = \"yes\"\nbogus = 1\ndistribution_id = \"E1\"\nlimit = -3\n",
        )
        .unwrap();
        let mut v = Checker::default();
        let path = KeyPath::root().key("targets").index(0);
        let read = super::read::<Sample>(&mut v, &path, table, |k| {
            if k == "distribution_id" {
                "does not apply to kind redis".into()
            } else {
                "unknown key".into()
            }
        });
        assert!(read.is_some_and(|s| s.url.is_some()), "the rest is read");
        let mut errors: Vec<String> = v.into_errors().iter().map(ToString::to_string).collect();
        errors.sort();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(
            errors[0].starts_with("targets[0].bogus: unknown key"),
            "{errors:#?}"
        );
        assert!(
            errors[1].starts_with("targets[0].cluster: invalid type"),
            "{errors:#?}"
        );
        assert_eq!(
            errors[2],
            "targets[0].distribution_id: does not apply to kind redis"
        );
        assert!(
            errors[3].starts_with("targets[0].limit: invalid value"),
            "{errors:#?}"
        );

        let good: toml::Table = toml::from_str("url = \"redis://x\"\n").unwrap();
        let mut v = Checker::default();
        let s = super::read::<Sample>(&mut v, &path, good, |_| String::new()).unwrap();
        assert_eq!(s.url.as_deref(), Some("redis://x"));
    }
}
