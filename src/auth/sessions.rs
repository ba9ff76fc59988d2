//! Dashboard sessions: sign-in with throttling, opening a session from its cookie (idle and
//! absolute expiry), signing out. The cookie carries 256 random bits; the store keeps their
//! SHA-256, so the rows cannot be replayed as cookies, and every replica sees every session.
//!
//! Throttling follows the "device cookie" scheme: a browser that signed in to an account gets
//! a second random cookie, and from then on its failures for that account are counted on their
//! own. Every other client is counted per account and address, per address, and per account
//! together; so a stranger guessing from anywhere can lock out only other strangers (and the
//! owner on a browser they never signed in from), never the owner's usual browser, and one
//! address still gets five guesses per account per window, as before.

use std::sync::OnceLock;
use std::time::Duration;

use secrecy::SecretString;

use super::people::{hash_password, verify_password};
use super::{Principal, hash_token, random_hex};
use crate::store::{NewSession, SessionRecord, Store, StoreError, UserRecord};

/// The cookie's name.
pub const COOKIE: &str = "cw_session";
/// A session unused this long ends (a shift's worth: a tab with live updates keeps it alive).
pub const IDLE: Duration = Duration::from_secs(8 * 3600);
/// A session ends this long after sign-in, used or not.
pub const LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Activity is written at most this often (not on every page).
const TOUCH_EVERY_MS: i64 = 60_000;

/// Failed sign-ins counted over this window…
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// …at most this many per account from one address (slows guessing one password to a crawl)…
pub const PER_ACCOUNT_AND_ADDRESS: i64 = 5;
/// …this many per address (one address trying many accounts)…
pub const PER_ADDRESS: i64 = 20;
/// …this many per account from every untrusted client together (guessing from many
/// addresses at once stays bounded)…
pub const PER_ACCOUNT: i64 = 25;
/// …and this many per trusted browser, which nothing else counts against.
pub const PER_DEVICE: i64 = 5;
/// How long a browser stays trusted after it last signed in.
pub const DEVICE_TRUST: Duration = Duration::from_secs(90 * 86_400);
/// The device cookie's name.
pub const DEVICE_COOKIE: &str = "cw_device";
/// Failed sign-ins remembered at most (the oldest beyond are forgotten).
pub const FAILURES_KEPT: u32 = 50_000;

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub user: UserRecord,
    /// Goes into every form and every non-GET fetch of the page.
    pub csrf: String,
    /// The hash it is stored under (to sign out).
    pub id_hash: String,
}

/// Why a sign-in failed. Wrong names, wrong passwords and disabled people get the same
/// answer, so the form does not tell which names exist.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the name or the password is wrong")]
    Wrong,
    #[error("too many failed sign-ins; try again in {} minutes", retry_after.as_secs().div_ceil(60))]
    Throttled { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Compared against when the name is unknown, so that answer takes as long as a wrong
/// password (timing would otherwise tell which names exist).
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password(&SecretString::from(random_hex::<32>())).expect("a random password is valid")
    })
}

/// Opens a session for `user`; returns the cookie's secret and the session.
pub async fn start(
    store: &Store,
    user: &UserRecord,
    address: &str,
    now: i64,
) -> Result<(SecretString, Session), StoreError> {
    let secret = random_hex::<32>();
    let row = NewSession {
        id_hash: hash_token(&secret),
        user_id: user.id,
        csrf: random_hex::<32>(),
        address: address.to_owned(),
        expires_at: now + LIFETIME.as_millis() as i64,
    };
    store.create_session(&row, now).await?;
    let session = Session {
        principal: Principal::from(user),
        user: user.clone(),
        csrf: row.csrf,
        id_hash: row.id_hash,
    };
    Ok((SecretString::from(secret), session))
}

/// A sign-in that worked: the session's cookie secret, the session, and the device secret
/// the browser keeps (the one it sent, when it was already trusted for this person).
pub struct SignedIn {
    pub secret: SecretString,
    pub session: Session,
    pub device: SecretString,
}

/// The failure counters a client is held to: `(key, limit)`.
fn counters(name: &str, address: &str, trusted: Option<&str>) -> Vec<(String, i64)> {
    match trusted {
        Some(device) => vec![(format!("device:{device}"), PER_DEVICE)],
        None => vec![
            (format!("user:{name}@{address}"), PER_ACCOUNT_AND_ADDRESS),
            (format!("addr:{address}"), PER_ADDRESS),
            (format!("user:{name}"), PER_ACCOUNT),
        ],
    }
}

