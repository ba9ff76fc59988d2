-- Browsers that signed in to an account before. A stranger's failed sign-ins count against
-- the account for browsers without such a cookie; a trusted browser is throttled on its own,
-- so nobody can lock the owner out of their usual browser (see auth/sessions.rs).
CREATE TABLE trusted_devices (
    id_hash      TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);
CREATE INDEX trusted_devices_user ON trusted_devices (user_id);

-- Failures older than the throttling window are deleted as new ones arrive (and the table is
-- capped), so a sustained attack from many addresses cannot grow it without bound.
CREATE INDEX sign_in_failures_at ON sign_in_failures (at);
