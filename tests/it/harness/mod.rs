//! Starts the real components the tests talk to (redis-server, a Redis Cluster, memcached,
//! PostgreSQL, moto_server, an SMTP server, chromedriver) on free loopback ports, and the application itself.
//! Every process is stopped when its guard is dropped, which also happens when a test panics;
//! and each child is told by the kernel (PR_SET_PDEATHSIG) to die with the test process, so
//! not even a killed test run leaves servers behind.

#![allow(dead_code)] // Each test module uses a different part of the harness.

pub mod alertmanager;
pub mod apigateway;
pub mod app;
pub mod browser;
pub mod cloudfront;
pub mod fleet;
pub mod memcached;
pub mod moto;
pub mod old_schema;
pub mod people;
pub mod postgres;
pub mod process;
pub mod receiver;
pub mod redis;
pub mod replica;
pub mod smtp;
pub mod tls;
pub mod tmpfs;

pub use app::TestApp;
