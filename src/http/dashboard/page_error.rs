//! Errors as pages: the same statuses and messages as the API's JSON errors, as HTML, and a
//! redirect to the sign-in page for a request without a session.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::Chrome;
use crate::http::ApiError;
use crate::service_error::ServiceError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No session: to the sign-in page, then back to `next`.
    #[error("sign in first")]
    SignIn { next: String },
    #[error("{message}")]
    Status { status: StatusCode, message: String },
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Status {
            status,
            message: message.into(),
        }
    }
}

impl From<ApiError> for PageError {
    /// The API's message, led by the field it names (`until: give a time …`), as the JSON
    /// answer's `field` would say.
    fn from(e: ApiError) -> Self {
        match e.field {
            Some(f) if !e.message.starts_with(&f) => {
                Self::new(e.status, format!("{f}: {}", e.message))
            }
            _ => Self::new(e.status, e.message),
        }
    }
}

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        ApiError::internal_error(&e).into()
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn { .. } => StatusCode::SEE_OTHER,
            Self::Status { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignIn { next } => {
                let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                HttpResponse::SeeOther()
                    .insert_header((LOCATION, format!("/sign-in?next={next}")))
                    .finish()
            }
            Self::Status { .. } => self
                .page_for(Chrome::anonymous(None))
                .unwrap_or_else(|| HttpResponse::InternalServerError().finish()),
        }
    }
}

impl PageError {
    /// The error as a page with `chrome` (a signed-in person's navigation bar), or `None` for
    /// the redirect to the sign-in page.
    pub fn page_for(&self, chrome: Chrome) -> Option<HttpResponse> {
        match self {
            Self::SignIn { .. } => None,
            Self::Status { status, message } => {
                let page = ErrorPage {
                    chrome,
                    status: status.as_u16(),
                    reason: status.canonical_reason().unwrap_or(""),
                    message,
                };
                let mut res = HttpResponse::build(*status)
                    .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
                    .body(page.render().unwrap_or_else(|_| message.clone()));
                res.extensions_mut()
                    .insert(crate::http::middleware::Refusal {
                        code: status
                            .canonical_reason()
                            .unwrap_or("error")
                            .to_lowercase()
                            .replace(' ', "_"),
                        message: message.clone(),
                        field: None,
                    });
                Some(res)
            }
        }
    }
}
