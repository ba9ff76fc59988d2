//! AWS SDK failures as people read them. The SDK's own text is the whole chain of causes, often
//! 900 characters of dispatch and connector detail; the dashboard, API answers and alerts show
//! one sentence saying what is wrong and what to do, and the log keeps the whole chain.

use std::error::Error;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_cloudwatch::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// What to do when no credentials are found (the README's "AWS access" section says more).
const NO_CREDENTIALS: &str = "no AWS credentials found: set AWS_PROFILE, or \
     AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with an instance or task role";

/// `call` failed with `e`: logs the whole chain and returns one sentence naming the call.
pub fn explain<E, R>(call: &str, e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug + 'static,
{
    tracing::warn!(call, error = %DisplayErrorContext(e), "An AWS call failed.");
    format!("{call} failed: {}", sentence(e))
}

/// The sentence alone (pure, for tests).
fn sentence<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if let Some(c) = cause::<CredentialsError>(e) {
        return match c {
            CredentialsError::CredentialsNotLoaded(_) => NO_CREDENTIALS.to_owned(),
            other => format!("the AWS credentials could not be loaded ({})", root(other)),
        };
    }
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let code = err.code().unwrap_or("an error");
            let mut text = format!("AWS answered {code}");
            if let Some(m) = err.message().filter(|m| !m.is_empty()) {
                text.push_str(&format!(": {m}"));
            }
            if code.contains("AccessDenied") || code.contains("Unauthorized") {
                text.push_str(" (the credentials in use lack this permission)");
            } else if code.contains("Throttl") {
                text.push_str(" (too many calls; it is retried)");
            }
            text
        }
        SdkError::TimeoutError(_) => "AWS did not answer in time".to_owned(),
        SdkError::DispatchFailure(_) => format!("cannot reach AWS ({})", root(e)),
        SdkError::ResponseError(_) => "AWS sent an answer that could not be read".to_owned(),
        SdkError::ConstructionFailure(_) if chain_mentions(e, "region") => {
            "no AWS region: set [aws] region, the target's region, or AWS_REGION".to_owned()
        }
        _ => format!("the request could not be made ({})", root(e)),
    }
}

/// The first cause of type `T` in the chain.
fn cause<'a, T: Error + 'static>(e: &'a (dyn Error + 'static)) -> Option<&'a T> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        next = err.source();
    }
    None
}

/// The innermost cause's text: the specific thing (`Connection refused (os error 111)`).
fn root(e: &(dyn Error + 'static)) -> String {
    let mut err = e;
    while let Some(next) = err.source() {
        err = next;
    }
    err.to_string()
}

fn chain_mentions(e: &(dyn Error + 'static), word: &str) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if err.to_string().to_lowercase().contains(word) {
            return true;
        }
        next = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudwatch::error::{ConnectorError, ErrorMetadata};

    use super::*;

    type Failure = SdkError<ErrorMetadata, ()>;

    #[test]
    fn each_kind_of_failure_is_one_readable_sentence() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused here");
        let denied = ErrorMetadata::builder()
            .code("AccessDenied")
            .message("User x is not authorized to perform cloudwatch:GetMetricData")
            .build();
        // (what, failure, the sentence)
        let table: Vec<(&str, Failure, &str)> = vec![
            (
                "no credentials",
                SdkError::dispatch_failure(ConnectorError::other(
                    Box::new(CredentialsError::not_loaded("no providers in chain")),
                    None,
                )),
                NO_CREDENTIALS,
            ),
            (
                "bad credentials file",
                SdkError::dispatch_failure(ConnectorError::other(
                    Box::new(CredentialsError::invalid_configuration("bad profile")),
                    None,
                )),
                "the AWS credentials could not be loaded (bad profile)",
            ),
            (
                "denied",
                SdkError::service_error(denied, ()),
                "AWS answered AccessDenied: User x is not authorized to perform \
                 cloudwatch:GetMetricData (the credentials in use lack this permission)",
            ),
            (
                "unreachable",
                SdkError::dispatch_failure(ConnectorError::io(Box::new(refused))),
                "cannot reach AWS (refused here)",
            ),
            (
                "timeout",
                SdkError::timeout_error("operation timeout (all attempts) was reached"),
                "AWS did not answer in time",
            ),
            (
                "no region",
                SdkError::construction_failure("a region must be set"),
                "no AWS region: set [aws] region, the target's region, or AWS_REGION",
            ),
        ];
        for (what, failure, want) in table {
            let got = sentence(&failure);
            assert_eq!(got, want, "{what}");
            assert!(got.len() < 200 && !got.contains('\n'), "{what}: {got}");
        }
    }
}
