//! The forum's read cache: list pages (their JSON, keyed by absolute URL, since the page
//! links are absolute) and post details (with replies), kept for at most `POSTS_CACHE_TTL`.
//!
//! What a write changes is versioned separately: one *generation* for every list page and one
//! per thread (a post with its replies). A generation is a random token kept in the kernel's
//! [`Cache`] — Redis when the instances share one, so a write made on one instance is seen by
//! the next read on any other, or this process's store otherwise. A read fetches the
//! generation of what it reads (one round trip) *before* it reads, and an entry is served only
//! while its generation is still the current one; so a read racing a write is never served
//! after it, and a client reads its own write at once on every instance. What a write
//! changes ([`Change`]):
//!
//! - a new post: the list pages (threads stay cached);
//! - a reply, a deleted reply, an edited or deleted post: its thread and the list pages;
//! - an edited reply: its thread only.
//!
//! A user's deletion changes the threads and lists its job names ([`crate::user_deletion`]);
//! other writes made outside the forum's handlers (the nightly recount) show within the TTL. Detail view counts are not frozen in the cache: see
//! [`crate::views`]. If the generations cannot be read (Redis down), reads go to the database.

use plaza_kernel::sync::lock;
use std::collections::HashMap;
use std::future::{ready, Ready};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, FromRequest, HttpRequest};
use bytes::Bytes;
use plaza_kernel::Cache;

use crate::types::PostDetail;
use crate::views::Snapshot;

/// Entries kept per kind; a full cache drops what is expired, then everything.
const MAX_ENTRIES: usize = 4096;

/// The generation key of every list page.
const LISTS_KEY: &str = "posts:gen:lists";

/// How much longer than an entry a generation key lives. A generation must outlive every entry
/// read under the previous one: then a key that expires can only make an entry miss.
const GENERATION_MARGIN: Duration = Duration::from_secs(60);

/// The generation key of thread `id`.
fn thread_key(id: i64) -> String {
    format!("posts:gen:post:{id}")
}

/// Cached list pages and post details; shared by the HTTP workers (app data).
#[derive(Debug)]
pub struct ReadCache {
    ttl: Duration,
    generations: Cache,
    lists: Mutex<HashMap<String, Entry<Bytes>>>,
    posts: Mutex<HashMap<i64, Entry<CachedPost>>>,
}

/// A post's detail and the view snapshot taken when it was read.
pub type CachedPost = (Arc<PostDetail>, Snapshot);

/// The generation of the list pages or of one thread, as read before reading it: the token of
/// its last write, or none (no write within the generation's lifetime).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generation(Option<String>);

/// What a forum write changed, so only that is invalidated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A new post: every list page.
    Lists,
    /// An edited reply: its thread (post id), not the lists.
    Thread(i64),
    /// A reply, a deleted reply, an edited or deleted post: its thread (post id) and the lists.
    ThreadAndLists(i64),
}

impl Change {
    fn lists(self) -> bool {
        matches!(self, Self::Lists | Self::ThreadAndLists(_))
    }

    fn thread(self) -> Option<i64> {
        match self {
            Self::Lists => None,
            Self::Thread(id) | Self::ThreadAndLists(id) => Some(id),
        }
    }
}

#[derive(Debug)]
struct Entry<T> {
    generation: Generation,
    at: Instant,
    value: T,
}

impl ReadCache {
    /// A cache whose entries live `ttl`, with this process's own generations (one instance);
    /// a zero `ttl` caches nothing.
    pub fn new(ttl: Duration) -> Self {
        Self::shared(ttl, Cache::in_memory())
    }

    /// A cache whose entries live `ttl`, with its generations in `generations` (the kernel's
    /// Cache: Redis when instances share one).
    pub fn shared(ttl: Duration, generations: Cache) -> Self {
        Self {
            ttl,
            generations,
            lists: Mutex::new(HashMap::new()),
            posts: Mutex::new(HashMap::new()),
        }
    }

    /// Whether anything is cached at all.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The current generation of the list pages; `None` when it cannot be read (then the
    /// page is neither served from nor kept in the cache).
    pub async fn list_generation(&self) -> Option<Generation> {
        self.generation(LISTS_KEY).await
    }

    /// The current generation of thread `id`; `None` when it cannot be read.
    pub async fn post_generation(&self, id: i64) -> Option<Generation> {
        self.generation(&thread_key(id)).await
    }

