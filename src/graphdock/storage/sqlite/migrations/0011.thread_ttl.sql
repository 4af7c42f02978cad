-- Retention: a thread's own TTL (NULL: the deployment's checkpointer.ttl applies), and the row
-- replicas claim a sweep on, so that one of them sweeps per interval.
ALTER TABLE threads ADD COLUMN ttl_minutes REAL;
ALTER TABLE threads ADD COLUMN ttl_strategy TEXT;             -- delete | keep_latest
-- keep_latest: the updated_at the thread had when it was last pruned. Used since, it is due again;
-- not used since, a sweep leaves it be instead of pruning it over and over.
ALTER TABLE threads ADD COLUMN pruned_at TEXT;
CREATE INDEX threads_ttl ON threads (ttl_minutes) WHERE ttl_minutes IS NOT NULL;

CREATE TABLE sweeps (
    name     TEXT PRIMARY KEY,
    next_at  TEXT NOT NULL,     -- no other sweep of this name starts before then
    holder   TEXT NOT NULL      -- the process that claimed the last one, for the logs
);
