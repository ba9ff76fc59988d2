//! One job mechanism for every change cachewarden makes to a cache (DESIGN §4): a kind is an
//! [`Executor`] (one module) registered in [`registry`] (one line); the [`Runtime`] claims
//! runnable jobs with a lease and steps them, on every replica; the [`JobService`] is what the
//! API, the dashboard, the CLI (through the API) and event rules call to submit, follow, wait
//! for and cancel jobs. Nothing else writes job rows.

mod executor;
pub mod registry;
mod runtime;
mod service;
mod view;

pub use executor::{Executor, JobContext, Step, Validated};
pub use runtime::{Runtime, RuntimeReport};
pub use service::{CancelAnswer, CancelOutcome, JobList, JobService, ListQuery};
pub use view::JobView;
