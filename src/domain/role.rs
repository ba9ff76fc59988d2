//! What a person may do, as a role that maps to the scopes tokens carry, so that people and
//! tokens go through the same authorization code.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::{Scope, ScopeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything it may see.
    Viewer,
    /// And acknowledges alarms and manages silences (on call).
    Responder,
    /// And invalidates and purges.
    Operator,
    /// And manages tokens, people and the configuration.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Responder, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The scopes of a token that may do what this role may.
    pub fn scopes(self) -> ScopeSet {
        ScopeSet::new(match self {
            Role::Viewer => vec![Scope::Read],
            Role::Responder => vec![Scope::Read, Scope::Respond],
            Role::Operator => vec![Scope::Read, Scope::Respond, Scope::Invalidate, Scope::Purge],
            Role::Admin => vec![Scope::Admin],
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is none of the roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a role: viewer, responder, operator or admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// How a stored row is read back.
impl TryFrom<String> for Role {
    type Error = UnknownRole;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_allows_what_it_says_and_nothing_more() {
        let table = [
            (Role::Viewer, [true, false, false, false, false]),
            (Role::Responder, [true, true, false, false, false]),
            (Role::Operator, [true, true, true, true, false]),
            (Role::Admin, [true, true, true, true, true]),
        ];
        for (role, allowed) in table {
            let s = role.scopes();
            let got = [
                Scope::Read,
                Scope::Respond,
                Scope::Invalidate,
                Scope::Purge,
                Scope::Admin,
            ]
            .map(|x| s.allows(x));
            assert_eq!(got, allowed, "{role}");
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
