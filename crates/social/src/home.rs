//! The home timeline kept per reader (fan-out on write).
//!
//! `social_home` holds a row `(reader, post)` for every feed post the reader's `scope=timeline`
//! may show: their own posts, followed users' public posts, friends' public and friends-only
//! posts and the posts of groups they are an active member of. A timeline page reads the
//! reader's rows newest first and joins the posts, so it walks about as many rows as it shows;
//! without it a page walked every post newer than its last one (a reader who sees one post in
//! eleven walked ~230 rows for a page of 20).
//!
//! The rows are written in the transaction that changes what a reader may see:
//! - [`deliver`] when a post is published (and again, by [`redeliver`], when its visibility
//!   changes), to its author and its audience;
//! - [`refresh_pair`] when a follow, a friendship or a block between two users begins or ends:
//!   the reader's rows of the author's posts are written again from the relations that hold now;
//! - [`refresh_group`] when a membership becomes active or ends.
//!
//! Deleting a post, a group or a user removes their rows by cascade. The page still checks
//! each post's visibility as it reads it (feed.rs), so the table only has to hold a superset of
//! what the reader may see: a block, for one, leaves the blocked user's group posts in place
//! and the page skips them; it never decides visibility on its own.

use diesel::backend::Backend;
use diesel::expression::ValidGrouping;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType};
use plaza_kernel::db::DbConn;

use crate::feed::PostRow;
use crate::graph;
use crate::groups;
use crate::schema::{
    social_follows as f, social_friendships as fs, social_group_members as gm, social_home as h,
    social_posts as p,
};
use crate::types::Visibility;

/// Writes `post`'s rows: its author's, and its audience's — a group's active members, or for
/// a public post the author's followers and friends, for a friends-only post their friends.
pub fn deliver(conn: &mut DbConn, post: &PostRow) -> QueryResult<()> {
    let (id, author) = (post.id, post.author_id);
    diesel::insert_into(h::table)
        .values((h::reader_id.eq(author), h::post_id.eq(id)))
        .execute(conn)?;
    // The author is never among the rest: nobody follows or befriends themself, and the
    // group's members exclude them.
    match (post.group_id, Visibility::parse(&post.visibility)) {
        (Some(group), _) => {
            diesel::insert_into(h::table)
                .values(
                    gm::table
                        .filter(gm::group_id.eq(group))
                        .filter(gm::status.eq("active"))
                        .filter(gm::user_id.ne(author))
                        .select((gm::user_id, id.into_sql::<BigInt>())),
                )
                .into_columns((h::reader_id, h::post_id))
                .execute(conn)?;
        }
        (None, Visibility::Public) => {
            diesel::insert_into(h::table)
                .values(
                    f::table
                        .filter(f::followee_id.eq(author))
                        .select((f::follower_id, id.into_sql::<BigInt>())),
                )
                .into_columns((h::reader_id, h::post_id))
                .execute(conn)?;
            // Friends who do not follow the author already have their row.
            let followers = f::table
                .filter(f::followee_id.eq(author))
                .select(f::follower_id);
            diesel::insert_into(h::table)
                .values(
                    fs::table
                        .filter(fs::user_id.eq(author))
                        .filter(fs::friend_id.ne_all(followers))
                        .select((fs::friend_id, id.into_sql::<BigInt>())),
                )
                .into_columns((h::reader_id, h::post_id))
                .execute(conn)?;
        }
        (None, Visibility::Friends) => {
            diesel::insert_into(h::table)
                .values(
                    fs::table
                        .filter(fs::user_id.eq(author))
                        .select((fs::friend_id, id.into_sql::<BigInt>())),
                )
                .into_columns((h::reader_id, h::post_id))
                .execute(conn)?;
        }
        (None, Visibility::Private | Visibility::Group) => {}
    }
    Ok(())
}

/// Writes `post`'s rows again after its visibility changed.
pub fn redeliver(conn: &mut DbConn, post: &PostRow) -> QueryResult<()> {
    diesel::delete(h::table.filter(h::post_id.eq(post.id))).execute(conn)?;
    deliver(conn, post)
}

