DROP TABLE user_login_logs;
DROP TABLE user_profiles;
DROP TABLE users;
