//! What a job handler works with: the shared services and facts about the job being run.

use std::sync::Arc;

use actix_web::web;
use chrono::NaiveDateTime;

use super::registry::JobRegistry;
use crate::bus::Bus;
use crate::cache::Cache;
use crate::config::Config;
use crate::db::Db;
use crate::mail::{MailError, Mailer};
use crate::metrics::Metrics;
use crate::services::Services;

/// The services workers hand to job handlers, built once per worker.
#[derive(Clone)]
pub struct JobServices {
    /// The database pool.
    pub db: Db,
    /// Configuration.
    pub config: web::Data<Config>,
    /// The cache.
    pub cache: web::Data<Cache>,
    /// The bus (publish to WebSocket clients from a job).
    pub bus: web::Data<Bus>,
    /// Metrics.
    pub metrics: web::Data<Metrics>,
    /// Outgoing mail, as `EMAIL_BACKEND` says.
    pub mailer: Mailer,
}

impl std::fmt::Debug for JobServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobServices")
            .field("db", &self.db.backend())
            .field("mailer", &self.mailer.backend_name())
            .finish_non_exhaustive()
    }
}

impl JobServices {
    /// The services of an app, with the mailer its configuration describes (an unreadable
    /// `SMTP_CA_FILE` or an invalid `EMAIL_FROM` fails here, at start).
    pub fn from_services(services: &Services) -> Result<Self, MailError> {
        let mailer = Mailer::from_config(&services.config.email)?;
        Ok(Self::with_mailer(services, mailer))
    }

    /// The services of an app with a given mailer.
    pub fn with_mailer(services: &Services, mailer: Mailer) -> Self {
        Self {
            db: services.db.get_ref().clone(),
            config: services.config.clone(),
            cache: services.cache.clone(),
            bus: services.bus.clone(),
            metrics: services.metrics.clone(),
            mailer,
        }
    }
}

/// Facts about the job being run.
#[derive(Clone, Debug)]
pub struct JobInfo {
    /// Its id.
    pub id: i64,
    /// Its kind.
    pub kind: String,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// Attempts it gets before it is dead.
    pub max_attempts: u32,
    /// When it was enqueued.
    pub created_at: NaiveDateTime,
    /// When it was due.
    pub run_at: NaiveDateTime,
    /// The worker running it (`jobs.locked_by`).
    pub worker: String,
}

/// What a handler receives besides its payload: the services and the job's facts. Cheap to
/// clone (everything shared is behind an `Arc`).
#[derive(Clone)]
pub struct JobContext {
    /// The database pool: use `ctx.db.run(..)` / `ctx.db.transaction(..)`.
    pub db: Db,
    /// Configuration.
    pub config: web::Data<Config>,
    /// The cache.
    pub cache: web::Data<Cache>,
    /// The bus.
    pub bus: web::Data<Bus>,
    /// Metrics.
    pub metrics: web::Data<Metrics>,
    /// Outgoing mail.
    pub mailer: Mailer,
    /// What the worker runs (kinds, periodic jobs).
    pub registry: Arc<JobRegistry>,
    /// The job being run.
    pub job: JobInfo,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("job", &self.job)
            .finish_non_exhaustive()
    }
}

impl JobContext {
    pub(crate) fn new(services: &JobServices, registry: Arc<JobRegistry>, job: JobInfo) -> Self {
        Self {
            db: services.db.clone(),
            config: services.config.clone(),
            cache: services.cache.clone(),
            bus: services.bus.clone(),
            metrics: services.metrics.clone(),
            mailer: services.mailer.clone(),
            registry,
            job,
        }
    }
}
