//! # plaza-metaverse
//!
//! Virtual worlds: worlds with visibility and per-user permissions, avatars, sessions (who is
//! in a world now, capped by `max_users`), a catalogue of objects and their instances placed in
//! worlds, events with participants and reminders, and live presence over WebSocket at
//! `/ws/metaverse/worlds/{id}/` across `plaza serve` processes sharing Redis.
//!
//! - [`worlds`], [`sessions`], [`avatars`], [`objects`], [`events`]: the rules, callable
//!   without HTTP (sync functions over `&mut DbConn`; each module's `requests` owns the
//!   transactions); [`access`]: who may do what in a world.
//! - [`routes`]: the REST handlers at `/api/v1/metaverse/`; [`presence`]: the socket.
//! - [`jobs`]: the stale-session and reminder jobs; [`settings`]: `METAVERSE_*`.
//! - [`user_deletion`]: event counts recounted after an account's deletion (a job).
//! - [`model`] and [`schema`]: rows and tables; [`types`]: bodies.
//!
//! Mounted alone, [`configure`] needs the kernel's `Db`, `Bus`, `TokenCodec` and `Realtime` in
//! app data (all registered by `Services::register`); see `examples/mount_alone.rs`.

#![warn(missing_docs)]

pub mod access;
pub mod admin;
pub mod avatars;
pub mod events;
pub mod jobs;
pub mod model;
pub mod moderation;
pub mod objects;
pub mod presence;
pub mod routes;
pub mod schema;
pub mod sessions;
pub mod settings;
pub mod types;
pub mod user_deletion;
pub mod worlds;

use actix_web::web;
use diesel::prelude::*;
use plaza_kernel::counts::Counts;
use plaza_kernel::domain::Domain;
use utoipa::OpenApi;

pub use jobs::register_jobs;
pub use settings::MetaverseSettings;

/// The metaverse, as a Plaza server plugs it in: `METAVERSE_*`, the routes and the socket, the
/// stale-session and reminder jobs, and the counts of worlds and of users in worlds.
pub const DOMAIN: Domain = Domain {
    name: "metaverse",
    settings: |env, sections| sections.parse::<MetaverseSettings>(env),
    configure,
    openapi: <ApiDoc as OpenApi>::openapi,
    jobs: |jobs| {
        register_jobs(jobs);
        user_deletion::register_jobs(jobs);
    },
    counts: |counts, _| add_counts(counts),
    start: |_| None,
    before_user_delete: user_deletion::before_user_delete,
    admin: admin::ADMIN,
};

/// The OpenAPI description of this crate's endpoints.
#[derive(OpenApi)]
#[openapi(
    paths(
        routes::list_worlds,
        routes::create_world,
        routes::get_world,
        routes::replace_world,
        routes::update_world,
        routes::delete_world,
        routes::enter_world,
        routes::leave_world,
        routes::list_sessions,
        routes::list_permissions,
        routes::grant_permission,
        routes::revoke_permission,
        routes::list_instances,
        routes::place_instance,
        routes::get_instance,
        routes::update_instance,
        routes::delete_instance,
        routes::list_avatars,
        routes::create_avatar,
        routes::get_avatar,
        routes::replace_avatar,
        routes::update_avatar,
        routes::delete_avatar,
        routes::list_objects,
        routes::create_object,
        routes::get_object,
        routes::replace_object,
        routes::update_object,
        routes::delete_object,
        routes::list_events,
        routes::create_event,
        routes::get_event,
        routes::replace_event,
        routes::update_event,
        routes::delete_event,
        routes::join_event,
        routes::leave_event,
        routes::list_participants,
        presence::world_socket,
    ),
    components(schemas(types::Vec3, types::Visibility, types::WorldRole, types::Rarity)),
    tags((name = "metaverse", description = "Virtual worlds: worlds, permissions, sessions, avatars, objects, events, presence"))
)]
pub struct ApiDoc;

/// Mounts `/api/v1/metaverse/` and `/ws/metaverse/worlds/{id}/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws/metaverse/worlds/{id}/").get(presence::world_socket))
        .service(web::scope("/api/v1/metaverse").configure(routes::configure));
}

/// Adds `metaverse_worlds` and `metaverse_users_online` (open sessions) to `system/status`.
pub fn add_counts(counts: Counts) -> Counts {
    counts
        .system("metaverse_worlds", |conn| {
            schema::metaverse_worlds::table.count().get_result(conn)
        })
        .system("metaverse_users_online", |conn| {
            schema::metaverse_sessions::table
                .filter(schema::metaverse_sessions::left_at.is_null())
                .count()
                .get_result(conn)
        })
}
