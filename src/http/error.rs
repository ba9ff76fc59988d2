//! Every error the HTTP layer returns, mapped once to a status and a JSON body:
//! `{"error": {"code": "...", "message": "...", "field": "...", "request_id": "..."}}`.
//! `code` is stable and machine-readable; `message` is for people; `field` names the bad input.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::request_id;
use crate::auth::AuthError;
use crate::service_error::ServiceError;
use crate::store::StoreError;
use crate::store::health::Unavailable;

/// An error answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// One entry per bad element when a list has several (each with its own field).
    pub details: Vec<serde_json::Value>,
    /// The methods a path takes, for a 405's `Allow` header.
    pub allow: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            details: Vec::new(),
            allow: None,
        }
    }

    /// A 400 about one field, naming the rule it broke.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// Our fault. The detail goes to the log, not to the caller.
    pub fn internal(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(request_id = request_id::current().as_deref().unwrap_or("-"), error = %error, "A request failed on our side.");
        Self::opaque()
    }

    /// Our fault, with its whole cause chain in the log (the body stays opaque).
    pub fn internal_error(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        tracing::error!(request_id = request_id::current().as_deref().unwrap_or("-"), error = %chain, "A request failed on our side.");
        Self::opaque()
    }

    fn opaque() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the daemon log for this request id",
        )
    }
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub(crate) struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorDetail)]
pub(crate) struct Inner<'a> {
    /// Stable and machine-readable (`invalid_request`, `forbidden`, `unavailable`, …).
    code: &'a str,
    /// For people: what was wrong and the rule it broke.
    message: &'a str,
    /// The bad input, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// Quote it when asking about the request: the daemon's log has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    /// One entry per bad element of a list: `field`, `item`, `message`.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(value_type = Vec<Object>)]
    details: &'a [serde_json::Value],
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header(("WWW-Authenticate", "Bearer realm=\"cachewarden\""));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.insert_header(("Retry-After", "30"));
        }
        if let Some(allow) = &self.allow {
            res.insert_header(("Allow", allow.as_str()));
        }
        let mut answer = res.json(Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
                request_id: request_id::current(),
                details: &self.details,
            },
        });
        answer.extensions_mut().insert(super::middleware::Refusal {
            code: self.code.to_owned(),
            message: self.message.clone(),
            field: self.field.clone(),
        });
        answer
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthenticated(_) => {
                Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
            }
            AuthError::MissingScope { .. }
            | AuthError::TargetNotAllowed { .. }
            | AuthError::NamedTargetOnly { .. } => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", e.to_string())
            }
            AuthError::Unavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::conflict(m),
            StoreError::NotFound => Self::not_found("not found"),
            other => match other.unavailable() {
                Some(why) => Self::unavailable(why, &other),
                None => Self::internal_error(&other),
            },
        }
    }
}

impl ApiError {
    /// The database cannot take the request now (a full disk, busy, gone): 503, so clients
    /// and the CLI retry later instead of treating it as their mistake or our bug.
    fn unavailable(why: Unavailable, cause: &StoreError) -> Self {
        tracing::warn!(request_id = request_id::current().as_deref().unwrap_or("-"), error = %cause, "A request could not be stored.");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!(
                "{}: the request was not completed; try again later (with the same Idempotency-Key, retrying is safe)",
                why.describe()
            ),
        )
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid {
                code,
                field,
                message,
                details,
            } => Self {
                field,
                details,
                ..Self::new(StatusCode::BAD_REQUEST, code, message)
            },
            ServiceError::Refused {
                code,
                message,
                field,
            } => Self {
                field: field.map(str::to_owned),
                ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            },
            ServiceError::Forbidden(a) => a.into(),
            ServiceError::NotFound(m) => Self::not_found(m),
            ServiceError::Conflict { code, message } => {
                Self::new(StatusCode::CONFLICT, code, message)
            }
            ServiceError::Store(e) if e.unavailable().is_some() => e.into(),
            e @ ServiceError::Store(_) => Self::internal_error(&e),
        }
    }
}

