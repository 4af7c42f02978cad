-- Assistants on PostgreSQL: the active row, every version ever made; metadata indexed by GIN.

CREATE TABLE assistants (
    assistant_id   uuid PRIMARY KEY,
    graph_id       text NOT NULL,
    config         jsonb NOT NULL,
    context        jsonb NOT NULL,
    metadata       jsonb NOT NULL,
    name           text NOT NULL,
    description    text,
    version        integer NOT NULL,       -- the active version
    -- The highest number ever given: the next version is last_version + 1, read under the row
    -- lock in the same transaction, and numbers are never reused after a version is deleted.
    last_version   integer NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX assistants_created_at ON assistants (created_at, assistant_id);
CREATE INDEX assistants_updated_at ON assistants (updated_at, assistant_id);
CREATE INDEX assistants_graph_created ON assistants (graph_id, created_at, assistant_id);
CREATE INDEX assistants_name ON assistants (lower(name), assistant_id);
-- Containment (metadata @> '{...}') searches start here.
CREATE INDEX assistants_metadata ON assistants USING gin (metadata jsonb_path_ops);

CREATE TABLE assistant_versions (
    assistant_id   uuid NOT NULL REFERENCES assistants (assistant_id) ON DELETE CASCADE,
    version        integer NOT NULL,
    graph_id       text NOT NULL,
    config         jsonb NOT NULL,
    context        jsonb NOT NULL,
    metadata       jsonb NOT NULL,
    name           text NOT NULL,
    description    text,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (assistant_id, version)
);
