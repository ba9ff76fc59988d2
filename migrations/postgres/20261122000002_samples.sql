-- Collected series. A sample is one value of one series of one target (and node, '' for the
-- target as a whole) at one time. Ratios also keep their numerator and denominator
-- (hits, requests) so that rollups can sum them: the hit rate of an hour is
-- sum(hits) / sum(requests), never the mean of twelve 5-minute ratios.
-- The primary key is the upsert key: CloudWatch revises recent datapoints, and a re-read
-- replaces the stored value.
CREATE TABLE samples (
    target TEXT    NOT NULL,
    node   TEXT    NOT NULL DEFAULT '',
    series TEXT    NOT NULL,
    ts     BIGINT NOT NULL,
    value  DOUBLE PRECISION    NOT NULL,
    num    DOUBLE PRECISION,
    den    DOUBLE PRECISION,
    PRIMARY KEY (target, node, series, ts)
);
CREATE INDEX samples_ts ON samples (ts);

-- Rollups keep what composes: count, sum, min, max, and summed num/den for ratios.
CREATE TABLE samples_5m (
    target  TEXT    NOT NULL,
    node    TEXT    NOT NULL DEFAULT '',
    series  TEXT    NOT NULL,
    ts      BIGINT NOT NULL,
    count   BIGINT NOT NULL,
    sum     DOUBLE PRECISION    NOT NULL,
    min     DOUBLE PRECISION    NOT NULL,
    max     DOUBLE PRECISION    NOT NULL,
    num_sum DOUBLE PRECISION,
    den_sum DOUBLE PRECISION,
    PRIMARY KEY (target, node, series, ts)
);
CREATE INDEX samples_5m_ts ON samples_5m (ts);

CREATE TABLE samples_1h (
    target  TEXT    NOT NULL,
    node    TEXT    NOT NULL DEFAULT '',
    series  TEXT    NOT NULL,
    ts      BIGINT NOT NULL,
    count   BIGINT NOT NULL,
    sum     DOUBLE PRECISION    NOT NULL,
    min     DOUBLE PRECISION    NOT NULL,
    max     DOUBLE PRECISION    NOT NULL,
    num_sum DOUBLE PRECISION,
    den_sum DOUBLE PRECISION,
    PRIMARY KEY (target, node, series, ts)
);
CREATE INDEX samples_1h_ts ON samples_1h (ts);

-- The latest poll of each target: up or down, and why.
CREATE TABLE target_status (
    target          TEXT    PRIMARY KEY,
    up              BIGINT NOT NULL,
    last_poll_at    BIGINT NOT NULL,
    last_success_at BIGINT,
    last_error      TEXT,
    -- Up, but something the operator should know (e.g. CloudFront's CacheHitRate not enabled).
    notice          TEXT,
    duration_ms     BIGINT NOT NULL DEFAULT 0
);
