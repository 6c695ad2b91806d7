//! # plaza-core
//!
//! Health and status of a Plaza deployment, and the staff view of the job queue. Mount it
//! with [`configure`] (the `/api/v1/core/` scope) and [`configure_ops`] (`/health`) in any
//! actix app whose app data holds the kernel's services (`Services::register`); a
//! `web::Data<Counts>` and a `web::Data<JobRegistry>`, when present, feed `system/status`
//! and the job payloads staff may see.

pub mod health;
pub mod jobs;
pub mod status;

use actix_web::web;
use utoipa::OpenApi;

/// The OpenAPI description of this crate's endpoints.
#[derive(OpenApi)]
#[openapi(
    paths(
        health::liveness,
        health::system_health,
        status::system_status,
        jobs::list_jobs,
        jobs::get_job,
        jobs::retry_job,
    ),
    components(schemas(
        health::Liveness,
        health::Health,
        health::Checks,
        health::Check,
        status::SystemStatus,
        status::JobsStatus,
        status::PeriodicStatus,
        plaza_kernel::jobs::QueueDepth,
        jobs::JobView,
        jobs::JobPage,
        jobs::JobStatusName,
    )),
    tags((name = "core", description = "Health, status, system logs, tags, attachments"))
)]
pub struct ApiDoc;

/// Mounts `/api/v1/core/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/core")
            .service(web::resource("/system/health/").get(health::system_health))
            .service(web::resource("/system/status/").get(status::system_status))
            .service(web::resource("/jobs/").get(jobs::list_jobs))
            .service(web::resource("/jobs/{id}/").get(jobs::get_job))
            .service(web::resource("/jobs/{id}/retry/").post(jobs::retry_job)),
    );
}

/// Mounts `/health` (liveness), at the root.
pub fn configure_ops(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health/").get(health::liveness));
}
