-- API resources (SPEC §5.7): a project's audiences with their scopes. `settings` is JSON
-- (scopes with descriptions, token lifetime, algorithm, format). Scope names are unique per
-- project: `api_resource_scopes` holds each name once, rewritten with its resource.
CREATE TABLE api_resources (
    id BLOB PRIMARY KEY,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    UNIQUE (project_id, identifier)
);

CREATE TABLE api_resource_scopes (
    project_id BLOB NOT NULL,
    name TEXT NOT NULL,
    resource_id BLOB NOT NULL REFERENCES api_resources (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, name)
);
CREATE INDEX api_resource_scopes_by_resource ON api_resource_scopes (resource_id);
