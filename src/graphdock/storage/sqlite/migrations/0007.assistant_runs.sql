-- An assistant's runs across its threads (GET /assistants/{id}/runs) and each version's run stats
-- (run_stats in the versions list). Without these, both scanned every run of every assistant.
-- Newest first over all versions: the rowid, implicitly last, breaks created_at ties.
CREATE INDEX runs_assistant ON runs (assistant_id, created_at);
-- One version's runs, newest first; status and updated_at ride along so the stats (counts, errors,
-- durations) are read from the index alone.
CREATE INDEX runs_assistant_version ON runs (assistant_id, assistant_version, created_at, status, updated_at);
