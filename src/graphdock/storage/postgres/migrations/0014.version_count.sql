-- How many versions an assistant keeps, on its row: a search answers each row's count (the UI's
-- table shows it), and counting the versions of every row on a page cost PostgreSQL more than
-- the rest of the search. The statements that add or delete a version keep it, in the
-- transaction that does so (create, update, delete version, import); set_latest leaves it.
ALTER TABLE assistants ADD COLUMN version_count integer NOT NULL DEFAULT 1;
UPDATE assistants a SET version_count = (SELECT count(*) FROM assistant_versions v WHERE v.assistant_id = a.assistant_id);
