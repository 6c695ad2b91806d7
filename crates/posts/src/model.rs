//! Rows of `posts`, `replies` and `post_tags`, and the queries on them. Everything takes
//! `&mut DbConn` and returns `QueryResult`, so it runs alone or inside a transaction.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, ValidGrouping};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Nullable, Text, Timestamp};
use plaza_kernel::db::{self, DbConn};
use plaza_kernel::schema::{post_tags, post_totals, posts, replies};

/// A post row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = posts)]
pub struct Post {
    /// Id.
    pub id: i64,
    /// Author.
    pub author_id: i64,
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// Live (not deleted) replies.
    pub reply_count: i64,
    /// Detail views.
    pub view_count: i64,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last edited.
    pub updated_at: NaiveDateTime,
}

/// A reply row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = replies)]
pub struct Reply {
    /// Id.
    pub id: i64,
    /// The post it answers.
    pub post_id: i64,
    /// Author.
    pub author_id: i64,
    /// The top-level reply it answers, if any.
    pub parent_id: Option<i64>,
    /// Body (empty once deleted).
    pub content: String,
    /// A tombstone kept because others answered it.
    pub is_deleted: bool,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last edited.
    pub updated_at: NaiveDateTime,
    /// When it was deleted.
    pub deleted_at: Option<NaiveDateTime>,
}

/// One post, 404-able.
pub fn find_post(conn: &mut DbConn, id: i64) -> QueryResult<Option<Post>> {
    posts::table
        .find(id)
        .select(Post::as_select())
        .first(conn)
        .optional()
}

/// The ids of a post's tags as text (`"3,7"`, or NULL without tags): a correlated subquery
/// selected beside the columns of a `posts` query, so a page of posts or a post comes with
/// its tag links in the same statement. Read it with [`tag_ids`].
#[derive(Debug, Clone, Copy, Default, QueryId)]
pub struct TagIds;

impl Expression for TagIds {
    type SqlType = Nullable<Text>;
}

impl AppearsOnTable<posts::table> for TagIds {}

impl SelectableExpression<posts::table> for TagIds {}

impl ValidGrouping<()> for TagIds {
    type IsAggregate = is_aggregate::Never;
}

impl<DB: Backend> QueryFragment<DB> for TagIds {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // CAST: text on both backends (MySQL's GROUP_CONCAT of numbers may be binary).
        out.push_sql(
            "(SELECT GROUP_CONCAT(CAST(post_tags.tag_id AS CHAR)) FROM post_tags \
             WHERE post_tags.post_id = posts.id)",
        );
        Ok(())
    }
}

/// The ids in what [`TagIds`] selected, smallest first.
pub fn tag_ids(text: Option<&str>) -> Vec<i64> {
    let mut ids: Vec<i64> = text
        .unwrap_or_default()
        .split(',')
        .filter_map(|id| id.trim().parse().ok())
        .collect();
    ids.sort_unstable();
    ids
}

/// One post with the ids of its tags (see [`TagIds`]).
pub fn find_post_with_tags(conn: &mut DbConn, id: i64) -> QueryResult<Option<(Post, Vec<i64>)>> {
    let row: Option<(Post, Option<String>)> = posts::table
        .find(id)
        .select((Post::as_select(), TagIds))
        .first(conn)
        .optional()?;
    Ok(row.map(|(post, tags)| (post, tag_ids(tags.as_deref()))))
}

/// How many posts there are: the sum of `post_totals`' slots, which triggers on `posts` change
/// in the statement that inserts or deletes a post (migration `posts_totals`). A read of 16
/// rows by primary key, where `COUNT(*)` on InnoDB reads every post.
pub fn post_total(conn: &mut DbConn) -> QueryResult<i64> {
    let slots: Vec<i64> = post_totals::table.select(post_totals::total).load(conn)?;
    Ok(slots.iter().sum())
}

/// One post, locked for the rest of the transaction so concurrent edits of the same post
/// (its tags, its deletion) queue: `FOR UPDATE` on MySQL; on SQLite the transaction already
/// holds the write lock (`BEGIN IMMEDIATE`).
pub fn lock_post(conn: &mut DbConn, id: i64) -> QueryResult<Option<Post>> {
    let by_id = posts::table.find(id);
    match conn {
        DbConn::Mysql(c) => by_id
            .select(Post::as_select())
            .for_update()
            .first(c)
            .optional(),
        DbConn::Sqlite(_) => find_post(conn, id),
    }
}

/// Fields of a new post.
#[derive(Debug, Insertable)]
#[diesel(table_name = posts)]
pub struct NewPostRow<'a> {
    /// Author.
    pub author_id: i64,
    /// Title.
    pub title: &'a str,
    /// Body.
    pub content: &'a str,
    /// Starts at 0.
    pub reply_count: i64,
    /// Starts at 0.
    pub view_count: i64,
    /// Now.
    pub created_at: NaiveDateTime,
    /// Now.
    pub updated_at: NaiveDateTime,
}

