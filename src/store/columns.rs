//! How columns the two backends share only as integers and text become Rust values, so each
//! record derives `sqlx::FromRow` instead of reading its columns by hand: `#[sqlx(try_from =
//! "Flag")]` on a `bool`, `JsonText`/`MaybeJson` on JSON kept as text, and `String` on an
//! enum whose `TryFrom<String>` parses its stored name.

use serde_json::Value;

use crate::domain::{NameError, ScopeError, ScopeSet, TargetName};

/// A boolean stored as 0 or 1 (both backends' schemas use an integer).
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct Flag(i64);

impl From<Flag> for bool {
    fn from(f: Flag) -> bool {
        f.0 != 0
    }
}

/// JSON stored as text.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct JsonText(String);

impl TryFrom<JsonText> for Value {
    type Error = serde_json::Error;

    fn try_from(t: JsonText) -> Result<Value, Self::Error> {
        serde_json::from_str(&t.0)
    }
}

/// A list of strings kept as a JSON array.
impl TryFrom<JsonText> for Vec<String> {
    type Error = serde_json::Error;

    fn try_from(t: JsonText) -> Result<Vec<String>, Self::Error> {
        serde_json::from_str(&t.0)
    }
}

/// JSON stored as text, or NULL.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct MaybeJson(Option<String>);

impl TryFrom<MaybeJson> for Option<Value> {
    type Error = serde_json::Error;

    fn try_from(t: MaybeJson) -> Result<Option<Value>, Self::Error> {
        t.0.map(|s| serde_json::from_str(&s)).transpose()
    }
}

/// Target names kept comma-separated (empty: every target).
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct TargetList(String);

impl TryFrom<TargetList> for Vec<TargetName> {
    type Error = NameError;

    fn try_from(t: TargetList) -> Result<Vec<TargetName>, NameError> {
        t.0.split(',')
            .filter(|t| !t.is_empty())
            .map(TargetName::parse)
            .collect()
    }
}

/// Scopes kept comma-separated.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct ScopeList(String);

impl TryFrom<ScopeList> for ScopeSet {
    type Error = ScopeError;

    fn try_from(s: ScopeList) -> Result<ScopeSet, ScopeError> {
        ScopeSet::from_db(&s.0)
    }
}
