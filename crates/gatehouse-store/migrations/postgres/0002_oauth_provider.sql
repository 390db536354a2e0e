-- The authorization server: signing keys, browser sessions, remembered consent, grants (token
-- families), authorization codes, refresh tokens, device authorizations and revoked access tokens.
-- Every secret (codes, refresh tokens, device codes, session secrets) is stored as a keyed hash;
-- private keys and refresh successors are encrypted. Timestamps are Unix milliseconds.

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_key BYTEA NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- NULL while the key is "next": published, not yet scheduled to sign.
    activate_at BIGINT
);

CREATE TABLE user_sessions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    auth_time BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    user_agent TEXT NOT NULL,
    ip TEXT NOT NULL
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);
CREATE INDEX user_sessions_by_expiry ON user_sessions (expires_at);

CREATE TABLE consents (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_by_client ON consents (client_id);

CREATE TABLE oauth_grants (
    id UUID PRIMARY KEY,
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id UUID,
    scope TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oauth_grants_by_session ON oauth_grants (session_id);
CREATE INDEX oauth_grants_by_user ON oauth_grants (user_id);
CREATE INDEX oauth_grants_by_expiry ON oauth_grants (expires_at);
CREATE INDEX oauth_grants_by_client ON oauth_grants (client_id);

CREATE TABLE auth_codes (
    code_hash BYTEA PRIMARY KEY,
    grant_id UUID NOT NULL,
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id UUID NOT NULL,
    redirect_uri TEXT NOT NULL,
    -- Whether the authorization request named the redirect URI (RFC 6749 §4.1.3: then the token
    -- request must repeat it).
    redirect_uri_given BOOLEAN NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    redeemed_at BIGINT
);
CREATE INDEX auth_codes_by_expiry ON auth_codes (expires_at);
CREATE INDEX auth_codes_by_session ON auth_codes (session_id);

CREATE TABLE refresh_tokens (
    token_hash BYTEA PRIMARY KEY,
    grant_id UUID NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT,
    successor_hash BYTEA,
    -- The successor token response, sealed, kept through the rotation grace window only.
    successor_ciphertext BYTEA,
    successor_key_id UUID
);
CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_with_successor ON refresh_tokens (rotated_at) WHERE successor_ciphertext IS NOT NULL;

CREATE TABLE device_grants (
    device_code_hash BYTEA PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    grant_id UUID NOT NULL,
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    interval_secs BIGINT NOT NULL,
    last_polled_at BIGINT,
    status TEXT NOT NULL,
    user_id UUID REFERENCES users (id) ON DELETE CASCADE,
    session_id UUID,
    auth_time BIGINT
);
CREATE INDEX device_grants_by_expiry ON device_grants (expires_at);
CREATE INDEX device_grants_by_session ON device_grants (session_id);

CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
