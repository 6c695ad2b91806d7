//! # plaza-server
//!
//! The only crate that knows every domain: it composes their scopes into one actix-web app
//! with the kernel's middleware, CORS, the OpenAPI document and Swagger UI, `/metrics`, the
//! public media files (`/media/`), and the forum's original paths ([`legacy`]). It also
//! gathers every domain's background jobs ([`job_registry`]) and counts ([`counts`]).
//! `bin/plaza` calls [`serve`], [`worker`] and the [`commands`].

pub mod commands;
pub mod docs;
pub mod legacy;
pub mod media;
mod ops;
pub mod telemetry;
mod workers;

use std::sync::Arc;

use actix_cors::Cors;
use actix_web::middleware::Condition;
use actix_web::{http::header, web, HttpServer};
use anyhow::Context;
use diesel::prelude::*;
use plaza_kernel::counts::Counts;
use plaza_kernel::jobs::JobRegistry;
use plaza_kernel::realtime::{CloseCode, CloseReason};
use plaza_kernel::schema::users;
use plaza_kernel::{db, Config, Realtime, Services};
use plaza_posts::Forum;

pub use docs::openapi;
pub use workers::{worker, WorkerArgs};

/// Every domain's job handlers and periodic jobs, the kernel's own (`send_email`, pruning)
/// included. Each domain with background work adds a line here.
pub fn job_registry() -> JobRegistry {
    let mut registry = JobRegistry::new();
    plaza_authentication::register_jobs(&mut registry);
    plaza_posts::register_jobs(&mut registry);
    plaza_streaming::register_jobs(&mut registry);
    registry
}

/// The counts domains contribute to `system/status` and user stats. Each domain with
/// counts adds its own here. `realtime` is this process's (for `open_websockets`).
pub fn counts(realtime: &web::Data<Realtime>) -> Counts {
    let counts = Counts::default().system("users", |conn| users::table.count().get_result(conn));
    let counts = plaza_posts::add_counts(counts);
    plaza_streaming::add_counts(counts, realtime.clone())
}

/// Registers what the domains contribute beside their routes: the job registry (which
/// kinds hide secrets from staff, the periodic jobs), the counts of `system/status`, and the
/// forum's read cache and view counter.
pub fn register_contributions(
    cfg: &mut web::ServiceConfig,
    registry: &web::Data<JobRegistry>,
    counts: &web::Data<Counts>,
    forum: &Forum,
) {
    cfg.app_data(registry.clone()).app_data(counts.clone());
    forum.register(cfg);
}

/// Every route of the application.
pub fn configure(cfg: &mut web::ServiceConfig) {
    plaza_core::configure_ops(cfg);
    plaza_core::configure(cfg);
    plaza_authentication::configure(cfg);
    plaza_users::configure(cfg);
    plaza_posts::configure(cfg);
    legacy::configure(cfg);
    media::configure(cfg);
    plaza_streaming::configure(cfg);
    ops::configure(cfg);
    docs::configure(cfg);
}

/// CORS from `CORS_ALLOWED_ORIGINS` (`*` allows any origin); off when the list is empty.
fn cors(config: &Config) -> Condition<Cors> {
    let origins = &config.cors_allowed_origins;
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("x-api-key"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
        ])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        cors = cors.allow_any_origin().send_wildcard();
    } else {
        for origin in origins {
            cors = cors.allowed_origin(origin);
        }
    }
    Condition::new(!origins.is_empty(), cors)
}

/// Connects the services and applies pending migrations (refusing a database that is ahead).
pub async fn prepare(config: Config) -> anyhow::Result<Services> {
    let url = config.database_url.clone();
    if tokio::task::spawn_blocking(move || db::create_mysql_database_if_missing(&url)).await?? {
        tracing::info!("created the MySQL database");
    }
    let services = Services::connect(config).await?;
    let pool = services.db.clone();
    let applied = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let mut conn = pool.get().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(db::run_migrations(&mut conn)?)
    })
    .await
    .context("running migrations")??;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied migrations");
    }
    Ok(services)
}

