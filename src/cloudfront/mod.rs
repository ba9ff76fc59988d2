//! CloudFront invalidations: the API cachewarden needs from CloudFront (one trait, the AWS
//! SDK behind it in production, a scripted stand-in in tests for what the emulator cannot
//! do), the worker that batches, sends and tracks jobs, and the monthly cost.

mod api;
mod aws;
pub mod cost;
pub mod worker;

pub use api::{CloudFrontApi, CloudFrontError, Created};
pub use aws::AwsCloudFront;
pub use worker::{InvalidationWorker, WorkerReport};
