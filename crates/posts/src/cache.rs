//! The forum's read cache: list pages (their JSON, keyed by absolute URL, since the page
//! links are absolute) and post details (with replies), kept for at most `POSTS_CACHE_TTL`.
//!
//! Every post or reply write in this process bumps a version that makes every entry stale
//! at once, and announces it on the Bus topic [`CHANGED_TOPIC`], which the other instances
//! follow ([`ReadCache::follow`]). An entry records the version it was read under *before* the
//! read began, so a read racing a write is never served after the write. A user's deletion
//! is announced the same way by its job ([`crate::user_deletion`]); other writes made outside
//! the forum's handlers (the nightly recount) show within the TTL.
//! Detail view counts are not frozen in the cache: see [`crate::views`].

use plaza_kernel::sync::lock;
use std::collections::HashMap;
use std::future::{ready, Ready};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, FromRequest, HttpRequest};
use bytes::Bytes;
use plaza_kernel::bus::RecvError;
use plaza_kernel::Bus;

use crate::types::PostDetail;
use crate::views::Snapshot;

/// The Bus topic a forum write is announced on (empty payload), so every instance drops its
/// cached pages.
pub const CHANGED_TOPIC: &str = "posts.changed";

/// Entries kept per kind; a full cache drops what is stale, then everything.
const MAX_ENTRIES: usize = 4096;

/// Cached list pages and post details; shared by the HTTP workers (app data).
#[derive(Debug)]
pub struct ReadCache {
    ttl: Duration,
    version: AtomicU64,
    lists: Mutex<HashMap<String, Entry<Bytes>>>,
    posts: Mutex<HashMap<i64, Entry<CachedPost>>>,
}

/// A post's detail and the view snapshot taken when it was read.
pub type CachedPost = (Arc<PostDetail>, Snapshot);

#[derive(Debug)]
struct Entry<T> {
    version: u64,
    at: Instant,
    value: T,
}

impl ReadCache {
    /// A cache whose entries live `ttl`; a zero `ttl` caches nothing.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            version: AtomicU64::new(0),
            lists: Mutex::new(HashMap::new()),
            posts: Mutex::new(HashMap::new()),
        }
    }

    /// Whether anything is cached at all.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The version to record with what is about to be read.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// The cached body of the list page at `url`.
    pub fn list(&self, url: &str) -> Option<Bytes> {
        let lists = lock(&self.lists);
        lists
            .get(url)
            .filter(|e| self.fresh(e))
            .map(|e| e.value.clone())
    }

    /// Keeps the body of the list page at `url`, read under `version`.
    pub fn put_list(&self, url: String, version: u64, body: Bytes) {
        if self.enabled() {
            self.put(&self.lists, url, version, body);
        }
    }

    /// The cached detail of post `id`, with the view snapshot taken when it was read.
    pub fn post(&self, id: i64) -> Option<CachedPost> {
        let posts = lock(&self.posts);
        posts
            .get(&id)
            .filter(|e| self.fresh(e))
            .map(|e| e.value.clone())
    }

    /// Keeps the detail of post `id`, read under `version` with `snapshot`.
    pub fn put_post(&self, id: i64, version: u64, detail: Arc<PostDetail>, snapshot: Snapshot) {
        if self.enabled() {
            self.put(&self.posts, id, version, (detail, snapshot));
        }
    }

    /// Makes every entry stale (a write happened here or in another instance).
    pub fn invalidate(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
        lock(&self.lists).clear();
        lock(&self.posts).clear();
    }

    /// Invalidates this instance's entries and tells the others (best effort: their TTL
    /// bounds what they serve if the Bus is down).
    pub async fn announce(&self, bus: Option<&Bus>) {
        self.invalidate();
        if let Some(bus) = bus {
            if let Err(err) = bus.publish(CHANGED_TOPIC, Bytes::new()).await {
                tracing::warn!(error = %err, "could not announce a forum change");
            }
        }
    }

    /// Drops this instance's entries whenever another instance announces a write; runs until
    /// the Bus closes. Spawn it once per process.
    pub async fn follow(self: Arc<Self>, bus: Bus) {
        let mut changes = match bus.subscribe(CHANGED_TOPIC).await {
            Ok(subscription) => subscription,
            Err(err) => {
                tracing::warn!(error = %err, "the forum cache cannot follow other instances' writes; entries expire after POSTS_CACHE_TTL");
                return;
            }
        };
        loop {
            match changes.recv().await {
                // A lagged subscriber missed changes: drop everything, as for one.
                Ok(_) | Err(RecvError::Lagged(_)) => self.invalidate(),
                Err(RecvError::Closed) => return,
            }
        }
    }

    fn fresh<T>(&self, entry: &Entry<T>) -> bool {
        entry.version == self.version() && entry.at.elapsed() < self.ttl
    }

    fn put<K: std::hash::Hash + Eq, T>(
        &self,
        map: &Mutex<HashMap<K, Entry<T>>>,
        key: K,
        version: u64,
        value: T,
    ) {
        if version != self.version() {
            return; // a write landed during the read
        }
        let mut map = lock(map);
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| self.fresh(e));
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(
            key,
            Entry {
                version,
                at: Instant::now(),
                value,
            },
        );
    }
}

/// What a forum write handler holds to announce its change once committed; works (and does
/// nothing) in an app without a [`ReadCache`].
#[derive(Debug)]
pub struct Changes {
    cache: Option<web::Data<ReadCache>>,
    bus: Option<web::Data<Bus>>,
}

impl Changes {
    /// Invalidates the forum's cached reads here and in the other instances.
    pub async fn announce(&self) {
        if let Some(cache) = &self.cache {
            cache
                .announce(self.bus.as_ref().map(|bus| bus.get_ref()))
                .await;
        }
    }
}

impl FromRequest for Changes {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(Self {
            cache: req.app_data::<web::Data<ReadCache>>().cloned(),
            bus: req.app_data::<web::Data<Bus>>().cloned(),
        }))
    }
}
