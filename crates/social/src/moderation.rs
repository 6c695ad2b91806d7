//! What staff see and remove of the feed, for the console: every post and comment whatever
//! its visibility (the API hides private ones even from moderators; staff moderating need
//! them), each page a count and a page of rows on the primary key or the `(visibility, id)`
//! and `(post_id, id)` indexes. Deleting needs a moderator.

use diesel::prelude::*;
use plaza_kernel::db::{like, DbConn, MultiBackend};
use plaza_kernel::{ApiError, ApiResult, Caller, Page, PageRequest};

use crate::feed::PostRow;
use crate::schema::{social_comments as c, social_posts as p};

/// A comment as staff see it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = c)]
pub struct CommentRow {
    /// Id.
    pub id: i64,
    /// Its post.
    pub post_id: i64,
    /// Author.
    pub author_id: i64,
    /// Text.
    pub content: String,
    /// When.
    pub created_at: chrono::NaiveDateTime,
}

/// Feed posts, newest first: those whose text contains `search`, of one `visibility`.
pub fn posts(
    conn: &mut DbConn,
    search: Option<&str>,
    visibility: Option<&str>,
    page: PageRequest,
) -> ApiResult<Page<PostRow>> {
    let query = || {
        let mut query = p::table.into_boxed::<MultiBackend>();
        if let Some(visibility) = visibility {
            query = query.filter(p::visibility.eq(visibility.to_owned()));
        }
        if let Some(search) = search {
            query = query.filter(p::content.like(like::contains(search)).escape(like::ESCAPE));
        }
        query
    };
    let count: i64 = query().count().get_result(conn)?;
    page.paginate(count, |w| {
        Ok(query()
            .order(p::id.desc())
            .limit(w.limit)
            .offset(w.offset)
            .select(PostRow::as_select())
            .load(conn)?)
    })
}

/// One post, whoever may see it.
pub fn post(conn: &mut DbConn, id: i64) -> ApiResult<PostRow> {
    p::table
        .find(id)
        .select(PostRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("Post not found."))
}

/// Deletes a post with its likes and comments (the foreign keys cascade); moderators only.
pub fn delete_post(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.require_moderator()?;
    post(conn, id)?;
    diesel::delete(p::table.find(id)).execute(conn)?;
    Ok(())
}

/// Comments, newest first: those whose text contains `search`.
pub fn comments(
    conn: &mut DbConn,
    search: Option<&str>,
    page: PageRequest,
) -> ApiResult<Page<CommentRow>> {
    let query = || {
        let mut query = c::table.into_boxed::<MultiBackend>();
        if let Some(search) = search {
            query = query.filter(c::content.like(like::contains(search)).escape(like::ESCAPE));
        }
        query
    };
    let count: i64 = query().count().get_result(conn)?;
    page.paginate(count, |w| {
        Ok(query()
            .order(c::id.desc())
            .limit(w.limit)
            .offset(w.offset)
            .select(CommentRow::as_select())
            .load(conn)?)
    })
}

/// One comment.
pub fn comment(conn: &mut DbConn, id: i64) -> ApiResult<CommentRow> {
    c::table
        .find(id)
        .select(CommentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("Comment not found."))
}

/// Deletes a comment and takes it off its post's count; moderators only.
pub fn delete_comment(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.require_moderator()?;
    let row = comment(conn, id)?;
    diesel::delete(c::table.find(id)).execute(conn)?;
    diesel::update(p::table.find(row.post_id))
        .set(p::comment_count.eq(p::comment_count - 1))
        .execute(conn)?;
    Ok(())
}
