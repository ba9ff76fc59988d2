//! cachewarden: watches the health of every cache tier of an AWS stack and is the one safe
//! place from which people and pipelines invalidate those caches.
//!
//! `main.rs` is a thin wrapper around [`cli::run`]; [`startup::Application`] is the seam
//! integration tests build the daemon through.

pub mod alarms;
pub mod apigateway;
pub mod audit;
pub mod auth;
pub mod aws;
pub mod aws_error;
pub mod checker;
pub mod cli;
pub mod cloudfront;
pub mod collector;
pub mod config;
pub mod discovery;
pub mod domain;
pub mod events;
pub mod http;
pub mod impact;
pub mod jobs;
pub mod leader;
pub mod live;
pub mod metrics;
pub mod notify;
pub mod purge;
pub mod redis_link;
pub mod registry;
pub mod reload;
pub mod scheduler;
pub mod service_error;
pub mod sources;
pub mod startup;
pub mod status;
pub mod store;
pub mod streams;
pub mod targets;
pub mod telemetry;
