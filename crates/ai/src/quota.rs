//! Per-user daily token quotas and concurrent-stream limits, in the kernel's Cache (Redis when
//! configured) so they hold across instances.
//!
//! The quota is checked before a call (429 `throttled`, `Retry-After` until the next UTC
//! midnight, when spent) and charged with the call's tokens when it ends. A call that starts
//! below the quota may end above it. When the cache fails, calls are let through (logged).

use std::time::Duration;

use chrono::{Timelike, Utc};
use plaza_kernel::{ApiError, Cache};

/// How long a day's counter lives (a day and an hour of slack).
const DAY_WINDOW: Duration = Duration::from_secs(25 * 3600);

/// How long a stream slot is held at most, should its release be lost (a crashed instance).
const SLOT_WINDOW: Duration = Duration::from_secs(3600);

fn day_key(user_id: i64) -> String {
    format!("ai:tokens:{user_id}:{}", Utc::now().format("%Y%m%d"))
}

fn slots_key(user_id: i64) -> String {
    format!("ai:streams:{user_id}")
}

/// Seconds until the next UTC midnight.
fn until_midnight() -> u64 {
    let now = Utc::now();
    86_400 - u64::from(now.num_seconds_from_midnight())
}

/// Tokens `user_id` has spent today.
pub async fn spent(cache: &Cache, user_id: i64) -> i64 {
    match cache.get(&day_key(user_id)).await {
        Ok(value) => value.and_then(|v| v.parse().ok()).unwrap_or(0),
        Err(error) => {
            tracing::warn!(%error, "AI quota unreadable; letting the call through");
            0
        }
    }
}

/// 429 when `user_id` has spent `quota` tokens today (`quota` 0: no limit).
pub async fn check(cache: &Cache, user_id: i64, quota: i64) -> Result<(), ApiError> {
    if quota > 0 && spent(cache, user_id).await >= quota {
        return Err(ApiError::throttled(until_midnight())
            .with_cause(format!("daily AI token quota of {quota} spent")));
    }
    Ok(())
}

/// Adds `tokens` to today's spending.
pub async fn charge(cache: &Cache, user_id: i64, tokens: i64) {
    if tokens <= 0 {
        return;
    }
    if let Err(error) = cache.incr_by(&day_key(user_id), tokens, DAY_WINDOW).await {
        tracing::warn!(%error, "could not charge the AI quota");
    }
}

/// One of a user's concurrent streams; released when dropped.
#[derive(Debug)]
pub struct StreamSlot {
    cache: Option<actix_web::web::Data<Cache>>,
    user_id: i64,
}

impl StreamSlot {
    /// Takes a slot, or 429 when `user_id` already has `max` streams open (`max` 0: no limit).
    pub async fn acquire(
        cache: actix_web::web::Data<Cache>,
        user_id: i64,
        max: i64,
    ) -> Result<Self, ApiError> {
        if max <= 0 {
            return Ok(Self {
                cache: None,
                user_id,
            });
        }
        let key = slots_key(user_id);
        match cache.incr_by(&key, 1, SLOT_WINDOW).await {
            Ok(open) if open > max => {
                let _ = cache.incr_by(&key, -1, SLOT_WINDOW).await;
                Err(ApiError::throttled(1).with_cause(format!("{max} AI streams already open")))
            }
            Ok(_) => Ok(Self {
                cache: Some(cache),
                user_id,
            }),
            Err(error) => {
                tracing::warn!(%error, "AI stream limit unreadable; letting the stream through");
                Ok(Self {
                    cache: None,
                    user_id,
                })
            }
        }
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Some(cache) = self.cache.take() {
            let key = slots_key(self.user_id);
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = cache.incr_by(&key, -1, SLOT_WINDOW).await;
                });
            }
        }
    }
}
