//! The forum's original post and reply paths: each is a canonical endpoint of
//! `plaza_posts::routes` under the forum's name, its handler mounted as it is.
//!
//! | original | canonical |
//! |---|---|
//! | POST `/posts/create/` | POST `/api/v1/posts/` |
//! | DELETE `/posts/delete/{id}/` | DELETE `/api/v1/posts/{id}/` |
//! | POST `/posts/update/{id}/` | PATCH `/api/v1/posts/{id}/` |
//! | GET `/posts/list/` | GET `/api/v1/posts/` (`?page=` and every filter) |
//! | GET `/posts/detail/{id}/` | GET `/api/v1/posts/{id}/` |
//! | POST `/posts/reply/create/{post_id}/` | POST `/api/v1/posts/{post_id}/replies/` |
//! | POST `/posts/reply/update/{reply_id}/` | PATCH `/api/v1/posts/replies/{reply_id}/` |
//! | DELETE `/posts/reply/delete/{reply_id}/` | DELETE `/api/v1/posts/replies/{reply_id}/` |
//!
//! POST `/posts/chat/` has no canonical twin: it is plaza-ai's `forum::posts_chat`, mounted
//! here (an SSE stream of the default model's answer).

use actix_web::web;
use plaza_posts::routes;
use utoipa::OpenApi;

use super::alias::{self, Alias, Method};

/// The table above.
pub const ALIASES: &[Alias] = &[
    alias(
        Method::Post,
        "/posts/create/",
        Method::Post,
        "/api/v1/posts/",
    ),
    alias(
        Method::Delete,
        "/posts/delete/{id}/",
        Method::Delete,
        "/api/v1/posts/{id}/",
    ),
    alias(
        Method::Post,
        "/posts/update/{id}/",
        Method::Patch,
        "/api/v1/posts/{id}/",
    ),
    alias(Method::Get, "/posts/list/", Method::Get, "/api/v1/posts/"),
    alias(
        Method::Get,
        "/posts/detail/{id}/",
        Method::Get,
        "/api/v1/posts/{id}/",
    ),
    alias(
        Method::Post,
        "/posts/reply/create/{post_id}/",
        Method::Post,
        "/api/v1/posts/{id}/replies/",
    ),
    alias(
        Method::Post,
        "/posts/reply/update/{reply_id}/",
        Method::Patch,
        "/api/v1/posts/replies/{id}/",
    ),
    alias(
        Method::Delete,
        "/posts/reply/delete/{reply_id}/",
        Method::Delete,
        "/api/v1/posts/replies/{id}/",
    ),
];

const fn alias(
    method: Method,
    path: &'static str,
    canonical_method: Method,
    canonical: &'static str,
) -> Alias {
    Alias {
        method,
        path,
        canonical_method,
        canonical,
    }
}

/// The OpenAPI description of the original post paths, copied from the canonical ones, and
/// the forum's chat (`/posts/chat/`, served by plaza-ai).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = alias::document(ALIASES, &plaza_posts::ApiDoc::openapi());
    doc.merge(plaza_ai::forum::ForumDoc::openapi());
    doc
}

/// Mounts the original post and reply paths at the root.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/posts/create/").post(routes::create_post))
        .service(web::resource("/posts/delete/{id}/").delete(routes::delete_post))
        .service(web::resource("/posts/update/{id}/").post(routes::update_post))
        .service(web::resource("/posts/list/").get(routes::list_posts))
        .service(web::resource("/posts/detail/{id}/").get(routes::get_post))
        .service(web::resource("/posts/reply/create/{post_id}/").post(routes::create_reply))
        .service(web::resource("/posts/reply/update/{reply_id}/").post(routes::update_reply))
        .service(web::resource("/posts/reply/delete/{reply_id}/").delete(routes::delete_reply))
        .service(web::resource("/posts/chat/").post(plaza_ai::forum::posts_chat));
}
