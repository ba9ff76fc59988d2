-- What each change cost its target's hit ratio, stored once it is final (a measurement still
-- under way is computed again when asked). `body` is the measurement as the API shows it; the
-- figures reports add up are columns of their own.
CREATE TABLE job_impacts (
    job_id             BIGINT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    state              TEXT             NOT NULL,
    extra_misses       DOUBLE PRECISION,
    recovered_after_ms BIGINT,
    body               TEXT             NOT NULL,
    measured_at        BIGINT           NOT NULL
);
