-- Room secrets (SPEC §7): credentials of third-party providers kept for participants, and consent
-- requests waiting for a participant's answer. Tokens, refresh tokens, inline client secrets and
-- PKCE verifiers are sealed under the project's data key (`data_key_id`), bound to their row.
-- Timestamps are Unix milliseconds.

CREATE TABLE room_secrets (
    id BLOB PRIMARY KEY,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    room_name TEXT NOT NULL,
    owner TEXT NOT NULL,
    -- '' when not delegated.
    delegated_to TEXT NOT NULL,
    authorization_endpoint TEXT NOT NULL,
    client_id TEXT NOT NULL,
    -- SHA-256 of (project, room, owner, authorization endpoint, client id): what lookups use, and
    -- short enough for any index whatever the lengths of those values.
    owner_key BLOB NOT NULL,
    -- The rest of the provider's settings (token and revocation endpoints, issuer, registration).
    provider TEXT NOT NULL,
    scopes TEXT NOT NULL,
    sealed BLOB NOT NULL,
    data_key_id BLOB NOT NULL,
    expires_at INTEGER,
    needs_consent INTEGER NOT NULL,
    -- Bumped by every change of the sealed tokens; part of their AEAD binding.
    generation INTEGER NOT NULL,
    -- The one refresh in progress across every node (SPEC §7.4).
    lease_holder BLOB,
    lease_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (owner_key, delegated_to)
);
CREATE INDEX room_secrets_by_owner ON room_secrets (project_id, room_name, owner);
CREATE INDEX room_secrets_by_delegate ON room_secrets (project_id, room_name, delegated_to);

CREATE TABLE oauth_requests (
    id BLOB PRIMARY KEY,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- The keyed hash of the `request_id` given to the participant.
    request_hash BLOB NOT NULL UNIQUE,
    room_name TEXT NOT NULL,
    requester TEXT NOT NULL,
    requester_participant BLOB,
    target BLOB NOT NULL,
    target_name TEXT NOT NULL,
    delegate_to TEXT NOT NULL,
    provider TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    sealed BLOB NOT NULL,
    data_key_id BLOB NOT NULL,
    state TEXT NOT NULL,
    -- pending, exchanging, done (outcome: the secret's id) or failed (outcome: why, as JSON).
    status TEXT NOT NULL,
    outcome TEXT,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX oauth_requests_by_room ON oauth_requests (project_id, room_name, status);
CREATE INDEX oauth_requests_by_expiry ON oauth_requests (expires_at);
