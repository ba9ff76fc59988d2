-- One row that /readyz rewrites: a write that must succeed for the replica to be ready.
CREATE TABLE readiness (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL
);
