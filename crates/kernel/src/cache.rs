//! A key-value cache with expiry: Redis when `REDIS_URL` is set, in-process otherwise.
//!
//! Both implementations keep the same semantics (tests run the same cases on each): values are
//! strings, `ttl: None` means no expiry, [`Cache::incr`] sets the expiry on the first increment
//! only (a fixed window), [`Cache::take`] reads and deletes atomically. Redis keys are prefixed
//! with `REDIS_KEY_PREFIX` so several deployments can share one server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use deadpool_redis::redis;

use crate::error::ApiError;

/// The cache could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("cache unavailable: {0}")]
pub struct CacheError(String);

impl From<CacheError> for ApiError {
    fn from(err: CacheError) -> Self {
        ApiError::unavailable("The cache is unavailable; retry shortly.", err).with_retry_after(1)
    }
}

impl From<redis::RedisError> for CacheError {
    fn from(err: redis::RedisError) -> Self {
        Self(err.to_string())
    }
}

impl From<deadpool_redis::PoolError> for CacheError {
    fn from(err: deadpool_redis::PoolError) -> Self {
        Self(err.to_string())
    }
}

/// The cache; cheap to clone.
#[derive(Clone)]
pub struct Cache {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Memory(Arc<MemoryStore>),
    Redis {
        pool: deadpool_redis::Pool,
        prefix: Arc<str>,
    },
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cache({})", self.kind())
    }
}

/// Increments `KEYS[1]` and sets its expiry (ms) only when the increment created it.
const INCR_WITH_EXPIRY: &str = r"
local v = redis.call('INCR', KEYS[1])
if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v";

