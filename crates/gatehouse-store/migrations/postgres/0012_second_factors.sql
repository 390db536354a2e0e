-- Second factors (SPEC §5.4). A user's TOTP secret, sealed under a key derived from the keyed-hash
-- key and bound to the user; the time step of the last accepted code, so no code is accepted twice.
CREATE TABLE totp_factors (
    user_id UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_ciphertext BYTEA NOT NULL,
    last_step BIGINT,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT
);

-- One-time recovery codes, as keyed hashes; a used code keeps its row (used_at set).
CREATE TABLE recovery_codes (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- What a sign-in used (RFC 8176 amr, as bits: 1 password, 2 one-time password, 4 passkey,
-- 8 user verified), carried from the session into its grants and device approvals.
ALTER TABLE user_sessions ADD COLUMN amr BIGINT NOT NULL DEFAULT 1;
ALTER TABLE oauth_grants ADD COLUMN amr BIGINT NOT NULL DEFAULT 1;
ALTER TABLE device_grants ADD COLUMN amr BIGINT;
