-- The LLM proxy gate (SPEC §8): each project's provider configuration, its key sealed under the
-- project's data key.
CREATE TABLE llm_providers (
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    base_url TEXT NOT NULL,
    key_ciphertext BLOB NOT NULL,
    data_key_id BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (project_id, provider)
);

-- Usage as the upstreams reported it, one row per minute, caller, provider and model.
CREATE TABLE llm_usage (
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    minute INTEGER NOT NULL,
    caller_kind TEXT NOT NULL,
    caller_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    PRIMARY KEY (project_id, minute, caller_kind, caller_id, provider, model)
);
