-- Second factors (SPEC §5.4). A user's TOTP secret, sealed under a key derived from the keyed-hash
-- key and bound to the user; the time step of the last accepted code, so no code is accepted twice.
CREATE TABLE totp_factors (
    user_id BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_ciphertext BLOB NOT NULL,
    last_step INTEGER,
    created_at INTEGER NOT NULL,
    confirmed_at INTEGER
);

-- One-time recovery codes, as keyed hashes; a used code keeps its row (used_at set).
CREATE TABLE recovery_codes (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

-- What a sign-in used (RFC 8176 amr, as bits: 1 password, 2 one-time password, 4 passkey,
-- 8 user verified), carried from the session into its grants and device approvals.
ALTER TABLE user_sessions ADD COLUMN amr INTEGER NOT NULL DEFAULT 1;
ALTER TABLE oauth_grants ADD COLUMN amr INTEGER NOT NULL DEFAULT 1;
ALTER TABLE device_grants ADD COLUMN amr INTEGER;
