//! The feed: posts with a visibility, likes and comments.
//!
//! Who sees a post (`viewer` ≠ author): nobody across a block (either way); for a group's
//! post, anyone when the group is public, its active members when private; otherwise
//! `public` → anyone signed in, `friends` → the author's friends, `private` → nobody. The
//! author always sees their own. To anyone who may not see a post it does not exist (404), and
//! nor do its likes and comments.
//!
//! The timeline (`scope=timeline`) is one query: the caller's posts, their friends' public and
//! friends-only posts, followed users' public posts and the posts of groups they are an active
//! member of, minus authors across a block, newest first, keyset on `id`
//! (`WHERE id < cursor ORDER BY id DESC LIMIT n + 1`), so a deep page costs what the first
//! does. It reads the caller's home timeline (crate::home: the rows written for them when a post
//! is published or a relation changes) and checks each post it joins against the rules again
//! with a primary-key probe per relation, so a page reads about as many rows as it shows.
//! Whether the caller likes each post is a column of the page (a primary-key probe), so
//! presenting a page adds one query, for the authors.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use plaza_kernel::db::{self, DbConn, MultiBackend};
use plaza_kernel::time::{now, utc, Stamp};
use plaza_kernel::{
    ApiError, ApiResult, Body, Caller, CursorPage, CursorRequest, Page, PageRequest,
};

use crate::graph::{self, card_of};
use crate::groups;
use crate::home::{self, Probe};
use crate::live::Push;
use crate::notifications;
use crate::schema::{
    social_blocks as b, social_comments as c, social_home as h, social_likes as l,
    social_posts as p,
};
use crate::types::{
    AttachmentRef, CommentOut, CommentWrite, FeedPostOut, FeedPostPatch, FeedPostWrite, LikeState,
    Scope, Visibility,
};

/// A feed post row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = p)]
pub struct PostRow {
    /// Id.
    pub id: i64,
    /// Author.
    pub author_id: i64,
    /// Body.
    pub content: String,
    /// `public`, `friends`, `private` or `group`.
    pub visibility: String,
    /// Its group.
    pub group_id: Option<i64>,
    /// JSON array of attachment ids.
    pub attachment_ids: String,
    /// Likes.
    pub like_count: i64,
    /// Comments.
    pub comment_count: i64,
    /// Created.
    pub created_at: Stamp,
    /// Edited.
    pub updated_at: Stamp,
}

fn post_not_found() -> ApiError {
    ApiError::not_found("Post not found.")
}

/// Whether `viewer` may see `post` (see the module documentation).
pub fn can_see(conn: &mut DbConn, viewer: i64, post: &PostRow) -> QueryResult<bool> {
    if post.author_id == viewer {
        return Ok(true);
    }
    if graph::blocked_between(conn, viewer, post.author_id)? {
        return Ok(false);
    }
    if let Some(group) = post.group_id {
        return Ok(groups::readable(conn, group, viewer)?.unwrap_or(false));
    }
    Ok(match Visibility::parse(&post.visibility) {
        Visibility::Public => true,
        Visibility::Friends => graph::are_friends(conn, viewer, post.author_id)?,
        Visibility::Private | Visibility::Group => false,
    })
}

fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<PostRow>> {
    p::table
        .find(id)
        .select(PostRow::as_select())
        .first(conn)
        .optional()
}

/// The post, locked for the rest of the transaction on MySQL (`FOR UPDATE`), so concurrent
/// likes and comments of one post queue on it instead of deadlocking on foreign-key checks;
/// on SQLite the transaction already holds the write lock.
fn lock(conn: &mut DbConn, id: i64) -> QueryResult<Option<PostRow>> {
    match conn {
        DbConn::Mysql(m) => p::table
            .find(id)
            .select(PostRow::as_select())
            .for_update()
            .first(m)
            .optional(),
        DbConn::Sqlite(_) => find(conn, id),
    }
}

