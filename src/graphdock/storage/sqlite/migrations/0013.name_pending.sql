-- The name index's writes, batched: 0012's triggers wrote to the FTS5 index in every transaction
-- that touched a name, and FTS5 turns each such transaction into a new segment (a leaf, its %_idx
-- entry, the structure record, the averages, a docsize row: ~5 more pages for the WAL and the
-- checkpoint). That made a create ~0.07 ms and a delete ~0.1 ms dearer in CPU. A plain trigram
-- table was no cheaper: it dirtied one b-tree page per distinct trigram, ~9 per name.
--
-- So, like PostgreSQL's GIN "fastupdate" pending list: a write only notes the assistant's rowid
-- here, and every PENDING_MAX (storage/sqlite/name_index.py) notes, one transaction moves them all
-- into the index, one segment for all of them. A search takes the pending rows as candidates
-- beside the index's (the exact predicate decides, as for every candidate).
--
-- The invariant: an assistant whose rowid is not pending has exactly its current name in the
-- index (or nothing, when no such row exists); a pending one has `indexed` in it (NULL: nothing),
-- which is what the flush must give to the external-content 'delete'. Every trigger keeps it:
-- the first note since the last flush records what the index holds, later ones keep that note
-- (INSERT OR IGNORE, which also fires no trigger when it ignores).
DROP TRIGGER assistants_name_fts_insert;
DROP TRIGGER assistants_name_fts_delete;
DROP TRIGGER assistants_name_fts_update;

CREATE TABLE assistant_name_pending (
    assistant   INTEGER PRIMARY KEY,   -- the rowid of assistants (its row may be gone)
    indexed     TEXT                   -- the name the index holds for it, NULL for none
);

CREATE TRIGGER assistants_name_insert AFTER INSERT ON assistants BEGIN
    INSERT OR IGNORE INTO assistant_name_pending (assistant, indexed) VALUES (new.rowid, NULL);
END;
CREATE TRIGGER assistants_name_delete AFTER DELETE ON assistants BEGIN
    INSERT OR IGNORE INTO assistant_name_pending (assistant, indexed) VALUES (old.rowid, old.name);
END;
-- Every update sets name (to the same value, mostly): only a changed name is noted.
CREATE TRIGGER assistants_name_update AFTER UPDATE OF name ON assistants
WHEN old.name IS NOT new.name BEGIN
    INSERT OR IGNORE INTO assistant_name_pending (assistant, indexed) VALUES (old.rowid, old.name);
END;

-- The flush, in the transaction of the write that makes the 32nd note (name_index.PENDING_MAX).
-- CROSS JOIN keeps the notes as the outer loop: without statistics the planner would walk every
-- assistant and look each up among the notes.
CREATE TRIGGER assistant_name_pending_flush AFTER INSERT ON assistant_name_pending
WHEN (SELECT count(*) FROM assistant_name_pending) >= 32 BEGIN
    INSERT INTO assistants_name_fts (assistants_name_fts, rowid, name)
    SELECT 'delete', assistant, indexed FROM assistant_name_pending WHERE indexed IS NOT NULL;
    INSERT INTO assistants_name_fts (rowid, name)
    SELECT a.rowid, a.name FROM assistant_name_pending AS p CROSS JOIN assistants AS a ON a.rowid = p.assistant;
    DELETE FROM assistant_name_pending;
END;

-- Batched, the index gets fewer and larger segments, and FTS5's default (a level's segments are
-- merged once it holds 4) left up to three large ones side by side, each searched for every
-- trigram: 'name 4321' at 100,000 names took 0.39 ms against 0.29 with 0012's segment per write.
-- Merging two at a time keeps one or two per level; with detail = none the whole index is ~240
-- pages at 100,000 names, so the extra merging costs the writes little.
INSERT INTO assistants_name_fts (assistants_name_fts, rank) VALUES ('automerge', 2);
