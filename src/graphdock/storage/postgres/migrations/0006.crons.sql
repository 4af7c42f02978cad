-- Crons: a schedule and the run each firing creates. A cron goes with its assistant (deleted in
-- the same transaction as the assistant, by delete_assistant) and with its thread (ON DELETE CASCADE).
-- Ids are text COLLATE "C", as for threads and runs, so both backends sort them the same way.

CREATE TABLE crons (
    cron_id          text COLLATE "C" PRIMARY KEY,
    assistant_id     text COLLATE "C" NOT NULL,
    thread_id        text COLLATE "C" REFERENCES threads (thread_id) ON DELETE CASCADE,
    schedule         text NOT NULL,
    timezone         text,
    end_time         timestamptz,
    enabled          boolean NOT NULL,
    on_run_completed text,                -- delete | keep (stateless crons), NULL on thread crons
    payload          jsonb NOT NULL,      -- the run each firing creates
    metadata         jsonb NOT NULL,
    next_run_date    timestamptz,         -- NULL once it never fires again
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    user_id          text
);
-- The scheduler's question, every tick: which enabled crons are due?
CREATE INDEX crons_due ON crons (next_run_date) WHERE enabled;
CREATE INDEX crons_assistant ON crons (assistant_id);
CREATE INDEX crons_thread ON crons (thread_id);
CREATE INDEX crons_created_at ON crons (created_at, cron_id);
CREATE INDEX crons_metadata ON crons USING gin (metadata jsonb_path_ops);
-- A cron's history: the runs it made carry metadata.cron_id.
CREATE INDEX runs_cron ON runs ((metadata->>'cron_id'), created_at) WHERE metadata ? 'cron_id';
