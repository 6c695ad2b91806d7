-- AI: models, conversations and their messages, prompt templates, the request log and its
-- daily roll-up. Prices are micro-USD per 1000 tokens; cost is micro-USD.
CREATE TABLE ai_models (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name VARCHAR(100) NOT NULL,
    provider VARCHAR(50) NOT NULL,
    upstream_model VARCHAR(100) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    context_window INTEGER NOT NULL,
    input_price BIGINT NOT NULL DEFAULT 0,
    output_price BIGINT NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    default_params TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_ai_models_name ON ai_models (name);

CREATE TABLE ai_conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title VARCHAR(200) NOT NULL,
    model VARCHAR(100) NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_ai_conversations_user ON ai_conversations (user_id, updated_at);

CREATE TABLE ai_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    conversation_id BIGINT NOT NULL REFERENCES ai_conversations (id) ON DELETE CASCADE,
    role VARCHAR(16) NOT NULL,
    content TEXT NOT NULL,
    tokens INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_ai_messages_conversation ON ai_messages (conversation_id, id);

CREATE TABLE ai_templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name VARCHAR(100) NOT NULL,
    description VARCHAR(500) NOT NULL DEFAULT '',
    category VARCHAR(50) NOT NULL DEFAULT '',
    template TEXT NOT NULL,
    variables TEXT NOT NULL,
    is_public BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_ai_templates_owner ON ai_templates (owner_id, id);
CREATE INDEX idx_ai_templates_public ON ai_templates (is_public, id);

CREATE TABLE ai_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL,
    model VARCHAR(100) NOT NULL,
    provider VARCHAR(50) NOT NULL,
    endpoint VARCHAR(20) NOT NULL,
    stream BOOLEAN NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    tokens_estimated BOOLEAN NOT NULL,
    cost BIGINT NOT NULL,
    latency_ms INTEGER NOT NULL,
    ttft_ms INTEGER NULL,
    status VARCHAR(20) NOT NULL,
    error VARCHAR(255) NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_ai_requests_user ON ai_requests (user_id, id);
CREATE INDEX idx_ai_requests_created ON ai_requests (created_at);

CREATE TABLE ai_daily_stats (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    day DATE NOT NULL,
    user_id BIGINT NOT NULL,
    model VARCHAR(100) NOT NULL,
    requests BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cost BIGINT NOT NULL,
    latency_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX uq_ai_daily_stats ON ai_daily_stats (day, user_id, model);
CREATE INDEX idx_ai_daily_stats_user ON ai_daily_stats (user_id, day);
