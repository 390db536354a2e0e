-- When each client last got a token (written at most once a minute per client), and an index
-- for one target's audit entries (a client's history in the console).
ALTER TABLE oauth_clients ADD COLUMN last_used_at BIGINT;
CREATE INDEX audit_events_by_target ON audit_events (project_id, target_type, target_id, at DESC, id DESC);
