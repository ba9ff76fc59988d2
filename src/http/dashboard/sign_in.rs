//! Signing in and out, and the setup page that creates the first admin.

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use super::session::{
    Person, client_address, device_cookie, expired_session_cookie, pre_session, see_other_with,
    session_cookie,
};
use super::{Chrome, PageError, page_with_status, see_other};
use crate::auth::sessions::{self, SignInError};
use crate::auth::{Setup, SetupError};
use crate::http::AppState;
use crate::http::middleware::AuditNote;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    csrf: String,
    next: String,
    name: String,
    error: String,
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    chrome: Chrome,
    csrf: String,
    code: String,
    name: String,
    error: String,
}

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

/// Only a path on this site: `/alarms`, not `//evil.example` or `https://…`.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// A page with the pre-session cookie set when it is new.
fn html(
    status: StatusCode,
    page: &impl Template,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> Result<HttpResponse, PageError> {
    let mut res = page_with_status(status, page)?;
    if let Some(c) = cookie {
        res.add_cookie(&c)
            .map_err(|e| crate::http::ApiError::internal(&e))?;
    }
    Ok(res)
}

pub async fn form(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<NextParam>,
) -> Result<HttpResponse, PageError> {
    if state.access.nobody_yet().await {
        return Ok(see_other("/setup"));
    }
    let (csrf, cookie) = pre_session(&state, &req);
    let page = SignInPage {
        chrome: Chrome::anonymous(Some(&state)),
        csrf,
        next: safe_next(q.next.as_deref()),
        name: String::new(),
        error: String::new(),
    };
    html(StatusCode::OK, &page, cookie)
}

#[derive(Deserialize)]
pub struct SignInForm {
    name: String,
    password: String,
    next: Option<String>,
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, PageError> {
    let SignInForm {
        name,
        password,
        next,
    } = form.into_inner();
    let name = name.trim().to_owned();
    req.extensions_mut().insert(AuditNote {
        target: None,
        detail: serde_json::json!({ "user": name, "action": "sign-in" }),
    });
    let address = client_address(&req);
    let device = req
        .cookie(sessions::DEVICE_COOKIE)
        .map(|c| c.value().to_owned());
    let outcome = state
        .access
        .sign_in(
            &name,
            SecretString::from(password),
            &address,
            device.as_deref(),
        )
        .await;
    let (status, error) = match outcome {
        Ok(signed_in) => {
            req.extensions_mut().insert(signed_in.session.principal);
            let mut res = see_other_with(
                &safe_next(next.as_deref()),
                &session_cookie(&state, &signed_in.secret),
            )?;
            res.add_cookie(&device_cookie(&state, &signed_in.device))
                .map_err(|e| crate::http::ApiError::internal(&e))?;
            return Ok(res);
        }
        Err(e @ SignInError::Wrong) => (StatusCode::UNAUTHORIZED, e.to_string()),
        Err(e @ SignInError::Throttled { .. }) => (StatusCode::TOO_MANY_REQUESTS, e.to_string()),
        Err(SignInError::Store(e)) => return Err(e.into()),
    };
    crate::http::middleware::Refusal::note(
        &req,
        if status == StatusCode::TOO_MANY_REQUESTS {
            "throttled"
        } else {
            "wrong_name_or_password"
        },
        &error,
    );
    let (csrf, cookie) = pre_session(&state, &req);
    let page = SignInPage {
        chrome: Chrome::anonymous(Some(&state)),
        csrf,
        next: safe_next(next.as_deref()),
        name,
        error,
    };
    html(status, &page, cookie)
}

pub async fn sign_out(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, PageError> {
    state.access.sign_out(&person.0).await?;
    see_other_with("/sign-in", &expired_session_cookie(&state))
}

#[derive(Deserialize)]
pub struct CodeParam {
    code: Option<String>,
}

pub async fn setup_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<CodeParam>,
) -> Result<HttpResponse, PageError> {
    if !state.access.nobody_yet().await {
        return Ok(see_other("/sign-in"));
    }
    let (csrf, cookie) = pre_session(&state, &req);
    let code = q.code.clone().unwrap_or_default();
    let (status, error) = if code.is_empty() || state.access.setup_link_valid(&code) {
        (StatusCode::OK, String::new())
    } else {
        (
            StatusCode::FORBIDDEN,
            "this setup link is not valid (it works once, until the daemon restarts); \
             use the newest one from the daemon's log"
                .to_owned(),
        )
    };
    let page = SetupPage {
        chrome: Chrome::anonymous(Some(&state)),
        csrf,
        code,
        name: String::new(),
        error,
    };
    html(status, &page, cookie)
}

#[derive(Deserialize)]
pub struct SetupForm {
    code: String,
    name: String,
    password: String,
    confirm: String,
}

pub async fn setup_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, PageError> {
    let f = form.into_inner();
    let name = f.name.trim().to_owned();
    req.extensions_mut().insert(AuditNote {
        target: None,
        detail: serde_json::json!({ "user": name, "action": "setup", "role": "admin" }),
    });
    let refused = |status: StatusCode, error: String| -> Result<HttpResponse, PageError> {
        crate::http::middleware::Refusal::note(&req, "setup_refused", &error);
        let (csrf, cookie) = pre_session(&state, &req);
        let page = SetupPage {
            chrome: Chrome::anonymous(Some(&state)),
            csrf,
            code: f.code.clone(),
            name: name.clone(),
            error,
        };
        html(status, &page, cookie)
    };
    let setup = Setup {
        code: f.code.clone(),
        name: name.clone(),
        password: SecretString::from(f.password.clone()),
        confirm: f.confirm.clone(),
    };
    match state.access.set_up(setup, &client_address(&req)).await {
        Ok((secret, session)) => {
            req.extensions_mut().insert(session.principal);
            see_other_with("/", &session_cookie(&state, &secret))
        }
        Err(e @ SetupError::InvalidLink) => refused(StatusCode::FORBIDDEN, e.to_string()),
        Err(e @ SetupError::Invalid { .. }) => refused(StatusCode::BAD_REQUEST, e.to_string()),
        Err(SetupError::Store(e)) => Err(e.into()),
        Err(SetupError::Internal(e)) => Err(crate::http::ApiError::internal(&e).into()),
    }
}
