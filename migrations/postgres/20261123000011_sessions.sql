-- Dashboard sessions: the cookie holds a random secret, the row its SHA-256 (a stolen database
-- cannot be replayed as cookies). Idle and absolute expiry are checked on every request;
-- revoking sets revoked_at. Rows live in the store, so a restart keeps them and every replica
-- sees them. The CSRF token belongs to the session and goes into every form.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    csrf         TEXT NOT NULL,
    address      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed sign-ins, per account (`user:NAME`) and per address (`addr:IP`), counted over a
-- window to throttle guessing on every replica at once.
CREATE TABLE sign_in_failures (
    key TEXT NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_key ON sign_in_failures (key, at);
