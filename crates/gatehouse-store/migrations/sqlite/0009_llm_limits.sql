-- Limits of the LLM proxy gate (SPEC §8): requests per minute and tokens per day, for the whole
-- project and for each caller; NULL is unlimited.
CREATE TABLE llm_limits (
    project_id BLOB PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    project_requests_per_minute INTEGER,
    project_tokens_per_day INTEGER,
    caller_requests_per_minute INTEGER,
    caller_tokens_per_day INTEGER,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL
);

-- What every node counted against the limits, per window: requests per minute, tokens per day
-- (window = its start, seconds since the epoch). A project's own count has an empty caller.
CREATE TABLE llm_limit_counts (
    project_id BLOB NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    caller_kind TEXT NOT NULL,
    caller_id TEXT NOT NULL,
    measure TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (project_id, caller_kind, caller_id, measure, window_start)
);
CREATE INDEX llm_limit_counts_window ON llm_limit_counts (window_start);