/// Checks a name and password and opens a session. Refused before the password is even
/// checked when the client has failed too often within [`WINDOW`] (see the module's
/// comment for who is counted how). `device` is the device cookie the browser sent.
pub async fn sign_in(
    store: &Store,
    name: &str,
    password: SecretString,
    address: &str,
    device: Option<&str>,
    now: i64,
) -> Result<SignedIn, SignInError> {
    let window_ms = WINDOW.as_millis() as i64;
    let found = store.user_for_sign_in(name).await?;
    let device_hash = device.filter(|d| !d.is_empty()).map(hash_token);
    let trusted = match (&device_hash, &found) {
        (Some(h), Some((user, _))) => {
            let since = now - DEVICE_TRUST.as_millis() as i64;
            store.trusted_device_user(h, since).await? == Some(user.id)
        }
        _ => false,
    };
    let counted = counters(name, address, device_hash.as_deref().filter(|_| trusted));
    for (key, limit) in &counted {
        let (failures, oldest) = store.sign_in_failures(key, now - window_ms).await?;
        if failures >= *limit {
            let frees_at = oldest.unwrap_or(now) + window_ms;
            return Err(SignInError::Throttled {
                retry_after: Duration::from_millis((frees_at - now).max(1000) as u64),
            });
        }
    }
    let hash = found
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |(_, h)| h.clone());
    // argon2 is deliberately slow: off the async threads.
    let matches = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    match found {
        Some((user, _)) if matches && !user.disabled => {
            // The person proved who they are: their account's counters start afresh (an
            // address's count stays: it may be trying other accounts).
            for (key, _) in counted.iter().filter(|(k, _)| !k.starts_with("addr:")) {
                store.clear_sign_in_failures(key, now - window_ms).await?;
            }
            let device = match device.filter(|_| trusted) {
                Some(d) => SecretString::from(d.to_owned()),
                None => SecretString::from(random_hex::<32>()),
            };
            use secrecy::ExposeSecret;
            store
                .trust_device(&hash_token(device.expose_secret()), user.id, now)
                .await?;
            let (secret, session) = start(store, &user, address, now).await?;
            Ok(SignedIn {
                secret,
                session,
                device,
            })
        }
        _ => {
            let keys: Vec<&str> = counted.iter().map(|(k, _)| k.as_str()).collect();
            store
                .record_sign_in_failure(&keys, now, now - window_ms, FAILURES_KEPT)
                .await?;
            Err(SignInError::Wrong)
        }
    }
}

/// Whether a stored session is still live at `now`.
fn live(s: &SessionRecord, now: i64) -> bool {
    !s.user.disabled && now < s.expires_at && now - s.last_seen_at < IDLE.as_millis() as i64
}

/// The session a cookie's secret opens, or `None` when it is unknown, revoked, expired or
/// its person is disabled.
pub async fn open(store: &Store, secret: &str, now: i64) -> Result<Option<Session>, StoreError> {
    let id_hash = hash_token(secret);
    let Some(record) = store.find_session(&id_hash).await? else {
        return Ok(None);
    };
    if !live(&record, now) {
        return Ok(None);
    }
    if now - record.last_seen_at >= TOUCH_EVERY_MS {
        store.touch_session(&id_hash, now).await?;
    }
    Ok(Some(Session {
        principal: Principal::from(&record.user),
        user: record.user,
        csrf: record.csrf,
        id_hash,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn record(last_seen_at: i64, expires_at: i64, disabled: bool) -> SessionRecord {
        SessionRecord {
            user: UserRecord {
                id: 1,
                name: "alice".into(),
                role: Role::Viewer,
                targets: vec![],
                disabled,
                created_by: "cli:root".into(),
                created_at: 0,
                updated_at: 0,
            },
            csrf: "c".into(),
            created_at: 0,
            last_seen_at,
            expires_at,
        }
    }

    #[test]
    fn sessions_end_when_idle_too_long_past_their_lifetime_or_with_their_person() {
        let idle = IDLE.as_millis() as i64;
        let now = 100 * idle;
        assert!(live(&record(now - idle + 1, now + 1, false), now));
        assert!(!live(&record(now - idle, now + 1, false), now), "idle");
        assert!(!live(&record(now, now, false), now), "past its lifetime");
        assert!(!live(&record(now, now + 1, true), now), "person disabled");
    }
}
