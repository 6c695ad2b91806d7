//! The Django forum's original paths (API.md §9), served verbatim beside `/api/v1/` so its
//! clients keep working. Each module is a thin adapter over a domain's services (or the
//! canonical handler it mirrors) and answers with the same bodies as the canonical endpoint it
//! maps to.
//!
//! Post paths are registered resource by resource at the root (never as a `/posts` scope,
//! which would swallow `/posts/chat/` and every other path under it).

pub mod posts;
pub mod users;

use actix_web::web;
use utoipa::OpenApi;

/// Mounts every forum path.
pub fn configure(cfg: &mut web::ServiceConfig) {
    users::configure(cfg);
    posts::configure(cfg);
}

/// The OpenAPI description of the forum paths.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = users::ApiDoc::openapi();
    doc.merge(posts::ApiDoc::openapi());
    doc
}
