//! What cachewarden asks of CloudFront.

use futures_util::future::BoxFuture;

/// A created (or, for a repeated caller reference, already existing) invalidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub id: String,
    pub completed: bool,
}

/// How a CloudFront call failed, by what the worker should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudFrontError {
    /// The distribution has too many invalidations in progress: wait and retry.
    #[error("TooManyInvalidationsInProgress: {0}")]
    TooManyInProgress(String),
    /// Throttled, or a network or server error: retry with backoff.
    #[error("{0}")]
    Retryable(String),
    /// Will not succeed if repeated (no such distribution, access denied, invalid request).
    #[error("{0}")]
    Permanent(String),
}

/// The calls cachewarden makes.
pub trait CloudFrontApi: Send + Sync {
    /// CreateInvalidation. A repeated `caller_reference` with the same paths returns the
    /// existing invalidation instead of creating (and billing) a second one.
    fn create_invalidation<'a>(
        &'a self,
        distribution_id: &'a str,
        caller_reference: &'a str,
        paths: &'a [String],
    ) -> BoxFuture<'a, Result<Created, CloudFrontError>>;

    /// GetInvalidation: whether it has completed.
    fn invalidation_completed<'a>(
        &'a self,
        distribution_id: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, CloudFrontError>>;
}
