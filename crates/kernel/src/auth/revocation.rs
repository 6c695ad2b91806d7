//! Revoked access tokens, kept in the [`Cache`] until they would have expired anyway.
//!
//! Two kinds of entry: one `jti` (logout), and a per-user stamp that revokes every access
//! token issued before it (password change, deactivation, role change). Refresh tokens are
//! revoked in the database by the authentication domain.

use std::time::Duration;

use super::Claims;
use crate::cache::Cache;
use crate::error::ApiError;

fn jti_key(jti: &str) -> String {
    format!("auth:revoked:{jti}")
}

fn user_key(user_id: i64) -> String {
    format!("auth:not-before:{user_id}")
}

/// Revokes one access token until its expiry.
pub async fn revoke_access(cache: &Cache, jti: &str, expires_at: i64) -> Result<(), ApiError> {
    let remaining = expires_at - chrono::Utc::now().timestamp();
    if remaining <= 0 {
        return Ok(());
    }
    let ttl = Duration::from_secs(u64::try_from(remaining).unwrap_or(0) + 1);
    cache.set(&jti_key(jti), "1", Some(ttl)).await?;
    Ok(())
}

/// Revokes every access token of `user_id` issued until now. `access_ttl` bounds how long the
/// stamp must be kept.
pub async fn revoke_all_access(
    cache: &Cache,
    user_id: i64,
    access_ttl: Duration,
) -> Result<(), ApiError> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    cache
        .set(
            &user_key(user_id),
            &now_ms.to_string(),
            Some(access_ttl + Duration::from_secs(5)),
        )
        .await?;
    Ok(())
}

/// Whether an access token has been revoked (one cache round trip for both checks).
pub async fn is_revoked(cache: &Cache, claims: &Claims) -> Result<bool, ApiError> {
    let keys = [jti_key(&claims.jti), user_key(claims.user_id)];
    let values = cache.get_many(&keys).await?;
    if values.first().is_some_and(Option::is_some) {
        return Ok(true);
    }
    let not_before = values
        .get(1)
        .cloned()
        .flatten()
        .and_then(|v| v.parse::<i64>().ok());
    let issued_ms = if claims.iat_ms > 0 {
        claims.iat_ms
    } else {
        claims.iat * 1000
    };
    Ok(not_before.is_some_and(|nb| issued_ms <= nb))
}
