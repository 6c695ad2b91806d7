//! The social graph: friend requests and friendships, follows, blocks.
//!
//! - A friend request is pending, then accepted, declined or cancelled. Two requests between
//!   the same pair cannot be pending at once (`pending_key`, unique); asking someone who already
//!   asked you accepts theirs. Accepting writes the request's state and both friendship rows in
//!   one transaction.
//! - A block ends the friendship and follows both ways and cancels pending requests, in one
//!   transaction, and stops requests, follows, messages, comments and visibility of posts
//!   between the two while it lasts.
//! - Counts (followers, following, friends) are `COUNT(*)` over indexed rows: exact whatever
//!   the concurrency.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use plaza_kernel::db::{self, DbConn};
use plaza_kernel::time::{now, utc};
use plaza_kernel::{ApiError, ApiResult, Caller, Page, PageRequest};
use plaza_users::Author;

use crate::home;
use crate::live::Push;
use crate::notifications;
use crate::schema::{
    social_blocks as b, social_follows as f, social_friend_requests as fr, social_friendships as fs,
};
use crate::types::{FriendRequestOut, FriendRequestWrite, Relation, UserLink};

/// `true` if either user blocked the other.
pub fn blocked_between(conn: &mut DbConn, a: i64, c: i64) -> QueryResult<bool> {
    let n: i64 = b::table
        .filter(
            b::blocker_id
                .eq(a)
                .and(b::blocked_id.eq(c))
                .or(b::blocker_id.eq(c).and(b::blocked_id.eq(a))),
        )
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// `true` if `a` and `c` are friends.
pub fn are_friends(conn: &mut DbConn, a: i64, c: i64) -> QueryResult<bool> {
    let n: i64 = fs::table
        .filter(fs::user_id.eq(a))
        .filter(fs::friend_id.eq(c))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Whether `follower` follows `followee`.
pub fn follows(conn: &mut DbConn, follower: i64, followee: i64) -> QueryResult<bool> {
    let n: i64 = f::table
        .filter(f::follower_id.eq(follower))
        .filter(f::followee_id.eq(followee))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The card of user `id`, if the account exists.
pub fn card(conn: &mut DbConn, id: i64) -> QueryResult<Option<Author>> {
    Ok(plaza_users::authors_by_id(conn, &[id])?.remove(&id))
}

/// The card of `id` from a batch, or an empty card for an account that is gone.
pub fn card_of(cards: &HashMap<i64, Author>, id: i64) -> Author {
    cards.get(&id).cloned().unwrap_or(Author {
        id,
        username: String::new(),
        avatar: None,
    })
}

fn user_not_found() -> ApiError {
    ApiError::not_found("User not found.")
}

/// 404 unless user `id` exists.
fn require_user(conn: &mut DbConn, id: i64) -> ApiResult<Author> {
    card(conn, id)?.ok_or_else(user_not_found)
}

fn pending_key(a: i64, c: i64) -> String {
    format!("{}:{}", a.min(c), a.max(c))
}

// ---------------------------------------------------------------------------------------------
// Friend requests

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = fr)]
struct RequestRow {
    id: i64,
    from_user_id: i64,
    to_user_id: i64,
    message: String,
    status: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn present_requests(
    conn: &mut DbConn,
    rows: Vec<RequestRow>,
) -> QueryResult<Vec<FriendRequestOut>> {
    let ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| [r.from_user_id, r.to_user_id])
        .collect();
    let cards = plaza_users::authors_by_id(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| FriendRequestOut {
            id: r.id,
            from_user: card_of(&cards, r.from_user_id),
            to_user: card_of(&cards, r.to_user_id),
            message: r.message,
            status: r.status,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        })
        .collect())
}

fn present_request(conn: &mut DbConn, id: i64) -> ApiResult<FriendRequestOut> {
    let row = fr::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)?;
    present_requests(conn, vec![row])?
        .pop()
        .ok_or_else(request_not_found)
}

fn request_not_found() -> ApiError {
    ApiError::not_found("Friend request not found.")
}

/// What sending a friend request did.
#[derive(Debug)]
pub enum Sent {
    /// A new pending request (201).
    Created(FriendRequestOut, Vec<Push>),
    /// The other user had asked first: their request is accepted (200).
    Accepted(FriendRequestOut, Vec<Push>),
    /// A concurrent request between the pair won the race: run again.
    Raced,
}

