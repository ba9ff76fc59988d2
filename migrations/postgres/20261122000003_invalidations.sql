-- Invalidation jobs: stored before CloudFront is called, so nothing accepted is lost.
-- A job is in at most one batch (one CreateInvalidation); a batch serves several jobs.
CREATE TABLE cloudfront_batches (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target           TEXT    NOT NULL,
    distribution_id  TEXT    NOT NULL,
    -- Derived from the batch id and its items: a retried call after a crash or a timeout
    -- sends the same reference, and CloudFront answers with the invalidation it already has.
    caller_reference TEXT    NOT NULL UNIQUE,
    items            TEXT    NOT NULL,
    files            BIGINT NOT NULL,
    wildcards        BIGINT NOT NULL,
    -- pending | in_progress | completed | failed
    state            TEXT    NOT NULL,
    invalidation_id  TEXT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    error            TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT,
    completed_at     BIGINT
);
CREATE INDEX cloudfront_batches_state ON cloudfront_batches (state, next_attempt_at);

CREATE TABLE invalidation_jobs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target          TEXT    NOT NULL,
    requester       TEXT    NOT NULL,
    idempotency_key TEXT,
    request_hash    TEXT    NOT NULL,
    items           TEXT    NOT NULL,
    -- queued | running | completed | failed | cancelled
    state           TEXT    NOT NULL,
    batch_id        BIGINT REFERENCES cloudfront_batches (id),
    error           TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    deadline_at     BIGINT NOT NULL,
    completed_at    BIGINT
);
CREATE UNIQUE INDEX invalidation_jobs_key ON invalidation_jobs (target, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX invalidation_jobs_state ON invalidation_jobs (state, target);
CREATE INDEX invalidation_jobs_batch ON invalidation_jobs (batch_id);

-- Paths CloudFront billed, by calendar month (UTC), for the account this deployment uses.
CREATE TABLE cloudfront_billing (
    month TEXT    PRIMARY KEY,
    paths BIGINT NOT NULL
);
