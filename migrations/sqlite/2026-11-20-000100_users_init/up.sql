-- Accounts. Usernames and emails are unique case-insensitively through `username_key` and
-- `email_key`: the app stores their Unicode lower-case form, compared byte for byte
-- (BINARY here, utf8mb4_bin on MySQL), so both backends agree on every script.
-- `privacy_settings` is a JSON object (plaza-users `PrivacySettings`); `is_searchable` mirrors
-- its `searchable` flag so lists and search can filter on an indexed column.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    username VARCHAR(150) NOT NULL,
    username_key VARCHAR(150) NOT NULL,
    email VARCHAR(254) NOT NULL,
    email_key VARCHAR(254) NOT NULL,
    password VARCHAR(255) NOT NULL,
    first_name VARCHAR(150) NOT NULL DEFAULT '',
    last_name VARCHAR(150) NOT NULL DEFAULT '',
    avatar VARCHAR(255) NULL,
    avatar_thumbnail VARCHAR(255) NULL,
    birthday DATE NULL,
    gender VARCHAR(16) NOT NULL DEFAULT '',
    bio TEXT NOT NULL DEFAULT '',
    website VARCHAR(200) NOT NULL DEFAULT '',
    github VARCHAR(200) NOT NULL DEFAULT '',
    is_verified BOOLEAN NOT NULL DEFAULT 0,
    is_premium BOOLEAN NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    is_staff BOOLEAN NOT NULL DEFAULT 0,
    is_superuser BOOLEAN NOT NULL DEFAULT 0,
    role VARCHAR(16) NOT NULL DEFAULT 'user',
    privacy_settings TEXT NOT NULL DEFAULT '{}',
    is_searchable BOOLEAN NOT NULL DEFAULT 1,
    date_joined TIMESTAMP NOT NULL,
    last_login TIMESTAMP NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_users_username ON users (username_key);
CREATE UNIQUE INDEX uq_users_email ON users (email_key);
CREATE INDEX idx_users_active ON users (is_active, is_searchable);
CREATE INDEX idx_users_staff ON users (is_staff);
CREATE INDEX idx_users_verified ON users (is_verified);
CREATE INDEX idx_users_role ON users (role);
CREATE INDEX idx_users_date_joined ON users (date_joined);
CREATE INDEX idx_users_last_login ON users (last_login);

-- One profile per user, created in the same transaction as the account. Lists and settings
-- objects are JSON text (plaza-users `NotificationSettings`).
CREATE TABLE user_profiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    location VARCHAR(100) NOT NULL DEFAULT '',
    company VARCHAR(100) NOT NULL DEFAULT '',
    job_title VARCHAR(100) NOT NULL DEFAULT '',
    skills TEXT NOT NULL DEFAULT '[]',
    interests TEXT NOT NULL DEFAULT '[]',
    language VARCHAR(16) NOT NULL DEFAULT 'zh-hans',
    timezone VARCHAR(64) NOT NULL DEFAULT 'Asia/Shanghai',
    notification_settings TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_user_profiles_user ON user_profiles (user_id);

-- Successful logins (failed ones are the authentication domain's `login_attempts`).
CREATE TABLE user_login_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ip_address VARCHAR(45) NULL,
    user_agent VARCHAR(255) NOT NULL DEFAULT '',
    method VARCHAR(16) NOT NULL,
    login_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_user_login_logs_user ON user_login_logs (user_id, login_at);
CREATE INDEX idx_user_login_logs_login_at ON user_login_logs (login_at);