/// 405 for `method` on a path the API document gives other methods, naming them (also in
/// `Allow`); `None` when the document has no such path.
pub fn method_not_allowed(method: &str, path: &str) -> Option<ApiError> {
    let allowed = super::openapi::methods_at(path);
    if allowed.is_empty() {
        return None;
    }
    let list = allowed.join(", ");
    let mut e = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {path}; it takes {list}"),
    );
    e.allow = Some(list);
    Some(e)
}

/// Puts every error answer that is not already ours (JSON or a page) into our JSON shape (with the request
/// id): actix answers some itself, such as 405 for a method a route lacks (empty body) or 413
/// for an oversized raw body (text).
pub fn json_errors<B: actix_web::body::MessageBody + 'static>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::middleware::ErrorHandlerResponse;
    // Ours already: JSON from the API, HTML pages from the dashboard.
    let ours = res
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
        });
    if ours {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (method, path) = (
        res.request().method().clone(),
        res.request().path().to_owned(),
    );
    if status == StatusCode::METHOD_NOT_ALLOWED
        && let Some(answer) = method_not_allowed(method.as_str(), &path)
    {
        let (req, _) = res.into_parts();
        return Ok(ErrorHandlerResponse::Response(
            actix_web::dev::ServiceResponse::new(req, answer.error_response())
                .map_into_right_body(),
        ));
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            format!("{method} is not allowed on {path}"),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the body is too large".to_owned()),
        StatusCode::NOT_FOUND => ("not_found", format!("no route for {method} {path}")),
        s if s.is_server_error() => (
            "internal",
            "internal error; see the daemon log for this request id".to_owned(),
        ),
        s => (
            "bad_request",
            s.canonical_reason().unwrap_or("bad request").to_lowercase(),
        ),
    };
    let (req, _) = res.into_parts();
    let answer = ApiError::new(status, code, message).error_response();
    Ok(ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(req, answer).map_into_right_body(),
    ))
}

/// Turns actix's extractor errors (bad JSON, bad query string, bad path) into the same shape.
pub fn json_config() -> actix_web::web::JsonConfig {
    actix_web::web::JsonConfig::default()
        .limit(1 << 20)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError as J;
            let api = match &err {
                J::ContentType => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send Content-Type: application/json",
                ),
                J::Overflow { limit } | J::OverflowKnownLength { limit, .. } => ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the body is larger than {limit} bytes"),
                ),
                J::Deserialize(e) => {
                    let mut a =
                        ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string());
                    a.field = json_field(&e.to_string());
                    a
                }
                other => ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", other.to_string()),
            };
            api.into()
        })
}

/// serde_json names a missing or unknown field in its message; pull it out for `field`.
fn json_field(message: &str) -> Option<String> {
    for marker in ["missing field `", "unknown field `"] {
        if let Some(rest) = message.split(marker).nth(1) {
            return rest.split('`').next().map(str::to_owned);
        }
    }
    None
}

/// Query strings in the same error shape.
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default().error_handler(|err, req| {
        let message = err.to_string();
        let mut a = ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message.clone());
        let quoted = |after: &str| {
            message
                .split(after)
                .nth(1)
                .and_then(|r| r.split('`').next())
                .map(str::to_owned)
        };
        // serde names the field of an unknown parameter, but only the value of an unknown
        // variant (`state=sent`): the parameter is the one that has that value.
        let by_value = || {
            let value = quoted("unknown variant `")?;
            url::form_urlencoded::parse(req.query_string().as_bytes())
                .find(|(_, v)| *v == value)
                .map(|(k, _)| k.into_owned())
        };
        a.field = json_field(&message)
            .or_else(|| quoted("field `"))
            .or_else(by_value);
        a.into()
    })
}

/// Path parameters in the same error shape.
pub fn path_config() -> actix_web::web::PathConfig {
    actix_web::web::PathConfig::default().error_handler(|err, _req| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", err.to_string()).into()
    })
}
