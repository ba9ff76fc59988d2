//! Names people type: target names and token names.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters, got {len}")]
    TooLong { max: usize, len: usize },
    #[error(
        "may contain only lowercase letters a-z, digits, '-', '_' and '.', and must start with a letter or digit; found {0:?}"
    )]
    BadCharacter(char),
}

pub const MAX_NAME_LEN: usize = 64;

/// What [`check_name`] accepts, as a regular expression (for the API document).
pub const NAME_PATTERN: &str = "^[a-z0-9][a-z0-9._-]*$";

/// The shared rule for names (targets, tokens, notifiers, alarms): they appear in URLs, metric labels and log lines, so they are
/// kept to a set of characters that never needs escaping in any of them.
pub fn check_name(s: &str) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if s.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            max: MAX_NAME_LEN,
            len: s.len(),
        });
    }
    for (i, c) in s.chars().enumerate() {
        let ok =
            c.is_ascii_lowercase() || c.is_ascii_digit() || (i > 0 && matches!(c, '-' | '_' | '.'));
        if !ok {
            return Err(NameError::BadCharacter(c));
        }
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            /// Parses a name, refusing anything outside the name rule.
            pub fn parse(s: &str) -> Result<Self, NameError> {
                check_name(s)?;
                Ok(Self(s.to_owned()))
            }

            /// The name as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// In the API document: a string [`check_name`] accepts.
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(NAME_PATTERN))
                    .max_length(Some(MAX_NAME_LEN))
                    .into()
            }
        }

        impl utoipa::ToSchema for $ty {}

        impl TryFrom<String> for $ty {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                check_name(&s)?;
                Ok(Self(s))
            }
        }

        impl From<$ty> for String {
            fn from(n: $ty) -> String {
                n.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::parse(s)
            }
        }
    };
}

name_type!(
    /// The name of a watched cache target, unique within a configuration (`sessions`, `web-cdn`).
    TargetName
);
name_type!(
    /// The name of an API token; it is the "who" in the audit log (`ci-deploy`, `alice`).
    TokenName
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for ok in ["web", "web-cdn", "sessions_eu.1", "a", "0cache"] {
            assert!(TargetName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_names_with_the_rule() {
        let long = "a".repeat(65);
        let cases: &[(&str, NameError)] = &[
            ("", NameError::Empty),
            ("Web", NameError::BadCharacter('W')),
            ("-web", NameError::BadCharacter('-')),
            ("web cdn", NameError::BadCharacter(' ')),
            ("web/cdn", NameError::BadCharacter('/')),
            (&long, NameError::TooLong { max: 64, len: 65 }),
        ];
        for (input, want) in cases {
            assert_eq!(TargetName::parse(input).unwrap_err(), *want, "{input:?}");
        }
    }
}
