//! JWT access and refresh tokens: HS256 with `SECRET_KEY`, simplejwt's claim names.

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Role;
use crate::error::ApiError;

/// Which kind of token a JWT is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    /// Short-lived; authenticates requests.
    Access,
    /// Long-lived; exchanged for new tokens at `refresh-token/`.
    Refresh,
    /// Short-lived; proves the password step of a two-factor login.
    TwoFactorChallenge,
}

/// The claims Plaza signs. `user_id`, `token_type`, `jti`, `iat` and `exp` are simplejwt's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub user_id: i64,
    /// Username at issue time.
    pub username: String,
    /// Role at issue time.
    pub role: Role,
    /// Django's `is_staff`.
    #[serde(default)]
    pub is_staff: bool,
    /// Django's `is_superuser`.
    #[serde(default)]
    pub is_superuser: bool,
    /// Access, refresh or challenge.
    pub token_type: TokenType,
    /// Unique id of this token (revocation key).
    pub jti: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Issued at, milliseconds; compared with per-user revocation stamps.
    #[serde(default)]
    pub iat_ms: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Refresh-token family (all tokens rotated from one login share it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

/// Who a token is issued to.
#[derive(Clone, Debug)]
pub struct TokenSubject {
    /// The user.
    pub user_id: i64,
    /// Their username.
    pub username: String,
    /// Their role.
    pub role: Role,
    /// Django's `is_staff`.
    pub is_staff: bool,
    /// Django's `is_superuser`.
    pub is_superuser: bool,
}

/// A freshly signed token with the facts a caller may need to store.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// The JWT.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its expiry, seconds since the epoch.
    pub expires_at: i64,
}

/// Signs and verifies tokens; built once from the configuration and shared.
#[derive(Clone)]
pub struct TokenCodec {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_ttl: Duration,
}

impl std::fmt::Debug for TokenCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCodec")
            .field("access_ttl", &self.access_ttl)
            .finish_non_exhaustive()
    }
}

/// How long a two-factor challenge stays valid.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);

impl TokenCodec {
    /// A codec for `secret` with the given lifetimes.
    pub fn new(secret: &str, access_ttl: Duration, refresh_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    /// Signs an access token.
    pub fn issue_access(&self, subject: &TokenSubject) -> Result<IssuedToken, ApiError> {
        self.issue(subject, TokenType::Access, self.access_ttl, None)
    }

    /// Signs a refresh token in `family`.
    pub fn issue_refresh(
        &self,
        subject: &TokenSubject,
        family: &str,
    ) -> Result<IssuedToken, ApiError> {
        self.issue(
            subject,
            TokenType::Refresh,
            self.refresh_ttl,
            Some(family.to_owned()),
        )
    }

    /// Signs a two-factor challenge token.
    pub fn issue_challenge(&self, subject: &TokenSubject) -> Result<IssuedToken, ApiError> {
        self.issue(subject, TokenType::TwoFactorChallenge, CHALLENGE_TTL, None)
    }

    /// Signs a token of any type with an explicit lifetime (tests use a negative one).
    pub fn issue(
        &self,
        subject: &TokenSubject,
        token_type: TokenType,
        ttl: Duration,
        family: Option<String>,
    ) -> Result<IssuedToken, ApiError> {
        let now = chrono::Utc::now();
        let exp = now.timestamp() + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        self.sign(subject, token_type, now, exp, family)
    }

    /// Signs a token that expired `ago` ago (tests, and nothing else).
    pub fn issue_expired(
        &self,
        subject: &TokenSubject,
        ago: Duration,
    ) -> Result<IssuedToken, ApiError> {
        let now = chrono::Utc::now();
        let exp = now.timestamp() - i64::try_from(ago.as_secs()).unwrap_or(0);
        self.sign(subject, TokenType::Access, now, exp, None)
    }

    fn sign(
        &self,
        subject: &TokenSubject,
        token_type: TokenType,
        now: chrono::DateTime<chrono::Utc>,
        exp: i64,
        family: Option<String>,
    ) -> Result<IssuedToken, ApiError> {
        let jti = Uuid::new_v4().simple().to_string();
        let claims = Claims {
            user_id: subject.user_id,
            username: subject.username.clone(),
            role: subject.role,
            is_staff: subject.is_staff,
            is_superuser: subject.is_superuser,
            token_type,
            jti: jti.clone(),
            iat: now.timestamp(),
            iat_ms: now.timestamp_millis(),
            exp,
            family,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)?;
        Ok(IssuedToken {
            token,
            jti,
            expires_at: exp,
        })
    }

    /// Verifies signature, expiry and type. Expired tokens answer `token_expired`; anything
    /// else wrong answers `token_invalid`.
    pub fn decode(&self, token: &str, expected: TokenType) -> Result<Claims, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::token_expired(),
                _ => ApiError::token_invalid("Token is invalid."),
            })?;
        if data.claims.token_type != expected {
            return Err(ApiError::token_invalid("Token has the wrong type."));
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> TokenSubject {
        TokenSubject {
            user_id: 7,
            username: "alice".into(),
            role: Role::User,
            is_staff: false,
            is_superuser: false,
        }
    }

    fn codec() -> TokenCodec {
        TokenCodec::new(
            "a-test-secret",
            Duration::from_secs(900),
            Duration::from_secs(86400),
        )
    }

    #[test]
    fn access_round_trip() {
        let issued = codec().issue_access(&subject()).unwrap();
        let claims = codec().decode(&issued.token, TokenType::Access).unwrap();
        assert_eq!(claims.user_id, 7);
        assert_eq!(claims.jti, issued.jti);
        assert_eq!(claims.token_type, TokenType::Access);
    }

    #[test]
    fn refresh_is_not_an_access_token() {
        let issued = codec().issue_refresh(&subject(), "fam").unwrap();
        let err = codec()
            .decode(&issued.token, TokenType::Access)
            .unwrap_err();
        assert_eq!(err.code(), "token_invalid");
    }

    #[test]
    fn expired_and_tampered_tokens_have_distinct_codes() {
        let expired = codec()
            .issue_expired(&subject(), Duration::from_secs(120))
            .unwrap();
        assert_eq!(
            codec()
                .decode(&expired.token, TokenType::Access)
                .unwrap_err()
                .code(),
            "token_expired"
        );

        let good = codec().issue_access(&subject()).unwrap().token;
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[1] = parts[1].chars().rev().collect();
        let tampered = parts.join(".");
        assert_eq!(
            codec()
                .decode(&tampered, TokenType::Access)
                .unwrap_err()
                .code(),
            "token_invalid"
        );

        let other = TokenCodec::new(
            "another-secret",
            Duration::from_secs(60),
            Duration::from_secs(120),
        );
        let foreign = other.issue_access(&subject()).unwrap().token;
        assert_eq!(
            codec()
                .decode(&foreign, TokenType::Access)
                .unwrap_err()
                .code(),
            "token_invalid"
        );
    }
}
