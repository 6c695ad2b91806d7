//! [`Forum`]: the read cache, the view counter and the queues of post and reply creates of
//! one process, built once and shared by every HTTP worker.

use std::time::Duration;

use actix_web::web;
use plaza_kernel::domain::{Running, StopFuture};
use plaza_kernel::{ApiResult, Cache, Db, Services};

use crate::batch::{PostBatcher, ReplyBatcher};
use crate::cache::ReadCache;
use crate::views::ViewCounter;

/// How often buffered views are written.
pub const VIEW_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// The forum's per-process state: register it on every app ([`Forum::register`]), start its
/// tasks once ([`Forum::start`]), and [`flush`](Forum::flush) at shutdown.
#[derive(Debug, Clone)]
pub struct Forum {
    /// Cached list pages and details.
    pub cache: web::Data<ReadCache>,
    /// Views not yet written.
    pub views: web::Data<ViewCounter>,
    /// Post creates written together ([`Forum::with_batcher`]); without it, each alone.
    pub batcher: Option<web::Data<PostBatcher>>,
    /// Reply creates written together ([`Forum::with_reply_batcher`]); without it, each alone.
    pub reply_batcher: Option<web::Data<ReplyBatcher>>,
}

impl Forum {
    /// A forum whose cache keeps entries for `cache_ttl` (`POSTS_CACHE_TTL`; zero: no cache),
    /// with its generations in this process (one instance).
    pub fn new(cache_ttl: Duration) -> Self {
        Self::with_cache(ReadCache::new(cache_ttl))
    }

    /// A forum whose cache keeps entries for `cache_ttl`, with its generations in the
    /// kernel's `cache` (Redis when instances share one: each reads the others' writes at
    /// once).
    pub fn shared(cache_ttl: Duration, cache: Cache) -> Self {
        Self::with_cache(ReadCache::shared(cache_ttl, cache))
    }

    fn with_cache(cache: ReadCache) -> Self {
        Self {
            cache: web::Data::new(cache),
            views: web::Data::new(ViewCounter::new()),
            batcher: None,
            reply_batcher: None,
        }
    }

    /// Writes concurrent creates of posts without tags together through `batcher` (a
    /// started one: [`PostBatcher::start`]).
    #[must_use]
    pub fn with_batcher(mut self, batcher: PostBatcher) -> Self {
        self.batcher = Some(web::Data::new(batcher));
        self
    }

    /// Writes concurrent top-level replies together through `batcher` (a started one:
    /// [`ReplyBatcher::start`]).
    #[must_use]
    pub fn with_reply_batcher(mut self, batcher: ReplyBatcher) -> Self {
        self.reply_batcher = Some(web::Data::new(batcher));
        self
    }

    /// Adds the cache, the counter and the batchers to an app's data.
    pub fn register(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.cache.clone())
            .app_data(self.views.clone());
        if let Some(batcher) = &self.batcher {
            cfg.app_data(batcher.clone());
        }
        if let Some(batcher) = &self.reply_batcher {
            cfg.app_data(batcher.clone());
        }
    }

    /// Spawns the task writing buffered views every `flush_every`. Call once, inside the
    /// runtime.
    pub fn start(&self, db: Db, flush_every: Duration) {
        let forum = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(flush_every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(err) = forum.flush(&db).await {
                    tracing::warn!(error = %err, "could not write view counts; retrying");
                }
            }
        });
    }

    /// Writes every buffered view now; returns how many.
    pub async fn flush(&self, db: &Db) -> ApiResult<u64> {
        if self.views.is_empty() {
            return Ok(0);
        }
        let views = self.views.clone();
        db.run(move |conn| Ok(views.flush(conn)?)).await
    }
}

impl Running for Forum {
    fn register(&self, cfg: &mut web::ServiceConfig) {
        Forum::register(self, cfg);
    }

    fn stop<'a>(&'a self, services: &'a Services) -> StopFuture<'a> {
        Box::pin(async move {
            match self.flush(&services.db).await {
                Ok(0) => {}
                Ok(views) => tracing::info!(views, "wrote the buffered view counts"),
                Err(err) => {
                    tracing::warn!(error = %err, "could not write the buffered view counts");
                }
            }
        })
    }
}
