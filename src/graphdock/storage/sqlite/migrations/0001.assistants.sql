-- Assistants: the active row, every version ever made, and an index of top-level metadata.

CREATE TABLE assistants (
    assistant_id   TEXT PRIMARY KEY,
    graph_id       TEXT NOT NULL,
    config         TEXT NOT NULL,          -- JSON
    context        TEXT NOT NULL,          -- JSON
    metadata       TEXT NOT NULL,          -- JSON
    name           TEXT NOT NULL,
    description    TEXT,
    version        INTEGER NOT NULL,       -- the active version
    -- The highest number ever given: the next version is last_version + 1 without a max() over
    -- the versions, and numbers are never reused after a version is deleted.
    last_version   INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX assistants_created_at ON assistants (created_at, assistant_id);
CREATE INDEX assistants_updated_at ON assistants (updated_at, assistant_id);
CREATE INDEX assistants_graph_created ON assistants (graph_id, created_at, assistant_id);
CREATE INDEX assistants_name ON assistants (name COLLATE NOCASE, assistant_id);

CREATE TABLE assistant_versions (
    assistant_id   TEXT NOT NULL REFERENCES assistants (assistant_id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    graph_id       TEXT NOT NULL,
    config         TEXT NOT NULL,
    context        TEXT NOT NULL,
    metadata       TEXT NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (assistant_id, version)
) WITHOUT ROWID;

-- One row per top-level key of the active metadata, value as canonical JSON. It lets a
-- containment search ({"created_by": "system"}) start from an index instead of a scan; the
-- exact containment test still runs on the candidates.
CREATE TABLE assistant_metadata (
    assistant_id   TEXT NOT NULL REFERENCES assistants (assistant_id) ON DELETE CASCADE,
    key            TEXT NOT NULL,
    value          TEXT NOT NULL,
    PRIMARY KEY (key, value, assistant_id)
) WITHOUT ROWID;
CREATE INDEX assistant_metadata_owner ON assistant_metadata (assistant_id);