    async fn generation(&self, key: &str) -> Option<Generation> {
        match self.generations.get(key).await {
            Ok(token) => Some(Generation(token)),
            Err(err) => {
                tracing::debug!(error = %err, "forum cache generation unavailable; reading the database");
                None
            }
        }
    }

    /// The cached body of the list page at `url`, if read under `generation`.
    pub fn list(&self, url: &str, generation: &Generation) -> Option<Bytes> {
        let lists = lock(&self.lists);
        lists
            .get(url)
            .filter(|e| self.fresh(e, generation))
            .map(|e| e.value.clone())
    }

    /// Keeps the body of the list page at `url`, read under `generation`.
    pub fn put_list(&self, url: String, generation: Generation, body: Bytes) {
        if self.enabled() {
            self.put(&self.lists, url, generation, body);
        }
    }

    /// The cached detail of post `id`, with the view snapshot taken when it was read, if read
    /// under `generation`.
    pub fn post(&self, id: i64, generation: &Generation) -> Option<CachedPost> {
        let posts = lock(&self.posts);
        posts
            .get(&id)
            .filter(|e| self.fresh(e, generation))
            .map(|e| e.value.clone())
    }

    /// Keeps the detail of post `id`, read under `generation` with `snapshot`.
    pub fn put_post(
        &self,
        id: i64,
        generation: Generation,
        detail: Arc<PostDetail>,
        snapshot: Snapshot,
    ) {
        if self.enabled() {
            self.put(&self.posts, id, generation, (detail, snapshot));
        }
    }

    /// Drops every entry of this instance (the generations are left as they are).
    pub fn invalidate(&self) {
        lock(&self.lists).clear();
        lock(&self.posts).clear();
    }

    /// Invalidates what `change` touched, in every instance sharing the generations: drops
    /// this instance's entries for it and gives each changed scope a new generation. Call it
    /// after the write committed and before answering. Best effort when the generations
    /// cannot be written: this instance is right at once, the others within the TTL.
    pub async fn changed(&self, change: Change) {
        if !self.enabled() {
            return;
        }
        if change.lists() {
            lock(&self.lists).clear();
        }
        if let Some(id) = change.thread() {
            lock(&self.posts).remove(&id);
        }
        if let Err(err) = bump(&self.generations, self.ttl, change).await {
            tracing::warn!(error = %err, "could not announce a forum change to the other instances; they see it within POSTS_CACHE_TTL");
        }
    }

    fn fresh<T>(&self, entry: &Entry<T>, generation: &Generation) -> bool {
        entry.generation == *generation && entry.at.elapsed() < self.ttl
    }

    fn put<K: std::hash::Hash + Eq, T>(
        &self,
        map: &Mutex<HashMap<K, Entry<T>>>,
        key: K,
        generation: Generation,
        value: T,
    ) {
        let mut map = lock(map);
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| e.at.elapsed() < self.ttl);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(
            key,
            Entry {
                generation,
                at: Instant::now(),
                value,
            },
        );
    }
}

/// Gives what `change` touched a new generation in `generations`, so that every instance's
/// entries read under the old one are stale at once — for a writer without a [`ReadCache`]
/// (a job; [`ReadCache::changed`] also drops its own entries). `ttl` is `POSTS_CACHE_TTL`.
pub async fn bump(
    generations: &Cache,
    ttl: Duration,
    change: Change,
) -> Result<(), plaza_kernel::cache::CacheError> {
    let ttl = Some(ttl + GENERATION_MARGIN);
    let lists = async {
        if change.lists() {
            let token = plaza_kernel::crypto::random_token(12);
            generations.set(LISTS_KEY, &token, ttl).await
        } else {
            Ok(())
        }
    };
    let thread = async {
        if let Some(id) = change.thread() {
            let token = plaza_kernel::crypto::random_token(12);
            generations.set(&thread_key(id), &token, ttl).await
        } else {
            Ok(())
        }
    };
    let (lists, thread) = tokio::join!(lists, thread);
    lists.and(thread)
}

/// What a forum write handler holds to announce its change once committed; works (and does
/// nothing) in an app without a [`ReadCache`].
#[derive(Debug)]
pub struct Changes {
    cache: Option<web::Data<ReadCache>>,
}

impl Changes {
    /// Invalidates what `change` touched, here and in the other instances.
    pub async fn announce(&self, change: Change) {
        if let Some(cache) = &self.cache {
            cache.changed(change).await;
        }
    }
}

impl FromRequest for Changes {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(Self {
            cache: req.app_data::<web::Data<ReadCache>>().cloned(),
        }))
    }
}
