//! Middleware: request ids, metrics, access log and the audit trail (`observe`, on every
//! request), and bearer-token authentication (`authenticate`, on the API scope).

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{AUTHORIZATION, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError, web};
use tracing::Instrument;

use super::error::ApiError;
use super::{AppState, request_id};
use crate::auth::{AuthError, Principal};
use crate::store::{AuditEntry, Outcome};

/// The page's own files only: scripts and styles from `/static`, fetches to this daemon, no
/// inline code, and no framing by other sites (clickjacking on the purge and token forms).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers every answer carries unless its handler set its own: the CSP above and its
/// older equivalents, no MIME sniffing, no referrer to other sites, and `no-store`, because
/// pages and API answers are per person and some carry secrets (a new token, the setup
/// link's page); static files and the API document set their own caching.
pub fn security_headers() -> actix_web::middleware::DefaultHeaders {
    use actix_web::http::header;
    actix_web::middleware::DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// What a handler adds to the audit entry of its request: the target it touched and facts
/// worth keeping (never secrets). Handlers insert it into the request's extensions.
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    pub target: Option<String>,
    pub detail: serde_json::Value,
}

/// Why a request was refused, for its audit entry: what its answer said (an error answer or a
/// form drawn again with its error). Never a secret: these messages are the callers' own.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl Refusal {
    /// Notes on the request that its page answers a refusal (a form drawn again with its
    /// error), so the audit entry says why.
    pub fn note(req: &actix_web::HttpRequest, code: &str, message: impl Into<String>) {
        req.extensions_mut().insert(Refusal {
            code: code.to_owned(),
            message: message.into(),
            field: None,
        });
    }
}

/// Set when a request presented a token that is not valid, so the audit names that fact.
#[derive(Debug, Clone, Copy)]
struct InvalidToken;

fn is_mutating(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Request id, timing, metrics, one log line per request, and an audit entry for every
/// mutating call, from the API or a dashboard form, whatever its outcome (denied and invalid
/// attempts included). A person's actions are recorded under their name.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = request_id::choose(
        req.headers()
            .get(request_id::HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let started = Instant::now();
    let span = tracing::info_span!("http", request_id = %id, method = %method, path = %path);
    let mut res = request_id::scope(id.clone(), next.call(req))
        .instrument(span.clone())
        .await?;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(request_id::HEADER.parse().expect("static header name"), v);
    }
    let _enter = span.enter();
    if route == "/healthz" || route == "/metrics" {
        tracing::debug!(status, route = %route, ms = elapsed.as_millis() as u64, "Handled a request.");
    } else {
        tracing::info!(status, route = %route, ms = elapsed.as_millis() as u64, "Handled a request.");
    }
    let Some(state) = state else { return Ok(res) };
    state
        .metrics
        .http_requests
        .with_label_values(&[method.as_str(), &route, &status.to_string()])
        .inc();
    state
        .metrics
        .http_duration
        .with_label_values(&[method.as_str(), &route])
        .observe(elapsed.as_secs_f64());
    if is_mutating(&method) {
        let (actor, note, refusal) = {
            let ext = res.request().extensions();
            let actor = match (ext.get::<Principal>(), ext.get::<InvalidToken>()) {
                (Some(p), _) => p.name.to_string(),
                (None, Some(_)) => "invalid-token".to_owned(),
                (None, None) => "anonymous".to_owned(),
            };
            let refusal = res
                .response()
                .extensions()
                .get::<Refusal>()
                .cloned()
                .or_else(|| ext.get::<Refusal>().cloned());
            (
                actor,
                ext.get::<AuditNote>().cloned().unwrap_or_default(),
                refusal,
            )
        };
        let mut detail = match note.detail {
            serde_json::Value::Object(m) => m,
            serde_json::Value::Null => serde_json::Map::new(),
            other => serde_json::Map::from_iter([("note".to_owned(), other)]),
        };
        // A refused or failed request says why, in the words its answer used.
        if let Some(r) = refusal.filter(|_| status >= 400) {
            let mut why = serde_json::json!({ "code": r.code, "message": r.message });
            if let Some(f) = r.field {
                why["field"] = f.into();
            }
            detail.insert("error".into(), why);
        }
        let action = match super::audit_names::action(method.as_str(), &route) {
            Some(a) => a.to_owned(),
            None => {
                detail.insert("path".into(), path.clone().into());
                "request.unmatched".to_owned()
            }
        };
        let entry = AuditEntry {
            actor,
            action,
            target: note.target,
            outcome: Outcome::from_status(status),
            status: Some(status),
            request_id: Some(id),
            detail: serde_json::Value::Object(detail),
        };
        if let Err(e) = state.audit.record(&entry).await {
            state.metrics.audit_failures.inc();
            tracing::error!(error = %e, action = %entry.action, actor = %entry.actor, "Could not write an audit entry.");
        }
    }
    Ok(res)
}

/// Requires a valid bearer token and makes the caller's [`Principal`] available to handlers.
/// Scope checks are the handlers' (each states the scope it needs).
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    match principal_of(&req).await {
        Ok(p) => {
            req.extensions_mut().insert(p);
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(e) => {
            if matches!(e, AuthError::Unauthenticated(m) if m == INVALID) {
                req.extensions_mut().insert(InvalidToken);
            }
            let response = ApiError::from(e).error_response();
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

const INVALID: &str = "the token is not valid (unknown, revoked or expired)";

async fn principal_of(req: &ServiceRequest) -> Result<Principal, AuthError> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or(AuthError::Unauthenticated(
            "send Authorization: Bearer TOKEN",
        ))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::Unauthenticated(
            "the Authorization header must be: Bearer TOKEN",
        ))?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(AuthError::Unavailable)?;
    match state.access.authenticate(token).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(AuthError::Unauthenticated(INVALID)),
        Err(e) => {
            // Failing closed: without the store we cannot tell a good token from a bad one.
            tracing::error!(error = %e, "Could not look up a token.");
            Err(AuthError::Unavailable)
        }
    }
}
