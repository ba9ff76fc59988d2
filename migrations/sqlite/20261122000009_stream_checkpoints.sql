-- DynamoDB Streams read as event sources: per shard, the last sequence number whose events
-- were accepted (reading resumes after it) and whether the shard is read to its end; per
-- stream, when it was first read (start = "latest" skips what is older).
CREATE TABLE stream_checkpoints (
    stream      TEXT NOT NULL,
    shard_id    TEXT NOT NULL,
    sequence    TEXT,
    finished    BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (stream, shard_id)
);

CREATE TABLE stream_starts (
    stream      TEXT PRIMARY KEY,
    started_at  BIGINT NOT NULL
);
