//! `cachewarden token create|list|revoke`: works on the database directly, so the first admin
//! token can be made before any token exists. Every change is audited as `cli:USER`.

use clap::Subcommand;
use secrecy::ExposeSecret;

use super::{Failure, fail, invalid};
use crate::auth::manage::{self, TokenRequest};
use crate::config::Settings;
use crate::service_error::ServiceError;
use crate::store::{AuditEntry, Outcome, Store, StoreError, now_ms};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once on stdout (details go to stderr).
    Create {
        /// Who or what the token is for; it is the actor in the audit log.
        #[arg(long)]
        name: String,
        /// read, invalidate, purge, respond or admin; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Limit the token to this target; repeat for several. Default: every target.
        #[arg(long = "target")]
        targets: Vec<String>,
        /// Expire after this long, e.g. 90d. Default: never.
        #[arg(long)]
        expires_in: Option<String>,
        /// Print the token with its record as JSON (the secret is the `token` field).
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never their secrets).
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke the active token with this name.
    Revoke {
        /// The token's name.
        name: String,
        /// Print the revoked token's record as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Who ran the command, for the audit log: `$USER` (or `$LOGNAME`), else the login name of
/// the process's user (cron and systemd jobs often have neither variable), else its uid.
pub(super) fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| whoami::fallible::username().ok())
        .unwrap_or_else(|| {
            // SAFETY: getuid has no preconditions and cannot fail.
            format!("uid:{}", unsafe { libc::getuid() })
        });
    format!("cli:{user}")
}

pub(super) async fn audit(
    store: &Store,
    action: &str,
    outcome: Outcome,
    detail: serde_json::Value,
) -> Result<(), Failure> {
    let entry = AuditEntry {
        actor: actor(),
        action: action.to_owned(),
        target: None,
        outcome,
        status: None,
        request_id: None,
        detail,
    };
    store
        .record_audit(&entry, now_ms())
        .await
        .map(|_| ())
        .map_err(|e| fail(format!("cannot write the audit log: {e}")))
}

pub(super) async fn run(
    cmd: TokenCommand,
    settings: &Settings,
    store: &Store,
) -> Result<(), Failure> {
    match cmd {
        TokenCommand::Create {
            name,
            scopes,
            targets,
            expires_in,
            json,
        } => {
            let request = TokenRequest {
                name,
                scopes,
                targets,
                expires_in,
            };
            // One readable line: every refused option, each as its flag.
            let spec = manage::parse_request(&request, settings).map_err(|errors| {
                let each: Vec<String> = errors
                    .iter()
                    .map(|e| {
                        format!(
                            "--{}",
                            e.to_string()
                                .replacen("scopes", "scope", 1)
                                .replacen("targets", "target", 1)
                                .replacen("expires_in", "expires-in", 1)
                        )
                    })
                    .collect();
                invalid(each.join("; "))
            })?;
            let (secret, record) =
                manage::create(store, &spec, &actor())
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict(m) => invalid(m),
                        other => fail(other),
                    })?;
            audit(
                store,
                "token.create",
                Outcome::Ok,
                manage::audit_detail(&record),
            )
            .await?;
            eprintln!(
                "Created token {:?} with scopes {} (shown once; store it now):",
                record.name.as_str(),
                record.scopes.to_db()
            );
            if json {
                let mut shown = serde_json::to_value(&record).map_err(fail)?;
                shown["token"] = secret.expose_secret().into();
                println!("{}", serde_json::to_string_pretty(&shown).map_err(fail)?);
            } else {
                println!("{}", secret.expose_secret());
            }
            Ok(())
        }
        TokenCommand::List { json } => {
            let tokens = store.list_tokens().await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens).map_err(fail)?);
                return Ok(());
            }
            println!(
                "{:<24} {:<13} {:<28} {:<20} STATE",
                "NAME", "PREFIX", "SCOPES", "TARGETS"
            );
            for t in tokens {
                let targets = if t.targets.is_empty() {
                    "*".to_owned()
                } else {
                    t.targets
                        .iter()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let state = match (t.revoked_at, t.expires_at) {
                    (Some(_), _) => "revoked",
                    (None, Some(e)) if e <= now_ms() => "expired",
                    _ => "active",
                };
                println!(
                    "{:<24} {:<13} {:<28} {:<20} {state}",
                    t.name.as_str(),
                    t.prefix,
                    t.scopes.to_db(),
                    targets
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { name, json } => {
            let record = manage::revoke(store, &name).await.map_err(|e| match e {
                ServiceError::Store(s) => fail(s),
                refused => invalid(refused.to_string()),
            })?;
            audit(
                store,
                "token.revoke",
                Outcome::Ok,
                manage::audit_detail(&record),
            )
            .await?;
            eprintln!("Revoked token {name:?}.");
            if json {
                println!("{}", serde_json::to_string_pretty(&record).map_err(fail)?);
            }
            Ok(())
        }
    }
}
