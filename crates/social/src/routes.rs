//! `/api/v1/social/`: handlers, thin over the rules. Every endpoint needs a signed-in caller.

use actix_web::{web, HttpResponse};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::{CursorParams, PageParams};
use plaza_kernel::settings::Settings;
use plaza_kernel::{
    ApiResult, Body, Bus, Cache, Caller, CursorPage, CursorRequest, Db, Page, PageRequest,
    ValidJson, ValidQuery,
};

use crate::feed::{self, FeedFilter};
use crate::settings::SocialSettings;
use crate::types::{
    CommentOut, CommentWrite, ConversationOut, Direction, FeedPostOut, FeedPostPatch,
    FeedPostWrite, FeedQuery, FriendRequestOut, FriendRequestWrite, GroupOut, GroupPatch,
    GroupQuery, GroupWrite, LikeState, MemberOut, MemberPatch, MemberQuery, MessageOut,
    MessageWrite, NotificationOut, NotificationQuery, ReadReceipt, Relation, RequestQuery,
    UnreadCount, Updated, UserLink, UserQuery,
};
use crate::{graph, groups, messages, notifications, service};

fn created_or_ok<T: serde::Serialize>(created: bool, body: &T) -> HttpResponse {
    if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}

// ---------------------------------------------------------------------------------------------
// Friends

