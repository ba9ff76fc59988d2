//! A request id per HTTP request: generated (or taken from a sane incoming `X-Request-Id`),
//! returned in the `X-Request-Id` header and in error bodies, and attached to log lines.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The header carrying it.
pub const HEADER: &str = "x-request-id";

/// The id of the request being handled on this task, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `fut` with `id` as the current request id.
pub async fn scope<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The incoming id when it is safe to echo and log, else a fresh one.
pub fn choose(incoming: Option<&str>) -> String {
    match incoming {
        Some(s)
            if !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            s.to_owned()
        }
        _ => uuid::Uuid::new_v4().to_string(),
    }
}