/// Serves until SIGINT or SIGTERM, then finishes in-flight requests (up to 30 s). With
/// `WORKER_INPROCESS` (the default) it runs a job worker too, which stops with it: running
/// jobs get `WORKER_SHUTDOWN_GRACE` to finish, the rest go back to the queue.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind.clone();
    let workers = config.workers;
    let services = prepare(config).await?;
    tracing::info!(
        database = services.db.backend().as_str(),
        cache = services.cache.kind(),
        bus = services.bus.kind(),
        "services ready"
    );
    let registry = Arc::new(job_registry());
    registry.check()?;
    let worker = if services.config.jobs.inprocess {
        Some(workers::start(&services, registry.clone())?)
    } else {
        None
    };
    if let Some(worker) = &worker {
        // Stop taking jobs as soon as the signal arrives, while HTTP drains.
        let stopper = worker.stopper();
        tokio::spawn(async move {
            workers::shutdown_signal().await;
            stopper.stop();
        });
    }

    let app_services = services.clone();
    let registry = web::Data::from(registry);
    let counts = web::Data::new(counts(&services.realtime));
    let forum = Forum::new(services.config.posts_cache_ttl);
    forum.start(
        services.db.get_ref().clone(),
        services.bus.get_ref().clone(),
        plaza_posts::forum::VIEW_FLUSH_INTERVAL,
    );
    let app_forum = forum.clone();
    let send_buffer = services.config.socket_send_buffer;
    let server = HttpServer::new(move || {
        let cors = cors(&app_services.config);
        let (registry, counts, forum) = (registry.clone(), counts.clone(), app_forum.clone());
        plaza_kernel::http::app(&app_services, move |cfg| {
            register_contributions(cfg, &registry, &counts, &forum);
            configure(cfg);
        })
        .wrap(cors)
    })
    .on_connect(move |conn, _| set_send_buffer(conn, send_buffer))
    .workers(workers)
    .shutdown_timeout(30)
    .bind(&bind)
    .with_context(|| format!("cannot listen on {bind}"))?;
    for addr in server.addrs() {
        tracing::info!("Plaza listening on http://{addr} — API http://{addr}/api/v1/, docs http://{addr}/api/docs/");
    }
    let running = server.run();
    actix_rt::spawn(close_websockets_on_shutdown(services.realtime.clone()));
    let served = running.await;
    match forum.flush(&services.db).await {
        Ok(0) => {}
        Ok(views) => tracing::info!(views, "wrote the buffered view counts"),
        Err(err) => tracing::warn!(error = %err, "could not write the buffered view counts"),
    }
    if let Some(worker) = worker {
        worker.shutdown().await;
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// Caps an accepted connection's kernel send buffer (`SOCKET_SEND_BUFFER`; 0 keeps the OS's).
fn set_send_buffer(conn: &dyn std::any::Any, bytes: usize) {
    if bytes == 0 {
        return;
    }
    if let Some(stream) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
        if let Err(err) = socket2::SockRef::from(stream).set_send_buffer_size(bytes) {
            tracing::debug!(error = %err, "could not set a socket's send buffer");
        }
    }
}

/// At SIGTERM or SIGINT, tells every WebSocket client to go away (1001) after what is queued
/// for it: the graceful shutdown then need not wait for long-lived connections, and clients
/// reconnect to another instance at once.
async fn close_websockets_on_shutdown(realtime: web::Data<Realtime>) {
    workers::shutdown_signal().await;
    let closed = realtime.close_all(&CloseReason {
        code: CloseCode::Away,
        description: Some("server shutting down".to_owned()),
    });
    if closed > 0 {
        tracing::info!(sockets = closed, "closing WebSockets for shutdown");
    }
}
