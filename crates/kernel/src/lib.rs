//! # plaza-kernel
//!
//! What every Plaza domain stands on:
//!
//! - [`domain`]: the contract each domain crate exports once (`Domain`), and the loops the
//!   server runs over the list of domains.
//! - [`config`]: the shared `Config` from the environment, checked at start; [`settings`]:
//!   the parser (`Env`) and the per-domain settings sections (`Section`, `Sections`).
//! - [`db`]: `Db` over MySQL or SQLite (`DbConn`), the pool, queries on the blocking pool,
//!   transactions, inserted ids, embedded migrations. [`schema`] describes every table.
//! - [`error`]: `ApiError`, the contract's error envelope, and the one mapping of database
//!   errors to HTTP.
//! - [`extract`]: `ValidJson` and `ValidQuery`, which validate once and name failing fields.
//! - [`pagination`]: DRF's page-number shape with absolute links, and keyset cursors.
//! - [`auth`]: `Caller` / `MaybeCaller` extractors, roles, JWTs, revocation, WebSocket
//!   tickets, and the `ApiKeyResolver` trait the authentication domain implements.
//! - [`cache`] and [`bus`]: Redis or in-process, chosen by `REDIS_URL`.
//! - [`http`]: the middleware stack and `app()`, shared by the server and by tests.
//! - [`services`]: the bundle of shared services registered as app data.
//! - [`jobs`] and [`mail`]: the durable job queue and mail sent through it.
//! - [`counts`]: counts domains contribute to `system/status` and user stats.
//! - [`realtime`]: WebSocket connections with bounded outbound queues, heartbeats and size
//!   limits, and rooms on the Bus that span processes.
//! - [`ids`]: typed ids (`typed_id!`, `UserId`).
//! - [`notices`]: a job one domain enqueues to tell a user something another domain delivers.
//! - [`throttle`]: abuse limits (`Limit`) counted in the Cache across instances.
//! - [`syslog`], [`metrics`], [`time`], [`crypto`].
//! - `testing` (feature `test-support`): `TestApp`, a real server over a fresh database.
//!
//! A domain crate mounts its routes with `configure(cfg)` and reads what it needs from app
//! data (`web::Data<Db>`, `web::Data<Cache>`, …); see each domain's README.

pub mod admin;
pub mod auth;
pub mod bus;
pub mod cache;
pub mod config;
pub mod counts;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod extract;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod notices;
pub mod pagination;
pub mod realtime;
pub mod schema;
pub mod services;
pub mod settings;
pub mod sync;
pub mod syslog;
pub mod throttle;
pub mod time;

#[cfg(feature = "test-support")]
pub mod testing;

pub use auth::{Caller, MaybeCaller, Role};
pub use bus::Bus;
pub use cache::Cache;
pub use config::Config;
pub use db::{Db, DbConn};
pub use error::{ApiError, ApiResult};
pub use extract::{Body, ValidJson, ValidQuery};
pub use ids::UserId;
pub use pagination::{CursorPage, CursorRequest, OrderBy, Page, PageRequest};
pub use realtime::Realtime;
pub use services::Services;

/// A Redis connection pool for `url`.
pub(crate) fn redis_pool(
    url: &str,
) -> Result<deadpool_redis::Pool, deadpool_redis::CreatePoolError> {
    deadpool_redis::Config::from_url(url).create_pool(Some(deadpool_redis::Runtime::Tokio1))
}
