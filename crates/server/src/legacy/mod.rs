//! The forum's original paths (API.md §9), served verbatim beside `/api/v1/` so its existing
//! clients keep working. Each is a thin adapter over the canonical handler it mirrors: same
//! rules, same bodies, same errors.
//!
//! Resources are registered one by one at the root (never as a `/posts` scope, which would
//! swallow `/posts/chat/` and every other path under it).

pub mod posts;

use actix_web::web;
use utoipa::OpenApi;

/// Mounts every original path.
pub fn configure(cfg: &mut web::ServiceConfig) {
    posts::configure(cfg);
}

/// The OpenAPI description of the original paths.
pub fn openapi() -> utoipa::openapi::OpenApi {
    posts::ApiDoc::openapi()
}
