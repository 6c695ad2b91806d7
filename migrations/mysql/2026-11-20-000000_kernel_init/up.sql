-- The kernel's audit trail: security and admin events written by any domain.
-- user_id is a plain number, not a foreign key: the trail outlives the users it names.
CREATE TABLE system_logs (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    level VARCHAR(16) NOT NULL,
    module VARCHAR(64) NOT NULL,
    event VARCHAR(64) NOT NULL,
    message TEXT NOT NULL,
    user_id BIGINT NULL,
    ip_address VARCHAR(45) NULL,
    user_agent VARCHAR(255) NULL,
    request_id VARCHAR(64) NULL,
    data TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    KEY idx_system_logs_created (created_at),
    KEY idx_system_logs_level (level, created_at),
    KEY idx_system_logs_module (module, created_at),
    KEY idx_system_logs_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
