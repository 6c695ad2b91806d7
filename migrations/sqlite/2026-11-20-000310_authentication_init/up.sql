-- Authentication. Every secret is stored as its SHA-256 (hex): refresh tokens, one-time
-- tokens, recovery codes, API keys. Rows that expire are deleted by the periodic cleanup
-- (plaza-authentication `cleanup`).

-- A login session: one refresh-token family, from one login on one device.
CREATE TABLE auth_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family VARCHAR(64) NOT NULL,
    device VARCHAR(255) NOT NULL DEFAULT '',
    ip_address VARCHAR(45) NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP NULL,
    revoked_reason VARCHAR(32) NULL
);
CREATE UNIQUE INDEX uq_auth_sessions_family ON auth_sessions (family);
CREATE INDEX idx_auth_sessions_user ON auth_sessions (user_id, revoked_at, expires_at);
CREATE INDEX idx_auth_sessions_expires ON auth_sessions (expires_at);
CREATE INDEX idx_auth_sessions_revoked ON auth_sessions (revoked_at);

-- Refresh tokens of a session; each is spent (used_at) when rotated. The access token issued
-- with it is remembered so that ending the session revokes it too.
CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    session_id BIGINT NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    token_hash CHAR(64) NOT NULL,
    jti VARCHAR(64) NOT NULL,
    access_jti VARCHAR(64) NOT NULL,
    access_expires_at TIMESTAMP NOT NULL,
    ip_address VARCHAR(45) NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX uq_refresh_tokens_token ON refresh_tokens (token_hash);
CREATE INDEX idx_refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX idx_refresh_tokens_expires ON refresh_tokens (expires_at);

-- Single-use tokens sent by mail: `verify_email` and `reset_password`. `email` is the address
-- the token was sent to; a token stops working when the account's email changes.
CREATE TABLE account_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose VARCHAR(16) NOT NULL,
    token_hash CHAR(64) NOT NULL,
    email VARCHAR(254) NOT NULL,
    ip_address VARCHAR(45) NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX uq_account_tokens_token ON account_tokens (token_hash);
CREATE INDEX idx_account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX idx_account_tokens_expires ON account_tokens (expires_at);

-- Every login attempt, good or bad (lockouts are counted in the Cache; this is the record).
CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    username VARCHAR(254) NOT NULL,
    user_id BIGINT NULL REFERENCES users (id) ON DELETE SET NULL,
    ip_address VARCHAR(45) NULL,
    user_agent VARCHAR(255) NOT NULL DEFAULT '',
    success BOOLEAN NOT NULL,
    reason VARCHAR(32) NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_login_attempts_created ON login_attempts (created_at);
CREATE INDEX idx_login_attempts_user ON login_attempts (user_id, created_at);
CREATE INDEX idx_login_attempts_ip ON login_attempts (ip_address, created_at);

-- TOTP (RFC 6238) per user: pending until confirmed with a first code. `last_used_step`
-- refuses a code that was already accepted (replay within its 30 s window).
CREATE TABLE two_factor_auth (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret VARCHAR(64) NOT NULL,
    is_enabled BOOLEAN NOT NULL DEFAULT 0,
    last_used_step BIGINT NULL,
    confirmed_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_two_factor_auth_user ON two_factor_auth (user_id);

CREATE TABLE two_factor_recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash CHAR(64) NOT NULL,
    used_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_recovery_codes_user ON two_factor_recovery_codes (user_id, code_hash);

-- API keys (`plz_…`): shown once, stored as SHA-256; `prefix` is what lists show.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name VARCHAR(100) NOT NULL,
    prefix VARCHAR(16) NOT NULL,
    key_hash CHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NULL,
    last_used_at TIMESTAMP NULL,
    revoked_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX uq_api_keys_key ON api_keys (key_hash);
CREATE INDEX idx_api_keys_user ON api_keys (user_id, created_at);
