//! Parsed domain values. Each type can only be constructed valid (parse, don't validate), so
//! code that holds one never re-checks it.

mod account;
mod action;
mod alarm_state;
mod delivery_state;
mod discovery_outcome;
mod impact_state;
mod invalidation;
mod job_state;
mod name;
mod name_template;
mod role;
mod schedule;
mod scope;
pub mod template;
pub mod text;

pub use account::{Account, AccountError, DEFAULT_SESSION_NAME};
pub use action::Action;
pub use alarm_state::{AlarmState, UnknownAlarmState};
pub use delivery_state::{DeliveryState, UnknownDeliveryState};
pub use discovery_outcome::{DiscoveryOutcome, UnknownDiscoveryOutcome};
pub use impact_state::{ImpactState, UnknownImpactState};
pub use invalidation::{ITEM_PATTERN, InvalidationItem, ItemCounts, ItemError, coalesce};
pub use job_state::{CancelDecision, JobState, UnknownJobState};
pub use name::{MAX_NAME_LEN, NAME_PATTERN, NameError, TargetName, TokenName, check_name};
pub use name_template::{DEFAULT_TEMPLATE, NameParts, NameTemplate};
pub use role::{Role, UnknownRole};
pub use schedule::Schedule;
pub use scope::{Scope, ScopeError, ScopeSet};
