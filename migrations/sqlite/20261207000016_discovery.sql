-- Targets found by [[discover]] (issue 22). The set each discovery knows is kept here, not
-- in memory: every replica polls and acts on the same set, a restart or a reload starts from
-- it without discovering again, and a target is removed only after two discoveries in a row
-- missed it (`misses`). `found` is what the target's kind found (JSON: id, name, keys, group,
-- tags); the target is built from it with the discovery's configuration in force.
CREATE TABLE discovered_targets (
    name       TEXT PRIMARY KEY,
    discovery  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    account_id TEXT NOT NULL,
    -- The role the account is reached through; empty: the default credentials.
    role_arn   TEXT NOT NULL,
    region     TEXT NOT NULL,
    found      TEXT NOT NULL,
    misses     INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);

-- Each discovery's run: its outcome and its diff (JSON: added, removed, changed, missing,
-- errors), for GET /api/v1/discovery.
CREATE TABLE discovery_runs (
    id          INTEGER PRIMARY KEY,
    discovery   TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    targets     INTEGER NOT NULL,
    diff        TEXT NOT NULL
);
CREATE INDEX discovery_runs_by_discovery ON discovery_runs (discovery, id);
