-- Name search is a case-insensitive substring match, which no b-tree serves: at 100,000 assistants
-- it called the match function on every row walked. An FTS5 index of the names' trigrams (case
-- folded by FTS5) narrows a search to the rows holding every trigram of the needle; the exact
-- predicate still decides (storage/sqlite/name_index.py says when the index may be asked).
--
-- External content: the names are stored once, in assistants; the index is keyed by its rowid,
-- which VACUUM keeps (SQLite >= 3.28 copies rowids; 'rebuild' below would restore it otherwise).
--
-- detail = none: a search asks for names holding each of a set of trigrams, never for a phrase
-- (name_index.py says why), so the index keeps no positions; that makes it smaller and every write
-- that touches it cheaper.
CREATE VIRTUAL TABLE assistants_name_fts USING fts5 (
    name, content = 'assistants', content_rowid = 'rowid', tokenize = 'trigram', detail = none
);

-- Triggers, so every write (create, update, set_latest, import, delete) keeps the index in the
-- same transaction as the row. An external-content 'delete' must be given the text it indexed.
CREATE TRIGGER assistants_name_fts_insert AFTER INSERT ON assistants BEGIN
    INSERT INTO assistants_name_fts (rowid, name) VALUES (new.rowid, new.name);
END;
CREATE TRIGGER assistants_name_fts_delete AFTER DELETE ON assistants BEGIN
    INSERT INTO assistants_name_fts (assistants_name_fts, rowid, name) VALUES ('delete', old.rowid, old.name);
END;
-- Every update sets name (to the same value, mostly): only a changed name touches the index.
CREATE TRIGGER assistants_name_fts_update AFTER UPDATE OF name ON assistants
WHEN old.name IS NOT new.name BEGIN
    INSERT INTO assistants_name_fts (assistants_name_fts, rowid, name) VALUES ('delete', old.rowid, old.name);
    INSERT INTO assistants_name_fts (rowid, name) VALUES (new.rowid, new.name);
END;

-- The assistants stored before this migration.
INSERT INTO assistants_name_fts (assistants_name_fts) VALUES ('rebuild');
