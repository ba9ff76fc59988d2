//! Event rules: one domain event (`product.updated` with its fields) becomes a job
//! of kind `event` whose children purge, invalidate and broadcast on every tier the matching
//! `[[rules]]` name. Submitted through `POST /api/v1/events` (the job service, like any kind).

pub mod executor;
pub mod publish;

pub use executor::{Event, KIND};
