-- The authorization server: signing keys, browser sessions, remembered consent, grants (token
-- families), authorization codes, refresh tokens, device authorizations and revoked access tokens.
-- Every secret (codes, refresh tokens, device codes, session secrets) is stored as a keyed hash;
-- private keys and refresh successors are encrypted. Timestamps are Unix milliseconds.

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_key BLOB NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- NULL while the key is "next": published, not yet scheduled to sign.
    activate_at INTEGER
);

CREATE TABLE user_sessions (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    auth_time INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    user_agent TEXT NOT NULL,
    ip TEXT NOT NULL
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);
CREATE INDEX user_sessions_by_expiry ON user_sessions (expires_at);

CREATE TABLE consents (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_by_client ON consents (client_id);

CREATE TABLE oauth_grants (
    id BLOB PRIMARY KEY,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id BLOB,
    scope TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX oauth_grants_by_session ON oauth_grants (session_id);
CREATE INDEX oauth_grants_by_user ON oauth_grants (user_id);
CREATE INDEX oauth_grants_by_expiry ON oauth_grants (expires_at);
CREATE INDEX oauth_grants_by_client ON oauth_grants (client_id);

CREATE TABLE auth_codes (
    code_hash BLOB PRIMARY KEY,
    grant_id BLOB NOT NULL,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id BLOB NOT NULL,
    redirect_uri TEXT NOT NULL,
    -- Whether the authorization request named the redirect URI (RFC 6749 §4.1.3: then the token
    -- request must repeat it).
    redirect_uri_given INTEGER NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    auth_time INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    redeemed_at INTEGER
);
CREATE INDEX auth_codes_by_expiry ON auth_codes (expires_at);
CREATE INDEX auth_codes_by_session ON auth_codes (session_id);

CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY,
    grant_id BLOB NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER,
    successor_hash BLOB,
    -- The successor token response, sealed, kept through the rotation grace window only.
    successor_ciphertext BLOB,
    successor_key_id BLOB
);
CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_with_successor ON refresh_tokens (rotated_at) WHERE successor_ciphertext IS NOT NULL;

CREATE TABLE device_grants (
    device_code_hash BLOB PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    grant_id BLOB NOT NULL,
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    interval_secs INTEGER NOT NULL,
    last_polled_at INTEGER,
    status TEXT NOT NULL,
    user_id BLOB REFERENCES users (id) ON DELETE CASCADE,
    session_id BLOB,
    auth_time INTEGER
);
CREATE INDEX device_grants_by_expiry ON device_grants (expires_at);
CREATE INDEX device_grants_by_session ON device_grants (session_id);

CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
