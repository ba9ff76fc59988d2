//! CloudFront invalidations: the API cachewarden needs from CloudFront (one trait, the AWS
//! SDK behind it in production, a scripted stand-in in tests for what the emulator cannot
//! do), the `cloudfront_invalidation` job kind that batches, sends and tracks, and the
//! monthly cost.

mod api;
mod aws;
pub mod cost;
pub mod executor;

pub use api::{CloudFrontApi, CloudFrontError, Created};
pub use aws::AwsCloudFront;
pub use executor::{InvalidationExecutor, KIND};
