//! API Gateway stage caches: the `apigateway_invalidation` job kind (entries requested with
//! `Cache-Control: max-age=0`, or the whole stage flushed) and the calls it makes
//! (`client.rs`). The target's side (its REST API id, invoke URL, cache key and rule entries)
//! is the target kind's, in `targets::apigateway`.

pub mod client;
pub mod invalidation;

pub use invalidation::ApiGatewayInvalidation;
