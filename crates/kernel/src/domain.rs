//! The domain contract: how a domain crate plugs into a Plaza server.
//!
//! Each domain crate exports one [`Domain`] — a `const` describing everything it contributes:
//! its settings section, routes, OpenAPI document, jobs and periodic jobs, counts for
//! `system/status` and user stats, the per-process state it starts with the server and
//! flushes at shutdown, what it does when an account is deleted, and what it shows in the
//! staff console ([`crate::admin`]). Every field is required, so a domain cannot forget one:
//! a domain with no jobs says so (`jobs: |_| {}`). The server keeps a list of domains and loops over it;
//! adding a domain is one line there.
//!
//! ```
//! use actix_web::{web, HttpResponse};
//! use plaza_kernel::domain::Domain;
//!
//! async fn list_widgets() -> HttpResponse {
//!     HttpResponse::Ok().json(Vec::<String>::new())
//! }
//!
//! /// The widgets domain.
//! pub const DOMAIN: Domain = Domain {
//!     name: "widgets",
//!     settings: |_, _| {},
//!     configure: |cfg| {
//!         cfg.service(web::resource("/api/v1/widgets/").get(list_widgets));
//!     },
//!     openapi: utoipa::openapi::OpenApi::default,
//!     jobs: |_| {},
//!     counts: |counts, _| counts,
//!     start: |_| None,
//!     before_user_delete: |_, _| Ok(()),
//!     admin: plaza_kernel::admin::Admin::NONE,
//! };
//! # assert_eq!(DOMAIN.name, "widgets");
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use diesel::QueryResult;

use actix_web::web;

use crate::counts::Counts;
use crate::db::DbConn;
use crate::jobs::JobRegistry;
use crate::services::Services;
use crate::settings::{ConfigError, Env, Sections};

/// A future a domain's [`Running::stop`] returns.
pub type StopFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Everything one domain contributes to a server, described once.
#[derive(Clone, Copy)]
pub struct Domain {
    /// Its name (`"posts"`), for logs.
    pub name: &'static str,
    /// Parses its settings section from the environment into `sections`
    /// (`|env, sections| sections.parse::<MySettings>(env)`), noting bad values in `env`.
    pub settings: fn(&mut Env<'_>, &mut Sections),
    /// Mounts its routes (and the app data they need that is not per-process state).
    pub configure: fn(&mut web::ServiceConfig),
    /// The OpenAPI document of its endpoints.
    pub openapi: fn() -> utoipa::openapi::OpenApi,
    /// Adds its job handlers and periodic jobs.
    pub jobs: fn(&mut JobRegistry),
    /// Adds its counts to `system/status` and to user stats.
    pub counts: fn(Counts, &Services) -> Counts,
    /// Starts its per-process state (caches, buffers, flushers) with the server; `None` when
    /// it has none. Called once per process, after the services are connected.
    pub start: fn(&Services) -> Option<Box<dyn Running>>,
    /// Runs in the transaction that deletes an account (`user_id`), before its row goes and
    /// the database's cascades take the domain's rows of it along: the domain notes what the
    /// cascade will leave stale (counters, cached pages, files), typically as a job of its own
    /// that brings it up to date once the deletion has committed. `|_, _| Ok(())` when
    /// nothing of its own goes stale.
    pub before_user_delete: BeforeUserDelete,
    /// Its models, charts and figures in the staff console (`Admin::NONE` when it has none).
    pub admin: crate::admin::Admin,
}

/// A domain's [`Domain::before_user_delete`].
pub type BeforeUserDelete = fn(&mut DbConn, i64) -> QueryResult<()>;

/// Every domain's [`Domain::before_user_delete`], for the users domain to run when it deletes
/// an account (`Services::user_deletion`).
#[derive(Clone, Default)]
pub struct UserDeletion(Arc<[(&'static str, BeforeUserDelete)]>);

impl std::fmt::Debug for UserDeletion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

impl UserDeletion {
    /// The hooks of `domains`.
    pub fn of(domains: &[Domain]) -> Self {
        Self(
            domains
                .iter()
                .map(|domain| (domain.name, domain.before_user_delete))
                .collect(),
        )
    }

    /// Runs every domain's hook for `user_id`, in the caller's transaction.
    pub fn run(&self, conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
        self.0.iter().try_for_each(|(_, hook)| hook(conn, user_id))
    }
}

impl std::fmt::Debug for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Domain").field("name", &self.name).finish()
    }
}

/// A domain's per-process state, started with the server.
pub trait Running: Send + Sync {
    /// Registers the state as app data; called for every HTTP worker's app.
    fn register(&self, cfg: &mut web::ServiceConfig);

    /// Writes what the state buffered, at shutdown, after the last request.
    fn stop<'a>(&'a self, services: &'a Services) -> StopFuture<'a>;
}

/// Parses the settings section of every domain from `vars`, reporting every problem of every
/// section at once.
pub fn parse_settings(
    domains: &[Domain],
    vars: &std::collections::HashMap<String, String>,
) -> Result<Sections, ConfigError> {
    let mut env = Env::new(vars);
    let mut sections = Sections::from_vars(std::sync::Arc::new(vars.clone()));
    for domain in domains {
        (domain.settings)(&mut env, &mut sections);
    }
    env.finish().map(|()| sections)
}

/// Every domain's jobs in one registry, the kernel's own (`send_email`, pruning) included.
pub fn job_registry(domains: &[Domain]) -> JobRegistry {
    let mut registry = JobRegistry::new();
    for domain in domains {
        (domain.jobs)(&mut registry);
    }
    registry
}

/// Every domain's counts.
pub fn counts(domains: &[Domain], services: &Services) -> Counts {
    domains.iter().fold(Counts::default(), |counts, domain| {
        (domain.counts)(counts, services)
    })
}

/// The OpenAPI documents of every domain, merged.
pub fn openapi(domains: &[Domain]) -> utoipa::openapi::OpenApi {
    let mut merged = utoipa::openapi::OpenApi::default();
    for domain in domains {
        merged.merge((domain.openapi)());
    }
    merged
}

/// The per-process state of every domain that has one, started together and stopped together.
#[derive(Default)]
pub struct Started {
    running: Vec<(&'static str, Box<dyn Running>)>,
}

impl Started {
    /// Starts every domain's per-process state.
    pub fn start(domains: &[Domain], services: &Services) -> Self {
        let running = domains
            .iter()
            .filter_map(|domain| (domain.start)(services).map(|state| (domain.name, state)))
            .collect();
        Self { running }
    }

    /// Registers every domain's state as app data.
    pub fn register(&self, cfg: &mut web::ServiceConfig) {
        for (_, state) in &self.running {
            state.register(cfg);
        }
    }

    /// Stops every domain's state, flushing what it buffered.
    pub async fn stop(&self, services: &Services) {
        for (name, state) in &self.running {
            tracing::debug!(domain = name, "stopping");
            state.stop(services).await;
        }
    }
}
