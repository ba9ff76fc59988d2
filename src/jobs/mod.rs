//! One job mechanism for every change cachewarden makes to a cache: a kind is a typed
//! [`JobKind`] (one module) that [`typed`] turns into the runtime's [`Executor`]; the
//! [`Runtime`] claims runnable jobs with a lease and steps them, on every replica; the
//! [`JobService`] is what the API, the dashboard, the CLI (through the API) and event rules
//! call to submit, follow, wait for and cancel jobs. Nothing else writes job rows.
//!
//! Architecture invariant: this module names no kind; the list of kinds is the composition
//! root's (`crate::registry`).

mod executor;
mod kind;
mod runtime;
mod service;
mod view;

pub use executor::{Executor, JobContext, Step, Validated};
pub use kind::{
    Accepted, Action, Ctx, Deps, JobKind, KindInfo, KindSchemas, Meter, Nothing, Outcome, Peers,
    Schemas, parse, schema_of, typed,
};
pub use runtime::{Runtime, RuntimeReport};
pub use service::{CancelAnswer, CancelOutcome, JobList, JobService, ListQuery};
pub use view::JobView;
