//! # plaza-core
//!
//! What every Plaza deployment shares: health, status, the staff view of the job queue, the
//! system log list, tags and attachments. Mount it with [`configure`] (the `/api/v1/core/`
//! scope) and [`configure_ops`] (`/health`) in any actix app whose app data holds the kernel's
//! services (`Services::register`); a `web::Data<Counts>` and a `web::Data<JobRegistry>`, when
//! present, feed `system/status` and the job payloads staff may see.
//!
//! - [`health`]: liveness and readiness probes; [`status`]: `system/status` for staff.
//! - [`jobs`]: the job queue for staff.
//! - [`logs`]: `GET logs/`, the system log for staff (written by `plaza_kernel::syslog`).
//! - [`tags`]: tags shared with the forum; [`tags::service`] is what other domains call.
//! - [`attachments`]: uploads streamed to `MEDIA_ROOT`, downloads streamed back.

pub mod admin;
pub mod attachments;
pub mod health;
pub mod jobs;
pub mod logs;
pub mod settings;
pub mod status;
pub mod tags;

use actix_web::web;
use utoipa::OpenApi;

pub use settings::CoreSettings;

/// Core, as a Plaza server mounts it: `ATTACHMENT_MAX_BYTES`, `/health` and
/// `/api/v1/core/`, and the removal of a deleted account's files (a job). Its counts are the
/// kernel's and the other domains'.
pub const DOMAIN: plaza_kernel::domain::Domain = plaza_kernel::domain::Domain {
    name: "core",
    settings: |env, sections| sections.parse::<CoreSettings>(env),
    configure: |cfg| {
        configure_ops(cfg);
        configure(cfg);
    },
    openapi: <ApiDoc as OpenApi>::openapi,
    jobs: attachments::user_deletion::register_jobs,
    counts: |counts, _| counts,
    start: |_| None,
    before_user_delete: attachments::user_deletion::before_user_delete,
    admin: admin::ADMIN,
};

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
        logs::list_logs,
        tags::routes::list_tags,
        tags::routes::create_tag,
        tags::routes::get_tag,
        tags::routes::replace_tag,
        tags::routes::update_tag,
        tags::routes::delete_tag,
        attachments::routes::upload_attachment,
        attachments::routes::list_attachments,
        attachments::routes::get_attachment,
        attachments::routes::download_attachment,
        attachments::routes::delete_attachment,
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
            .service(web::resource("/jobs/{id}/retry/").post(jobs::retry_job))
            .configure(logs::configure)
            .configure(tags::routes::configure)
            .configure(attachments::routes::configure),
    );
}

/// Mounts `/health` (liveness), at the root.
pub fn configure_ops(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health/").get(health::liveness));
}
