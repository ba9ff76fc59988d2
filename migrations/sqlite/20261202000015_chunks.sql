-- Samples in compressed chunks (issue 23). A series (target, node, name) gets an integer id
-- once; recent samples stay in uncompressed "head" tables keyed by (series_id, ts), which the
-- leader's maintenance compacts window by window into one encoded row per series and window
-- in `chunks`. The index on time over every sample goes: heads are read by series.

CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    node   TEXT NOT NULL,
    name   TEXT NOT NULL,
    UNIQUE (target, node, name)
);
INSERT INTO series (target, node, name)
    SELECT target, node, series FROM samples
    UNION SELECT target, node, series FROM samples_5m
    UNION SELECT target, node, series FROM samples_1h;

-- The heads keep their names and lose the text key. Existing samples move here; the first
-- compaction after the upgrade encodes every closed window of them into chunks.
CREATE TABLE samples_head (
    series_id INTEGER NOT NULL,
    ts        INTEGER NOT NULL,
    value     REAL NOT NULL,
    num       REAL,
    den       REAL,
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
INSERT INTO samples_head (series_id, ts, value, num, den)
    SELECT s.id, x.ts, x.value, x.num, x.den
    FROM samples x JOIN series s ON s.target = x.target AND s.node = x.node AND s.name = x.series;
DROP TABLE samples;
ALTER TABLE samples_head RENAME TO samples;

CREATE TABLE samples_5m_head (
    series_id INTEGER NOT NULL,
    ts        INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    sum       REAL NOT NULL,
    min       REAL NOT NULL,
    max       REAL NOT NULL,
    num_sum   REAL,
    den_sum   REAL,
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
INSERT INTO samples_5m_head (series_id, ts, count, sum, min, max, num_sum, den_sum)
    SELECT s.id, x.ts, x.count, x.sum, x.min, x.max, x.num_sum, x.den_sum
    FROM samples_5m x JOIN series s ON s.target = x.target AND s.node = x.node AND s.name = x.series;
DROP TABLE samples_5m;
ALTER TABLE samples_5m_head RENAME TO samples_5m;

CREATE TABLE samples_1h_head (
    series_id INTEGER NOT NULL,
    ts        INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    sum       REAL NOT NULL,
    min       REAL NOT NULL,
    max       REAL NOT NULL,
    num_sum   REAL,
    den_sum   REAL,
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
INSERT INTO samples_1h_head (series_id, ts, count, sum, min, max, num_sum, den_sum)
    SELECT s.id, x.ts, x.count, x.sum, x.min, x.max, x.num_sum, x.den_sum
    FROM samples_1h x JOIN series s ON s.target = x.target AND s.node = x.node AND s.name = x.series;
DROP TABLE samples_1h;
ALTER TABLE samples_1h_head RENAME TO samples_1h;

-- One closed window of one series at one resolution (0 raw, 1 five-minute, 2 one-hour):
-- its rows encoded by src/store/codec.rs. `last_ts` answers "did this series report since"
-- without decoding. An ordinary (rowid) table: its rows are a kilobyte or more, which a
-- WITHOUT ROWID table would push into overflow pages.
CREATE TABLE chunks (
    series_id  INTEGER NOT NULL,
    resolution INTEGER NOT NULL,
    start      INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    last_ts    INTEGER NOT NULL,
    data       BLOB NOT NULL,
    PRIMARY KEY (series_id, resolution, start)
);
