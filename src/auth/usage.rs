//! When each token was last used (`last_used_at`, shown by `token list`): best effort, and
//! never in a request's way. The write runs after the answer, at most once a minute per token
//! (attempts count too, so a database that cannot write is not asked again on every request),
//! and a failure is logged, not returned: a full disk must not turn reads into errors or
//! make every request wait out the database's busy timeout.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::{Store, TokenRecord};

/// How often `last_used_at` is written for one token: per minute, not per request, so a busy
/// pipeline token does not turn every read into a database write.
const TOUCH_EVERY_MS: i64 = 60_000;

#[derive(Default)]
pub struct TokenUsage {
    /// Token id → when its last write was attempted.
    attempted: Mutex<HashMap<i64, i64>>,
}

impl TokenUsage {
    /// Records that `token` was used `now`, in the background when it is due.
    pub fn record(&self, store: &Store, token: &TokenRecord, now: i64) {
        let due = |t: i64| now - t >= TOUCH_EVERY_MS;
        {
            let mut attempted = self.attempted.lock().unwrap_or_else(|p| p.into_inner());
            let last = attempted.get(&token.id).copied();
            if !token.last_used_at.is_none_or(due) || !last.is_none_or(due) {
                return;
            }
            attempted.insert(token.id, now);
        }
        let (store, id, name) = (store.clone(), token.id, token.name.clone());
        tokio::spawn(async move {
            if let Err(e) = store.touch_token(id, now).await {
                tracing::warn!(error = %e, token = %name, "Could not record token use.");
            }
        });
    }
}