/// Post `id` if `viewer` may see it; 404 otherwise.
pub fn visible(conn: &mut DbConn, viewer: i64, id: i64, locked: bool) -> ApiResult<PostRow> {
    let row = if locked {
        lock(conn, id)?
    } else {
        find(conn, id)?
    };
    match row {
        Some(row) if can_see(conn, viewer, &row)? => Ok(row),
        _ => Err(post_not_found()),
    }
}

fn attachments(raw: &str) -> Vec<AttachmentRef> {
    serde_json::from_str::<Vec<i64>>(raw)
        .unwrap_or_default()
        .into_iter()
        .map(|id| AttachmentRef {
            id,
            url: format!("/api/v1/core/attachments/{id}/download/"),
        })
        .collect()
}

/// Posts with their authors and whether `viewer` likes them: two queries.
fn present(conn: &mut DbConn, viewer: i64, rows: Vec<PostRow>) -> QueryResult<Vec<FeedPostOut>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let liked: HashSet<i64> = if ids.is_empty() {
        HashSet::new()
    } else {
        l::table
            .filter(l::user_id.eq(viewer))
            .filter(db::ids_in(l::post_id, &ids))
            .select(l::post_id)
            .load::<i64>(conn)?
            .into_iter()
            .collect()
    };
    let rows = rows
        .into_iter()
        .map(|r| {
            let liked = liked.contains(&r.id);
            (r, liked)
        })
        .collect();
    present_liked(conn, rows)
}

/// Posts, each with whether the caller likes it, and their authors: one query.
fn present_liked(conn: &mut DbConn, rows: Vec<(PostRow, bool)>) -> QueryResult<Vec<FeedPostOut>> {
    let authors: Vec<i64> = rows.iter().map(|(r, _)| r.author_id).collect();
    let cards = plaza_users::authors_by_id(conn, &authors)?;
    Ok(rows
        .into_iter()
        .map(|(r, liked)| FeedPostOut {
            author: card_of(&cards, r.author_id),
            attachments: attachments(&r.attachment_ids),
            liked,
            visibility: Visibility::parse(&r.visibility),
            id: r.id,
            content: r.content,
            group_id: r.group_id,
            like_count: r.like_count,
            comment_count: r.comment_count,
            created_at: utc(*r.created_at),
            updated_at: utc(*r.updated_at),
        })
        .collect())
}

fn present_one(conn: &mut DbConn, viewer: i64, row: PostRow) -> ApiResult<FeedPostOut> {
    present(conn, viewer, vec![row])?
        .pop()
        .ok_or_else(post_not_found)
}

/// Which posts a feed page reads.
#[derive(Clone, Copy, Debug)]
pub enum FeedFilter {
    /// A scope.
    Scope(Scope),
    /// One group's posts.
    Group(i64),
}

/// A page of the feed, newest first.
pub fn list(
    conn: &mut DbConn,
    me: i64,
    filter: FeedFilter,
    page: CursorRequest,
) -> ApiResult<CursorPage<FeedPostOut>> {
    let after: Option<i64> = page.position()?;
    if let FeedFilter::Group(group) = filter {
        if !groups::readable(conn, group, me)?.unwrap_or(false) {
            return Err(ApiError::not_found("Group not found."));
        }
    }
    let rows = page_rows(conn, me, filter, after, page.fetch_limit())?;
    let page = page.into_page(rows, |(r, _)| r.id);
    let results = present_liked(conn, page.results)?;
    Ok(CursorPage {
        next_cursor: page.next_cursor,
        results,
    })
}

