-- Rotating a refresh token is one UPDATE: setting `rotated_at` and the successor columns on the
-- presented token makes the database insert the successor and extend the grant, atomically. A
-- rotation that does not set `successor_expires_at` (a node still running the previous release,
-- which inserts the successor itself) does not fire it.
ALTER TABLE refresh_tokens ADD COLUMN successor_expires_at BIGINT;

CREATE FUNCTION refresh_tokens_rotate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at)
    VALUES (NEW.successor_hash, NEW.grant_id, NEW.rotated_at, NEW.successor_expires_at);
    UPDATE oauth_grants SET expires_at = NEW.successor_expires_at
    WHERE id = NEW.grant_id AND expires_at < NEW.successor_expires_at;
    RETURN NULL;
END
$$;

CREATE TRIGGER refresh_tokens_rotate AFTER UPDATE OF rotated_at ON refresh_tokens
FOR EACH ROW
WHEN (OLD.rotated_at IS NULL AND NEW.rotated_at IS NOT NULL AND NEW.successor_hash IS NOT NULL
      AND NEW.successor_expires_at IS NOT NULL)
EXECUTE FUNCTION refresh_tokens_rotate();
