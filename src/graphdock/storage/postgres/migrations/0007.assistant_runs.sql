-- An assistant's runs across its threads (GET /assistants/{id}/runs) and each version's run stats
-- (run_stats in the versions list). Without these, both scanned every run of every assistant.
-- Newest first over all versions, ties in insertion order (seq), as the listing sorts.
CREATE INDEX runs_assistant ON runs (assistant_id, created_at, seq);
-- One version's runs, newest first; status and updated_at ride along so the stats (counts, errors,
-- durations) can be an index-only scan.
CREATE INDEX runs_assistant_version ON runs (assistant_id, assistant_version, created_at, seq)
    INCLUDE (status, updated_at);
