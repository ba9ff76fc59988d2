//! What a token may do.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A permission carried by an API token.
///
/// `admin` implies every other scope. `read` is implied by every scope, because a pipeline that
/// may invalidate must also be able to follow the job it started; target limits still apply.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read targets, series, alarms and jobs.
    Read,
    /// Create CloudFront invalidations.
    Invalidate,
    /// Purge Redis and Memcached keys.
    Purge,
    /// Acknowledge alarms and manage silences (what on-call people do).
    Respond,
    /// Manage tokens, read the audit log, and everything else.
    Admin,
}

/// A scope name that is not one of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}: expected one of read, invalidate, purge, respond, admin")]
pub struct ScopeError(pub String);

impl Scope {
    /// Every scope, in the order they are shown.
    pub const ALL: [Scope; 5] = [
        Scope::Read,
        Scope::Invalidate,
        Scope::Purge,
        Scope::Respond,
        Scope::Admin,
    ];

    /// The lowercase name used in the API, the CLI and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Invalidate => "invalidate",
            Scope::Purge => "purge",
            Scope::Respond => "respond",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, ScopeError> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| ScopeError(s.to_owned()))
    }
}

/// The scopes one token holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// A set holding exactly these scopes.
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        Self(scopes.into_iter().collect())
    }

    /// Whether a token with this set may perform an action that requires `required`.
    pub fn allows(&self, required: Scope) -> bool {
        self.0.contains(&Scope::Admin)
            || self.0.contains(&required)
            || (required == Scope::Read && !self.0.is_empty())
    }

    /// Whether the set is empty (a token must hold at least one scope).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// Stored form: names joined by commas (`invalidate,read`).
    pub fn to_db(&self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(",")
    }

    /// Reads the stored form back.
    pub fn from_db(s: &str) -> Result<Self, ScopeError> {
        s.split(',')
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_implies_everything_and_every_scope_implies_read() {
        let admin = ScopeSet::new([Scope::Admin]);
        let read = ScopeSet::new([Scope::Read]);
        let inv = ScopeSet::new([Scope::Invalidate]);
        for s in Scope::ALL {
            assert!(admin.allows(s));
        }
        assert!(read.allows(Scope::Read));
        assert!(!read.allows(Scope::Invalidate));
        assert!(!read.allows(Scope::Admin));
        assert!(inv.allows(Scope::Read));
        assert!(inv.allows(Scope::Invalidate));
        assert!(!inv.allows(Scope::Purge));
        assert!(!ScopeSet::default().allows(Scope::Read));
    }

    #[test]
    fn stored_form_round_trips() {
        let set = ScopeSet::new([Scope::Purge, Scope::Read]);
        assert_eq!(set.to_db(), "read,purge");
        assert_eq!(ScopeSet::from_db("read,purge").unwrap(), set);
        assert!(ScopeSet::from_db("read,root").is_err());
    }
}
