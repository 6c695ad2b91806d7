//! The social domain's writes as a request makes them: each picks its transaction, runs the
//! rules (sync functions over `&mut DbConn` in [`graph`], [`groups`], [`feed`],
//! [`messages`], [`crate::notifications`]), and publishes what the committed change pushes to
//! sockets. Handlers extract, call one of these, and answer.

use plaza_kernel::{ApiResult, Body, Bus, Caller, Db};

use crate::live::{self, Push};
use crate::types::{
    CommentOut, FeedPostOut, FeedPostWrite, FriendRequestOut, FriendRequestWrite, LikeState,
    MemberOut, MessageOut, MessageWrite, Relation,
};
use crate::{feed, graph, groups, messages};

/// Runs `f` in one transaction, then publishes its pushes.
async fn commit_then_push<T, F>(db: &Db, bus: &Bus, f: F) -> ApiResult<T>
where
    F: FnOnce(&mut plaza_kernel::DbConn) -> ApiResult<(T, Vec<Push>)> + Send + 'static,
    T: Send + 'static,
{
    let (value, pushes) = db.transaction(f).await?;
    live::publish(bus, pushes).await;
    Ok(value)
}

/// Sends a friend request; `true` when a new request was created (201), `false` when the
/// other user's request was accepted instead (200). Two users asking each other at the same
/// moment: the second insert meets the first's pending key, and its transaction runs again,
/// finding and accepting the first.
pub async fn send_friend_request(
    db: &Db,
    bus: &Bus,
    caller: Caller,
    input: FriendRequestWrite,
) -> ApiResult<(FriendRequestOut, bool)> {
    let input = std::sync::Arc::new(input);
    for _ in 0..3 {
        let (caller, input) = (caller.clone(), input.clone());
        let sent = db
            .transaction(move |conn| graph::send_request(conn, &caller, &input))
            .await?;
        match sent {
            graph::Sent::Created(out, pushes) => {
                live::publish(bus, pushes).await;
                return Ok((out, true));
            }
            graph::Sent::Accepted(out, pushes) => {
                live::publish(bus, pushes).await;
                return Ok((out, false));
            }
            graph::Sent::Raced => continue,
        }
    }
    Err(plaza_kernel::ApiError::conflict(
        "A friend request between you is being answered; retry.",
    ))
}

/// Accepts a friend request sent to the caller.
pub async fn accept_friend_request(
    db: &Db,
    bus: &Bus,
    me: i64,
    id: i64,
) -> ApiResult<FriendRequestOut> {
    commit_then_push(db, bus, move |conn| graph::accept(conn, me, id)).await
}

/// Follows a user; `true` when new.
pub async fn follow(db: &Db, bus: &Bus, me: i64, target: i64) -> ApiResult<(Relation, bool)> {
    commit_then_push(db, bus, move |conn| {
        let (relation, created, pushes) = graph::follow(conn, me, target)?;
        Ok(((relation, created), pushes))
    })
    .await
}

/// Joins a group; `true` when the membership is new.
pub async fn join_group(db: &Db, bus: &Bus, me: i64, id: i64) -> ApiResult<(MemberOut, bool)> {
    commit_then_push(db, bus, move |conn| {
        let (member, created, pushes) = groups::join(conn, me, id)?;
        Ok(((member, created), pushes))
    })
    .await
}

/// Publishes a feed post.
pub async fn create_post(db: &Db, caller: Caller, input: FeedPostWrite) -> ApiResult<FeedPostOut> {
    db.transaction(move |conn| feed::create(conn, &caller, &input))
        .await
}

/// Likes a post.
pub async fn like(db: &Db, bus: &Bus, me: i64, id: i64) -> ApiResult<LikeState> {
    commit_then_push(db, bus, move |conn| feed::like(conn, me, id)).await
}

/// Comments on a post.
pub async fn comment(
    db: &Db,
    bus: &Bus,
    me: i64,
    id: i64,
    input: impl Into<Body<crate::types::CommentWrite>> + Send + 'static,
) -> ApiResult<CommentOut> {
    commit_then_push(db, bus, move |conn| feed::comment(conn, me, id, input)).await
}

/// Sends a direct message; the recipient's sockets receive it and its notification.
pub async fn send_message(
    db: &Db,
    bus: &Bus,
    caller: Caller,
    input: MessageWrite,
) -> ApiResult<MessageOut> {
    let input = std::sync::Arc::new(input);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (caller, input) = (caller.clone(), input.clone());
        let sent = db
            .transaction(move |conn| messages::send(conn, &caller, &input))
            .await;
        match sent {
            Ok((message, pushes)) => {
                live::publish(bus, pushes).await;
                return Ok(message);
            }
            Err(err) if attempt < 3 && messages::is_raced(&err) => continue,
            Err(err) => return Err(err),
        }
    }
}
