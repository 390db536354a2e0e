-- The LLM proxy gate (SPEC §8): each project's provider configuration, its key sealed under the
-- project's data key.
CREATE TABLE llm_providers (
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    base_url TEXT NOT NULL,
    key_ciphertext BYTEA NOT NULL,
    data_key_id UUID NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (project_id, provider)
);
