//! # plaza-server
//!
//! The only crate that knows every domain: it composes their scopes into one actix-web app
//! with the kernel's middleware, CORS, the OpenAPI document and Swagger UI, `/metrics`, the
//! public media files (`/media/`), and the forum's original paths ([`legacy`]). The domains
//! are one list, [`DOMAINS`]; the server loops over it for their settings ([`settings`]),
//! routes ([`configure`]), OpenAPI documents ([`openapi`]), jobs ([`job_registry`]), counts
//! ([`counts`]) and per-process state (started with the server, stopped after it).
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
use plaza_kernel::counts::Counts;
use plaza_kernel::domain::{self, Domain, Started};
use plaza_kernel::jobs::JobRegistry;
use plaza_kernel::realtime::{CloseCode, CloseReason};
use plaza_kernel::settings::{ConfigError, Sections};
use plaza_kernel::{db, Config, Realtime, Services};

pub use docs::openapi;
pub use workers::{worker, WorkerArgs};

/// Every domain this server runs, in the order their routes are mounted. Adding a domain is
/// one line here (see docs/architecture.md).
pub const DOMAINS: &[Domain] = &[
    plaza_core::DOMAIN,
    plaza_authentication::DOMAIN,
    plaza_users::DOMAIN,
    plaza_posts::DOMAIN,
    plaza_streaming::DOMAIN,
    plaza_ai::DOMAIN,
    plaza_social::DOMAIN,
    plaza_metaverse::DOMAIN,
];

/// Every domain's job handlers and periodic jobs, the kernel's own (`send_email`, pruning)
/// included.
pub fn job_registry() -> JobRegistry {
    domain::job_registry(DOMAINS)
}

/// The counts every domain contributes to `system/status` and user stats.
pub fn counts(services: &Services) -> Counts {
    domain::counts(DOMAINS, services)
}

/// The problems in every domain's settings section and the server's own (`ACCESS_LOG`), one
/// line each (for `Config::load_with`,
/// so a start reports the kernel's and the domains' problems together).
pub fn settings_problems(vars: &std::collections::HashMap<String, String>) -> Vec<String> {
    let mut problems = domain::parse_settings(DOMAINS, vars)
        .err()
        .map_or_else(Vec::new, |e| e.0);
    let mut env = plaza_kernel::settings::Env::new(vars);
    <telemetry::AccessLog as plaza_kernel::settings::Section>::from_env(&mut env);
    problems.extend(env.take_problems());
    problems
}

/// Every domain's settings section, parsed from the variables `config` was read from; every
/// problem of every section is reported at once.
pub fn settings(config: &Config) -> Result<Sections, ConfigError> {
    domain::parse_settings(DOMAINS, config.vars())
}

/// Registers what the server shares with every route beside the services: the job registry
/// (which kinds hide secrets from staff, the periodic jobs), the counts of `system/status`,
/// and each domain's per-process state.
pub fn register_contributions(
    cfg: &mut web::ServiceConfig,
    registry: &web::Data<JobRegistry>,
    counts: &web::Data<Counts>,
    started: &Started,
) {
    cfg.app_data(registry.clone()).app_data(counts.clone());
    started.register(cfg);
}

/// Every route of the application: each domain's, then the forum's original paths, the staff
/// console at `/admin/`, public media, `/metrics` and the API docs.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for domain in DOMAINS {
        (domain.configure)(cfg);
    }
    legacy::configure(cfg);
    plaza_admin::configure(cfg, DOMAINS);
    media::configure(cfg);
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
    let sections = settings(&config)?;
    let services = Services::connect(config)
        .await?
        .with_sections(sections)
        .with_user_deletion(domain::UserDeletion::of(DOMAINS));
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
    let counts = web::Data::new(counts(&services));
    let started = Arc::new(Started::start(DOMAINS, &services));
    let app_started = started.clone();
    let send_buffer = services.config.socket_send_buffer;
    let server = HttpServer::new(move || {
        let cors = cors(&app_services.config);
        let (registry, counts, started) = (registry.clone(), counts.clone(), app_started.clone());
        plaza_kernel::http::app(&app_services, move |cfg| {
            register_contributions(cfg, &registry, &counts, &started);
            configure(cfg);
        })
        .wrap(cors)
    })
    .on_connect(move |conn, _| set_send_buffer(conn, send_buffer))
    // Small writes go out at once: without it Nagle's algorithm holds a WebSocket frame
    // (a presence move, a stream delta, an SSE chunk) until the previous one is acknowledged.
    .tcp_nodelay(true)
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
    started.stop(&services).await;
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
