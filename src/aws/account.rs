//! Acting in another AWS account: a target's `role_arn` (with `external_id` and
//! `session_name`) is assumed with STS, and everything done for that target (polling,
//! invalidations, flushes) uses the role's credentials. Without one, the default chain.
//!
//! The SDK's identity cache keeps the assumed credentials and refreshes them before they
//! expire; [`Accounts`] keeps one configuration per role so that cache is shared by every
//! client built for it.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};

use crate::domain::Account;

/// Credentials of an assumed role. The STS client is built on first use (building it is
/// async), and a failure names the role, since the SDK's own message does not.
#[derive(Debug)]
struct AssumedRole {
    account: Account,
    base: SdkConfig,
    provider: tokio::sync::OnceCell<AssumeRoleProvider>,
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            let p = self
                .provider
                .get_or_init(|| async {
                    let mut b = AssumeRoleProvider::builder(self.account.role_arn())
                        .session_name(self.account.session_name())
                        .configure(&self.base);
                    if let Some(id) = self.account.external_id() {
                        b = b.external_id(id);
                    }
                    b.build().await
                })
                .await;
            p.provide_credentials().await.map_err(|e| {
                let why = aws_sdk_cloudwatch::error::DisplayErrorContext(&e);
                provider::error::CredentialsError::provider_error(format!(
                    "cannot assume role {} (sts:AssumeRole): {why}",
                    self.account.role_arn()
                ))
            })
        })
    }
}

/// SDK configurations by account: the base one for targets without a role, one per role
/// otherwise, each built once so its credentials are assumed once and refreshed by the SDK.
#[derive(Debug)]
pub struct Accounts {
    base: SdkConfig,
    roles: Mutex<HashMap<Account, SdkConfig>>,
}

impl Accounts {
    pub fn new(base: SdkConfig) -> Self {
        Self {
            base,
            roles: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration to act with for a target in `account` (`None`: the default chain).
    pub fn config(&self, account: Option<&Account>) -> SdkConfig {
        let Some(account) = account else {
            return self.base.clone();
        };
        let mut roles = match self.roles.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        roles
            .entry(account.clone())
            .or_insert_with(|| {
                let role = AssumedRole {
                    account: account.clone(),
                    base: self.base.clone(),
                    provider: tokio::sync::OnceCell::new(),
                };
                self.base
                    .to_builder()
                    .credentials_provider(SharedCredentialsProvider::new(role))
                    .build()
            })
            .clone()
    }
}