/// Inserts a post and returns its id.
pub fn insert_post(conn: &mut DbConn, row: &NewPostRow<'_>) -> QueryResult<i64> {
    InsertPosts(std::slice::from_ref(row)).execute(conn)?;
    db::last_insert_id(conn)
}

/// Inserts `rows` in one statement and returns their ids, in the order of `rows`. Only where
/// one statement's rows get consecutive ids ([`db::multi_row_ids_are_consecutive`]): the ids
/// are computed from the one the database reports, not read back. The statement is atomic:
/// when it fails, no row was written.
pub fn insert_posts(conn: &mut DbConn, rows: &[NewPostRow<'_>]) -> QueryResult<Vec<i64>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let written = InsertPosts(rows).execute(conn)?;
    if written != rows.len() {
        // Cannot happen for a plain `INSERT … VALUES`; refuse to guess ids if it did.
        return Err(diesel::result::Error::QueryBuilderError(
            format!("inserted {written} posts of {}", rows.len()).into(),
        ));
    }
    Ok(db::inserted_ids(conn, rows.len())?.collect())
}

/// `INSERT INTO posts … VALUES (…), (…)` spelled out: diesel's own insert is prepared,
/// executed and closed each time on MySQL (it is not safe to cache for every backend), this
/// one stays in the connection's statement cache, as [`db::ids_in`] explains: one statement
/// per number of rows (at most `POSTS_CREATE_BATCH` of them per connection).
struct InsertPosts<'r, 'a>(&'r [NewPostRow<'a>]);

impl QueryId for InsertPosts<'_, '_> {
    type QueryId = ();
    // The SQL depends on the number of rows: the cache keys it by its text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for InsertPosts<'_, '_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text> + HasSqlType<Timestamp>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO posts (author_id, title, content, reply_count, view_count, \
             created_at, updated_at) VALUES ",
        );
        for (i, row) in self.0.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<BigInt, _>(&row.author_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(row.title)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(row.content)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&row.reply_count)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&row.view_count)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&row.created_at)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&row.updated_at)?;
            out.push_sql(")");
        }
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for InsertPosts<'_, '_> {}

/// Adds `delta` to a post's reply count, in SQL; `false` when the post does not exist. Run
/// first in a reply's transaction: on MySQL it also locks the post row, so concurrent replies
/// to one post queue on it instead of deadlocking on the foreign-key checks.
pub fn add_reply_count(conn: &mut DbConn, post_id: i64, delta: i64) -> QueryResult<bool> {
    let updated = diesel::update(posts::table.find(post_id))
        .set(posts::reply_count.eq(posts::reply_count + delta))
        .execute(conn)?;
    Ok(updated > 0)
}

/// Adds to the reply counts of several posts in one statement, each `(post_id, delta)` once:
/// `UPDATE posts SET reply_count = reply_count + CASE id WHEN … END WHERE id IN (…)`. Run
/// first in a batch of replies' transaction: on MySQL it locks the posts' rows, in ascending
/// id order (the primary key's), as [`add_reply_count`] locks one. Posts that do not exist
/// are skipped; returns how many were counted. Kept prepared per number of posts.
pub fn add_reply_counts(conn: &mut DbConn, deltas: &[(i64, i64)]) -> QueryResult<usize> {
    if deltas.is_empty() {
        return Ok(0);
    }
    AddReplyCounts(deltas).execute(conn)
}

/// The statement of [`add_reply_counts`], spelled out so it stays in the statement cache.
struct AddReplyCounts<'r>(&'r [(i64, i64)]);

impl QueryId for AddReplyCounts<'_> {
    type QueryId = ();
    // The SQL depends on the number of posts: the cache keys it by its text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for AddReplyCounts<'_>
where
    DB: Backend + HasSqlType<BigInt>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE posts SET reply_count = reply_count + CASE id");
        for (post_id, delta) in self.0 {
            out.push_sql(" WHEN ");
            out.push_bind_param::<BigInt, _>(post_id)?;
            out.push_sql(" THEN ");
            out.push_bind_param::<BigInt, _>(delta)?;
        }
        out.push_sql(" ELSE 0 END WHERE id IN (");
        for (i, (post_id, _)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<BigInt, _>(post_id)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for AddReplyCounts<'_> {}

/// Counts one view, in SQL; `false` when the post does not exist.
pub fn add_view(conn: &mut DbConn, post_id: i64) -> QueryResult<bool> {
    let updated = diesel::update(posts::table.find(post_id))
        .set(posts::view_count.eq(posts::view_count + 1))
        .execute(conn)?;
    Ok(updated > 0)
}

/// The tag ids of each post in `post_ids`, in one query (in the order they were attached).
pub fn tag_ids_by_post(conn: &mut DbConn, post_ids: &[i64]) -> QueryResult<HashMap<i64, Vec<i64>>> {
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    if post_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i64, i64)> = post_tags::table
        .filter(db::ids_in(post_tags::post_id, post_ids))
        .select((post_tags::post_id, post_tags::tag_id))
        .order((post_tags::post_id.asc(), post_tags::tag_id.asc()))
        .load(conn)?;
    for (post_id, tag_id) in rows {
        out.entry(post_id).or_default().push(tag_id);
    }
    Ok(out)
}

