//! # plaza-social
//!
//! The social network: friends (requests, acceptance, unfriending), follows, blocks, groups
//! (public and private, with roles), a feed of posts with a visibility (public, friends,
//! private, a group's members) with likes and comments, direct messages, and notifications —
//! stored, counted unread, and pushed live over WS `/ws/notifications/` to every open
//! connection of the recipient, across instances through the kernel's Bus.
//!
//! Mount it with [`configure`] (the `/api/v1/social/` scope and `/ws/notifications/`) in any
//! actix app whose app data holds the kernel's `Db`, `TokenCodec`, `Bus` and `Realtime`
//! (`Services::register`); `examples/mount_alone.rs` is a compiled example.
//!
//! - [`graph`]: friend requests and friendships, follows, blocks.
//! - [`groups`]: groups and memberships.
//! - [`feed`]: posts, visibility, the timeline, likes, comments.
//! - [`messages`]: direct messages and conversations.
//! - [`notifications`]: notifications, and the handler of the kernel's `Notice` job
//!   (other domains' notices: forum replies, event reminders).
//! - [`live`] and [`ws`]: realtime delivery.
//! - [`settings`]: the direct-message limit; [`user_deletion`]: counters recounted after an
//!   account's deletion (a job).
//! - [`service`]: the writes that publish to sockets once committed; [`routes`]: handlers;
//!   [`types`]: bodies; [`schema`]: tables.

#![warn(missing_docs)]

pub mod admin;
pub mod feed;
pub mod graph;
pub mod groups;
pub mod home;
pub mod live;
pub mod messages;
pub mod moderation;
pub mod notifications;
pub mod routes;
pub mod schema;
pub mod service;
pub mod settings;
pub mod types;
pub mod user_deletion;
pub mod ws;

use actix_web::web;
use diesel::prelude::*;
use plaza_kernel::counts::Counts;
use utoipa::OpenApi;

/// The social domain as a Plaza server mounts it: `/api/v1/social/` and `/ws/notifications/`,
/// its settings section ([`settings::SocialSettings`]), the handler of the kernel's `Notice`
/// jobs, the recount after an account's deletion, and its counts (posts, groups, messages; per
/// user friends, followers, following). It has no per-process state (its sockets live on the
/// kernel's `Realtime` and `Bus`).
pub const DOMAIN: plaza_kernel::domain::Domain = plaza_kernel::domain::Domain {
    name: "social",
    settings: |env, sections| sections.parse::<settings::SocialSettings>(env),
    configure,
    openapi: <ApiDoc as OpenApi>::openapi,
    jobs: |jobs| {
        notifications::register_jobs(jobs);
        user_deletion::register_jobs(jobs);
    },
    counts: |counts, _| add_counts(counts),
    start: |_| None,
    before_user_delete: user_deletion::before_user_delete,
    admin: admin::ADMIN,
};

/// Adds the social counts to `system/status` and user stats.
pub fn add_counts(counts: Counts) -> Counts {
    use schema::{social_follows as f, social_friendships as fs, social_groups as g};
    use schema::{social_messages as m, social_posts as p};
    counts
        .system("social_posts", |conn| p::table.count().get_result(conn))
        .system("social_groups", |conn| g::table.count().get_result(conn))
        .system("social_messages", |conn| m::table.count().get_result(conn))
        .per_user("friends", |conn, user| {
            fs::table
                .filter(fs::user_id.eq(user))
                .count()
                .get_result(conn)
        })
        .per_user("followers", |conn, user| {
            f::table
                .filter(f::followee_id.eq(user))
                .count()
                .get_result(conn)
        })
        .per_user("following", |conn, user| {
            f::table
                .filter(f::follower_id.eq(user))
                .count()
                .get_result(conn)
        })
}

/// The OpenAPI description of this crate's endpoints.
#[derive(OpenApi)]
#[openapi(
    paths(
        routes::list_friends,
        routes::list_friend_requests,
        routes::send_friend_request,
        routes::accept_friend_request,
        routes::decline_friend_request,
        routes::cancel_friend_request,
        routes::unfriend,
        routes::follow_user,
        routes::unfollow_user,
        routes::list_followers,
        routes::list_following,
        routes::block_user,
        routes::unblock_user,
        routes::list_blocks,
        routes::list_groups,
        routes::create_group,
        routes::get_group,
        routes::replace_group,
        routes::update_group,
        routes::delete_group,
        routes::join_group,
        routes::leave_group,
        routes::list_members,
        routes::update_member,
        routes::remove_member,
        routes::list_posts,
        routes::create_post,
        routes::get_post,
        routes::update_post,
        routes::delete_post,
        routes::like_post,
        routes::unlike_post,
        routes::list_comments,
        routes::create_comment,
        routes::delete_comment,
        routes::list_conversations,
        routes::send_message,
        routes::conversation,
        routes::read_message,
        routes::list_notifications,
        routes::unread_notifications,
        routes::read_notification,
        routes::read_all_notifications,
        routes::delete_notification,
        ws::notifications_socket,
    ),
    components(schemas(types::Direction, types::Scope, types::Visibility)),
    tags((name = "social", description = "Friends, follows, blocks, groups, feed, messages, notifications"))
)]
pub struct ApiDoc;

/// Mounts `/api/v1/social/` and `/ws/notifications/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws/notifications/").route(web::get().to(ws::notifications_socket)));
    cfg.service(web::scope("/api/v1/social").configure(routes::configure));
}
