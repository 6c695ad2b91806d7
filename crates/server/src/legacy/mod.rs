//! The Django forum's original paths (API.md §9), served verbatim beside `/api/v1/` so its
//! clients keep working. Each module is a thin adapter over a domain's services and answers
//! with the same bodies as the canonical endpoint it maps to.

pub mod users;

use actix_web::web;
use utoipa::OpenApi;

/// Mounts every forum path.
pub fn configure(cfg: &mut web::ServiceConfig) {
    users::configure(cfg);
}

/// The OpenAPI description of the forum paths.
pub fn openapi() -> utoipa::openapi::OpenApi {
    users::ApiDoc::openapi()
}
