//! For admins: tokens (create, shown once; revoke) and the audit log (filterable).

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::{Chrome, PageError, Person, see_other, when};
use crate::audit::AuditRequest;
use crate::auth::manage::{self, TokenRequest};
use crate::domain::Scope;
use crate::http::AppState;
use crate::http::middleware::{AuditNote, Refusal};
use crate::service_error::ServiceError;
use crate::store::{Outcome, TokenRecord};

pub struct TokenRow {
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub targets: String,
    pub created: String,
    pub created_by: String,
    pub expires: String,
    pub last_used: String,
    pub revoked: bool,
}

impl From<&TokenRecord> for TokenRow {
    fn from(t: &TokenRecord) -> Self {
        Self {
            name: t.name.to_string(),
            prefix: t.prefix.clone(),
            scopes: t
                .scopes
                .iter()
                .map(Scope::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            targets: if t.targets.is_empty() {
                "every target".into()
            } else {
                t.targets
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            created: when(t.created_at),
            created_by: t.created_by.clone(),
            expires: t.expires_at.map(when).unwrap_or_else(|| "never".into()),
            last_used: t.last_used_at.map(when).unwrap_or_else(|| "never".into()),
            revoked: t.revoked_at.is_some(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    chrome: Chrome,
    tokens: Vec<TokenRow>,
    /// Each scope, and whether the form has it ticked.
    scopes: Vec<(&'static str, bool)>,
    /// A token just created: its secret, shown this once.
    created: Option<(String, String)>,
    /// Every mistake of a refused form, each naming its field.
    errors: Vec<String>,
    /// What a refused form held, drawn again.
    form: TokenForm,
}

/// The new-token form's values.
#[derive(Default)]
pub struct TokenForm {
    name: String,
    scopes: Vec<String>,
    targets: String,
    expires_in: String,
}

async fn tokens_page(
    state: &AppState,
    person: &Person,
    created: Option<(String, String)>,
    errors: Vec<String>,
    form: TokenForm,
) -> Result<TokensPage, PageError> {
    let tokens = state.access.tokens(&person.0.principal).await?;
    Ok(TokensPage {
        chrome: Chrome::new(state, person),
        tokens: tokens.iter().map(TokenRow::from).collect(),
        scopes: Scope::ALL
            .iter()
            .map(|s| (s.as_str(), form.scopes.iter().any(|x| x == s.as_str())))
            .collect(),
        created,
        errors,
        form,
    })
}

pub async fn tokens(state: web::Data<AppState>, person: Person) -> Result<TokensPage, PageError> {
    tokens_page(&state, &person, None, Vec::new(), TokenForm::default()).await
}

/// The create form's fields; `scopes` repeats (one checkbox each), so the body is read as a
/// list of pairs rather than into a struct.
pub async fn create_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let mut r = TokenRequest {
        name: String::new(),
        scopes: Vec::new(),
        targets: Vec::new(),
        expires_in: None,
    };
    for (k, v) in url::form_urlencoded::parse(&body) {
        let v = v.trim().to_owned();
        match k.as_ref() {
            "name" => r.name = v,
            "scopes" => r.scopes.push(v),
            "targets" => r.targets.extend(
                v.split([',', ' ', '\n'])
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            ),
            "expires_in" if !v.is_empty() => r.expires_in = Some(v),
            _ => {}
        }
    }
    // A refused form is drawn again with its error, answered 400 (409 for a name in use) and
    // audited with the reason.
    let typed = |r: &TokenRequest| TokenForm {
        name: r.name.clone(),
        scopes: r.scopes.clone(),
        targets: r.targets.join(", "),
        expires_in: r.expires_in.clone().unwrap_or_default(),
    };
    let refused = |status: StatusCode, code: &str, errors: Vec<String>| {
        Refusal::note(&req, code, errors.join("; "));
        let (state, person, form) = (&state, &person, typed(&r));
        async move {
            let page = tokens_page(state, person, None, errors, form).await?;
            super::page_with_status(status, &page)
        }
    };
    let (secret, record) = match state.access.create_token(&person.0.principal, &r).await {
        Ok(x) => x,
        Err(ServiceError::Invalid {
            field: Some(field),
            message,
            details,
            ..
        }) => {
            let mut errors: Vec<String> = details
                .iter()
                .map(|d| {
                    format!(
                        "{}: {}",
                        d["field"].as_str().unwrap_or_default(),
                        d["message"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            if errors.is_empty() {
                errors.push(format!("{field}: {message}"));
            }
            return refused(StatusCode::BAD_REQUEST, "invalid_request", errors).await;
        }
        Err(ServiceError::Conflict { message, .. }) => {
            return refused(StatusCode::CONFLICT, "conflict", vec![message]).await;
        }
        Err(e) => return Err(e.into()),
    };
    req.extensions_mut().insert(AuditNote {
        target: None,
        detail: manage::audit_detail(&record),
    });
    let page = tokens_page(
        &state,
        &person,
        Some((record.name.to_string(), secret.expose_secret().to_owned())),
        Vec::new(),
        TokenForm::default(),
    )
    .await?;
    super::page_with_status(StatusCode::OK, &page)
}

pub async fn revoke_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    name: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let record = state
        .access
        .revoke_token(&person.0.principal, &name)
        .await?;
    req.extensions_mut().insert(AuditNote {
        target: None,
        detail: manage::audit_detail(&record),
    });
    Ok(see_other("/tokens"))
}

pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    chrome: Chrome,
    entries: Vec<AuditRow>,
    filter: AuditFilter,
    outcomes: Vec<&'static str>,
    /// The query string of the filter, for the link to older entries.
    filter_query: String,
    older: Option<i64>,
}

/// The audit page's filters, as the form sends them (empty: any).
#[derive(Deserialize, Default)]
pub struct AuditFilter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    before: Option<i64>,
}

pub async fn audit(
    state: web::Data<AppState>,
    person: Person,
    params: web::Query<AuditFilter>,
) -> Result<AuditPage, PageError> {
    let f = params.into_inner();
    let set = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_owned());
    let read = AuditRequest {
        limit: 100,
        before: f.before,
        actor: set(&f.actor),
        target: set(&f.target),
        action: set(&f.action),
        outcome: set(&f.outcome),
    };
    let page = state.audit.read(&person.0.principal, read).await?;
    let filter_query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("actor", &f.actor)
        .append_pair("target", &f.target)
        .append_pair("action", &f.action)
        .append_pair("outcome", &f.outcome)
        .finish();
    Ok(AuditPage {
        chrome: Chrome::new(&state, &person),
        older: page.next_before,
        entries: page
            .entries
            .iter()
            .map(|r| AuditRow {
                at: when(r.at),
                actor: r.actor.clone(),
                action: r.action.clone(),
                target: r.target.clone().unwrap_or_default(),
                outcome: r.outcome.as_str().to_owned(),
                detail: r.detail.to_string(),
            })
            .collect(),
        outcomes: Outcome::ALL.iter().map(|o| o.as_str()).collect(),
        filter: f,
        filter_query,
    })
}