/// The caller's friends (or `?user=`'s), newest friendship first.
#[utoipa::path(get, operation_id = "social_list_friends", path = "/api/v1/social/friends/", tag = "social",
    params(PageParams, UserQuery),
    responses((status = 200, body = Page<UserLink>), (status = 401, body = ErrorBody),
        (status = 404, description = "No such user, or a page past the end", body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_friends(
    db: web::Data<Db>,
    caller: Caller,
    page: PageRequest,
    query: ValidQuery<UserQuery>,
) -> ApiResult<HttpResponse> {
    let user = query.user.unwrap_or(caller.id);
    let out = db
        .run(move |conn| graph::list_friends(conn, caller.id, user, page))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Pending friend requests to (`incoming`, default) or from (`outgoing`) the caller.
#[utoipa::path(get, operation_id = "social_list_friend_requests", path = "/api/v1/social/friends/requests/", tag = "social",
    params(PageParams, RequestQuery),
    responses((status = 200, body = Page<FriendRequestOut>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_friend_requests(
    db: web::Data<Db>,
    caller: Caller,
    page: PageRequest,
    query: ValidQuery<RequestQuery>,
) -> ApiResult<HttpResponse> {
    let outgoing = query.direction.unwrap_or_default() == Direction::Outgoing;
    let out = db
        .run(move |conn| graph::list_requests(conn, caller.id, outgoing, page))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Sends a friend request (201); if the other user already asked, accepts theirs (200).
#[utoipa::path(post, operation_id = "social_send_friend_request", path = "/api/v1/social/friends/requests/", tag = "social",
    request_body = FriendRequestWrite,
    responses((status = 201, description = "Sent", body = FriendRequestOut),
        (status = 200, description = "Their pending request was accepted", body = FriendRequestOut),
        (status = 400, description = "To oneself, no such user, invalid message", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "A block between the two", body = ErrorBody),
        (status = 409, description = "Already friends, or already pending", body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn send_friend_request(
    db: web::Data<Db>,
    bus: web::Data<Bus>,
    caller: Caller,
    body: ValidJson<FriendRequestWrite>,
) -> ApiResult<HttpResponse> {
    let (out, created) = service::send_friend_request(&db, &bus, caller, body.into_inner()).await?;
    Ok(created_or_ok(created, &out))
}

/// Accepts a friend request sent to the caller.
#[utoipa::path(post, operation_id = "social_accept_friend_request", path = "/api/v1/social/friends/requests/{id}/accept/", tag = "social",
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, body = FriendRequestOut), (status = 401, body = ErrorBody),
        (status = 403, description = "The caller sent it", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "No longer pending", body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn accept_friend_request(
    db: web::Data<Db>,
    bus: web::Data<Bus>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let out = service::accept_friend_request(&db, &bus, caller.id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Declines a friend request sent to the caller.
#[utoipa::path(post, operation_id = "social_decline_friend_request", path = "/api/v1/social/friends/requests/{id}/decline/", tag = "social",
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, body = FriendRequestOut), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn decline_friend_request(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let out = db
        .transaction(move |conn| graph::close(conn, caller.id, id, false))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Cancels a friend request the caller sent.
#[utoipa::path(delete, operation_id = "social_cancel_friend_request", path = "/api/v1/social/friends/requests/{id}/", tag = "social",
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 204, description = "Cancelled"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn cancel_friend_request(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    db.transaction(move |conn| graph::close(conn, caller.id, id, true))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ends a friendship.
#[utoipa::path(delete, operation_id = "social_unfriend", path = "/api/v1/social/friends/{user_id}/", tag = "social",
    params(("user_id" = i64, Path, description = "The friend")),
    responses((status = 204, description = "No longer friends"), (status = 401, body = ErrorBody),
        (status = 404, description = "Not friends", body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn unfriend(
    db: web::Data<Db>,
    caller: Caller,
    user_id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let other = user_id.into_inner();
    db.transaction(move |conn| graph::unfriend(conn, caller.id, other))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------------------------
// Follows and blocks

/// Follows a user (201; 200 if already following).
#[utoipa::path(post, operation_id = "social_follow_user", path = "/api/v1/social/users/{id}/follow/", tag = "social",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 201, body = Relation), (status = 200, description = "Already following", body = Relation),
        (status = 400, description = "Oneself", body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "A block between the two", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn follow_user(
    db: web::Data<Db>,
    bus: web::Data<Bus>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let (out, created) = service::follow(&db, &bus, caller.id, id.into_inner()).await?;
    Ok(created_or_ok(created, &out))
}

/// Stops following a user (idempotent).
#[utoipa::path(delete, operation_id = "social_unfollow_user", path = "/api/v1/social/users/{id}/follow/", tag = "social",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = Relation), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn unfollow_user(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let target = id.into_inner();
    let out = db
        .transaction(move |conn| graph::unfollow(conn, caller.id, target))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Followers of the caller (or of `?user=`).
#[utoipa::path(get, operation_id = "social_list_followers", path = "/api/v1/social/followers/", tag = "social",
    params(PageParams, UserQuery),
    responses((status = 200, body = Page<UserLink>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_followers(
    db: web::Data<Db>,
    caller: Caller,
    page: PageRequest,
    query: ValidQuery<UserQuery>,
) -> ApiResult<HttpResponse> {
    let user = query.user.unwrap_or(caller.id);
    let out = db
        .run(move |conn| graph::list_follows(conn, caller.id, user, true, page))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Users the caller (or `?user=`) follows.
#[utoipa::path(get, operation_id = "social_list_following", path = "/api/v1/social/following/", tag = "social",
    params(PageParams, UserQuery),
    responses((status = 200, body = Page<UserLink>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_following(
    db: web::Data<Db>,
    caller: Caller,
    page: PageRequest,
    query: ValidQuery<UserQuery>,
) -> ApiResult<HttpResponse> {
    let user = query.user.unwrap_or(caller.id);
    let out = db
        .run(move |conn| graph::list_follows(conn, caller.id, user, false, page))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Blocks a user: ends friendship and follows both ways, cancels pending requests (201; 200
/// if already blocked).
#[utoipa::path(post, operation_id = "social_block_user", path = "/api/v1/social/users/{id}/block/", tag = "social",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 201, body = Relation), (status = 200, description = "Already blocked", body = Relation),
        (status = 400, description = "Oneself", body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn block_user(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let target = id.into_inner();
    let (out, created) = db
        .transaction(move |conn| graph::block(conn, caller.id, target))
        .await?;
    Ok(created_or_ok(created, &out))
}

/// Lifts a block (idempotent).
#[utoipa::path(delete, operation_id = "social_unblock_user", path = "/api/v1/social/users/{id}/block/", tag = "social",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 204, description = "Not blocked"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn unblock_user(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let target = id.into_inner();
    db.write(move |conn| graph::unblock(conn, caller.id, target))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The users the caller blocked.
#[utoipa::path(get, operation_id = "social_list_blocks", path = "/api/v1/social/blocks/", tag = "social",
    params(PageParams),
    responses((status = 200, body = Page<UserLink>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_blocks(
    db: web::Data<Db>,
    caller: Caller,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let out = db
        .run(move |conn| graph::list_blocks(conn, caller.id, page))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

// ---------------------------------------------------------------------------------------------
// Groups

/// Groups, newest first (`?search=` on the name, `?mine=true`).
#[utoipa::path(get, operation_id = "social_list_groups", path = "/api/v1/social/groups/", tag = "social",
    params(PageParams, GroupQuery),
    responses((status = 200, body = Page<GroupOut>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_groups(
    db: web::Data<Db>,
    caller: Caller,
    page: PageRequest,
    query: ValidQuery<GroupQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let out = db
        .run(move |conn| {
            groups::list(
                conn,
                caller.id,
                query.search.as_deref(),
                query.mine.unwrap_or(false),
                page,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Creates a group owned by the caller.
#[utoipa::path(post, operation_id = "social_create_group", path = "/api/v1/social/groups/", tag = "social",
    request_body = GroupWrite,
    responses((status = 201, body = GroupOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn create_group(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<GroupWrite>,
) -> ApiResult<HttpResponse> {
    let input = body.into_inner();
    let out = db
        .transaction(move |conn| groups::create(conn, caller.id, &input))
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// One group.
#[utoipa::path(get, operation_id = "social_get_group", path = "/api/v1/social/groups/{id}/", tag = "social",
    params(("id" = i64, Path, description = "Group id")),
    responses((status = 200, body = GroupOut), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn get_group(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let out = db.run(move |conn| groups::get(conn, caller.id, id)).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Replaces a group's name, description and privacy (group admins).
#[utoipa::path(put, operation_id = "social_replace_group", path = "/api/v1/social/groups/{id}/", tag = "social",
    params(("id" = i64, Path, description = "Group id")), request_body = GroupWrite,
    responses((status = 200, body = GroupOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn replace_group(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<GroupWrite>,
) -> ApiResult<HttpResponse> {
    let patch = body.map(|write| GroupPatch {
        name: Some(write.name),
        description: Some(write.description.unwrap_or_default()),
        is_private: Some(write.is_private.unwrap_or(false)),
    });
    let id = id.into_inner();
    let out = db
        .transaction(move |conn| groups::update(conn, &caller, id, patch))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Changes some of a group's fields (group admins).
#[utoipa::path(patch, operation_id = "social_update_group", path = "/api/v1/social/groups/{id}/", tag = "social",
    params(("id" = i64, Path, description = "Group id")), request_body = GroupPatch,
    responses((status = 200, body = GroupOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn update_group(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<GroupPatch>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let out = db
        .transaction(move |conn| groups::update(conn, &caller, id, body))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Deletes a group with its posts (its owner).
#[utoipa::path(delete, operation_id = "social_delete_group", path = "/api/v1/social/groups/{id}/", tag = "social",
    params(("id" = i64, Path, description = "Group id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn delete_group(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    db.transaction(move |conn| groups::delete(conn, &caller, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Joins a group: active in a public group (201), pending approval in a private one (201);
/// 200 with the existing membership.
#[utoipa::path(post, operation_id = "social_join_group", path = "/api/v1/social/groups/{id}/join/", tag = "social",
    params(("id" = i64, Path, description = "Group id")),
    responses((status = 201, body = MemberOut), (status = 200, description = "Already a member or pending", body = MemberOut),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn join_group(
    db: web::Data<Db>,
    bus: web::Data<Bus>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let (out, created) = service::join_group(&db, &bus, caller.id, id.into_inner()).await?;
    Ok(created_or_ok(created, &out))
}

/// Leaves a group (the owner hands over or deletes instead).
#[utoipa::path(post, operation_id = "social_leave_group", path = "/api/v1/social/groups/{id}/leave/", tag = "social",
    params(("id" = i64, Path, description = "Group id")),
    responses((status = 204, description = "Left"), (status = 400, description = "The owner", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn leave_group(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    db.transaction(move |conn| groups::leave(conn, caller.id, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A group's members (`?status=pending` for its admins).
#[utoipa::path(get, operation_id = "social_list_members", path = "/api/v1/social/groups/{id}/members/", tag = "social",
    params(("id" = i64, Path, description = "Group id"), PageParams, MemberQuery),
    responses((status = 200, body = Page<MemberOut>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such group, or private and the caller is not a member", body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_members(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    page: PageRequest,
    query: ValidQuery<MemberQuery>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let pending = query.status.as_deref() == Some("pending");
    let out = db
        .run(move |conn| groups::list_members(conn, &caller, id, pending, page))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Approves a pending member or changes a role (group admins; roles by the owner).
#[utoipa::path(patch, operation_id = "social_update_member", path = "/api/v1/social/groups/{id}/members/{user_id}/", tag = "social",
    params(("id" = i64, Path, description = "Group id"), ("user_id" = i64, Path, description = "Member")),
    request_body = MemberPatch,
    responses((status = 200, body = MemberOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn update_member(
    db: web::Data<Db>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
    body: Body<MemberPatch>,
) -> ApiResult<HttpResponse> {
    let (id, user) = path.into_inner();
    let out = db
        .transaction(move |conn| groups::update_member(conn, &caller, id, user, body))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Removes a member or rejects a pending one (group admins).
#[utoipa::path(delete, operation_id = "social_remove_member", path = "/api/v1/social/groups/{id}/members/{user_id}/", tag = "social",
    params(("id" = i64, Path, description = "Group id"), ("user_id" = i64, Path, description = "Member")),
    responses((status = 204, description = "Removed"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn remove_member(
    db: web::Data<Db>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (id, user) = path.into_inner();
    db.transaction(move |conn| groups::remove_member(conn, &caller, id, user))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------------------------
// Feed

/// The feed, newest first, keyset-paged (`?cursor=`): `?scope=timeline` (default), `mine`,
/// `public`, or `?group=`.
#[utoipa::path(get, operation_id = "social_list_posts", path = "/api/v1/social/posts/", tag = "social",
    params(CursorParams, FeedQuery),
    responses((status = 200, body = CursorPage<FeedPostOut>),
        (status = 400, description = "Invalid scope or cursor", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "A group the caller may not read", body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_posts(
    db: web::Data<Db>,
    caller: Caller,
    page: CursorRequest,
    query: ValidQuery<FeedQuery>,
) -> ApiResult<HttpResponse> {
    let filter = match query.group {
        Some(group) => FeedFilter::Group(group),
        None => FeedFilter::Scope(query.scope.unwrap_or_default()),
    };
    let out = db
        .run(move |conn| feed::list(conn, caller.id, filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Publishes a feed post.
#[utoipa::path(post, operation_id = "social_create_post", path = "/api/v1/social/posts/", tag = "social",
    request_body = FeedPostWrite,
    responses((status = 201, body = FeedPostOut),
        (status = 400, description = "Invalid content, visibility, group or attachments", body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn create_post(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<FeedPostWrite>,
) -> ApiResult<HttpResponse> {
    let out = service::create_post(&db, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(out))
}

/// One post the caller may see.
#[utoipa::path(get, operation_id = "social_get_post", path = "/api/v1/social/posts/{id}/", tag = "social",
    params(("id" = i64, Path, description = "Post id")),
    responses((status = 200, body = FeedPostOut), (status = 401, body = ErrorBody),
        (status = 404, description = "No such post, or not visible to the caller", body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn get_post(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let out = db.run(move |conn| feed::get(conn, caller.id, id)).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Edits a post's content or visibility (its author).
#[utoipa::path(patch, operation_id = "social_update_post", path = "/api/v1/social/posts/{id}/", tag = "social",
    params(("id" = i64, Path, description = "Post id")), request_body = FeedPostPatch,
    responses((status = 200, body = FeedPostOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn update_post(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<FeedPostPatch>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let out = db
        .transaction(move |conn| feed::update(conn, &caller, id, body))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Deletes a post (its author, the group's admins, a moderator).
#[utoipa::path(delete, operation_id = "social_delete_post", path = "/api/v1/social/posts/{id}/", tag = "social",
    params(("id" = i64, Path, description = "Post id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn delete_post(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    db.transaction(move |conn| feed::delete(conn, &caller, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Likes a post (idempotent).
#[utoipa::path(post, operation_id = "social_like_post", path = "/api/v1/social/posts/{id}/like/", tag = "social",
    params(("id" = i64, Path, description = "Post id")),
    responses((status = 200, body = LikeState), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn like_post(
    db: web::Data<Db>,
    bus: web::Data<Bus>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let out = service::like(&db, &bus, caller.id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Takes a like back (idempotent).
#[utoipa::path(delete, operation_id = "social_unlike_post", path = "/api/v1/social/posts/{id}/like/", tag = "social",
    params(("id" = i64, Path, description = "Post id")),
    responses((status = 200, body = LikeState), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn unlike_post(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let out = db
        .transaction(move |conn| feed::unlike(conn, caller.id, id))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// A post's comments, oldest first.
#[utoipa::path(get, operation_id = "social_list_comments", path = "/api/v1/social/posts/{id}/comments/", tag = "social",
    params(("id" = i64, Path, description = "Post id"), PageParams),
    responses((status = 200, body = Page<CommentOut>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_comments(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let out = db
        .run(move |conn| feed::list_comments(conn, caller.id, id, page))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Comments on a post.
#[utoipa::path(post, operation_id = "social_create_comment", path = "/api/v1/social/posts/{id}/comments/", tag = "social",
    params(("id" = i64, Path, description = "Post id")), request_body = CommentWrite,
    responses((status = 201, body = CommentOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn create_comment(
    db: web::Data<Db>,
    bus: web::Data<Bus>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<CommentWrite>,
) -> ApiResult<HttpResponse> {
    let out = service::comment(&db, &bus, caller.id, id.into_inner(), body).await?;
    Ok(HttpResponse::Created().json(out))
}

/// Deletes a comment (its author, the post's author, a moderator).
#[utoipa::path(delete, operation_id = "social_delete_comment", path = "/api/v1/social/comments/{id}/", tag = "social",
    params(("id" = i64, Path, description = "Comment id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn delete_comment(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    db.transaction(move |conn| feed::delete_comment(conn, &caller, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------------------------
// Messages

/// The caller's conversations: partner, last message, unread count; latest first.
#[utoipa::path(get, operation_id = "social_list_conversations", path = "/api/v1/social/messages/", tag = "social",
    params(CursorParams),
    responses((status = 200, body = CursorPage<ConversationOut>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_conversations(
    db: web::Data<Db>,
    caller: Caller,
    page: CursorRequest,
) -> ApiResult<HttpResponse> {
    let out = db
        .run(move |conn| messages::conversations(conn, caller.id, page))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Sends a direct message.
#[utoipa::path(post, operation_id = "social_send_message", path = "/api/v1/social/messages/", tag = "social",
    request_body = MessageWrite,
    responses((status = 201, body = MessageOut),
        (status = 400, description = "Oneself, no such user, invalid content", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not friends and the recipient accepts friends only, or a block", body = ErrorBody),
        (status = 429, description = "Too many messages (`THROTTLE_DIRECT_MESSAGE`)", body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn send_message(
    db: web::Data<Db>,
    bus: web::Data<Bus>,
    cache: web::Data<Cache>,
    settings: Settings<SocialSettings>,
    caller: Caller,
    body: Body<MessageWrite>,
) -> ApiResult<HttpResponse> {
    // Counted before the body is looked at, as DRF throttles.
    if let Some(limit) = settings.message_limit {
        limit.hit(&cache, &caller.id.to_string()).await?;
    }
    let out = service::send_message(&db, &bus, caller, body.parse()?).await?;
    Ok(HttpResponse::Created().json(out))
}

/// The caller's conversation with a user, newest first.
#[utoipa::path(get, operation_id = "social_conversation", path = "/api/v1/social/messages/with/{user_id}/", tag = "social",
    params(("user_id" = i64, Path, description = "The partner"), CursorParams),
    responses((status = 200, body = CursorPage<MessageOut>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn conversation(
    db: web::Data<Db>,
    caller: Caller,
    user_id: web::Path<i64>,
    page: CursorRequest,
) -> ApiResult<HttpResponse> {
    let other = user_id.into_inner();
    let out = db
        .run(move |conn| messages::history(conn, caller.id, other, page))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Marks a message sent to the caller read, with every earlier one from the same sender.
#[utoipa::path(post, operation_id = "social_read_message", path = "/api/v1/social/messages/{id}/read/", tag = "social",
    params(("id" = i64, Path, description = "Message id")),
    responses((status = 200, body = ReadReceipt), (status = 401, body = ErrorBody),
        (status = 404, description = "No such message to the caller", body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn read_message(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let out = db
        .transaction(move |conn| messages::mark_read(conn, caller.id, id))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

// ---------------------------------------------------------------------------------------------
// Notifications

/// The caller's notifications, newest first (`?unread=true`).
#[utoipa::path(get, operation_id = "social_list_notifications", path = "/api/v1/social/notifications/", tag = "social",
    params(CursorParams, NotificationQuery),
    responses((status = 200, body = CursorPage<NotificationOut>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_notifications(
    db: web::Data<Db>,
    caller: Caller,
    page: CursorRequest,
    query: ValidQuery<NotificationQuery>,
) -> ApiResult<HttpResponse> {
    let unread = query.unread.unwrap_or(false);
    let out = db
        .run(move |conn| notifications::list(conn, caller.id, unread, page))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// How many notifications the caller has not read.
#[utoipa::path(get, operation_id = "social_unread_notifications", path = "/api/v1/social/notifications/unread-count/", tag = "social",
    responses((status = 200, body = UnreadCount), (status = 401, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn unread_notifications(db: web::Data<Db>, caller: Caller) -> ApiResult<HttpResponse> {
    let count = db
        .run(move |conn| notifications::unread_count(conn, caller.id))
        .await?;
    Ok(HttpResponse::Ok().json(UnreadCount { count }))
}

/// Marks one notification read.
#[utoipa::path(post, operation_id = "social_read_notification", path = "/api/v1/social/notifications/{id}/read/", tag = "social",
    params(("id" = i64, Path, description = "Notification id")),
    responses((status = 200, body = NotificationOut), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn read_notification(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let out = db
        .write(move |conn| notifications::mark_read(conn, caller.id, id))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Marks every notification of the caller read.
#[utoipa::path(post, operation_id = "social_read_all_notifications", path = "/api/v1/social/notifications/read-all/", tag = "social",
    responses((status = 200, body = Updated), (status = 401, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn read_all_notifications(db: web::Data<Db>, caller: Caller) -> ApiResult<HttpResponse> {
    let updated = db
        .write(move |conn| notifications::mark_all_read(conn, caller.id))
        .await?;
    Ok(HttpResponse::Ok().json(Updated { updated }))
}

/// Deletes one notification.
#[utoipa::path(delete, operation_id = "social_delete_notification", path = "/api/v1/social/notifications/{id}/", tag = "social",
    params(("id" = i64, Path, description = "Notification id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn delete_notification(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    db.write(move |conn| notifications::delete(conn, caller.id, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the routes under `/api/v1/social` (the caller's scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    use web::{delete, get, patch, post, put, resource};
    cfg.service(resource("/friends/").route(get().to(list_friends)))
        .service(
            resource("/friends/requests/")
                .route(get().to(list_friend_requests))
                .route(post().to(send_friend_request)),
        )
        .service(resource("/friends/requests/{id}/").route(delete().to(cancel_friend_request)))
        .service(resource("/friends/requests/{id}/accept/").route(post().to(accept_friend_request)))
        .service(
            resource("/friends/requests/{id}/decline/").route(post().to(decline_friend_request)),
        )
        .service(resource("/friends/{user_id}/").route(delete().to(unfriend)))
        .service(
            resource("/users/{id}/follow/")
                .route(post().to(follow_user))
                .route(delete().to(unfollow_user)),
        )
        .service(
            resource("/users/{id}/block/")
                .route(post().to(block_user))
                .route(delete().to(unblock_user)),
        )
        .service(resource("/followers/").route(get().to(list_followers)))
        .service(resource("/following/").route(get().to(list_following)))
        .service(resource("/blocks/").route(get().to(list_blocks)))
        .service(
            resource("/groups/")
                .route(get().to(list_groups))
                .route(post().to(create_group)),
        )
        .service(
            resource("/groups/{id}/")
                .route(get().to(get_group))
                .route(put().to(replace_group))
                .route(patch().to(update_group))
                .route(delete().to(delete_group)),
        )
        .service(resource("/groups/{id}/join/").route(post().to(join_group)))
        .service(resource("/groups/{id}/leave/").route(post().to(leave_group)))
        .service(resource("/groups/{id}/members/").route(get().to(list_members)))
        .service(
            resource("/groups/{id}/members/{user_id}/")
                .route(patch().to(update_member))
                .route(delete().to(remove_member)),
        )
        .service(
            resource("/posts/")
                .route(get().to(list_posts))
                .route(post().to(create_post)),
        )
        .service(
            resource("/posts/{id}/")
                .route(get().to(get_post))
                .route(patch().to(update_post))
                .route(delete().to(delete_post)),
        )
        .service(
            resource("/posts/{id}/like/")
                .route(post().to(like_post))
                .route(delete().to(unlike_post)),
        )
        .service(
            resource("/posts/{id}/comments/")
                .route(get().to(list_comments))
                .route(post().to(create_comment)),
        )
        .service(resource("/comments/{id}/").route(delete().to(delete_comment)))
        .service(
            resource("/messages/")
                .route(get().to(list_conversations))
                .route(post().to(send_message)),
        )
        .service(resource("/messages/with/{user_id}/").route(get().to(conversation)))
        .service(resource("/messages/{id}/read/").route(post().to(read_message)))
        .service(resource("/notifications/").route(get().to(list_notifications)))
        .service(resource("/notifications/unread-count/").route(get().to(unread_notifications)))
        .service(resource("/notifications/read-all/").route(post().to(read_all_notifications)))
        .service(resource("/notifications/{id}/read/").route(post().to(read_notification)))
        .service(resource("/notifications/{id}/").route(delete().to(delete_notification)));
}
