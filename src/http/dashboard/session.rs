//! Sessions on the dashboard: the middleware that opens them and enforces CSRF tokens, the
//! [`Person`] extractor pages take, and the cookies.

use std::future::{Ready, ready};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use secrecy::{ExposeSecret, SecretString};

use super::{Chrome, PageError};
use crate::auth::ProxyError;
use crate::auth::sessions::{COOKIE, LIFETIME, Session};
use crate::http::AppState;

/// Before sign-in there is no session to hold a CSRF token: the sign-in and setup forms use
/// a random value in this cookie instead (double submit), so a foreign site cannot sign a
/// browser in to an account of its choosing.
pub const PRE_COOKIE: &str = "cw_pre";
/// Form field and header that carry the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The person signed in; a page that takes it is only for people with a live session
/// (others are sent to the sign-in page).
#[derive(Debug, Clone)]
pub struct Person(pub Session);

impl FromRequest for Person {
    type Error = PageError;
    type Future = Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let next = match req.query_string() {
            "" => req.path().to_owned(),
            q => format!("{}?{q}", req.path()),
        };
        ready(
            req.extensions()
                .get::<Session>()
                .cloned()
                .map(Person)
                .ok_or(PageError::SignIn { next }),
        )
    }
}

/// Opens the session its cookie names (making its principal the request's, for handlers and
/// the audit) and refuses a non-GET request whose CSRF token is missing or wrong.
pub async fn attach(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let refuse = |req: ServiceRequest, e: PageError| {
        let res = e.error_response();
        Ok(req.into_response(res).map_into_right_body())
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return refuse(
            req,
            PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "no state"),
        );
    };
    let mut session = match req.cookie(COOKIE) {
        None => None,
        Some(c) => match state.access.session(c.value()).await {
            Ok(s) => s,
            Err(e) => return refuse(req, e.into()),
        },
    };
    // Behind a trusted SSO proxy, its header says who this is, whatever the cookie says.
    let mut new_cookie = None;
    if let Some(proxy) = &state.settings().dashboard.auth_proxy {
        match proxied(&state, proxy, req.request(), session.as_ref()).await {
            Ok(None) => {}
            Ok(Some((s, cookie))) => {
                session = Some(s);
                new_cookie = Some(cookie);
            }
            Err(e) => return refuse(req, e),
        }
    }
    if !matches!(req.method().as_str(), "GET" | "HEAD") {
        let expected = match &session {
            Some(s) => Some(s.csrf.clone()),
            None => req.cookie(PRE_COOKIE).map(|c| c.value().to_owned()),
        };
        let submitted = submitted_token(&mut req).await;
        let good = match (&expected, &submitted) {
            (Some(e), Some(s)) => crate::auth::same_secret(e, s),
            _ => false,
        };
        if !good {
            return refuse(
                req,
                PageError::new(
                    StatusCode::FORBIDDEN,
                    "this form is out of date or did not come from this dashboard \
                     (missing or wrong CSRF token); reload the page and try again",
                ),
            );
        }
    }
    let person = session.clone().map(Person);
    if let Some(s) = session {
        req.extensions_mut().insert(s.principal.clone());
        req.extensions_mut().insert(s);
    }
    let mut res = next.call(req).await?;
    if let Some(c) = new_cookie {
        res.response_mut().add_cookie(&c)?;
    }
    // An error page for someone signed in keeps their navigation bar.
    let page = match (&person, res.response().error()) {
        (Some(p), Some(e)) => e
            .as_error::<PageError>()
            .and_then(|e| e.page_for(Chrome::new(&state, p))),
        _ => None,
    };
    if let Some(mut page) = page {
        let cookies: Vec<Cookie<'static>> =
            res.response().cookies().map(|c| c.into_owned()).collect();
        for c in &cookies {
            page.add_cookie(c)?;
        }
        return Ok(res.into_response(page).map_into_right_body());
    }
    Ok(res.map_into_left_body())
}

