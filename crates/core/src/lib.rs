//! # plaza-core
//!
//! Health and status of a Plaza deployment. Mount it with [`configure`] (the
//! `/api/v1/core/` scope) and [`configure_ops`] (`/health`) in any actix app whose app data
//! holds the kernel's `Db`, `Cache` and `Bus`.

pub mod health;

use actix_web::web;
use utoipa::OpenApi;

/// The OpenAPI description of this crate's endpoints.
#[derive(OpenApi)]
#[openapi(
    paths(health::liveness, health::system_health),
    components(schemas(health::Liveness, health::Health, health::Checks, health::Check)),
    tags((name = "core", description = "Health, status, system logs, tags, attachments"))
)]
pub struct ApiDoc;

/// Mounts `/api/v1/core/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/core")
            .service(web::resource("/system/health/").get(health::system_health)),
    );
}

/// Mounts `/health` (liveness), at the root.
pub fn configure_ops(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health/").get(health::liveness));
}
