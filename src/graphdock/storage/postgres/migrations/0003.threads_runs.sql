-- Threads and the runs on them on PostgreSQL. Checkpoints are not here: LangGraph's own saver keeps them.

-- Ids are text, not uuid: they are the client's to choose and must come back byte for byte, as
-- SQLite returns them. COLLATE "C" sorts ids and statuses by bytes, as SQLite does, whatever
-- the database's default collation.
CREATE TABLE threads (
    thread_id      text COLLATE "C" PRIMARY KEY,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    metadata       jsonb NOT NULL,
    status         text COLLATE "C" NOT NULL,      -- idle | busy | interrupted | error
    "values"       jsonb,                          -- the latest state values, copied when a run ends
    interrupts     jsonb NOT NULL,                 -- {task_id: [interrupt, ...]}
    -- The assistant whose run made the thread, for delete_threads=true (also in metadata).
    assistant_id   text
);
CREATE INDEX threads_created_at ON threads (created_at, thread_id);
CREATE INDEX threads_updated_at ON threads (updated_at, thread_id);
CREATE INDEX threads_assistant ON threads (assistant_id);
-- Containment (metadata @> '{...}') searches start here.
CREATE INDEX threads_metadata ON threads USING gin (metadata jsonb_path_ops);

CREATE TABLE runs (
    run_id             text COLLATE "C" PRIMARY KEY,
    -- Insertion order, to break ties between equal created_at as SQLite's rowid does.
    seq                bigint GENERATED ALWAYS AS IDENTITY,
    thread_id          text COLLATE "C" NOT NULL REFERENCES threads (thread_id) ON DELETE CASCADE,
    assistant_id       text NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    status             text NOT NULL,  -- pending | running | error | success | timeout | interrupted
    metadata           jsonb NOT NULL,
    multitask_strategy text NOT NULL,
    kwargs             jsonb NOT NULL,
    pinned_version     integer,
    assistant_version  integer,
    error              jsonb,
    temporary          boolean NOT NULL DEFAULT false,
    not_before         timestamptz
);
CREATE INDEX runs_thread ON runs (thread_id, created_at, seq);
-- The queue: only active runs are in it, in claim order, so claiming stays cheap however many
-- finished runs are kept.
CREATE INDEX runs_active ON runs (created_at, seq) WHERE status IN ('pending', 'running');
-- One running run per thread, held by the database itself: claim_run's locking keeps it, and
-- should that ever fail, the second claim is refused instead of running two runs on one thread.
CREATE UNIQUE INDEX runs_one_running ON runs (thread_id) WHERE status = 'running';
