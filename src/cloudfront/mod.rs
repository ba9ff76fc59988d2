//! CloudFront invalidations: the API cachewarden needs from CloudFront (one trait, the AWS
//! SDK behind it in production, a scripted stand-in in tests for what the emulator cannot
//! do), the `cloudfront_invalidation` job kind that batches, sends and tracks, and the
//! monthly cost.

mod batch;
pub mod collapse;
pub mod cost;
pub mod executor;

pub use crate::aws::{CloudFrontApi, CloudFrontError, Created};
pub use batch::{MAX_FILES_IN_FLIGHT, MAX_WILDCARDS_IN_FLIGHT};
pub use executor::{Invalidation, KIND};
