-- Accounts, API keys, data keys, the OAuth client registry, external OAuth registrations,
-- project secrets, the audit log and server settings. Timestamps are Unix milliseconds.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE projects (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    is_system INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE users (
    id BLOB PRIMARY KEY,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE memberships (
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_admin INTEGER NOT NULL,
    is_developer INTEGER NOT NULL,
    can_create_rooms INTEGER NOT NULL,
    can_use_llm_proxy INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

-- No foreign key: a project's first data key is created while the project itself is being created.
CREATE TABLE data_keys (
    id BLOB PRIMARY KEY,
    project_id BLOB NOT NULL,
    wrapped BLOB NOT NULL,
    master_key_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX data_keys_by_project ON data_keys (project_id, created_at);

CREATE TABLE api_keys (
    id BLOB PRIMARY KEY,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    secret_ciphertext BLOB NOT NULL,
    data_key_id BLOB NOT NULL,
    server_admin INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_keys_by_project ON api_keys (project_id, created_at);

-- `seq` is an explicit rowid so that the search index below can refer to rows (VACUUM may renumber
-- implicit rowids). `search` is the lower-cased "client_id\nname" that the list filter matches.
CREATE TABLE oauth_clients (
    seq INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    search TEXT NOT NULL,
    official INTEGER NOT NULL,
    secret_hash BLOB,
    previous_secret_hash BLOB,
    previous_secret_expires_at INTEGER,
    secret_rotated_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    -- Last: the large JSON column, so reading the columns before it never touches overflow pages.
    settings TEXT NOT NULL
);
CREATE INDEX oauth_clients_by_project ON oauth_clients (project_id, created_at, client_id);

-- Substring search over client ids and names: a trigram index (case-sensitive over the lower-cased
-- column, so GLOB patterns use it), kept in step with the table by triggers.
CREATE VIRTUAL TABLE oauth_clients_search USING fts5(
    search, content = 'oauth_clients', content_rowid = 'seq', tokenize = 'trigram case_sensitive 1'
);
CREATE TRIGGER oauth_clients_search_insert AFTER INSERT ON oauth_clients BEGIN
    INSERT INTO oauth_clients_search (rowid, search) VALUES (new.seq, new.search);
END;
CREATE TRIGGER oauth_clients_search_delete AFTER DELETE ON oauth_clients BEGIN
    INSERT INTO oauth_clients_search (oauth_clients_search, rowid, search) VALUES ('delete', old.seq, old.search);
END;
CREATE TRIGGER oauth_clients_search_update AFTER UPDATE OF search ON oauth_clients BEGIN
    INSERT INTO oauth_clients_search (oauth_clients_search, rowid, search) VALUES ('delete', old.seq, old.search);
    INSERT INTO oauth_clients_search (rowid, search) VALUES (new.seq, new.search);
END;

CREATE TABLE external_oauth (
    id BLOB PRIMARY KEY,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    room_name TEXT,
    name TEXT NOT NULL,
    endpoints TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_ciphertext BLOB,
    data_key_id BLOB,
    redirect_uris TEXT NOT NULL,
    delegated_to TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX external_oauth_by_project ON external_oauth (project_id, room_name, created_at);

CREATE TABLE project_secrets (
    id BLOB PRIMARY KEY,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    ciphertext BLOB NOT NULL,
    data_key_id BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE audit_events (
    id BLOB PRIMARY KEY,
    project_id BLOB NOT NULL,
    at INTEGER NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX audit_events_by_project ON audit_events (project_id, at DESC, id DESC);
