//! The shared services a Plaza app runs on, built once at start and registered as app data.
//!
//! Each is registered separately (`web::Data<Db>`, `web::Data<Cache>`, …) so a domain mounted
//! in another actix app needs only the ones it uses.

use std::time::Instant;

use actix_web::web;

use crate::auth::TokenCodec;
use crate::bus::Bus;
use crate::cache::Cache;
use crate::config::Config;
use crate::db::{Db, PoolOptions};
use crate::metrics::Metrics;
use crate::realtime::Realtime;
use crate::settings::Sections;

/// When the process started, for `system/status`.
#[derive(Clone, Copy, Debug)]
pub struct StartedAt(pub Instant);

/// Everything a request handler may need, each behind an `Arc`.
#[derive(Clone)]
pub struct Services {
    /// Configuration.
    pub config: web::Data<Config>,
    /// The database pool.
    pub db: web::Data<Db>,
    /// The cache.
    pub cache: web::Data<Cache>,
    /// The bus.
    pub bus: web::Data<Bus>,
    /// JWT signing and verification.
    pub tokens: web::Data<TokenCodec>,
    /// Metrics.
    pub metrics: web::Data<Metrics>,
    /// WebSocket hubs and per-process realtime state.
    pub realtime: web::Data<Realtime>,
    /// Process start.
    pub started_at: web::Data<StartedAt>,
    /// The domains' settings sections, each registered as `web::Data<S>`.
    pub sections: Sections,
    /// Paths whose errors a domain renders in another wire format.
    pub error_shapes: crate::http::ErrorShapes,
    /// What every domain does when an account is deleted.
    pub user_deletion: crate::domain::UserDeletion,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("db", &self.db.backend())
            .field("cache", &self.cache.kind())
            .field("bus", &self.bus.kind())
            .finish_non_exhaustive()
    }
}

/// Why the services could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// Redis, as a cache.
    #[error("REDIS_URL: {0}")]
    Cache(#[from] crate::cache::CacheError),
    /// Redis, as a bus.
    #[error("REDIS_URL: {0}")]
    Bus(#[from] crate::bus::BusError),
}

impl Services {
    /// Connects the database and, when `REDIS_URL` is set, Redis; in-process cache and bus
    /// otherwise. Does not run migrations.
    pub async fn connect(config: Config) -> Result<Self, StartError> {
        let options = PoolOptions {
            max_size: config.db_pool_size,
            timeout: config.db_pool_timeout,
        };
        let url = config.database_url.clone();
        let db = tokio::task::spawn_blocking(move || Db::connect(&url, options))
            .await
            .map_err(|e| crate::db::DbError::Connect(e.to_string()))??;
        let (cache, bus) = match &config.redis_url {
            Some(url) => (
                Cache::redis(url, &config.redis_prefix).await?,
                Bus::redis(url, &config.redis_prefix).await?,
            ),
            None => (Cache::in_memory(), Bus::in_memory()),
        };
        Ok(Self::from_parts(config, db, cache, bus))
    }

    /// Assembles services from parts already built (tests, embedding).
    pub fn from_parts(config: Config, db: Db, cache: Cache, bus: Bus) -> Self {
        let tokens = TokenCodec::new(
            &config.secret_key,
            config.jwt_access_ttl,
            config.jwt_refresh_ttl,
        );
        let metrics = web::Data::new(Metrics::with_db_statements(db.statement_counter()));
        let realtime = web::Data::new(Realtime::new(bus.clone(), metrics.clone()));
        let db = db.with_metrics(metrics.clone().into_inner());
        let sections = Sections::from_vars(config.shared_vars());
        Self {
            config: web::Data::new(config),
            db: web::Data::new(db),
            cache: web::Data::new(cache),
            bus: web::Data::new(bus),
            tokens: web::Data::new(tokens),
            metrics,
            realtime,
            started_at: web::Data::new(StartedAt(Instant::now())),
            sections,
            error_shapes: crate::http::ErrorShapes::default(),
            user_deletion: crate::domain::UserDeletion::default(),
        }
    }

    /// Adds the domains' settings sections (see `domain::parse_settings`).
    #[must_use]
    pub fn with_sections(mut self, sections: Sections) -> Self {
        self.sections = sections;
        self
    }

    /// Adds the domains' hooks for account deletion (`UserDeletion::of(domains)`).
    #[must_use]
    pub fn with_user_deletion(mut self, user_deletion: crate::domain::UserDeletion) -> Self {
        self.user_deletion = user_deletion;
        self
    }

    /// Registers every service as app data: each on its own (`web::Data<Db>`, …) for
    /// handlers that need one or two, and the whole as `web::Data<Services>` for those that
    /// need several (one parameter instead of six).
    pub fn register(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.clone()))
            .app_data(self.config.clone())
            .app_data(self.db.clone())
            .app_data(self.cache.clone())
            .app_data(self.bus.clone())
            .app_data(self.tokens.clone())
            .app_data(self.metrics.clone())
            .app_data(self.realtime.clone())
            .app_data(self.started_at.clone());
        self.sections.register(cfg);
    }
}
