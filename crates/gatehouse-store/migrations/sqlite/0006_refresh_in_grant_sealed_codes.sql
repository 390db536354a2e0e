-- A grant's refresh token is now its row's state: the token a client holds is the grant id, a
-- generation, and a keyed hash of both (HMAC-SHA256 under the server's hashing key), so the
-- database stores no token at all and rotating one is a single-row compare-and-set on the
-- generation. Authorization codes are sealed (AES-256-GCM under the project's data key, bound to
-- the client) and carry their own request; a code is spent by writing its grant, whose id it
-- names, so a second redemption collides with the first. Refresh tokens and codes issued by an
-- earlier release stop working: their users sign in again.
ALTER TABLE oauth_grants ADD COLUMN refresh_generation INTEGER;
ALTER TABLE oauth_grants ADD COLUMN refresh_expires_at INTEGER;
ALTER TABLE oauth_grants ADD COLUMN refresh_rotated_at INTEGER;
-- The sealed token response that holds the current generation, returned again to the previous
-- generation inside the client's grace window.
ALTER TABLE oauth_grants ADD COLUMN successor_ciphertext BLOB;
ALTER TABLE oauth_grants ADD COLUMN successor_key_id BLOB;

DROP TRIGGER refresh_tokens_rotate;
DROP TABLE refresh_tokens;
DROP TABLE auth_codes;