/// Attaches `tag_ids` to a post (one statement per tag: a post carries few).
pub fn attach_tags(conn: &mut DbConn, post_id: i64, tag_ids: &[i64]) -> QueryResult<()> {
    for tag_id in tag_ids {
        diesel::insert_into(post_tags::table)
            .values((post_tags::post_id.eq(post_id), post_tags::tag_id.eq(tag_id)))
            .execute(conn)?;
    }
    Ok(())
}

/// Detaches `tag_ids` from a post.
pub fn detach_tags(conn: &mut DbConn, post_id: i64, tag_ids: &[i64]) -> QueryResult<usize> {
    if tag_ids.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        post_tags::table
            .filter(post_tags::post_id.eq(post_id))
            .filter(post_tags::tag_id.eq_any(tag_ids)),
    )
    .execute(conn)
}

/// One reply.
pub fn find_reply(conn: &mut DbConn, id: i64) -> QueryResult<Option<Reply>> {
    replies::table
        .find(id)
        .select(Reply::as_select())
        .first(conn)
        .optional()
}

/// Fields of a new reply.
#[derive(Debug, Insertable)]
#[diesel(table_name = replies)]
pub struct NewReplyRow<'a> {
    /// The post.
    pub post_id: i64,
    /// Author.
    pub author_id: i64,
    /// The top-level reply it answers.
    pub parent_id: Option<i64>,
    /// Body.
    pub content: &'a str,
    /// `false`.
    pub is_deleted: bool,
    /// Now.
    pub created_at: NaiveDateTime,
    /// Now.
    pub updated_at: NaiveDateTime,
}

/// Inserts a reply and returns its id.
pub fn insert_reply(conn: &mut DbConn, row: &NewReplyRow<'_>) -> QueryResult<i64> {
    InsertReplies(std::slice::from_ref(row)).execute(conn)?;
    db::last_insert_id(conn)
}

/// Inserts `rows` in one statement and returns their ids, in the order of `rows`, as
/// [`insert_posts`] does (only where one statement's rows get consecutive ids).
pub fn insert_replies(conn: &mut DbConn, rows: &[NewReplyRow<'_>]) -> QueryResult<Vec<i64>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let written = InsertReplies(rows).execute(conn)?;
    if written != rows.len() {
        // Cannot happen for a plain `INSERT … VALUES`; refuse to guess ids if it did.
        return Err(diesel::result::Error::QueryBuilderError(
            format!("inserted {written} replies of {}", rows.len()).into(),
        ));
    }
    Ok(db::inserted_ids(conn, rows.len())?.collect())
}

/// `INSERT INTO replies … VALUES (…), (…)` spelled out, kept in the statement cache per
/// number of rows, as [`InsertPosts`].
struct InsertReplies<'r, 'a>(&'r [NewReplyRow<'a>]);

impl QueryId for InsertReplies<'_, '_> {
    type QueryId = ();
    // The SQL depends on the number of rows: the cache keys it by its text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for InsertReplies<'_, '_>
where
    DB: Backend
        + HasSqlType<BigInt>
        + HasSqlType<Nullable<BigInt>>
        + HasSqlType<Text>
        + HasSqlType<Bool>
        + HasSqlType<Timestamp>,
    i64: ToSql<BigInt, DB>,
    Option<i64>: ToSql<Nullable<BigInt>, DB>,
    str: ToSql<Text, DB>,
    bool: ToSql<Bool, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO replies (post_id, author_id, parent_id, content, is_deleted, \
             created_at, updated_at) VALUES ",
        );
        for (i, row) in self.0.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<BigInt, _>(&row.post_id)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&row.author_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<BigInt>, _>(&row.parent_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(row.content)?;
            out.push_sql(", ");
            out.push_bind_param::<Bool, _>(&row.is_deleted)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&row.created_at)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&row.updated_at)?;
            out.push_sql(")");
        }
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for InsertReplies<'_, '_> {}

/// How many replies answer `reply_id`.
pub fn count_children(conn: &mut DbConn, reply_id: i64) -> QueryResult<i64> {
    replies::table
        .filter(replies::parent_id.eq(reply_id))
        .count()
        .get_result(conn)
}
