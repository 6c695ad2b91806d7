-- Accounts. Usernames and emails are unique case-insensitively through `username_key` and
-- `email_key`: the app stores their Unicode lower-case form, compared byte for byte
-- (BINARY here, utf8mb4_bin on MySQL), so both backends agree on every script.
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
    date_joined TIMESTAMP NOT NULL,
    last_login TIMESTAMP NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_users_username ON users (username_key);
CREATE UNIQUE INDEX uq_users_email ON users (email_key);
CREATE INDEX idx_users_active ON users (is_active);
CREATE INDEX idx_users_date_joined ON users (date_joined);
