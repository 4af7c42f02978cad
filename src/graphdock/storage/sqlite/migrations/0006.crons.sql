-- Crons: a schedule and the run each firing creates. A cron goes with its assistant (deleted in
-- the same transaction as the assistant, by delete_assistant) and with its thread (ON DELETE CASCADE).

CREATE TABLE crons (
    cron_id          TEXT PRIMARY KEY,
    assistant_id     TEXT NOT NULL,
    thread_id        TEXT REFERENCES threads (thread_id) ON DELETE CASCADE,
    schedule         TEXT NOT NULL,
    timezone         TEXT,
    end_time         TEXT,
    enabled          INTEGER NOT NULL,
    on_run_completed TEXT,                -- delete | keep (stateless crons), NULL on thread crons
    payload          TEXT NOT NULL,       -- JSON: the run each firing creates
    metadata         TEXT NOT NULL,       -- JSON
    next_run_date    TEXT,                -- NULL once it never fires again
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    user_id          TEXT
);
-- The scheduler's question, every tick: which enabled crons are due?
CREATE INDEX crons_due ON crons (next_run_date) WHERE enabled = 1;
CREATE INDEX crons_assistant ON crons (assistant_id);
CREATE INDEX crons_thread ON crons (thread_id);
CREATE INDEX crons_created_at ON crons (created_at, cron_id);
-- A cron's history: the runs it made carry metadata.cron_id.
CREATE INDEX runs_cron ON runs (json_extract(metadata, '$.cron_id')) WHERE json_extract(metadata, '$.cron_id') IS NOT NULL;
