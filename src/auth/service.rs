//! Who may come in, as the HTTP layer asks it: API tokens (checked on every call, listed,
//! created and revoked by admins), dashboard sessions (sign-in, the SSO proxy, sign-out) and
//! the one-time setup of the first admin. The rules live in the modules beside this one; this
//! is the one door to them, and it checks who may use each.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::manage::{self, TokenRequest};
use super::people;
use super::sessions::{self, Session, SignInError, SignedIn};
use super::setup::SetupCode;
use super::usage::TokenUsage;
use super::{Principal, TokenSecret};
use crate::config::InForce;
use crate::domain::{Role, Scope};
use crate::service_error::ServiceError;
use crate::store::{NewUser, Store, StoreError, TokenRecord, now_ms};

/// The first admin, as the setup form sends it.
pub struct Setup {
    pub code: String,
    pub name: String,
    pub password: SecretString,
    /// The password typed again.
    pub confirm: String,
}

/// Why the setup form was refused.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The link's code is not the open one (spent, from before a restart, or someone exists).
    #[error("this setup link is not valid (it works once, until the daemon restarts)")]
    InvalidLink,
    /// A field breaks a rule.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// Why the SSO proxy's person may not come in.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("{0} is disabled")]
    Disabled(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct AccessService {
    store: Store,
    live: Arc<dyn InForce>,
    setup: Arc<SetupCode>,
    usage: TokenUsage,
}

impl AccessService {
    pub fn new(store: Store, live: Arc<dyn InForce>, setup: Arc<SetupCode>) -> Self {
        Self {
            store,
            live,
            setup,
            usage: TokenUsage::default(),
        }
    }

    /// The principal an API token's secret stands for; `None` when it is unknown, revoked or
    /// expired. Its use is recorded in the background.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Principal>, StoreError> {
        let now = now_ms();
        let record = self
            .store
            .find_active_token(&TokenSecret::new(secret).hash(), now)
            .await?;
        Ok(record.map(|r| {
            self.usage.record(&self.store, &r, now);
            r.into()
        }))
    }

    /// Every token, active or not (never a secret).
    pub async fn tokens(&self, who: &Principal) -> Result<Vec<TokenRecord>, ServiceError> {
        who.require(Scope::Admin)?;
        Ok(self.store.list_tokens().await?)
    }

    /// Creates a token; its secret is returned this once.
    pub async fn create_token(
        &self,
        who: &Principal,
        r: &TokenRequest,
    ) -> Result<(SecretString, TokenRecord), ServiceError> {
        who.require(Scope::Admin)?;
        let spec = manage::parse_request(r, &self.live.settings()).map_err(|errors| {
            // The first names the field; every one is in the details.
            let details = errors
                .iter()
                .map(|e| serde_json::json!({ "field": e.field, "message": e.message }))
                .collect();
            let first = errors
                .into_iter()
                .next()
                .unwrap_or_else(|| manage::FieldError {
                    field: "name".into(),
                    message: "is refused".into(),
                });
            ServiceError::Invalid {
                code: "invalid_request",
                field: Some(first.field),
                message: first.message,
                details,
            }
        })?;
        Ok(manage::create(&self.store, &spec, who.name.as_str()).await?)
    }

    /// Revokes the active token named `name`.
    pub async fn revoke_token(
        &self,
        who: &Principal,
        name: &str,
    ) -> Result<TokenRecord, ServiceError> {
        who.require(Scope::Admin)?;
        manage::revoke(&self.store, name).await
    }

    /// Nobody exists yet: the dashboard leads to the setup page.
    pub async fn nobody_yet(&self) -> bool {
        self.store.count_users().await.is_ok_and(|n| n == 0)
    }

    /// Checks a name and password (throttled) and opens a session.
    pub async fn sign_in(
        &self,
        name: &str,
        password: SecretString,
        address: &str,
        device: Option<&str>,
    ) -> Result<SignedIn, SignInError> {
        sessions::sign_in(&self.store, name, password, address, device, now_ms()).await
    }

    /// The session a cookie's secret opens, if it is live.
    pub async fn session(&self, secret: &str) -> Result<Option<Session>, StoreError> {
        sessions::open(&self.store, secret, now_ms()).await
    }

    /// Ends a session.
    pub async fn sign_out(&self, session: &Session) -> Result<(), StoreError> {
        self.store
            .revoke_session(&session.id_hash, now_ms())
            .await
            .map(|_| ())
    }

    /// A session for the person the SSO proxy vouches for, with the role it maps them to
    /// (created on first sight, their role kept current).
    pub async fn proxy_session(
        &self,
        name: &str,
        role: Role,
        address: &str,
    ) -> Result<(SecretString, Session), ProxyError> {
        let now = now_ms();
        let user = self.store.upsert_proxy_user(name, role, now).await?;
        if user.disabled {
            return Err(ProxyError::Disabled(name.to_owned()));
        }
        Ok(sessions::start(&self.store, &user, address, now).await?)
    }

    /// Whether `code` opens the setup page now.
    pub fn setup_link_valid(&self, code: &str) -> bool {
        self.setup.matches(code)
    }

    /// Creates the first admin and signs them in. The code is spent before anything is
    /// created, so of two forms sent at once one is refused; it comes back only if creating
    /// the admin fails.
    pub async fn set_up(
        &self,
        s: Setup,
        address: &str,
    ) -> Result<(SecretString, Session), SetupError> {
        if !self.setup.matches(&s.code) || !self.nobody_yet().await {
            return Err(SetupError::InvalidLink);
        }
        people::check_user_name(&s.name).map_err(|e| SetupError::Invalid {
            field: "name",
            message: e.to_string(),
        })?;
        if s.password.expose_secret() != s.confirm {
            return Err(SetupError::Invalid {
                field: "password",
                message: "the two passwords differ".into(),
            });
        }
        if !self.setup.take(&s.code) {
            return Err(SetupError::InvalidLink);
        }
        let created = self.create_admin(&s).await;
        if !matches!(created, Ok(_) | Err(SetupError::InvalidLink)) {
            self.setup.restore(&s.code);
        }
        let user = created?;
        Ok(sessions::start(&self.store, &user, address, now_ms()).await?)
    }

    async fn create_admin(&self, s: &Setup) -> Result<crate::store::UserRecord, SetupError> {
        let password = s.password.clone();
        // argon2 is deliberately slow: off the async threads.
        let hash = tokio::task::spawn_blocking(move || people::hash_password(&password))
            .await
            .map_err(|e| SetupError::Internal(e.to_string()))?
            .map_err(|e| SetupError::Invalid {
                field: "password",
                message: e.to_string(),
            })?;
        let user = NewUser {
            name: s.name.clone(),
            role: Role::Admin,
            targets: Vec::new(),
            password_hash: hash,
            created_by: "setup-link".into(),
        };
        // Someone exists already (another replica's link): this code has no use left.
        self.store
            .create_first_user(&user, now_ms())
            .await?
            .ok_or(SetupError::InvalidLink)
    }
}
