-- Passkeys (SPEC §5.4, WebAuthn): a user's registered credentials. `passkey` is the credential as
-- webauthn-rs keeps it (JSON: the credential id, its public key and signature counter; nothing
-- secret); `credential_id` is unique across users, as WebAuthn requires.
CREATE TABLE passkeys (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BYTEA NOT NULL UNIQUE,
    name TEXT NOT NULL,
    passkey TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- A WebAuthn ceremony between its two requests: the challenge state, taken (deleted) by the
-- request that finishes it, so each challenge is answered once, on any node. `user_id` is the
-- person it is for (none for a passwordless sign-in). Expired rows are purged in the background.
CREATE TABLE passkey_ceremonies (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id UUID,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
