-- When each account's email address was shown to belong to its owner (a followed sign-up or
-- reset link, or an upstream identity provider's verified email): ID tokens and userinfo say
-- `email_verified` from it (OIDC Core §5.1). Accounts an admin created stay unverified.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;

-- Accounts that already proved their address: signed up or reset a password by mail (the
-- audit log names them), or linked an upstream identity through its verified email.
UPDATE users SET email_verified_at = created_at
WHERE id::text IN (
    SELECT target_id FROM audit_events
    WHERE action IN ('user.sign_up', 'user.password_reset') AND target_type = 'user'
);
UPDATE users SET email_verified_at = (
    SELECT min(i.created_at) FROM linked_identities i
    WHERE i.user_id = users.id AND lower(i.email) = users.email_lower
)
WHERE email_verified_at IS NULL AND EXISTS (
    SELECT 1 FROM linked_identities i WHERE i.user_id = users.id AND lower(i.email) = users.email_lower
);
