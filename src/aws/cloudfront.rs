//! What cachewarden asks of CloudFront: one trait, the AWS SDK behind it in production and
//! a scripted stand-in in tests for what the emulator cannot do (an invalidation that stays
//! InProgress, throttling).

use aws_sdk_cloudfront::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
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

// The AWS SDK behind the trait.

pub struct AwsCloudFront {
    client: aws_sdk_cloudfront::Client,
}

impl AwsCloudFront {
    pub fn new(client: aws_sdk_cloudfront::Client) -> Self {
        Self { client }
    }
}

/// Sorts an SDK error by what to do about it.
fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    call: &str,
    e: SdkError<E, aws_sdk_cloudfront::config::http::HttpResponse>,
) -> CloudFrontError {
    let text = crate::aws_error::explain(call, &e);
    match &e {
        SdkError::ServiceError(s) => match s.err().code() {
            Some("TooManyInvalidationsInProgress") => CloudFrontError::TooManyInProgress(text),
            Some(
                "Throttling"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "ServiceUnavailable"
                | "InternalError",
            ) => CloudFrontError::Retryable(text),
            _ if s.raw().status().is_server_error() => CloudFrontError::Retryable(text),
            _ => CloudFrontError::Permanent(text),
        },
        // Timeouts, connection failures, unreadable answers: try again.
        _ => CloudFrontError::Retryable(text),
    }
}

impl CloudFrontApi for AwsCloudFront {
    fn create_invalidation<'a>(
        &'a self,
        distribution_id: &'a str,
        caller_reference: &'a str,
        paths: &'a [String],
    ) -> BoxFuture<'a, Result<Created, CloudFrontError>> {
        Box::pin(async move {
            let paths = Paths::builder()
                .quantity(paths.len() as i32)
                .set_items(Some(paths.to_vec()))
                .build()
                .map_err(|e| CloudFrontError::Permanent(e.to_string()))?;
            let batch = InvalidationBatch::builder()
                .paths(paths)
                .caller_reference(caller_reference)
                .build()
                .map_err(|e| CloudFrontError::Permanent(e.to_string()))?;
            let out = self
                .client
                .create_invalidation()
                .distribution_id(distribution_id)
                .invalidation_batch(batch)
                .send()
                .await
                .map_err(|e| classify("CreateInvalidation", e))?;
            let inv = out.invalidation().ok_or_else(|| {
                CloudFrontError::Retryable("CreateInvalidation returned no invalidation".into())
            })?;
            Ok(Created {
                id: inv.id().to_owned(),
                completed: inv.status().eq_ignore_ascii_case("Completed"),
            })
        })
    }

    fn invalidation_completed<'a>(
        &'a self,
        distribution_id: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<bool, CloudFrontError>> {
        Box::pin(async move {
            let out = self
                .client
                .get_invalidation()
                .distribution_id(distribution_id)
                .id(id)
                .send()
                .await
                .map_err(|e| classify("GetInvalidation", e))?;
            Ok(out
                .invalidation()
                .is_some_and(|i| i.status().eq_ignore_ascii_case("Completed")))
        })
    }
}
