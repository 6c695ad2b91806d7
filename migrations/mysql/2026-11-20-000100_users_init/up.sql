-- Accounts. Usernames and emails are unique case-insensitively through `username_key` and
-- `email_key`: the app stores their Unicode lower-case form, compared byte for byte
-- (utf8mb4_bin here, BINARY on SQLite), so both backends agree on every script.
-- Unique keys are named after the field a conflict reports (see crates/kernel/src/error.rs).
-- `privacy_settings` is a JSON object (plaza-users `PrivacySettings`); `is_searchable` mirrors
-- its `searchable` flag so lists and search can filter on an indexed column.
CREATE TABLE users (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username VARCHAR(150) NOT NULL,
    username_key VARCHAR(150) NOT NULL COLLATE utf8mb4_bin,
    email VARCHAR(254) NOT NULL,
    email_key VARCHAR(254) NOT NULL COLLATE utf8mb4_bin,
    password VARCHAR(255) NOT NULL,
    first_name VARCHAR(150) NOT NULL DEFAULT '',
    last_name VARCHAR(150) NOT NULL DEFAULT '',
    avatar VARCHAR(255) NULL,
    avatar_thumbnail VARCHAR(255) NULL,
    birthday DATE NULL,
    gender VARCHAR(16) NOT NULL DEFAULT '',
    bio TEXT NOT NULL,
    website VARCHAR(200) NOT NULL DEFAULT '',
    github VARCHAR(200) NOT NULL DEFAULT '',
    is_verified BOOLEAN NOT NULL DEFAULT FALSE,
    is_premium BOOLEAN NOT NULL DEFAULT FALSE,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_staff BOOLEAN NOT NULL DEFAULT FALSE,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    role VARCHAR(16) NOT NULL DEFAULT 'user',
    privacy_settings TEXT NOT NULL,
    is_searchable BOOLEAN NOT NULL DEFAULT TRUE,
    date_joined DATETIME(6) NOT NULL,
    last_login DATETIME(6) NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY username (username_key),
    UNIQUE KEY email (email_key),
    KEY idx_users_active (is_active, is_searchable),
    KEY idx_users_staff (is_staff),
    KEY idx_users_verified (is_verified),
    KEY idx_users_role (role),
    KEY idx_users_date_joined (date_joined),
    KEY idx_users_last_login (last_login)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One profile per user, created in the same transaction as the account. Lists and settings
-- objects are JSON text (plaza-users `NotificationSettings`).
CREATE TABLE user_profiles (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    location VARCHAR(100) NOT NULL DEFAULT '',
    company VARCHAR(100) NOT NULL DEFAULT '',
    job_title VARCHAR(100) NOT NULL DEFAULT '',
    skills TEXT NOT NULL,
    interests TEXT NOT NULL,
    language VARCHAR(16) NOT NULL DEFAULT 'zh-hans',
    timezone VARCHAR(64) NOT NULL DEFAULT 'Asia/Shanghai',
    notification_settings TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY user_id (user_id),
    CONSTRAINT fk_user_profiles_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Successful logins (failed ones are the authentication domain's `login_attempts`).
CREATE TABLE user_login_logs (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    ip_address VARCHAR(45) NULL,
    user_agent VARCHAR(255) NOT NULL DEFAULT '',
    method VARCHAR(16) NOT NULL,
    login_at DATETIME(6) NOT NULL,
    KEY idx_user_login_logs_user (user_id, login_at),
    KEY idx_user_login_logs_login_at (login_at),
    CONSTRAINT fk_user_login_logs_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