/// Writes `reader`'s rows of `author`'s posts outside groups again, from the follow,
/// friendship and blocks between them as they are now. Call it in the transaction that
/// changed one of them (for both directions when the relation is mutual).
pub fn refresh_pair(conn: &mut DbConn, reader: i64, author: i64) -> QueryResult<()> {
    let authored = p::table
        .filter(p::author_id.eq(author))
        .filter(p::group_id.is_null())
        .select(p::id);
    diesel::delete(
        h::table
            .filter(h::reader_id.eq(reader))
            .filter(h::post_id.eq_any(authored)),
    )
    .execute(conn)?;
    if reader == author || graph::blocked_between(conn, reader, author)? {
        return Ok(());
    }
    let visible: &[&str] = if graph::are_friends(conn, reader, author)? {
        &["public", "friends"]
    } else if graph::follows(conn, reader, author)? {
        &["public"]
    } else {
        return Ok(());
    };
    diesel::insert_into(h::table)
        .values(
            p::table
                .filter(p::author_id.eq(author))
                .filter(p::group_id.is_null())
                .filter(p::visibility.eq_any(visible))
                .select((reader.into_sql::<BigInt>(), p::id)),
        )
        .into_columns((h::reader_id, h::post_id))
        .execute(conn)?;
    Ok(())
}

/// Writes `reader`'s rows of group `group`'s posts (other than their own) again: all of them
/// while the reader is an active member, none otherwise.
pub fn refresh_group(conn: &mut DbConn, reader: i64, group: i64) -> QueryResult<()> {
    let others = p::table
        .filter(p::group_id.eq(group))
        .filter(p::author_id.ne(reader));
    diesel::delete(
        h::table
            .filter(h::reader_id.eq(reader))
            .filter(h::post_id.eq_any(others.select(p::id))),
    )
    .execute(conn)?;
    if groups::membership(conn, group, reader)?.is_some_and(|m| m.is_active()) {
        diesel::insert_into(h::table)
            .values(others.select((reader.into_sql::<BigInt>(), p::id)))
            .into_columns((h::reader_id, h::post_id))
            .execute(conn)?;
    }
    Ok(())
}

/// A correlated probe of one primary key about the feed post being read (`social_posts`),
/// with the reader's id bound between the parts of its SQL. Written as SQL because diesel's
/// typed subqueries cannot refer to the outer row, and unlike `sql()` it stays in the
/// statement cache. A scalar subquery (`(SELECT 1 …) IS NOT NULL`) rather than `EXISTS`:
/// MariaDB turns an `EXISTS` into an `IN` and materializes it, reading all of a reader's
/// follows for every page, where this is one key lookup per post read. Only valid in a query
/// that reads `social_posts`.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    parts: &'static [&'static str],
    id: i64,
}

impl Probe {
    /// The reader follows the post's author.
    pub fn follows_author(reader: i64) -> Self {
        Self {
            parts: &[
                "(SELECT 1 FROM social_follows WHERE follower_id = ",
                " AND followee_id = social_posts.author_id) IS NOT NULL",
            ],
            id: reader,
        }
    }

    /// The reader and the post's author are friends.
    pub fn friend_of_author(reader: i64) -> Self {
        Self {
            parts: &[
                "(SELECT 1 FROM social_friendships WHERE user_id = ",
                " AND friend_id = social_posts.author_id) IS NOT NULL",
            ],
            id: reader,
        }
    }

    /// The reader is an active member of the post's group.
    pub fn member_of_group(reader: i64) -> Self {
        Self {
            parts: &[
                "(SELECT 1 FROM social_group_members \
                 WHERE group_id = social_posts.group_id AND user_id = ",
                " AND status = 'active') IS NOT NULL",
            ],
            id: reader,
        }
    }

    /// The reader likes the post (a column of a page, so the page needs no second query).
    pub fn liked_by(reader: i64) -> Self {
        Self {
            parts: &[
                "(SELECT 1 FROM social_likes WHERE post_id = social_posts.id AND user_id = ",
                ") IS NOT NULL",
            ],
            id: reader,
        }
    }

    /// Neither the reader nor the post's author blocked the other: two key lookups, one per
    /// direction (an `OR` of both would scan the blocks on MariaDB).
    pub fn no_block_with_author(reader: i64) -> Self {
        Self {
            parts: &[
                "(SELECT 1 FROM social_blocks WHERE blocker_id = ",
                " AND blocked_id = social_posts.author_id) IS NULL \
                 AND (SELECT 1 FROM social_blocks \
                 WHERE blocker_id = social_posts.author_id AND blocked_id = ",
                ") IS NULL",
            ],
            id: reader,
        }
    }
}

impl Expression for Probe {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for Probe {}

impl<QS> SelectableExpression<QS> for Probe {}

impl<GB> ValidGrouping<GB> for Probe {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for Probe {
    type QueryId = ();
    // Cached by its SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for Probe
where
    DB: Backend + HasSqlType<BigInt>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.push_bind_param::<BigInt, i64>(&self.id)?;
            }
            out.push_sql(part);
        }
        Ok(())
    }
}
