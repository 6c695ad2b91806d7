-- The kernel's audit trail: security and admin events written by any domain.
-- user_id is a plain number, not a foreign key: the trail outlives the users it names.
CREATE TABLE system_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    level VARCHAR(16) NOT NULL,
    module VARCHAR(64) NOT NULL,
    event VARCHAR(64) NOT NULL,
    message TEXT NOT NULL,
    user_id BIGINT NULL,
    ip_address VARCHAR(45) NULL,
    user_agent VARCHAR(255) NULL,
    request_id VARCHAR(64) NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_system_logs_created ON system_logs (created_at);
CREATE INDEX idx_system_logs_level ON system_logs (level, created_at);
CREATE INDEX idx_system_logs_module ON system_logs (module, created_at);
CREATE INDEX idx_system_logs_user ON system_logs (user_id);
