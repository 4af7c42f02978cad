-- Threads and the runs on them. Checkpoints are not here: LangGraph's own saver keeps them.
-- IF NOT EXISTS: graphdock before issue 16 applied a migration and recorded it in two steps, so a
-- start killed in between left these tables unrecorded; re-applying now completes that database.
-- (yoyo knows a migration by its id, so editing an applied one changes nothing where it ran.)

CREATE TABLE IF NOT EXISTS threads (
    thread_id      TEXT PRIMARY KEY,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    metadata       TEXT NOT NULL,          -- JSON
    status         TEXT NOT NULL,          -- idle | busy | interrupted | error
    "values"       TEXT,                   -- JSON: the latest state values, copied when a run ends
    interrupts     TEXT NOT NULL,          -- JSON: {task_id: [interrupt, ...]}
    -- The assistant whose run made the thread, for delete_threads=true (also in metadata).
    assistant_id   TEXT
);
CREATE INDEX IF NOT EXISTS threads_created_at ON threads (created_at, thread_id);
CREATE INDEX IF NOT EXISTS threads_updated_at ON threads (updated_at, thread_id);
CREATE INDEX IF NOT EXISTS threads_assistant ON threads (assistant_id);

CREATE TABLE IF NOT EXISTS runs (
    run_id             TEXT PRIMARY KEY,
    thread_id          TEXT NOT NULL REFERENCES threads (thread_id) ON DELETE CASCADE,
    assistant_id       TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    status             TEXT NOT NULL,      -- pending | running | error | success | timeout | interrupted
    metadata           TEXT NOT NULL,
    multitask_strategy TEXT NOT NULL,
    kwargs             TEXT NOT NULL,
    pinned_version     INTEGER,
    assistant_version  INTEGER,
    error              TEXT,
    temporary          INTEGER NOT NULL DEFAULT 0,
    not_before         TEXT
);
CREATE INDEX IF NOT EXISTS runs_thread ON runs (thread_id, created_at);
-- The queue: only active runs are in it, so claiming stays cheap however many runs are kept.
CREATE INDEX IF NOT EXISTS runs_active ON runs (status, created_at) WHERE status IN ('pending', 'running');
