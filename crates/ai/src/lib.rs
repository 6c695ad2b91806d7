//! # plaza-ai
//!
//! AI chat for Plaza: providers behind one trait (any OpenAI-compatible HTTP upstream, and
//! iFlytek Spark over WebSocket), the models registry, conversations and their messages,
//! prompt templates, chat (JSON or SSE), an OpenAI-compatible gateway (`/v1/chat/completions`,
//! `/v1/models`) that the official SDKs use unchanged, per-call accounting written in batches
//! off the request path, daily token quotas and concurrent-stream limits, a daily roll-up of
//! usage, and metrics. docs/ai.md is the guide.
//!
//! - [`provider`]: the [`provider::Provider`] trait, its two implementations, timeouts.
//! - [`gateway`]: the OpenAI-compatible endpoints, errors in OpenAI's shape.
//! - [`routes`] over [`service`]: `/api/v1/ai/`; [`forum`]: the forum's `/posts/chat/`.
//! - [`call`]: one call from model to row; [`accounting`]: rows, cost, the flusher;
//!   [`quota`]: quotas and stream slots in the Cache; [`tokens`]: counting with tiktoken.
//! - [`state`]: the per-process state; [`settings`]: `AI_*`; [`jobs`]: the stats roll-up.
//! - [`model`], [`schema`], [`types`], [`templates`], [`metrics`].

#![warn(missing_docs)]

pub mod accounting;
pub mod admin;
pub mod call;
pub mod forum;
pub mod gateway;
pub mod jobs;
pub mod metrics;
pub mod model;
pub mod moderation;
pub mod provider;
pub mod quota;
pub mod routes;
pub mod schema;
pub mod service;
pub mod settings;
pub mod state;
pub mod templates;
pub mod tokens;
pub mod types;

use actix_web::web;
use diesel::prelude::*;
use utoipa::OpenApi;

pub use settings::AiSettings;
pub use state::{Ai, AiState};

/// The AI domain, as a Plaza server mounts it: `AI_*` settings, `/api/v1/ai/` and the
/// gateway's `/v1/` paths, the stats roll-up job, request counts, and the per-process [`Ai`]
/// (providers, models cache, accounting flusher; flushed at shutdown).
pub const DOMAIN: plaza_kernel::domain::Domain = plaza_kernel::domain::Domain {
    name: "ai",
    settings: |env, sections| sections.parse::<AiSettings>(env),
    configure,
    openapi: <ApiDoc as OpenApi>::openapi,
    jobs: jobs::register_jobs,
    counts: |counts, _| {
        counts
            .system("ai_requests", |conn| {
                schema::ai_requests::table.count().get_result(conn)
            })
            .per_user("ai_conversations", |conn, user_id| {
                schema::ai_conversations::table
                    .filter(schema::ai_conversations::user_id.eq(user_id))
                    .count()
                    .get_result(conn)
            })
    },
    start: state::start,
    before_user_delete: |_, _| Ok(()),
    admin: admin::ADMIN,
};

/// The OpenAPI description of this crate's endpoints (the forum's `/posts/chat/` is
/// [`forum::ForumDoc`], merged by the server with the other forum paths).
#[derive(OpenApi)]
#[openapi(
    paths(
        routes::list_models,
        routes::create_model,
        routes::get_model,
        routes::replace_model,
        routes::update_model,
        routes::delete_model,
        routes::list_conversations,
        routes::create_conversation,
        routes::get_conversation,
        routes::update_conversation,
        routes::delete_conversation,
        routes::list_messages,
        routes::list_templates,
        routes::create_template,
        routes::get_template,
        routes::replace_template,
        routes::update_template,
        routes::delete_template,
        routes::render_template,
        routes::chat_send,
        routes::list_requests,
        routes::user_stats,
        routes::all_stats,
        gateway::chat_completions,
        gateway::api_chat_completions,
        gateway::list_models,
    ),
    tags((name = "ai", description = "AI: models, conversations, templates, chat, the OpenAI-compatible gateway, usage"))
)]
pub struct ApiDoc;

/// Mounts `/api/v1/ai/` and the gateway's `/v1/chat/completions` and `/v1/models`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/api/v1/ai").configure(routes::configure));
    gateway::configure(cfg);
}