/// The session of the person a trusted proxy names: `None` when the proxy does not apply
/// (no header, or the request is not from a trusted address: then the header is ignored) or
/// the cookie's session is already theirs with the same role; else a new session and its
/// cookie. A person the mapping gives no role is refused.
async fn proxied(
    state: &AppState,
    proxy: &crate::config::AuthProxy,
    req: &HttpRequest,
    current: Option<&Session>,
) -> Result<Option<(Session, Cookie<'static>)>, PageError> {
    let trusted = req.peer_addr().is_some_and(|a| proxy.trusts(a.ip()));
    let Some(value) = req.headers().get(proxy.header.as_str()).filter(|_| trusted) else {
        return Ok(None);
    };
    let forbidden = |m: String| PageError::new(StatusCode::FORBIDDEN, m);
    let name = value
        .to_str()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    crate::auth::people::check_user_name(&name)
        .map_err(|e| forbidden(format!("the sign-in proxy named {name:?}, which {e}")))?;
    let groups_value = proxy
        .groups_header
        .as_ref()
        .and_then(|h| req.headers().get(h.as_str()))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let groups: Vec<&str> = groups_value.split(',').map(str::trim).collect();
    let role = proxy.role_for(&name, &groups).ok_or_else(|| {
        forbidden(format!(
            "{name} has no role here; an admin maps them, or a group of theirs, in [dashboard] proxy_roles"
        ))
    })?;
    if current.is_some_and(|s| s.user.name == name && s.user.role == role) {
        return Ok(None);
    }
    let (secret, session) = match state
        .access
        .proxy_session(&name, role, &client_address(req))
        .await
    {
        Ok(s) => s,
        Err(e @ ProxyError::Disabled(_)) => return Err(forbidden(e.to_string())),
        Err(ProxyError::Store(e)) => return Err(e.into()),
    };
    Ok(Some((session, session_cookie(state, &secret))))
}

/// The CSRF token a request carries: the header (scripts), else the form field. A form body
/// is read here and put back for the handler.
async fn submitted_token(req: &mut ServiceRequest) -> Option<String> {
    if let Some(h) = req.headers().get(CSRF_HEADER) {
        return h.to_str().ok().map(str::to_owned);
    }
    let form = req.headers().get(CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes()
            .starts_with(b"application/x-www-form-urlencoded")
    });
    if !form {
        return None;
    }
    let body = req.extract::<web::Bytes>().await.ok()?;
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    req.set_payload(Payload::from(body));
    token
}

/// Whether cookies must only travel over https (the dashboard's public address is https).
fn secure(state: &AppState) -> bool {
    state
        .settings()
        .server
        .public_url
        .as_ref()
        .is_some_and(|u| u.scheme() == "https")
}

/// The session cookie for a new session.
pub fn session_cookie(state: &AppState, secret: &SecretString) -> Cookie<'static> {
    cookie_of(state, secret.expose_secret())
}

fn cookie_of(state: &AppState, value: &str) -> Cookie<'static> {
    Cookie::build(COOKIE, value.to_owned())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(state))
        .max_age(time::Duration::seconds(LIFETIME.as_secs() as i64))
        .finish()
}

/// The device cookie of a browser that signed in (see `auth::sessions`): only the sign-in
/// form reads it, and it never leaves for another site.
pub fn device_cookie(state: &AppState, secret: &SecretString) -> Cookie<'static> {
    Cookie::build(
        crate::auth::sessions::DEVICE_COOKIE,
        secret.expose_secret().to_owned(),
    )
    .path("/sign-in")
    .http_only(true)
    .same_site(SameSite::Strict)
    .secure(secure(state))
    .max_age(time::Duration::seconds(
        crate::auth::sessions::DEVICE_TRUST.as_secs() as i64,
    ))
    .finish()
}

/// A 303 to `to` that carries `cookie` (signed in, or out).
pub fn see_other_with(to: &str, cookie: &Cookie<'static>) -> Result<HttpResponse, PageError> {
    let mut res = super::see_other(to);
    res.add_cookie(cookie)
        .map_err(|e| crate::http::ApiError::internal(&e))?;
    Ok(res)
}

/// Removes the session cookie (signing out).
pub fn expired_session_cookie(state: &AppState) -> Cookie<'static> {
    let mut c = cookie_of(state, "");
    c.make_removal();
    c
}

/// The pre-session cookie for the sign-in and setup forms: the one the browser has, or a
/// new one to set.
pub fn pre_session(state: &AppState, req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    if let Some(c) = req.cookie(PRE_COOKIE).filter(|c| c.value().len() == 64) {
        return (c.value().to_owned(), None);
    }
    let value = crate::auth::random_hex::<32>();
    let cookie = Cookie::build(PRE_COOKIE, value.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(state))
        .finish();
    (value, Some(cookie))
}

/// The client's address, for throttling and the session row. The peer address: behind a
/// proxy that is the proxy's, which throttles everyone behind it together (safe, not fair).
pub fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}
