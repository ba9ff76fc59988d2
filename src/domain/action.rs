//! What a change does, as people ask for it: the action a job kind, a route and an event
//! rule's section share.

use serde::Serialize;
use utoipa::ToSchema;

/// What a job of a kind does, as people ask for it. The kind-grouping routes
/// (`/api/v1/invalidations`, `/api/v1/purges`) and the dashboard's tabs take every kind of
/// an action, and the target says which one applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Make a cache forget paths or entries (CloudFront).
    Invalidate,
    /// Delete keys (Redis, Memcached).
    Purge,
    /// Tell application instances to drop their copies (Redis pub/sub).
    Broadcast,
    /// Turn a domain event into changes on every tier.
    Event,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Invalidate,
        Action::Purge,
        Action::Broadcast,
        Action::Event,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Invalidate => "invalidate",
            Action::Purge => "purge",
            Action::Broadcast => "broadcast",
            Action::Event => "event",
        }
    }

    /// For people, in the plural (a tab, a heading).
    pub fn plural(self) -> &'static str {
        match self {
            Action::Invalidate => "invalidations",
            Action::Purge => "purges",
            Action::Broadcast => "broadcasts",
            Action::Event => "events",
        }
    }
}
