//! Integration tests: one binary (one link) with a module per feature. They start real
//! servers through `harness` and the application on port 0 with a fresh database.

mod harness;

mod alarm_gaps;
mod alarms;
mod api_auth;
mod api_contract;
mod aws_access;
mod cli;
mod cli_invalidate;
mod cli_pipeline;
mod cli_purge;
mod cli_respond;
mod cloudwatch_emulator;
mod collect_cloudwatch;
mod collect_direct;
mod collect_schedule;
mod dashboard;
mod dashboard_auth;
mod dashboard_forms;
mod deploy;
mod errors;
mod events;
mod expected_dips;
mod full_disk;
mod harness_cleanup;
mod health;
mod holds;
mod invalidations;
mod jobs;
mod notifications;
mod openapi;
mod overview;
mod prometheus;
mod purges;
mod registries;
mod reload;
mod replicas;
mod security_headers;
mod series_api;
mod shutdown;
mod store_conformance;
mod store_jobs;
mod streams;
mod upgrade;
mod users;
