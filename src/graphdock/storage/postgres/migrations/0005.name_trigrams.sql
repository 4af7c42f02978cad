-- Name search is a case-insensitive substring match (`lower(name) LIKE '%…%'`), which no b-tree
-- can serve: at 100,000 assistants it scanned every row. A trigram index serves it. pg_trgm ships
-- with PostgreSQL and is a trusted extension (a database owner may create it); where it is not
-- available the search still works, unindexed, and this migration changes nothing.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX IF NOT EXISTS assistants_name_trgm ON assistants USING gin (lower(name) gin_trgm_ops);
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm could not be created: name search stays unindexed';
END
$$;
