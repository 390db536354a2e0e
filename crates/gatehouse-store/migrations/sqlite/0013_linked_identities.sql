-- Accounts' identities at upstream identity providers ("Continue with …", SPEC §5.4): one row
-- per provider and upstream subject, which names one account. An account made by an upstream
-- sign-in has no password: its `password_hash` is empty.
CREATE TABLE linked_identities (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (provider, subject)
);
CREATE INDEX linked_identities_by_user ON linked_identities (user_id);
