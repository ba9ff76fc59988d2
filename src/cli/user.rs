//! `cachewarden user create|list|disable|enable|reset-password`: the people who sign in to the
//! dashboard, managed on the database directly like tokens. Passwords are read from a terminal
//! prompt, or from standard input with `--password-stdin` (for scripts), never from an
//! argument (it would be in the shell history and the process list). Every change is audited
//! as `cli:USER`, without the password.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;
use secrecy::SecretString;
use serde_json::json;

use super::token::audit;
use super::{Failure, fail, invalid};
use crate::auth::people;
use crate::config::Settings;
use crate::domain::{Role, TargetName};
use crate::store::{NewUser, Outcome, Store, StoreError, UserRecord, now_ms};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a person who signs in to the dashboard; the password is asked for.
    Create {
        /// Their sign-in name (an e-mail address is fine).
        name: String,
        /// viewer, responder (acknowledges and silences), operator (also invalidates and
        /// purges) or admin.
        #[arg(long)]
        role: String,
        /// Limit them to this target; repeat for several. Default: every target.
        #[arg(long = "target")]
        targets: Vec<String>,
        /// Read the password from the first line of standard input instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
        /// Print the record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List people (never their passwords).
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop a person from signing in (their record and audit trail stay).
    Disable {
        /// Their sign-in name.
        name: String,
    },
    /// Let a disabled person sign in again.
    Enable {
        /// Their sign-in name.
        name: String,
    },
    /// Set a new password (asked for, or read with --password-stdin).
    ResetPassword {
        /// Their sign-in name.
        name: String,
        /// Read the password from the first line of standard input instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// The password, from standard input or a prompt (asked twice); checked against the rule.
fn read_password(from_stdin: bool) -> Result<SecretString, Failure> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| fail(format!("cannot read the password from standard input: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(fail)?;
        let again = rpassword::prompt_password("Again: ").map_err(fail)?;
        if first != again {
            return Err(invalid("the two passwords differ"));
        }
        first
    } else {
        return Err(invalid(
            "no terminal to ask for the password on: give --password-stdin and pipe it in",
        ));
    };
    let password = SecretString::from(password);
    people::check_password(&password).map_err(|e| invalid(format!("password: {e}")))?;
    Ok(password)
}

fn detail(u: &UserRecord) -> serde_json::Value {
    json!({ "user": u.name, "role": u.role, "targets": u.targets, "disabled": u.disabled })
}

fn not_found(name: &str) -> impl FnOnce(StoreError) -> Failure + '_ {
    move |e| match e {
        StoreError::NotFound => invalid(format!("no user named {name:?}")),
        other => fail(other),
    }
}

pub(super) async fn run(
    cmd: UserCommand,
    settings: &Settings,
    store: &Store,
) -> Result<(), Failure> {
    match cmd {
        UserCommand::Create {
            name,
            role,
            targets,
            password_stdin,
            json,
        } => {
            people::check_user_name(&name).map_err(|e| invalid(format!("{name:?}: {e}")))?;
            let role: Role = role.parse().map_err(|e| invalid(format!("--role: {e}")))?;
            let mut limits = Vec::new();
            for t in &targets {
                let name =
                    TargetName::parse(t).map_err(|e| invalid(format!("--target {t:?}: {e}")))?;
                if settings.target(&name).is_none() {
                    return Err(invalid(format!(
                        "--target {t:?}: no such target is configured"
                    )));
                }
                limits.push(name);
            }
            let password = read_password(password_stdin)?;
            let hash = people::hash_password(&password).map_err(fail)?;
            let record = store
                .create_user(
                    &NewUser {
                        name,
                        role,
                        targets: limits,
                        password_hash: hash,
                        created_by: super::token::actor(),
                    },
                    now_ms(),
                )
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(m) => invalid(m),
                    other => fail(other),
                })?;
            audit(store, "user.create", Outcome::Ok, detail(&record)).await?;
            eprintln!("Created user {:?} ({}).", record.name, record.role);
            if json {
                println!("{}", serde_json::to_string_pretty(&record).map_err(fail)?);
            }
            Ok(())
        }
        UserCommand::List { json } => {
            let users = store.list_users().await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users).map_err(fail)?);
                return Ok(());
            }
            println!("{:<32} {:<10} {:<24} STATE", "NAME", "ROLE", "TARGETS");
            for u in users {
                let targets = if u.targets.is_empty() {
                    "*".to_owned()
                } else {
                    u.targets
                        .iter()
                        .map(TargetName::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let state = if u.disabled { "disabled" } else { "active" };
                println!(
                    "{:<32} {:<10} {:<24} {state}",
                    u.name,
                    u.role.as_str(),
                    targets
                );
            }
            Ok(())
        }
        UserCommand::Disable { name } => {
            let u = store
                .set_user_disabled(&name, true, now_ms())
                .await
                .map_err(not_found(&name))?;
            audit(store, "user.disable", Outcome::Ok, detail(&u)).await?;
            eprintln!("Disabled user {name:?}.");
            Ok(())
        }
        UserCommand::Enable { name } => {
            let u = store
                .set_user_disabled(&name, false, now_ms())
                .await
                .map_err(not_found(&name))?;
            audit(store, "user.enable", Outcome::Ok, detail(&u)).await?;
            eprintln!("Enabled user {name:?}.");
            Ok(())
        }
        UserCommand::ResetPassword {
            name,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            let hash = people::hash_password(&password).map_err(fail)?;
            let u = store
                .set_user_password(&name, &hash, now_ms())
                .await
                .map_err(not_found(&name))?;
            audit(store, "user.reset_password", Outcome::Ok, detail(&u)).await?;
            eprintln!("Set a new password for {name:?}.");
            Ok(())
        }
    }
}
