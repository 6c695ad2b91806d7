//! `GET /api/v1/core/system/status/` (staff): what this deployment runs and how busy it is.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use plaza_kernel::counts::Counts;
use plaza_kernel::jobs::{self, JobRegistry, QueueDepth};
use plaza_kernel::{ApiResult, Caller, Services};
use serde::Serialize;
use utoipa::ToSchema;

/// The deployment's status.
#[derive(Debug, Serialize, ToSchema)]
pub struct SystemStatus {
    /// Plaza's version.
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    /// When this process started.
    pub started_at: DateTime<Utc>,
    /// Seconds since then.
    pub uptime_seconds: u64,
    /// `mysql` or `sqlite`.
    pub database: &'static str,
    /// `redis` or `memory`.
    pub cache: &'static str,
    /// `redis` or `memory`.
    pub bus: &'static str,
    /// The counts the domains contribute (`users`, `posts`, `live_streams`, …).
    #[schema(value_type = Object, example = json!({"users": 42}))]
    pub counts: BTreeMap<String, i64>,
    /// The job queue.
    pub jobs: JobsStatus,
}

/// The job queue and this process's worker.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobsStatus {
    /// Jobs by status, and the due backlog.
    pub depth: QueueDepth,
    /// Whether this process runs a worker (`WORKER_INPROCESS`).
    pub worker_inprocess: bool,
    /// Jobs a worker runs at once (`WORKER_CONCURRENCY`).
    pub concurrency: usize,
    /// The kinds workers of this version handle.
    pub kinds: Vec<&'static str>,
    /// The periodic jobs.
    pub periodic: Vec<PeriodicStatus>,
}

/// One periodic job.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodicStatus {
    /// Its name.
    #[schema(example = "kernel.prune_jobs")]
    pub name: String,
    /// The kind it enqueues.
    pub kind: &'static str,
    /// When it runs, e.g. `every 1h` or `daily at 03:00 UTC`.
    pub schedule: String,
    /// When its next period starts.
    pub next_run_at: DateTime<Utc>,
}

/// Staff: version, uptime, backends, counts and the job queue.
#[utoipa::path(
    get,
    path = "/api/v1/core/system/status/",
    tag = "core",
    responses(
        (status = 200, description = "The deployment's status", body = SystemStatus),
        (status = 401, description = "No credentials", body = plaza_kernel::error::ErrorBody),
        (status = 403, description = "Not staff", body = plaza_kernel::error::ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = []))
)]
pub async fn system_status(
    caller: Caller,
    services: web::Data<Services>,
    counts: Option<web::Data<Counts>>,
    registry: Option<web::Data<JobRegistry>>,
) -> ApiResult<HttpResponse> {
    caller.require_staff()?;
    let Services {
        db,
        cache,
        bus,
        config,
        metrics,
        started_at: started,
        ..
    } = services.get_ref();
    let counts = match counts {
        Some(counts) => {
            db.run(move |conn| {
                Ok(counts
                    .count_system(conn)?
                    .into_iter()
                    .map(|(name, n)| (name.to_owned(), n))
                    .collect())
            })
            .await?
        }
        None => BTreeMap::new(),
    };
    let depth = jobs::sample_depth(db, metrics).await?;
    let now = plaza_kernel::time::now();
    let (kinds, periodic) =
        registry
            .as_ref()
            .map(|r| r.get_ref())
            .map_or_else(Default::default, |r| {
                let periodic = r
                    .periodic_jobs()
                    .iter()
                    .map(|p| PeriodicStatus {
                        name: p.name.clone(),
                        kind: p.kind,
                        schedule: p.schedule.to_string(),
                        next_run_at: plaza_kernel::time::utc(p.schedule.next_after(now)),
                    })
                    .collect();
                (r.kinds(), periodic)
            });
    let uptime = started.0.elapsed();
    let started_at = Utc::now() - chrono::Duration::from_std(uptime).unwrap_or_default();
    Ok(HttpResponse::Ok().json(SystemStatus {
        version: env!("CARGO_PKG_VERSION"),
        started_at,
        uptime_seconds: uptime.as_secs(),
        database: db.backend().as_str(),
        cache: cache.kind(),
        bus: bus.kind(),
        counts,
        jobs: JobsStatus {
            depth,
            worker_inprocess: config.jobs.inprocess,
            concurrency: config.jobs.concurrency,
            kinds,
            periodic,
        },
    }))
}
