//! The Django forum's original paths (API.md §9), served verbatim beside `/api/v1/` so its
//! clients keep working. A forum path that is a canonical endpoint under another name mounts
//! the canonical handler itself and copies its documentation ([`alias`]); the few that differ
//! (a flat profile update, the résumé action endpoints) are small adapters over the users
//! domain's services.
//!
//! Post paths are registered resource by resource at the root (never as a `/posts` scope,
//! which would swallow `/posts/chat/` and every other path under it).

pub mod alias;
pub mod posts;
pub mod users;

use actix_web::web;

/// Mounts every forum path.
pub fn configure(cfg: &mut web::ServiceConfig) {
    users::configure(cfg);
    posts::configure(cfg);
}

/// The OpenAPI description of the forum paths.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = users::openapi();
    doc.merge(posts::openapi());
    doc
}
