-- People who sign in to the dashboard. The password is an argon2id PHC string; a role maps to
-- the same scopes as tokens, and `targets` (comma-separated, empty: every target) limits it.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    targets       TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
