-- Every version records how it was made and by whom (the audit trail).
-- change: create | update | restore | import; changed_by: the authenticated identity, if any;
-- restored_from: for a restore, the version whose snapshot it copied.

ALTER TABLE assistant_versions ADD COLUMN change TEXT NOT NULL DEFAULT 'update';
ALTER TABLE assistant_versions ADD COLUMN changed_by TEXT;
ALTER TABLE assistant_versions ADD COLUMN restored_from INTEGER;
UPDATE assistant_versions SET change = 'create' WHERE version = 1;
