//! Alarms. `eval` is the pure evaluation (no I/O) that tests drive with sequences of
//! datapoints; storage of states and transitions, the notification outbox and the receivers
//! build on it.

pub mod change_cost;
pub mod describe;
pub mod eval;
pub mod evaluator;
pub mod hold;
pub mod payload;
pub mod respond;
