-- Accounts. Usernames and emails are unique case-insensitively through `username_key` and
-- `email_key`: the app stores their Unicode lower-case form, compared byte for byte
-- (utf8mb4_bin here, BINARY on SQLite), so both backends agree on every script.
-- Unique keys are named after the field a conflict reports (see crates/kernel/src/error.rs).
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
    date_joined DATETIME(6) NOT NULL,
    last_login DATETIME(6) NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY username (username_key),
    UNIQUE KEY email (email_key),
    KEY idx_users_active (is_active),
    KEY idx_users_date_joined (date_joined)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
