//! # plaza-posts
//!
//! The forum: posts, replies nested one level, tags on posts (through plaza-core's tag
//! service), search, and the reply and view counters. Mount it with [`configure`] (the
//! `/api/v1/posts/` scope) in any actix app whose app data holds the kernel's `Db` and
//! `TokenCodec` (and, optionally, a `Bus` to announce replies on).
//!
//! - [`service`]: the rules, callable without HTTP (each write in one transaction).
//! - [`routes`]: the handlers, also used by the forum's original paths in plaza-server.
//! - [`model`]: rows and queries; [`search`]: `?search=` per backend; [`types`]: bodies.
//! - [`counts`]: counts for `system/status` and user stats.
//! - [`user_deletion`]: counters and the cache brought up to date after an account is deleted
//!   (a job noted in the deleting transaction); [`repair`]: the nightly job recounting any drift.
//! - [`DOMAIN`]: the crate as a Plaza server mounts it; [`settings`]: `POSTS_CACHE_TTL`,
//!   `POSTS_CREATE_BATCH`.
//! - [`batch`]: concurrent creates of posts without tags, and of top-level replies, written
//!   together (group commit).
//! - [`cache`] and [`views`]: the read cache of lists and details, and buffered view counts.
//!   Both are optional app data: without them every read goes to the database and every
//!   view is one `UPDATE`. [`Forum`] builds and registers them, with the [`batch`] queue.

pub mod admin;
pub mod batch;
pub mod cache;
pub mod counts;
pub mod model;
pub mod repair;
pub mod routes;
pub mod search;
pub mod service;
pub mod settings;
pub mod types;
pub mod user_deletion;
pub mod views;

pub mod forum;

use actix_web::web;
use utoipa::OpenApi;

pub use counts::add_counts;
pub use forum::Forum;
pub use repair::register_jobs;
pub use settings::PostsSettings;

/// The forum, as a Plaza server mounts it: `POSTS_*` settings, `/api/v1/posts/`, the nightly
/// counter repair, post and reply counts, the per-process [`Forum`] (read cache, buffered
/// view counts flushed at shutdown, and the queues of post and reply creates), and its
/// counters brought up to date after an account's deletion ([`user_deletion`]).
pub const DOMAIN: plaza_kernel::domain::Domain = plaza_kernel::domain::Domain {
    name: "posts",
    settings: |env, sections| sections.parse::<PostsSettings>(env),
    configure,
    openapi: <ApiDoc as OpenApi>::openapi,
    jobs: |jobs| {
        register_jobs(jobs);
        user_deletion::register_jobs(jobs);
    },
    counts: |counts, _| add_counts(counts),
    start: |services| {
        let settings = services.sections.get_or_default::<PostsSettings>();
        let mut forum = Forum::shared(settings.cache_ttl, services.cache.get_ref().clone());
        if settings.create_batch > 1 {
            let db = services.db.get_ref().clone();
            forum = forum
                .with_batcher(batch::PostBatcher::start(db.clone(), settings.create_batch))
                .with_reply_batcher(batch::ReplyBatcher::start(db, settings.create_batch));
        }
        forum.start(services.db.get_ref().clone(), forum::VIEW_FLUSH_INTERVAL);
        Some(Box::new(forum))
    },
    before_user_delete: user_deletion::before_user_delete,
    admin: admin::ADMIN,
};

/// The OpenAPI description of this crate's endpoints.
#[derive(OpenApi)]
#[openapi(
    paths(
        routes::list_posts,
        routes::create_post,
        routes::get_post,
        routes::replace_post,
        routes::update_post,
        routes::delete_post,
        routes::list_replies,
        routes::create_reply,
        routes::replace_reply,
        routes::update_reply,
        routes::delete_reply,
    ),
    tags((name = "posts", description = "The forum: posts, replies, tags, search"))
)]
pub struct ApiDoc;

/// Mounts `/api/v1/posts/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/api/v1/posts").configure(routes::configure));
}