/// `INCRBY` that starts the window when it creates the key (or finds it without expiry).
const INCR_BY_WITH_EXPIRY: &str = r"
local v = redis.call('INCRBY', KEYS[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v";

impl Cache {
    /// An in-process cache.
    pub fn in_memory() -> Self {
        Self {
            inner: Inner::Memory(Arc::new(MemoryStore::default())),
        }
    }

    /// A Redis cache; fails if Redis does not answer `PING`.
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, CacheError> {
        let pool = crate::redis_pool(url).map_err(|e| CacheError(e.to_string()))?;
        let cache = Self {
            inner: Inner::Redis {
                pool,
                prefix: Arc::from(prefix),
            },
        };
        cache.ping().await?;
        Ok(cache)
    }

    /// `"redis"` or `"memory"`.
    pub fn kind(&self) -> &'static str {
        match self.inner {
            Inner::Memory(_) => "memory",
            Inner::Redis { .. } => "redis",
        }
    }

    /// A round trip, for health checks.
    pub async fn ping(&self) -> Result<(), CacheError> {
        match &self.inner {
            Inner::Memory(_) => Ok(()),
            Inner::Redis { pool, .. } => {
                let mut conn = pool.get().await?;
                redis::cmd("PING").query_async::<String>(&mut conn).await?;
                Ok(())
            }
        }
    }

    /// The value of `key`, if present and not expired.
    pub async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        match &self.inner {
            Inner::Memory(store) => Ok(store.get(key)),
            Inner::Redis { pool, prefix } => {
                let mut conn = pool.get().await?;
                Ok(redis::cmd("GET")
                    .arg(format!("{prefix}{key}"))
                    .query_async(&mut conn)
                    .await?)
            }
        }
    }

    /// The values of several keys, in order, in one round trip.
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, CacheError> {
        match &self.inner {
            Inner::Memory(store) => Ok(keys.iter().map(|k| store.get(k)).collect()),
            Inner::Redis { pool, prefix } => {
                if keys.is_empty() {
                    return Ok(Vec::new());
                }
                let mut conn = pool.get().await?;
                let mut cmd = redis::cmd("MGET");
                for key in keys {
                    cmd.arg(format!("{prefix}{key}"));
                }
                Ok(cmd.query_async(&mut conn).await?)
            }
        }
    }

    /// Stores `value` under `key`, replacing any value.
    pub async fn set(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        match &self.inner {
            Inner::Memory(store) => {
                store.set(key, value, ttl);
                Ok(())
            }
            Inner::Redis { pool, prefix } => {
                let mut conn = pool.get().await?;
                let mut cmd = redis::cmd("SET");
                cmd.arg(format!("{prefix}{key}")).arg(value);
                if let Some(ttl) = ttl {
                    cmd.arg("PX").arg(millis(ttl));
                }
                cmd.query_async::<()>(&mut conn).await?;
                Ok(())
            }
        }
    }

    /// Stores `value` only if `key` is absent; `true` if it was stored.
    pub async fn set_nx(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        match &self.inner {
            Inner::Memory(store) => Ok(store.set_nx(key, value, ttl)),
            Inner::Redis { pool, prefix } => {
                let mut conn = pool.get().await?;
                let mut cmd = redis::cmd("SET");
                cmd.arg(format!("{prefix}{key}")).arg(value).arg("NX");
                if let Some(ttl) = ttl {
                    cmd.arg("PX").arg(millis(ttl));
                }
                let reply: Option<String> = cmd.query_async(&mut conn).await?;
                Ok(reply.is_some())
            }
        }
    }

    /// Deletes `key`; `true` if it existed.
    pub async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        match &self.inner {
            Inner::Memory(store) => Ok(store.take(key).is_some()),
            Inner::Redis { pool, prefix } => {
                let mut conn = pool.get().await?;
                let n: i64 = redis::cmd("DEL")
                    .arg(format!("{prefix}{key}"))
                    .query_async(&mut conn)
                    .await?;
                Ok(n > 0)
            }
        }
    }

    /// Reads and deletes `key` atomically (one-time values).
    pub async fn take(&self, key: &str) -> Result<Option<String>, CacheError> {
        match &self.inner {
            Inner::Memory(store) => Ok(store.take(key)),
            Inner::Redis { pool, prefix } => {
                let mut conn = pool.get().await?;
                Ok(redis::cmd("GETDEL")
                    .arg(format!("{prefix}{key}"))
                    .query_async(&mut conn)
                    .await?)
            }
        }
    }

    /// Adds one to the counter at `key` and returns the new value. The first increment starts
    /// a window of `window`; the counter disappears when it ends.
    pub async fn incr(&self, key: &str, window: Duration) -> Result<i64, CacheError> {
        match &self.inner {
            Inner::Memory(store) => Ok(store.incr(key, window)),
            Inner::Redis { pool, prefix } => {
                let mut conn = pool.get().await?;
                let value: i64 = redis::Script::new(INCR_WITH_EXPIRY)
                    .key(format!("{prefix}{key}"))
                    .arg(millis(window))
                    .invoke_async(&mut conn)
                    .await?;
                Ok(value)
            }
        }
    }

    /// Adds `delta` (which may be negative) to the counter at `key` and returns the new value.
    /// Creating the counter starts a window of `window`; it disappears when the window ends.
    pub async fn incr_by(
        &self,
        key: &str,
        delta: i64,
        window: Duration,
    ) -> Result<i64, CacheError> {
        match &self.inner {
            Inner::Memory(store) => Ok(store.incr_by(key, delta, window)),
            Inner::Redis { pool, prefix } => {
                let mut conn = pool.get().await?;
                let value: i64 = redis::Script::new(INCR_BY_WITH_EXPIRY)
                    .key(format!("{prefix}{key}"))
                    .arg(millis(window))
                    .arg(delta)
                    .invoke_async(&mut conn)
                    .await?;
                Ok(value)
            }
        }
    }

    /// Time left before `key` expires; `None` if absent or without expiry.
    pub async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        match &self.inner {
            Inner::Memory(store) => Ok(store.ttl(key)),
            Inner::Redis { pool, prefix } => {
                let mut conn = pool.get().await?;
                let ms: i64 = redis::cmd("PTTL")
                    .arg(format!("{prefix}{key}"))
                    .query_async(&mut conn)
                    .await?;
                Ok(u64::try_from(ms).ok().map(Duration::from_millis))
            }
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

struct Entry {
    value: String,
    expires: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

/// The in-process store: a map behind a mutex; expired entries vanish when read and are swept
/// every few thousand writes so the map cannot grow with dead keys.
#[derive(Default)]
struct MemoryStore {
    state: Mutex<MemoryState>,
}

#[derive(Default)]
struct MemoryState {
    map: HashMap<String, Entry>,
    writes: u32,
}

const SWEEP_EVERY: u32 = 4096;

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, MemoryState> {
        // A panic while holding this lock cannot leave the map half-written; keep serving.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        let state = self.lock();
        state
            .map
            .get(key)
            .filter(|e| e.live(now))
            .map(|e| e.value.clone())
    }

    fn write(state: &mut MemoryState, key: &str, entry: Entry) {
        state.writes = state.writes.wrapping_add(1);
        if state.writes % SWEEP_EVERY == 0 {
            let now = Instant::now();
            state.map.retain(|_, e| e.live(now));
        }
        state.map.insert(key.to_owned(), entry);
    }

    fn set(&self, key: &str, value: &str, ttl: Option<Duration>) {
        let expires = ttl.map(|t| Instant::now() + t);
        Self::write(
            &mut self.lock(),
            key,
            Entry {
                value: value.to_owned(),
                expires,
            },
        );
    }

    fn set_nx(&self, key: &str, value: &str, ttl: Option<Duration>) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        if state.map.get(key).is_some_and(|e| e.live(now)) {
            return false;
        }
        Self::write(
            &mut state,
            key,
            Entry {
                value: value.to_owned(),
                expires: ttl.map(|t| now + t),
            },
        );
        true
    }

    fn take(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        self.lock()
            .map
            .remove(key)
            .filter(|e| e.live(now))
            .map(|e| e.value)
    }

    fn incr(&self, key: &str, window: Duration) -> i64 {
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(entry) = state.map.get_mut(key).filter(|e| e.live(now)) {
            let next = entry.value.parse::<i64>().unwrap_or(0) + 1;
            entry.value = next.to_string();
            return next;
        }
        Self::write(
            &mut state,
            key,
            Entry {
                value: "1".to_owned(),
                expires: Some(now + window),
            },
        );
        1
    }

    fn incr_by(&self, key: &str, delta: i64, window: Duration) -> i64 {
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(entry) = state.map.get_mut(key).filter(|e| e.live(now)) {
            let next = entry
                .value
                .parse::<i64>()
                .unwrap_or(0)
                .saturating_add(delta);
            entry.value = next.to_string();
            return next;
        }
        Self::write(
            &mut state,
            key,
            Entry {
                value: delta.to_string(),
                expires: Some(now + window),
            },
        );
        delta
    }

    fn ttl(&self, key: &str) -> Option<Duration> {
        let now = Instant::now();
        let state = self.lock();
        let entry = state.map.get(key).filter(|e| e.live(now))?;
        entry.expires.map(|at| at.saturating_duration_since(now))
    }
}
