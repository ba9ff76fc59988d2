-- One job table for every kind of change cachewarden makes (DESIGN §4). Invalidation jobs move
-- here in place, keeping their ids, so links and pipelines that follow /invalidations/{id} go on.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- cloudfront_invalidation, … (each kind is an executor in src/jobs/registry.rs)
    kind             TEXT    NOT NULL,
    target           TEXT    NOT NULL,
    requester        TEXT    NOT NULL,
    idempotency_key  TEXT,
    -- Hash of the canonical request: a retry with the same key is told from a new request.
    request_hash     TEXT    NOT NULL,
    -- JSON owned by the kind.
    request          TEXT    NOT NULL,
    result           TEXT,
    progress         TEXT,
    -- queued | running | completed | failed | cancelled (domain::JobState)
    state            TEXT    NOT NULL,
    error            TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    parent_id        INTEGER REFERENCES jobs (id),
    -- Claims so far (a claim is a worker taking the job for one step).
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- Not claimed before this time; i64::MAX parks a job another job drives.
    run_after        INTEGER NOT NULL,
    -- The worker holding the job and until when; an expired lease is free to claim.
    lease_owner      TEXT,
    lease_until      INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    started_at       INTEGER,
    deadline_at      INTEGER NOT NULL,
    completed_at     INTEGER
);
CREATE UNIQUE INDEX jobs_key ON jobs (kind, target, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_runnable ON jobs (state, run_after);
CREATE INDEX jobs_target ON jobs (target, id);
CREATE INDEX jobs_parent ON jobs (parent_id);

-- Which jobs a CloudFront batch serves: CloudFront's own detail behind its executor.
CREATE TABLE cloudfront_batch_jobs (
    job_id   INTEGER PRIMARY KEY REFERENCES jobs (id),
    batch_id INTEGER NOT NULL REFERENCES cloudfront_batches (id)
);
CREATE INDEX cloudfront_batch_jobs_batch ON cloudfront_batch_jobs (batch_id);

-- 1 once an attempt may have reached CloudFront (an ambiguous error): from then on the
-- batch is never changed or abandoned, since CloudFront may hold it under its reference.
ALTER TABLE cloudfront_batches ADD COLUMN maybe_sent INTEGER NOT NULL DEFAULT 0;
UPDATE cloudfront_batches SET maybe_sent = 1 WHERE attempts > 0 OR sent_at IS NOT NULL;

-- The job that drives a batch (sends, tracks); the others in it are parked until it ends them.
ALTER TABLE cloudfront_batches ADD COLUMN lead_job_id INTEGER;
UPDATE cloudfront_batches SET lead_job_id = (SELECT MIN(id) FROM invalidation_jobs j WHERE j.batch_id = cloudfront_batches.id);

-- The lowest job of each live batch drives it; the others are parked until it ends them.
INSERT INTO jobs (id, kind, target, requester, idempotency_key, request_hash, request, result, state, error,
                  run_after, created_at, updated_at, started_at, deadline_at, completed_at)
SELECT j.id, 'cloudfront_invalidation', j.target, j.requester, j.idempotency_key, j.request_hash,
       json_object('items', json(j.items)),
       CASE WHEN b.id IS NULL THEN NULL ELSE json_object(
           'id', b.id, 'state', b.state, 'caller_reference', b.caller_reference,
           'invalidation_id', b.invalidation_id, 'items', json(b.items), 'attempts', b.attempts,
           'note', b.error) END,
       j.state, j.error,
       CASE WHEN j.batch_id IS NULL THEN j.created_at
            WHEN j.id = (SELECT MIN(x.id) FROM invalidation_jobs x WHERE x.batch_id = j.batch_id) THEN 0
            ELSE 9223372036854775807 END,
       j.created_at, j.updated_at, CASE WHEN j.batch_id IS NULL THEN NULL ELSE j.updated_at END,
       j.deadline_at, j.completed_at
FROM invalidation_jobs j LEFT JOIN cloudfront_batches b ON b.id = j.batch_id;

INSERT INTO cloudfront_batch_jobs (job_id, batch_id)
SELECT id, batch_id FROM invalidation_jobs WHERE batch_id IS NOT NULL;

DROP TABLE invalidation_jobs;

-- Outbox delivery is claimed, so that of several replicas one sends each message.
ALTER TABLE notifications ADD COLUMN claimed_by TEXT;
ALTER TABLE notifications ADD COLUMN claimed_until INTEGER;
