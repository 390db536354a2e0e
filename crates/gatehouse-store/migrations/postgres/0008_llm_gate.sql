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

-- Usage as the upstreams reported it, one row per minute, caller, provider and model.
CREATE TABLE llm_usage (
    project_id UUID NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    minute BIGINT NOT NULL,
    caller_kind TEXT NOT NULL,
    caller_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    requests BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    PRIMARY KEY (project_id, minute, caller_kind, caller_id, provider, model)
);
