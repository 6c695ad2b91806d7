-- AI: models, conversations and their messages, prompt templates, the request log and its
-- daily roll-up. Prices are micro-USD per 1000 tokens; cost is micro-USD.
CREATE TABLE ai_models (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    provider VARCHAR(50) NOT NULL,
    upstream_model VARCHAR(100) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    context_window INT NOT NULL,
    input_price BIGINT NOT NULL DEFAULT 0,
    output_price BIGINT NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    default_params TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY uq_ai_models_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE ai_conversations (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    title VARCHAR(200) NOT NULL,
    model VARCHAR(100) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_ai_conversations_user (user_id, updated_at),
    CONSTRAINT fk_ai_conversations_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ai_messages (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    conversation_id BIGINT NOT NULL,
    role VARCHAR(16) NOT NULL,
    content MEDIUMTEXT NOT NULL,
    tokens INT NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    KEY idx_ai_messages_conversation (conversation_id, id),
    CONSTRAINT fk_ai_messages_conversation FOREIGN KEY (conversation_id) REFERENCES ai_conversations (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ai_templates (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    owner_id BIGINT NOT NULL,
    name VARCHAR(100) NOT NULL,
    description VARCHAR(500) NOT NULL DEFAULT '',
    category VARCHAR(50) NOT NULL DEFAULT '',
    template TEXT NOT NULL,
    variables TEXT NOT NULL,
    is_public BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_ai_templates_owner (owner_id, id),
    KEY idx_ai_templates_public (is_public, id),
    CONSTRAINT fk_ai_templates_owner FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per call, written in batches off the request path. No foreign key on user_id: the
-- log outlives nothing it must not, and a batch never fails for a user deleted meanwhile.
CREATE TABLE ai_requests (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    model VARCHAR(100) NOT NULL,
    provider VARCHAR(50) NOT NULL,
    endpoint VARCHAR(20) NOT NULL,
    stream BOOLEAN NOT NULL,
    prompt_tokens INT NOT NULL,
    completion_tokens INT NOT NULL,
    tokens_estimated BOOLEAN NOT NULL,
    cost BIGINT NOT NULL,
    latency_ms INT NOT NULL,
    ttft_ms INT NULL,
    status VARCHAR(20) NOT NULL,
    error VARCHAR(255) NULL,
    created_at DATETIME(6) NOT NULL,
    KEY idx_ai_requests_user (user_id, id),
    KEY idx_ai_requests_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ai_daily_stats (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    day DATE NOT NULL,
    user_id BIGINT NOT NULL,
    model VARCHAR(100) NOT NULL,
    requests BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cost BIGINT NOT NULL,
    latency_ms BIGINT NOT NULL,
    UNIQUE KEY uq_ai_daily_stats (day, user_id, model),
    KEY idx_ai_daily_stats_user (user_id, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