/// The rows of a page: up to `limit` posts older than `after`, newest first, each with
/// whether the caller likes it.
fn page_rows(
    conn: &mut DbConn,
    me: i64,
    filter: FeedFilter,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<(PostRow, bool)>> {
    let mut query = p::table.into_boxed::<MultiBackend>();
    query = match filter {
        FeedFilter::Scope(Scope::Mine) => query.filter(p::author_id.eq(me)),
        FeedFilter::Scope(Scope::Public) => query
            .filter(p::visibility.eq(Visibility::Public.as_str()))
            .filter(p::group_id.is_null()),
        FeedFilter::Group(group) => query.filter(p::group_id.eq(group)),
        FeedFilter::Scope(Scope::Timeline) => return timeline_rows(conn, me, after, limit),
    };
    if !matches!(filter, FeedFilter::Scope(Scope::Mine)) {
        query = query
            .filter(
                p::author_id.ne_all(b::table.filter(b::blocker_id.eq(me)).select(b::blocked_id)),
            )
            .filter(
                p::author_id.ne_all(b::table.filter(b::blocked_id.eq(me)).select(b::blocker_id)),
            );
    }
    if let Some(after) = after {
        query = query.filter(p::id.lt(after));
    }
    query
        .order(p::id.desc())
        .limit(limit)
        .select((PostRow::as_select(), Probe::liked_by(me)))
        .load(conn)
}

/// The caller's timeline rows: their home timeline (crate::home) newest first, each post's
/// visibility checked again as it is read (one primary-key probe per relation), so the page
/// reads about `limit` home rows and as many posts, whatever the caller's share of all posts.
fn timeline_rows(
    conn: &mut DbConn,
    me: i64,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<(PostRow, bool)>> {
    let mut query = h::table
        .inner_join(p::table)
        .filter(h::reader_id.eq(me))
        .filter(
            p::author_id
                .eq(me)
                .or(p::group_id
                    .is_null()
                    .and(
                        p::visibility
                            .eq(Visibility::Public.as_str())
                            .or(p::visibility.eq(Visibility::Friends.as_str())),
                    )
                    .and(Probe::friend_of_author(me)))
                .or(p::group_id
                    .is_null()
                    .and(p::visibility.eq(Visibility::Public.as_str()))
                    .and(Probe::follows_author(me)))
                .or(p::group_id.is_not_null().and(Probe::member_of_group(me))),
        )
        .filter(Probe::no_block_with_author(me))
        .into_boxed::<MultiBackend>();
    if let Some(after) = after {
        query = query.filter(h::post_id.lt(after));
    }
    query
        .order(h::post_id.desc())
        .limit(limit)
        .select((PostRow::as_select(), Probe::liked_by(me)))
        .load(conn)
}

/// One post the caller may see.
pub fn get(conn: &mut DbConn, me: i64, id: i64) -> ApiResult<FeedPostOut> {
    let row = visible(conn, me, id, false)?;
    present_one(conn, me, row)
}

/// Publishes a post; in a group the caller must be an active member.
pub fn create(conn: &mut DbConn, caller: &Caller, input: &FeedPostWrite) -> ApiResult<FeedPostOut> {
    let me = caller.id;
    let visibility = match input.group_id {
        Some(group) => {
            let readable = groups::readable(conn, group, me)?;
            let member = groups::membership(conn, group, me)?.is_some_and(|m| m.is_active());
            if !member {
                return Err(ApiError::invalid_field(
                    "group_id",
                    if readable == Some(true) {
                        "Only the group's members may post in it."
                    } else {
                        "No such group."
                    },
                ));
            }
            Visibility::Group
        }
        None => match input.visibility.unwrap_or_default() {
            Visibility::Group => {
                return Err(ApiError::invalid_field(
                    "visibility",
                    "Give group_id to post in a group.",
                ))
            }
            v => v,
        },
    };
    let mut ids: Vec<i64> = Vec::new();
    for id in input.attachment_ids.as_deref().unwrap_or_default() {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    for id in &ids {
        let owned = plaza_core::attachments::service::get_visible(conn, *id, Some(caller))
            .ok()
            .is_some_and(|a| a.owner_id == me);
        if !owned {
            return Err(ApiError::invalid_field(
                "attachment_ids",
                format!("Attachment {id} is not one of yours."),
            ));
        }
    }
    let at = now();
    diesel::insert_into(p::table)
        .values((
            p::author_id.eq(me),
            p::content.eq(&input.content),
            p::visibility.eq(visibility.as_str()),
            p::group_id.eq(input.group_id),
            p::attachment_ids.eq(serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())),
            p::like_count.eq(0_i64),
            p::comment_count.eq(0_i64),
            p::created_at.eq(at),
            p::updated_at.eq(at),
        ))
        .execute(conn)?;
    let id = db::last_insert_id(conn)?;
    let row = find(conn, id)?.ok_or_else(post_not_found)?;
    home::deliver(conn, &row)?;
    present_one(conn, me, row)
}

/// Changes a post's text or visibility (its author).
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    patch: impl Into<Body<FeedPostPatch>>,
) -> ApiResult<FeedPostOut> {
    let row = visible(conn, caller.id, id, true)?;
    if row.author_id != caller.id {
        return Err(ApiError::permission_denied(
            "Only the author may edit this post.",
        ));
    }
    let patch = &patch.into().parse()?;
    if let Some(v) = patch.visibility {
        if row.group_id.is_some() || v == Visibility::Group {
            return Err(ApiError::invalid_field(
                "visibility",
                "A group's post takes its visibility from the group; others are public, friends or private.",
            ));
        }
    }
    diesel::update(p::table.find(id))
        .set((
            patch.content.clone().map(|c| p::content.eq(c)),
            patch.visibility.map(|v| p::visibility.eq(v.as_str())),
            p::updated_at.eq(now()),
        ))
        .execute(conn)?;
    let updated = find(conn, id)?.ok_or_else(post_not_found)?;
    if updated.visibility != row.visibility {
        home::redeliver(conn, &updated)?;
    }
    present_one(conn, caller.id, updated)
}

/// Deletes a post with its likes and comments (its author, the group's admins, moderators).
pub fn delete(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    let row = visible(conn, caller.id, id, true)?;
    let group_admin = match row.group_id {
        Some(group) => groups::membership(conn, group, caller.id)?.is_some_and(|m| m.is_admin()),
        None => false,
    };
    if !caller.can_moderate(row.author_id) && !group_admin {
        return Err(ApiError::permission_denied(
            "Only the author, the group's admins or a moderator may delete this post.",
        ));
    }
    diesel::delete(p::table.find(id)).execute(conn)?;
    Ok(())
}

/// Likes a post (idempotent); the author is told of a new like.
pub fn like(conn: &mut DbConn, me: i64, id: i64) -> ApiResult<(LikeState, Vec<Push>)> {
    let row = visible(conn, me, id, true)?;
    let already: i64 = l::table
        .filter(l::post_id.eq(id))
        .filter(l::user_id.eq(me))
        .count()
        .get_result(conn)?;
    let mut pushes = Vec::new();
    if already == 0 {
        diesel::insert_into(l::table)
            .values((
                l::post_id.eq(id),
                l::user_id.eq(me),
                l::created_at.eq(now()),
            ))
            .execute(conn)?;
        diesel::update(p::table.find(id))
            .set(p::like_count.eq(p::like_count + 1))
            .execute(conn)?;
        pushes.extend(notifications::create(
            conn,
            row.author_id,
            Some(me),
            "like",
            serde_json::json!({"post_id": id}),
        )?);
    }
    Ok((like_state(conn, id, true)?, pushes))
}

fn like_state(conn: &mut DbConn, id: i64, liked: bool) -> ApiResult<LikeState> {
    let like_count = p::table.find(id).select(p::like_count).first(conn)?;
    Ok(LikeState {
        post_id: id,
        liked,
        like_count,
    })
}

/// Takes a like back (idempotent).
pub fn unlike(conn: &mut DbConn, me: i64, id: i64) -> ApiResult<LikeState> {
    visible(conn, me, id, true)?;
    let deleted = diesel::delete(l::table.filter(l::post_id.eq(id)).filter(l::user_id.eq(me)))
        .execute(conn)?;
    if deleted > 0 {
        diesel::update(p::table.find(id))
            .set(p::like_count.eq(p::like_count - 1))
            .execute(conn)?;
    }
    like_state(conn, id, false)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = c)]
