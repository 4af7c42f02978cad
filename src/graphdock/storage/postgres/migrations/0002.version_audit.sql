-- Every version records how it was made and by whom (the audit trail).

ALTER TABLE assistant_versions ADD COLUMN change text NOT NULL DEFAULT 'update';
ALTER TABLE assistant_versions ADD COLUMN changed_by text;
ALTER TABLE assistant_versions ADD COLUMN restored_from integer;
UPDATE assistant_versions SET change = 'create' WHERE version = 1;