/// Sends a friend request, or accepts the one the other user sent.
pub fn send_request(
    conn: &mut DbConn,
    caller: &Caller,
    input: &FriendRequestWrite,
) -> ApiResult<Sent> {
    let (me, to) = (caller.id, input.to_user_id);
    if me == to {
        return Err(ApiError::invalid_field(
            "to_user_id",
            "You cannot send a friend request to yourself.",
        ));
    }
    if card(conn, to)?.is_none() {
        return Err(ApiError::invalid_field("to_user_id", "No such user."));
    }
    if blocked_between(conn, me, to)? {
        return Err(ApiError::permission_denied(
            "You cannot send a friend request to this user.",
        ));
    }
    if are_friends(conn, me, to)? {
        return Err(ApiError::conflict("You are already friends."));
    }
    let key = pending_key(me, to);
    let pending: Option<RequestRow> = fr::table
        .filter(fr::pending_key.eq(&key))
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(theirs) = pending {
        if theirs.from_user_id == me {
            return Err(ApiError::conflict(
                "A friend request to this user is already pending.",
            ));
        }
        let (out, pushes) = accept_row(conn, me, &theirs)?;
        return Ok(Sent::Accepted(out, pushes));
    }
    let at = now();
    let inserted = diesel::insert_into(fr::table)
        .values((
            fr::from_user_id.eq(me),
            fr::to_user_id.eq(to),
            fr::message.eq(input.message.as_deref().unwrap_or("").trim()),
            fr::status.eq("pending"),
            fr::pending_key.eq(Some(&key)),
            fr::created_at.eq(at),
            fr::updated_at.eq(at),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => {}
        Err(err) if db::is_unique_violation(&err) => return Ok(Sent::Raced),
        Err(err) => return Err(err.into()),
    }
    let id = db::last_insert_id(conn)?;
    let push = notifications::create(
        conn,
        to,
        Some(me),
        "friend_request",
        serde_json::json!({"request_id": id}),
    )?;
    let out = present_request(conn, id)?;
    Ok(Sent::Created(out, push.into_iter().collect()))
}

/// Accepts `row` (pending, to `me`): its state and both friendship rows.
fn accept_row(
    conn: &mut DbConn,
    me: i64,
    row: &RequestRow,
) -> ApiResult<(FriendRequestOut, Vec<Push>)> {
    let at = now();
    let updated = diesel::update(
        fr::table
            .find(row.id)
            .filter(fr::status.eq("pending"))
            .filter(fr::to_user_id.eq(me)),
    )
    .set((
        fr::status.eq("accepted"),
        fr::pending_key.eq(None::<String>),
        fr::updated_at.eq(at),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(ApiError::conflict(
            "This friend request is no longer pending.",
        ));
    }
    for (user, friend) in [(row.from_user_id, me), (me, row.from_user_id)] {
        diesel::insert_into(fs::table)
            .values((
                fs::user_id.eq(user),
                fs::friend_id.eq(friend),
                fs::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    refresh_both(conn, me, row.from_user_id)?;
    let push = notifications::create(
        conn,
        row.from_user_id,
        Some(me),
        "friend_accepted",
        serde_json::json!({"request_id": row.id}),
    )?;
    Ok((present_request(conn, row.id)?, push.into_iter().collect()))
}

/// A request `me` took part in (404 for anyone else's).
fn find_request(conn: &mut DbConn, me: i64, id: i64) -> ApiResult<RequestRow> {
    fr::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?
        .filter(|r| r.from_user_id == me || r.to_user_id == me)
        .ok_or_else(request_not_found)
}

/// Accepts a pending request sent to the caller (403 for its sender, 404 for others).
pub fn accept(conn: &mut DbConn, me: i64, id: i64) -> ApiResult<(FriendRequestOut, Vec<Push>)> {
    let row = find_request(conn, me, id)?;
    if row.to_user_id != me {
        return Err(ApiError::permission_denied(
            "Only the recipient may accept a friend request.",
        ));
    }
    if row.status != "pending" {
        return Err(ApiError::conflict(
            "This friend request is no longer pending.",
        ));
    }
    if blocked_between(conn, row.from_user_id, me)? {
        return Err(request_not_found());
    }
    accept_row(conn, me, &row)
}

/// Declines (recipient) or cancels (sender) a pending request.
pub fn close(conn: &mut DbConn, me: i64, id: i64, cancel: bool) -> ApiResult<FriendRequestOut> {
    let row = find_request(conn, me, id)?;
    let (allowed, status) = if cancel {
        (row.from_user_id == me, "cancelled")
    } else {
        (row.to_user_id == me, "declined")
    };
    if !allowed {
        return Err(ApiError::permission_denied(if cancel {
            "Only the sender may cancel a friend request."
        } else {
            "Only the recipient may decline a friend request."
        }));
    }
    let updated = diesel::update(fr::table.find(id).filter(fr::status.eq("pending")))
        .set((
            fr::status.eq(status),
            fr::pending_key.eq(None::<String>),
            fr::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Err(ApiError::conflict(
            "This friend request is no longer pending.",
        ));
    }
    present_request(conn, id)
}

/// The caller's pending requests, incoming or outgoing, newest first.
pub fn list_requests(
    conn: &mut DbConn,
    me: i64,
    outgoing: bool,
    page: PageRequest,
) -> ApiResult<Page<FriendRequestOut>> {
    let filtered = || {
        let q = fr::table.filter(fr::status.eq("pending")).into_boxed();
        if outgoing {
            q.filter(fr::from_user_id.eq(me))
        } else {
            q.filter(fr::to_user_id.eq(me))
        }
    };
    let count: i64 = filtered().count().get_result(conn)?;
    page.paginate(count, |w| {
        let rows: Vec<RequestRow> = filtered()
            .order(fr::id.desc())
            .limit(w.limit)
            .offset(w.offset)
            .select(RequestRow::as_select())
            .load(conn)?;
        Ok(present_requests(conn, rows)?)
    })
}

/// Ends a friendship, both rows (404 when they were not friends).
pub fn unfriend(conn: &mut DbConn, me: i64, other: i64) -> ApiResult<()> {
    let deleted = delete_friendship(conn, me, other)?;
    if deleted == 0 {
        return Err(ApiError::not_found("You are not friends with this user."));
    }
    refresh_both(conn, me, other)?;
    Ok(())
}

/// Writes both users' home timeline rows of the other's posts again (crate::home).
fn refresh_both(conn: &mut DbConn, a: i64, c: i64) -> QueryResult<()> {
    home::refresh_pair(conn, a, c)?;
    home::refresh_pair(conn, c, a)
}

fn delete_friendship(conn: &mut DbConn, a: i64, c: i64) -> QueryResult<usize> {
    diesel::delete(
        fs::table.filter(
            fs::user_id
                .eq(a)
                .and(fs::friend_id.eq(c))
                .or(fs::user_id.eq(c).and(fs::friend_id.eq(a))),
        ),
    )
    .execute(conn)
}

/// 404 when `viewer` may not see `user`'s lists (the account is gone, or a block).
fn check_lists_visible(conn: &mut DbConn, viewer: i64, user: i64) -> ApiResult<()> {
    if user != viewer {
        require_user(conn, user)?;
        if blocked_between(conn, viewer, user)? {
            return Err(user_not_found());
        }
    }
    Ok(())
}

fn links(conn: &mut DbConn, rows: Vec<(i64, NaiveDateTime)>) -> QueryResult<Vec<UserLink>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let cards = plaza_users::authors_by_id(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(id, since)| UserLink {
            user: card_of(&cards, id),
            since: utc(since),
        })
        .collect())
}

/// `user`'s friends, newest friendship first.
pub fn list_friends(
    conn: &mut DbConn,
    viewer: i64,
    user: i64,
    page: PageRequest,
) -> ApiResult<Page<UserLink>> {
    check_lists_visible(conn, viewer, user)?;
    let count: i64 = fs::table
        .filter(fs::user_id.eq(user))
        .count()
        .get_result(conn)?;
    page.paginate(count, |w| {
        let rows: Vec<(i64, NaiveDateTime)> = fs::table
            .filter(fs::user_id.eq(user))
            .order((fs::created_at.desc(), fs::friend_id.desc()))
            .limit(w.limit)
            .offset(w.offset)
            .select((fs::friend_id, fs::created_at))
            .load(conn)?;
        Ok(links(conn, rows)?)
    })
}

// ---------------------------------------------------------------------------------------------
// Follows

/// Followers of `user`.
pub fn followers_count(conn: &mut DbConn, user: i64) -> QueryResult<i64> {
    f::table
        .filter(f::followee_id.eq(user))
        .count()
        .get_result(conn)
}

/// Users `user` follows.
pub fn following_count(conn: &mut DbConn, user: i64) -> QueryResult<i64> {
    f::table
        .filter(f::follower_id.eq(user))
        .count()
        .get_result(conn)
}

/// Friends of `user`.
pub fn friends_count(conn: &mut DbConn, user: i64) -> QueryResult<i64> {
    fs::table
        .filter(fs::user_id.eq(user))
        .count()
        .get_result(conn)
}

/// Follows `target`; `true` in the answer's second field when it is new.
pub fn follow(conn: &mut DbConn, me: i64, target: i64) -> ApiResult<(Relation, bool, Vec<Push>)> {
    if me == target {
        return Err(ApiError::bad_request("You cannot follow yourself."));
    }
    require_user(conn, target)?;
    if blocked_between(conn, me, target)? {
        return Err(ApiError::permission_denied("You cannot follow this user."));
    }
    let inserted = diesel::insert_into(f::table)
        .values((
            f::follower_id.eq(me),
            f::followee_id.eq(target),
            f::created_at.eq(now()),
        ))
        .execute(conn);
    let created = match inserted {
        Ok(_) => true,
        Err(err) if db::is_unique_violation(&err) => false,
        Err(err) => return Err(err.into()),
    };
    let mut pushes = Vec::new();
    if created {
        home::refresh_pair(conn, me, target)?;
        pushes.extend(notifications::create(
            conn,
            target,
            Some(me),
            "new_follower",
            serde_json::json!({"user_id": me}),
        )?);
    }
    let relation = Relation {
        user_id: target,
        active: true,
        followers_count: Some(followers_count(conn, target)?),
    };
    Ok((relation, created, pushes))
}

/// Stops following `target` (idempotent).
pub fn unfollow(conn: &mut DbConn, me: i64, target: i64) -> ApiResult<Relation> {
    require_user(conn, target)?;
    diesel::delete(
        f::table
            .filter(f::follower_id.eq(me))
            .filter(f::followee_id.eq(target)),
    )
    .execute(conn)?;
    home::refresh_pair(conn, me, target)?;
    Ok(Relation {
        user_id: target,
        active: false,
        followers_count: Some(followers_count(conn, target)?),
    })
}

/// `user`'s followers (`followers == true`) or the users they follow, newest first.
pub fn list_follows(
    conn: &mut DbConn,
    viewer: i64,
    user: i64,
    followers: bool,
    page: PageRequest,
) -> ApiResult<Page<UserLink>> {
    check_lists_visible(conn, viewer, user)?;
    let count = if followers {
        followers_count(conn, user)?
    } else {
        following_count(conn, user)?
    };
    page.paginate(count, |w| {
        let rows: Vec<(i64, NaiveDateTime)> = if followers {
            f::table
                .filter(f::followee_id.eq(user))
                .order((f::created_at.desc(), f::follower_id.desc()))
                .limit(w.limit)
                .offset(w.offset)
                .select((f::follower_id, f::created_at))
                .load(conn)?
        } else {
            f::table
                .filter(f::follower_id.eq(user))
                .order((f::created_at.desc(), f::followee_id.desc()))
                .limit(w.limit)
                .offset(w.offset)
                .select((f::followee_id, f::created_at))
                .load(conn)?
        };
        Ok(links(conn, rows)?)
    })
}

// ---------------------------------------------------------------------------------------------
// Blocks

/// Blocks `target`: ends friendship and follows both ways and cancels pending requests.
/// `true` in the second field when the block is new.
pub fn block(conn: &mut DbConn, me: i64, target: i64) -> ApiResult<(Relation, bool)> {
    if me == target {
        return Err(ApiError::bad_request("You cannot block yourself."));
    }
    require_user(conn, target)?;
    let inserted = diesel::insert_into(b::table)
        .values((
            b::blocker_id.eq(me),
            b::blocked_id.eq(target),
            b::created_at.eq(now()),
        ))
        .execute(conn);
    let created = match inserted {
        Ok(_) => true,
        Err(err) if db::is_unique_violation(&err) => false,
        Err(err) => return Err(err.into()),
    };
    delete_friendship(conn, me, target)?;
    diesel::delete(
        f::table.filter(
            f::follower_id
                .eq(me)
                .and(f::followee_id.eq(target))
                .or(f::follower_id.eq(target).and(f::followee_id.eq(me))),
        ),
    )
    .execute(conn)?;
    diesel::update(fr::table.filter(fr::pending_key.eq(pending_key(me, target))))
        .set((
            fr::status.eq("cancelled"),
            fr::pending_key.eq(None::<String>),
            fr::updated_at.eq(now()),
        ))
        .execute(conn)?;
    refresh_both(conn, me, target)?;
    Ok((
        Relation {
            user_id: target,
            active: true,
            followers_count: None,
        },
        created,
    ))
}

/// Lifts the caller's block of `target` (idempotent; nothing that the block ended returns).
pub fn unblock(conn: &mut DbConn, me: i64, target: i64) -> ApiResult<()> {
    require_user(conn, target)?;
    diesel::delete(
        b::table
            .filter(b::blocker_id.eq(me))
            .filter(b::blocked_id.eq(target)),
    )
    .execute(conn)?;
    Ok(())
}

/// The users the caller blocked, newest first.
pub fn list_blocks(conn: &mut DbConn, me: i64, page: PageRequest) -> ApiResult<Page<UserLink>> {
    let count: i64 = b::table
        .filter(b::blocker_id.eq(me))
        .count()
        .get_result(conn)?;
    page.paginate(count, |w| {
        let rows: Vec<(i64, NaiveDateTime)> = b::table
            .filter(b::blocker_id.eq(me))
            .order((b::created_at.desc(), b::blocked_id.desc()))
            .limit(w.limit)
            .offset(w.offset)
            .select((b::blocked_id, b::created_at))
            .load(conn)?;
        Ok(links(conn, rows)?)
    })
}