struct CommentRow {
    id: i64,
    post_id: i64,
    author_id: i64,
    content: String,
    created_at: NaiveDateTime,
}

fn present_comments(conn: &mut DbConn, rows: Vec<CommentRow>) -> QueryResult<Vec<CommentOut>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.author_id).collect();
    let cards = plaza_users::authors_by_id(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| CommentOut {
            author: card_of(&cards, r.author_id),
            id: r.id,
            post_id: r.post_id,
            content: r.content,
            created_at: utc(r.created_at),
        })
        .collect())
}

/// A post's comments, oldest first, without those of users across a block from the caller.
pub fn list_comments(
    conn: &mut DbConn,
    me: i64,
    id: i64,
    page: PageRequest,
) -> ApiResult<Page<CommentOut>> {
    visible(conn, me, id, false)?;
    let filtered = || {
        c::table
            .filter(c::post_id.eq(id))
            .filter(
                c::author_id.ne_all(b::table.filter(b::blocker_id.eq(me)).select(b::blocked_id)),
            )
            .filter(
                c::author_id.ne_all(b::table.filter(b::blocked_id.eq(me)).select(b::blocker_id)),
            )
            .into_boxed::<MultiBackend>()
    };
    let count: i64 = filtered().count().get_result(conn)?;
    page.paginate(count, |w| {
        let rows: Vec<CommentRow> = filtered()
            .order(c::id.asc())
            .limit(w.limit)
            .offset(w.offset)
            .select(CommentRow::as_select())
            .load(conn)?;
        Ok(present_comments(conn, rows)?)
    })
}

