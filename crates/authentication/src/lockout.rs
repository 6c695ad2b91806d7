//! Login lockouts: five failures for one account (or one unknown login name), or twenty from
//! one address, within 15 minutes lock further attempts until the window that began with the
//! first failure ends (429 `throttled` with `Retry-After`). Counters live in the Cache, so
//! every instance sharing Redis enforces the same lockout.

use std::time::Duration;

use plaza_kernel::crypto::sha256_hex;
use plaza_kernel::{ApiError, ApiResult, Cache};
use plaza_users::values::username_key;
use plaza_users::User;

/// Failures allowed per account (or login name) in a window.
pub const MAX_FAILURES_PER_USER: i64 = 5;
/// Failures allowed per client address in a window.
pub const MAX_FAILURES_PER_IP: i64 = 20;
/// The window, counted from the first failure.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// What a lockout counts failures against: the account when it exists (however it was named:
/// username or email), otherwise the name typed.
pub fn subject(user: Option<&User>, login: &str) -> String {
    match user {
        Some(user) => format!("user:{}", user.id),
        None => format!("login:{}", username_key(login)),
    }
}

fn subject_key(subject: &str) -> String {
    // Hashed: what users type never becomes a raw cache key.
    format!("auth:login-failures:{}", sha256_hex(subject))
}

fn ip_key(ip: &str) -> String {
    format!("auth:login-failures:ip:{ip}")
}

fn parse(value: Option<&Option<String>>) -> i64 {
    value
        .and_then(Option::as_deref)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// 429 with the time left, if `subject` or `ip` is locked out.
pub async fn check(cache: &Cache, subject: &str, ip: Option<&str>) -> ApiResult<()> {
    let mut keys = vec![subject_key(subject)];
    if let Some(ip) = ip {
        keys.push(ip_key(ip));
    }
    let values = cache.get_many(&keys).await?;
    let locked = if parse(values.first()) >= MAX_FAILURES_PER_USER {
        Some(&keys[0])
    } else if parse(values.get(1)) >= MAX_FAILURES_PER_IP {
        keys.get(1)
    } else {
        None
    };
    match locked {
        Some(key) => {
            let left = cache.ttl(key).await?.unwrap_or(WINDOW);
            Err(ApiError::throttled(
                left.as_secs() + u64::from(left.subsec_nanos() > 0),
            ))
        }
        None => Ok(()),
    }
}

/// Which lockout a failure just started, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locked {
    /// The account or login name.
    Subject,
    /// The client address.
    Ip,
}

/// Counts a failure; tells which lockout (if any) it started.
pub async fn fail(cache: &Cache, subject: &str, ip: Option<&str>) -> ApiResult<Option<Locked>> {
    let by_subject = cache.incr(&subject_key(subject), WINDOW).await?;
    let by_ip = match ip {
        Some(ip) => cache.incr(&ip_key(ip), WINDOW).await?,
        None => 0,
    };
    Ok(if by_subject == MAX_FAILURES_PER_USER {
        Some(Locked::Subject)
    } else if by_ip == MAX_FAILURES_PER_IP {
        Some(Locked::Ip)
    } else {
        None
    })
}

/// Forgets an account's failures after a successful login (the address keeps its count).
pub async fn clear(cache: &Cache, subject: &str) -> ApiResult<()> {
    cache.delete(&subject_key(subject)).await?;
    Ok(())
}
