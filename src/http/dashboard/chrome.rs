//! What every page's layout shows: who is signed in, what they may do (which buttons and
//! links appear), and the CSRF token forms and scripts send back.

use super::session::Person;
use crate::domain::Scope;
use crate::http::AppState;
use crate::store::Backend;

pub struct Chrome {
    pub version: &'static str,
    pub backend: &'static str,
    /// Empty when nobody is signed in.
    pub user: String,
    pub role: &'static str,
    pub csrf: String,
    pub may_respond: bool,
    pub may_invalidate: bool,
    pub may_purge: bool,
    pub is_admin: bool,
}

impl Chrome {
    /// For a page nobody is signed in to (sign-in, setup, errors).
    pub fn anonymous(state: Option<&AppState>) -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION"),
            backend: state.map_or("", |s| match s.database {
                Backend::Sqlite => "SQLite",
                Backend::Postgres => "PostgreSQL",
            }),
            user: String::new(),
            role: "",
            csrf: String::new(),
            may_respond: false,
            may_invalidate: false,
            may_purge: false,
            is_admin: false,
        }
    }

    pub fn new(state: &AppState, person: &Person) -> Self {
        let p = &person.0.principal;
        Self {
            user: person.0.user.name.clone(),
            role: person.0.user.role.as_str(),
            csrf: person.0.csrf.clone(),
            may_respond: p.scopes.allows(Scope::Respond),
            may_invalidate: p.scopes.allows(Scope::Invalidate),
            may_purge: p.scopes.allows(Scope::Purge),
            is_admin: p.scopes.allows(Scope::Admin),
            ..Self::anonymous(Some(state))
        }
    }
}