/// Comments on a post the caller may see (never across a block); the author is told.
pub fn comment(
    conn: &mut DbConn,
    me: i64,
    id: i64,
    input: impl Into<Body<CommentWrite>>,
) -> ApiResult<(CommentOut, Vec<Push>)> {
    let row = visible(conn, me, id, true)?;
    let input = &input.into().parse()?;
    let at = now();
    diesel::insert_into(c::table)
        .values((
            c::post_id.eq(id),
            c::author_id.eq(me),
            c::content.eq(&input.content),
            c::created_at.eq(at),
        ))
        .execute(conn)?;
    let comment_id = db::last_insert_id(conn)?;
    diesel::update(p::table.find(id))
        .set(p::comment_count.eq(p::comment_count + 1))
        .execute(conn)?;
    let push = notifications::create(
        conn,
        row.author_id,
        Some(me),
        "comment",
        serde_json::json!({"post_id": id, "comment_id": comment_id}),
    )?;
    let out = present_comments(
        conn,
        vec![CommentRow {
            id: comment_id,
            post_id: id,
            author_id: me,
            content: input.content.clone(),
            created_at: at,
        }],
    )?
    .pop()
    .ok_or_else(post_not_found)?;
    Ok((out, push.into_iter().collect()))
}

/// Deletes a comment (its author, the post's author, or a moderator).
pub fn delete_comment(conn: &mut DbConn, caller: &Caller, comment_id: i64) -> ApiResult<()> {
    let not_found = || ApiError::not_found("Comment not found.");
    let row: CommentRow = c::table
        .find(comment_id)
        .select(CommentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)?;
    let post = visible(conn, caller.id, row.post_id, true).map_err(|_| not_found())?;
    if row.author_id != caller.id && post.author_id != caller.id && !caller.is_moderator() {
        return Err(ApiError::permission_denied(
            "Only the comment's author, the post's author or a moderator may delete it.",
        ));
    }
    diesel::delete(c::table.find(comment_id)).execute(conn)?;
    diesel::update(p::table.find(row.post_id))
        .set(p::comment_count.eq(p::comment_count - 1))
        .execute(conn)?;
    Ok(())
}
