-- Upstream identity providers a server admin manages over REST (those of the config file are not
-- stored). The name is the provider's id, its `/login/with/{name}` path segment and what linked
-- identities name. The client secret is sealed under the system project's data key.
CREATE TABLE identity_providers (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    display_name TEXT NOT NULL,
    issuer TEXT,
    github_url TEXT,
    github_api_url TEXT,
    client_id TEXT NOT NULL,
    client_secret_ciphertext BYTEA NOT NULL,
    data_key_id UUID NOT NULL,
    scopes TEXT NOT NULL,
    allow_signup BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
