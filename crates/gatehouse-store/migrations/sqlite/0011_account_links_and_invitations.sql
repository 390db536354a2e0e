-- Links mailed to people (sign-up verification, password reset), stored only as keyed hashes of
-- their secrets, single use and expiring; and pending project invitations, which become
-- memberships when the invited person accepts.

CREATE TABLE account_links (
    id BLOB PRIMARY KEY,
    purpose TEXT NOT NULL,
    email TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    -- A reset: whose password it sets.
    user_id BLOB REFERENCES users (id) ON DELETE CASCADE,
    -- A sign-up: the account to create once the address is verified.
    name TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    next TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX account_links_by_expiry ON account_links (expires_at);

CREATE TABLE invitations (
    id BLOB PRIMARY KEY,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    is_admin INTEGER NOT NULL,
    is_developer INTEGER NOT NULL,
    can_create_rooms INTEGER NOT NULL,
    can_use_llm_proxy INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    UNIQUE (project_id, email_lower)
);
CREATE INDEX invitations_by_email ON invitations (email_lower);
