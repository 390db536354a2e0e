-- Accounts, API keys, data keys, the OAuth client registry, external OAuth registrations,
-- project secrets, the audit log and server settings. Timestamps are Unix milliseconds.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE projects (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    is_system BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_admin BOOLEAN NOT NULL,
    is_developer BOOLEAN NOT NULL,
    can_create_rooms BOOLEAN NOT NULL,
    can_use_llm_proxy BOOLEAN NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

-- No foreign key: a project's first data key is created while the project itself is being created.
CREATE TABLE data_keys (
    id UUID PRIMARY KEY,
    project_id UUID NOT NULL,
    wrapped BYTEA NOT NULL,
    master_key_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX data_keys_by_project ON data_keys (project_id, created_at);

CREATE TABLE api_keys (
    id UUID PRIMARY KEY,
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    secret_ciphertext BYTEA NOT NULL,
    data_key_id UUID NOT NULL,
    server_admin BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_by_project ON api_keys (project_id, created_at);

CREATE TABLE oauth_clients (
    client_id TEXT PRIMARY KEY,
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    search TEXT NOT NULL,
    settings TEXT NOT NULL,
    official BOOLEAN NOT NULL,
    secret_hash BYTEA,
    previous_secret_hash BYTEA,
    previous_secret_expires_at BIGINT,
    secret_rotated_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX oauth_clients_by_project ON oauth_clients (project_id, created_at, client_id);

-- Substring search over client ids and names: one trigram index per field (a trigram index over
-- both together would also match trigrams that span the two, and recheck many more rows).
-- pg_trgm is a trusted extension: a database owner may create it. (`search` serves SQLite's index.)
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX oauth_clients_name_search ON oauth_clients USING gin (lower(name) gin_trgm_ops);
CREATE INDEX oauth_clients_id_search ON oauth_clients USING gin (lower(client_id) gin_trgm_ops);

CREATE TABLE external_oauth (
    id UUID PRIMARY KEY,
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    room_name TEXT,
    name TEXT NOT NULL,
    endpoints TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_ciphertext BYTEA,
    data_key_id UUID,
    redirect_uris TEXT NOT NULL,
    delegated_to TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX external_oauth_by_project ON external_oauth (project_id, room_name, created_at);

CREATE TABLE project_secrets (
    id UUID PRIMARY KEY,
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    ciphertext BYTEA NOT NULL,
    data_key_id UUID NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE audit_events (
    id UUID PRIMARY KEY,
    project_id UUID NOT NULL,
    at BIGINT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX audit_events_by_project ON audit_events (project_id, at DESC, id DESC);
