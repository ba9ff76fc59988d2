-- A dry run changes nothing: it must not mark charts, open an expected-dip window or be
-- reported as a change. The flag is the job's own (its kind sets it when it accepts the
-- request), so those queries filter on a column rather than on each kind's JSON.
ALTER TABLE jobs ADD COLUMN dry_run BIGINT NOT NULL DEFAULT 0;
UPDATE jobs SET dry_run = 1
 WHERE kind IN ('redis_purge', 'memcached_purge') AND (request::json ->> 'dry_run') = 'true';
