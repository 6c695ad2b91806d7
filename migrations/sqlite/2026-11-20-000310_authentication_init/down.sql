DROP TABLE api_keys;
DROP TABLE two_factor_recovery_codes;
DROP TABLE two_factor_auth;
DROP TABLE login_attempts;
DROP TABLE account_tokens;
DROP TABLE refresh_tokens;
DROP TABLE auth_sessions;
