//! The forum's rules, callable without HTTP. Every function takes `&mut DbConn`; those that
//! write expect to run inside one transaction (`Db::transaction`).
//!
//! - Reads run a fixed number of queries whatever the page size: count, the page with its tag
//!   links ([`model::TagIds`]), then one batch each for authors and tags (none for tags when
//!   the page has none; a detail adds the view count and the replies). The unfiltered list's count is the kept total ([`model::post_total`]), not a
//!   `COUNT(*)`, which InnoDB answers by reading every post.
//! - `reply_count` and `view_count` change in SQL (`col = col + 1`); `tags.usage_count`
//!   through `plaza_core`'s `add_usage`, in the same transaction.
//! - A reply tells the post's author (a `forum_reply` notice job, in the reply's transaction),
//!   unless they wrote it.
//! - The author or a moderator may edit or delete a post or reply; a moderator acting on
//!   someone else's content is recorded in the system log.
//! - Deleting a post deletes its replies and tag links (hard delete, cascade). Deleting a
//!   reply that others answered leaves a tombstone (`is_deleted`, no content, no author) so the
//!   thread stays readable; a reply nobody answered is removed, and so is a tombstone whose
//!   last answer goes.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use plaza_core::tags::service as tags;
use plaza_core::tags::TagSummary;
use plaza_kernel::db::{self, DbConn, MultiBackend};
use plaza_kernel::notices::{self, Notice};
use plaza_kernel::pagination::{parse_ordering, OrderBy};
use plaza_kernel::schema::{post_tags, posts, replies};
use plaza_kernel::syslog::{self, Event, Level};
use plaza_kernel::time::{now, utc};
use plaza_kernel::{ApiError, ApiResult, Body, Caller, Page, PageRequest, UserId};
use plaza_users::Author;

use crate::model::{self, NewPostRow, NewReplyRow, Post, Reply};
use crate::search::Search;
use crate::types::{
    PostDetail, PostOut, PostPatch, PostWrite, ReplyOut, ReplyPatch, ReplyWrite, TAGS_MAX,
};

/// Fields `?ordering=` accepts on the post list (each has an index).
pub const POST_ORDERING: &[&str] = &["created_at", "updated_at", "reply_count", "view_count"];
/// Fields `?ordering=` accepts on a post's replies.
pub const REPLY_ORDERING: &[&str] = &["created_at"];
/// Most replies a post's detail includes; `{id}/replies/` pages through all of them.
pub const DETAIL_REPLIES_MAX: i64 = 500;

/// Filters of the post list.
#[derive(Clone, Debug, Default)]
pub struct PostFilter {
    /// `?search=`.
    pub search: Option<String>,
    /// `?author=` (user id).
    pub author: Option<i64>,
    /// `?tag=` (slug or name).
    pub tag: Option<String>,
    /// `?ordering=`.
    pub ordering: Option<String>,
}

fn post_not_found() -> ApiError {
    ApiError::not_found("Post not found.")
}

fn reply_not_found() -> ApiError {
    ApiError::not_found("Reply not found.")
}

/// 403 unless the caller wrote it or moderates.
pub fn ensure_can_edit(caller: &Caller, author_id: i64, what: &str) -> ApiResult<()> {
    if caller.can_moderate(author_id) {
        Ok(())
    } else {
        Err(ApiError::permission_denied(format!(
            "Only the author or a moderator may change this {what}."
        )))
    }
}

/// Records a moderator acting on someone else's content.
fn log_moderation(
    conn: &mut DbConn,
    caller: &Caller,
    author_id: i64,
    event: &'static str,
    what: &str,
    data: serde_json::Value,
) -> QueryResult<()> {
    if caller.is(author_id) {
        return Ok(());
    }
    syslog::record(
        conn,
        &Event::new(
            Level::Info,
            "posts",
            event,
            format!("{} {what}", caller.username),
        )
        .user(caller.id)
        .data(data),
    )
}

/// A page of posts.
pub fn list_posts(
    conn: &mut DbConn,
    filter: &PostFilter,
    page: PageRequest,
) -> ApiResult<Page<PostOut>> {
    let ordering = parse_ordering(filter.ordering.as_deref(), POST_ORDERING)?;
    let tag_id = match filter
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(tag) => match tags::find_id(conn, tag)? {
            Some(id) => Some(id),
            // An unknown tag labels nothing.
            None => return page.empty(),
        },
        None => None,
    };
    let search = Search::parse(filter.search.as_deref());
    let backend = conn.backend();
    let author = filter.author;
    let filtered = || {
        let mut query = posts::table.into_boxed::<MultiBackend>();
        if let Some(author) = author {
            query = query.filter(posts::author_id.eq(author));
        }
        if let Some(tag_id) = tag_id {
            query = query.filter(
                posts::id.eq_any(
                    post_tags::table
                        .filter(post_tags::tag_id.eq(tag_id))
                        .select(post_tags::post_id),
                ),
            );
        }
        if let Some(search) = &search {
            query = search.apply(query, backend);
        }
        query
    };

    // Unfiltered, the kept total; filtered, `COUNT(*)` over the filter's index.
    let count: i64 = if author.is_none() && tag_id.is_none() && search.is_none() {
        model::post_total(conn)?
    } else {
        filtered().count().get_result(conn)?
    };
    page.paginate(count, |window| {
        let rows: Vec<(Post, Option<String>)> = order_posts(filtered(), &ordering)
            .select((Post::as_select(), model::TagIds))
            .limit(window.limit)
            .offset(window.offset)
            .load(conn)?;
        present_posts(conn, rows)
    })
}

/// Applies `?ordering=` (default newest first), then the id, so pages are stable.
fn order_posts<'a>(
    mut query: posts::BoxedQuery<'a, MultiBackend>,
    ordering: &[OrderBy],
) -> posts::BoxedQuery<'a, MultiBackend> {
    let default = [OrderBy {
        field: "created_at",
        descending: true,
    }];
    let ordering = if ordering.is_empty() {
        &default[..]
    } else {
        ordering
    };
    for order in ordering {
        query = match (order.field, order.descending) {
            ("updated_at", false) => query.then_order_by(posts::updated_at.asc()),
            ("updated_at", true) => query.then_order_by(posts::updated_at.desc()),
            ("reply_count", false) => query.then_order_by(posts::reply_count.asc()),
            ("reply_count", true) => query.then_order_by(posts::reply_count.desc()),
            ("view_count", false) => query.then_order_by(posts::view_count.asc()),
            ("view_count", true) => query.then_order_by(posts::view_count.desc()),
            (_, false) => query.then_order_by(posts::created_at.asc()),
            (_, true) => query.then_order_by(posts::created_at.desc()),
        };
    }
    if ordering[0].descending {
        query.then_order_by(posts::id.desc())
    } else {
        query.then_order_by(posts::id.asc())
    }
}

/// Posts (read with their tag ids, [`model::TagIds`]) with their authors and tags: one query
/// for authors, one for tags (none when no post has any).
fn present_posts(conn: &mut DbConn, rows: Vec<(Post, Option<String>)>) -> ApiResult<Vec<PostOut>> {
    let (rows, links): (Vec<Post>, HashMap<i64, Vec<i64>>) = rows
        .into_iter()
        .map(|(post, tags)| {
            let links = (post.id, model::tag_ids(tags.as_deref()));
            (post, links)
        })
        .unzip();
    let authors = load_authors(conn, &rows, &[])?;
    let tags_by_post = load_post_tags(conn, links)?;
    Ok(finish_posts(rows, &authors, &tags_by_post))
}

/// The authors of `rows` and of `extra` (reply authors), in one query.
fn load_authors(
    conn: &mut DbConn,
    rows: &[Post],
    extra: &[i64],
) -> QueryResult<HashMap<i64, Author>> {
    let mut ids: Vec<i64> = rows.iter().map(|p| p.author_id).collect();
    ids.extend_from_slice(extra);
    plaza_users::authors_by_id(conn, &ids)
}

/// Tags of each post, from the tag ids of each: one query.
fn load_post_tags(
    conn: &mut DbConn,
    links: HashMap<i64, Vec<i64>>,
) -> ApiResult<HashMap<i64, Vec<TagSummary>>> {
    let all: Vec<i64> = links.values().flatten().copied().collect();
    let summaries = tags::summaries(conn, &all)?;
    Ok(links
        .into_iter()
        .map(|(post_id, ids)| {
            let mut list: Vec<TagSummary> = ids
                .iter()
                .filter_map(|id| summaries.get(id).cloned())
                .collect();
            list.sort_by_key(|t| t.name.to_lowercase());
            (post_id, list)
        })
        .collect())
}

fn author_card(authors: &HashMap<i64, Author>, id: i64) -> Author {
    authors.get(&id).cloned().unwrap_or(Author {
        id,
        username: String::new(),
        avatar: None,
    })
}

fn finish_posts(
    rows: Vec<Post>,
    authors: &HashMap<i64, Author>,
    tags_by_post: &HashMap<i64, Vec<TagSummary>>,
) -> Vec<PostOut> {
    rows.into_iter()
        .map(|post| PostOut {
            author: author_card(authors, post.author_id),
            tags: tags_by_post.get(&post.id).cloned().unwrap_or_default(),
            id: post.id,
            title: post.title,
            content: post.content,
            reply_count: post.reply_count,
            view_count: post.view_count,
            created_at: utc(post.created_at),
            updated_at: utc(post.updated_at),
        })
        .collect()
}

fn present_reply(reply: Reply, authors: &HashMap<i64, Author>) -> ReplyOut {
    let deleted = reply.is_deleted;
    ReplyOut {
        id: reply.id,
        post_id: reply.post_id,
        parent_id: reply.parent_id,
        author: (!deleted).then(|| author_card(authors, reply.author_id)),
        content: if deleted {
            String::new()
        } else {
            reply.content
        },
        is_deleted: deleted,
        created_at: utc(reply.created_at),
        updated_at: utc(reply.updated_at),
    }
}

/// A post with its replies (oldest first, at most [`DETAIL_REPLIES_MAX`]). With
/// `count_view`, the view is counted first, in SQL, and shown.
pub fn get_post(conn: &mut DbConn, id: i64, count_view: bool) -> ApiResult<PostDetail> {
    if count_view && !model::add_view(conn, id)? {
        return Err(post_not_found());
    }
    let (post, tag_ids) = model::find_post_with_tags(conn, id)?.ok_or_else(post_not_found)?;
    let thread: Vec<Reply> = replies::table
        .filter(replies::post_id.eq(id))
        .order((replies::created_at.asc(), replies::id.asc()))
        .select(Reply::as_select())
        .limit(DETAIL_REPLIES_MAX)
        .load(conn)?;
    let reply_authors: Vec<i64> = thread.iter().map(|r| r.author_id).collect();
    let authors = load_authors(conn, std::slice::from_ref(&post), &reply_authors)?;
    let tags_by_post = load_post_tags(conn, HashMap::from([(id, tag_ids)]))?;
    let replies = thread
        .into_iter()
        .map(|r| present_reply(r, &authors))
        .collect();
    let post = finish_posts(vec![post], &authors, &tags_by_post)
        .pop()
        .ok_or_else(post_not_found)?;
    Ok(PostDetail { post, replies })
}

/// Creates the tags `names` that do not exist yet, each committed on its own. Call it
/// outside the transaction that creates or edits the post (see `resolve_names` in
/// plaza-core); invalid names are refused here already.
pub fn prepare_tags(conn: &mut DbConn, names: Option<&[String]>) -> ApiResult<()> {
    let Some(names) = names else {
        return Ok(());
    };
    let names = tags::clean_names(names, "tags", TAGS_MAX)?;
    tags::resolve_names(conn, &names).map(drop)
}

/// Creates a post with its tags (creating tags that do not exist yet). Without tags its only
/// write is the `INSERT`, after every read, so it may run outside a transaction
/// ([`Db::write`](plaza_kernel::Db::write)); with tags, run it in one.
pub fn create_post(conn: &mut DbConn, caller: &Caller, input: &PostWrite) -> ApiResult<PostDetail> {
    let tag_names = tags::clean_names(input.tags.as_deref().unwrap_or_default(), "tags", TAGS_MAX)?;
    // The author's card is read first: a failure here leaves nothing written.
    let authors = plaza_users::authors_by_id(conn, &[caller.id])?;
    let post = NewPost::new(caller, input);
    let row = post.row();
    let id = model::insert_post(conn, &row)?;
    let mut tags = tags::resolve_names(conn, &tag_names)?;
    let tag_ids: Vec<i64> = tags.iter().map(|t| t.id).collect();
    // Counts first: it locks the tag rows before the links' foreign-key checks read them.
    tags::add_usage(conn, &tag_ids, 1)?;
    model::attach_tags(conn, id, &tag_ids)?;
    tags.sort_by_key(|t| t.name.to_lowercase());
    created_post(id, &row, &authors, tags)
}

/// The answer to a create, built from what was just written rather than read back: a new
/// post has no replies and no views.
fn created_post(
    id: i64,
    row: &NewPostRow<'_>,
    authors: &HashMap<i64, Author>,
    tags: Vec<TagSummary>,
) -> ApiResult<PostDetail> {
    let post = Post {
        id,
        author_id: row.author_id,
        title: row.title.to_owned(),
        content: row.content.to_owned(),
        reply_count: row.reply_count,
        view_count: row.view_count,
        created_at: row.created_at,
        updated_at: row.updated_at,
    };
    let post = finish_posts(vec![post], authors, &HashMap::from([(id, tags)]))
        .pop()
        .ok_or_else(post_not_found)?;
    Ok(PostDetail {
        post,
        replies: Vec::new(),
    })
}

/// A post without tags, validated, waiting to be written with others ([`create_posts`]).
#[derive(Clone, Debug)]
pub struct NewPost {
    /// Author.
    pub author_id: i64,
    /// Title, trimmed.
    pub title: String,
    /// Body.
    pub content: String,
    /// When it was asked for.
    pub created_at: chrono::NaiveDateTime,
}

impl NewPost {
    /// The post `caller` asked for with `input` (its tags are not looked at), stamped now.
    pub fn new(caller: &Caller, input: &PostWrite) -> Self {
        Self {
            author_id: caller.id,
            title: input.title.trim().to_owned(),
            content: input.content.clone(),
            created_at: now(),
        }
    }

    fn row(&self) -> NewPostRow<'_> {
        NewPostRow {
            author_id: self.author_id,
            title: &self.title,
            content: &self.content,
            reply_count: 0,
            view_count: 0,
            created_at: self.created_at,
            updated_at: self.created_at,
        }
    }
}

/// Creates several posts without tags together, outside a transaction, and answers each on
/// its own, in order: one authors lookup for them all, then, where one statement's rows get
/// consecutive ids (`consecutive_ids`, from
/// [`multi_row_ids_are_consecutive`](plaza_kernel::db::multi_row_ids_are_consecutive)), one
/// `INSERT` of every row and one `LAST_INSERT_ID()`. That statement is atomic: when it fails
/// (a row breaks a constraint, such as an author deleted meanwhile), each row is tried again
/// alone, so only the rows at fault fail. Without consecutive ids, each row is inserted alone.
pub fn create_posts(
    conn: &mut DbConn,
    posts: &[NewPost],
    consecutive_ids: bool,
) -> Vec<ApiResult<PostDetail>> {
    let author_ids: Vec<i64> = posts.iter().map(|p| p.author_id).collect();
    // Read first, as for one create: a failure here leaves nothing written.
    let authors = match plaza_users::authors_by_id(conn, &author_ids) {
        Ok(authors) => authors,
        Err(err) => {
            let err = ApiError::from(err);
            return posts.iter().map(|_| Err(err.clone())).collect();
        }
    };
    let rows: Vec<NewPostRow<'_>> = posts.iter().map(NewPost::row).collect();
    if consecutive_ids && rows.len() > 1 {
        match model::insert_posts(conn, &rows) {
            Ok(ids) => {
                return ids
                    .into_iter()
                    .zip(&rows)
                    .map(|(id, row)| created_post(id, row, &authors, Vec::new()))
                    .collect();
            }
            Err(err) => {
                tracing::debug!(error = %err, rows = rows.len(), "a batch of posts failed; inserting them one by one");
            }
        }
    }
    rows.iter()
        .map(|row| {
            let id = model::insert_post(conn, row)?;
            created_post(id, row, &authors, Vec::new())
        })
        .collect()
}

/// Changes the fields given; `tags`, when given, replaces the post's tags.
pub fn update_post(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    patch: PostPatch,
) -> ApiResult<PostDetail> {
    let post = model::lock_post(conn, id)?.ok_or_else(post_not_found)?;
    ensure_can_edit(caller, post.author_id, "post")?;
    let new_tags = patch
        .tags
        .as_deref()
        .map(|names| tags::clean_names(names, "tags", TAGS_MAX))
        .transpose()?;

    diesel::update(posts::table.find(id))
        .set((
            patch
                .title
                .as_deref()
                .map(|t| posts::title.eq(t.trim().to_owned())),
            patch.content.map(|c| posts::content.eq(c)),
            posts::updated_at.eq(now()),
        ))
        .execute(conn)?;

    if let Some(names) = new_tags {
        let current: HashSet<i64> = model::tag_ids_by_post(conn, &[id])?
            .remove(&id)
            .unwrap_or_default()
            .into_iter()
            .collect();
        let wanted: Vec<i64> = tags::resolve_names(conn, &names)?
            .iter()
            .map(|t| t.id)
            .collect();
        let wanted_set: HashSet<i64> = wanted.iter().copied().collect();
        let added: Vec<i64> = wanted
            .iter()
            .copied()
            .filter(|t| !current.contains(t))
            .collect();
        let mut removed: Vec<i64> = current.difference(&wanted_set).copied().collect();
        removed.sort_unstable();
        tags::change_usage(conn, &added, &removed)?;
        model::detach_tags(conn, id, &removed)?;
        model::attach_tags(conn, id, &added)?;
    }
    log_moderation(
        conn,
        caller,
        post.author_id,
        "post_edited_by_moderator",
        &format!("edited post {id} of user {}", post.author_id),
        serde_json::json!({"post_id": id, "author_id": post.author_id}),
    )?;
    get_post(conn, id, false)
}

/// Deletes a post with its replies and tag links, and takes it off its tags' counts.
pub fn delete_post(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    let post = model::lock_post(conn, id)?.ok_or_else(post_not_found)?;
    ensure_can_edit(caller, post.author_id, "post")?;
    let tag_ids = model::tag_ids_by_post(conn, &[id])?
        .remove(&id)
        .unwrap_or_default();
    diesel::delete(posts::table.find(id)).execute(conn)?;
    tags::add_usage(conn, &tag_ids, -1)?;
    log_moderation(
        conn,
        caller,
        post.author_id,
        "post_deleted_by_moderator",
        &format!(
            "deleted post {id} (\"{}\") of user {}",
            post.title, post.author_id
        ),
        serde_json::json!({"post_id": id, "author_id": post.author_id, "title": post.title}),
    )?;
    Ok(())
}

/// A page of a post's replies (oldest first unless `-created_at`).
pub fn list_replies(
    conn: &mut DbConn,
    post_id: i64,
    ordering: Option<&str>,
    page: PageRequest,
) -> ApiResult<Page<ReplyOut>> {
    let ordering = parse_ordering(ordering, REPLY_ORDERING)?;
    let newest_first = ordering.first().is_some_and(|o| o.descending);
    model::find_post(conn, post_id)?.ok_or_else(post_not_found)?;
    let count: i64 = replies::table
        .filter(replies::post_id.eq(post_id))
        .count()
        .get_result(conn)?;
    page.paginate(count, |window| {
        let query = replies::table
            .filter(replies::post_id.eq(post_id))
            .into_boxed::<MultiBackend>();
        let query = if newest_first {
            query.order((replies::created_at.desc(), replies::id.desc()))
        } else {
            query.order((replies::created_at.asc(), replies::id.asc()))
        };
        let rows: Vec<Reply> = query
            .select(Reply::as_select())
            .limit(window.limit)
            .offset(window.offset)
            .load(conn)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.author_id).collect();
        let authors = plaza_users::authors_by_id(conn, &ids)?;
        Ok(rows
            .into_iter()
            .map(|r| present_reply(r, &authors))
            .collect())
    })
}

/// What creating a reply produced, with who should hear of it.
#[derive(Debug)]
pub struct CreatedReply {
    /// The reply.
    pub reply: ReplyOut,
    /// The post's author.
    pub post_author_id: i64,
    /// The author of the reply it answers, if any.
    pub parent_author_id: Option<i64>,
}

/// Answers a post, or one of its top-level replies.
pub fn create_reply(
    conn: &mut DbConn,
    caller: &Caller,
    post_id: i64,
    input: &ReplyWrite,
) -> ApiResult<CreatedReply> {
    let reply = NewReply::new(caller, post_id, input);
    // First: counts the reply and locks the post, so concurrent replies queue on the post.
    if !model::add_reply_count(conn, post_id, 1)? {
        return Err(post_not_found());
    }
    let parent_author_id = match reply.parent_id {
        Some(parent_id) => Some(check_parent(conn, post_id, parent_id)?.author_id),
        None => None,
    };
    let id = model::insert_reply(conn, &reply.row())?;
    let (post_author_id, post_title): (i64, String) = posts::table
        .find(post_id)
        .select((posts::author_id, posts::title))
        .first(conn)?;
    if let Some(notice) = reply_notice(&reply, id, post_author_id, &post_title) {
        notices::send(conn, &notice)?;
    }
    let reply = load_reply_out(conn, id)?;
    Ok(CreatedReply {
        reply,
        post_author_id,
        parent_author_id,
    })
}

/// The notice telling a post's author of reply `id` (through whichever domain delivers
/// notices, committed with it); none for their own replies.
fn reply_notice(
    reply: &NewReply,
    id: i64,
    post_author_id: i64,
    post_title: &str,
) -> Option<Notice> {
    (post_author_id != reply.author_id).then(|| {
        Notice::new(UserId(post_author_id), "forum_reply")
            .actor(UserId(reply.author_id))
            .data(serde_json::json!({
                "post_id": reply.post_id,
                "post_title": post_title,
                "reply_id": id,
            }))
    })
}

/// A reply, validated, waiting to be written ([`create_reply`], or with others:
/// [`create_replies`], for top-level ones).
#[derive(Clone, Debug)]
pub struct NewReply {
    /// The post it answers.
    pub post_id: i64,
    /// Author.
    pub author_id: i64,
    /// The top-level reply it answers, if any.
    pub parent_id: Option<i64>,
    /// Body.
    pub content: String,
    /// When it was asked for.
    pub created_at: chrono::NaiveDateTime,
}

impl NewReply {
    /// The reply `caller` asked for to `post_id` with `input`, stamped now.
    pub fn new(caller: &Caller, post_id: i64, input: &ReplyWrite) -> Self {
        Self {
            post_id,
            author_id: caller.id,
            parent_id: input.parent_id,
            content: input.content.clone(),
            created_at: now(),
        }
    }

    fn row(&self) -> NewReplyRow<'_> {
        NewReplyRow {
            post_id: self.post_id,
            author_id: self.author_id,
            parent_id: self.parent_id,
            content: &self.content,
            is_deleted: false,
            created_at: self.created_at,
            updated_at: self.created_at,
        }
    }

    /// The reply as written with `id`, as its answer shows it.
    fn written(&self, id: i64) -> Reply {
        Reply {
            id,
            post_id: self.post_id,
            author_id: self.author_id,
            parent_id: self.parent_id,
            content: self.content.clone(),
            is_deleted: false,
            created_at: self.created_at,
            updated_at: self.created_at,
            deleted_at: None,
        }
    }
}

/// Creates several top-level replies together (`parent_id` is not checked here: replies to a
/// reply go through [`create_reply`]) and answers each on its own, in order. One transaction
/// for the batch (`write_replies`); a reply to a post that does not exist gets its 404 and
/// is not written. When the transaction fails (a row breaks a constraint, such as an author
/// deleted meanwhile), each reply is tried again in a transaction of its own, so only the
/// rows at fault fail.
pub fn create_replies(
    conn: &mut DbConn,
    replies: &[NewReply],
    consecutive_ids: bool,
) -> Vec<ApiResult<CreatedReply>> {
    match db::transaction(conn, |conn| write_replies(conn, replies, consecutive_ids)) {
        Ok(results) => results,
        Err(err) => {
            tracing::debug!(error = %err, rows = replies.len(), "a batch of replies failed; writing them one by one");
            replies
                .iter()
                .map(|reply| {
                    db::transaction(conn, |conn| {
                        write_replies(conn, std::slice::from_ref(reply), false)
                    })?
                    .pop()
                    .unwrap_or_else(|| Err(post_not_found()))
                })
                .collect()
        }
    }
}

/// The statements of [`create_replies`], inside its transaction: the reply counts of every
/// post answered (first, locking them as [`create_reply`] locks one), the posts that exist
/// with their authors and titles, the reply authors' cards, the replies to existing posts
/// (one multi-row `INSERT` where ids are consecutive, else one each), then their notices.
fn write_replies(
    conn: &mut DbConn,
    replies: &[NewReply],
    consecutive_ids: bool,
) -> ApiResult<Vec<ApiResult<CreatedReply>>> {
    let mut deltas: Vec<(i64, i64)> = Vec::new();
    for reply in replies {
        match deltas
            .iter_mut()
            .find(|(post_id, _)| *post_id == reply.post_id)
        {
            Some((_, n)) => *n += 1,
            None => deltas.push((reply.post_id, 1)),
        }
    }
    deltas.sort_unstable();
    model::add_reply_counts(conn, &deltas)?;
    let post_ids: Vec<i64> = deltas.iter().map(|(post_id, _)| *post_id).collect();
    let posts: HashMap<i64, (i64, String)> = posts::table
        .filter(db::ids_in(posts::id, &post_ids))
        .select((posts::id, posts::author_id, posts::title))
        .load::<(i64, i64, String)>(conn)?
        .into_iter()
        .map(|(id, author_id, title)| (id, (author_id, title)))
        .collect();
    let author_ids: Vec<i64> = replies.iter().map(|r| r.author_id).collect();
    let authors = plaza_users::authors_by_id(conn, &author_ids)?;
    // Replies to posts that do not exist are not written: they answer 404.
    let live: Vec<usize> = (0..replies.len())
        .filter(|&i| posts.contains_key(&replies[i].post_id))
        .collect();
    let rows: Vec<NewReplyRow<'_>> = live.iter().map(|&i| replies[i].row()).collect();
    let inserted = if consecutive_ids && rows.len() > 1 {
        model::insert_replies(conn, &rows)?
    } else {
        rows.iter()
            .map(|row| model::insert_reply(conn, row))
            .collect::<QueryResult<Vec<i64>>>()?
    };
    let mut ids: Vec<Option<i64>> = vec![None; replies.len()];
    let mut notices = Vec::new();
    for (&i, id) in live.iter().zip(inserted) {
        let (post_author_id, title) = &posts[&replies[i].post_id];
        notices.extend(reply_notice(&replies[i], id, *post_author_id, title));
        ids[i] = Some(id);
    }
    notices::send_all(conn, &notices)?;
    Ok(replies
        .iter()
        .zip(ids)
        .map(|(reply, id)| {
            let id = id.ok_or_else(post_not_found)?;
            Ok(CreatedReply {
                reply: present_reply(reply.written(id), &authors),
                post_author_id: posts[&reply.post_id].0,
                parent_author_id: None,
            })
        })
        .collect())
}

/// The reply `parent_id` may be answered in `post_id`: it exists there, is top-level and live.
fn check_parent(conn: &mut DbConn, post_id: i64, parent_id: i64) -> ApiResult<Reply> {
    let invalid = |msg: &str| ApiError::invalid_field("parent_id", msg.to_owned());
    let parent = model::find_reply(conn, parent_id)?
        .filter(|p| p.post_id == post_id)
        .ok_or_else(|| invalid("No reply with this id in this post."))?;
    if parent.parent_id.is_some() {
        return Err(invalid(
            "Replies nest one level: answer the top-level reply instead.",
        ));
    }
    if parent.is_deleted {
        return Err(invalid("This reply has been deleted."));
    }
    Ok(parent)
}

fn load_reply_out(conn: &mut DbConn, id: i64) -> ApiResult<ReplyOut> {
    let reply = model::find_reply(conn, id)?.ok_or_else(reply_not_found)?;
    let authors = plaza_users::authors_by_id(conn, &[reply.author_id])?;
    Ok(present_reply(reply, &authors))
}

/// A live reply (a tombstone is gone for editing purposes).
fn live_reply(conn: &mut DbConn, id: i64) -> ApiResult<Reply> {
    model::find_reply(conn, id)?
        .filter(|r| !r.is_deleted)
        .ok_or_else(reply_not_found)
}

/// Changes a reply's text: 404, then 403, then the body's 400.
pub fn update_reply(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    patch: Body<ReplyPatch>,
) -> ApiResult<ReplyOut> {
    let reply = live_reply(conn, id)?;
    ensure_can_edit(caller, reply.author_id, "reply")?;
    let patch = patch.parse()?;
    diesel::update(replies::table.find(id))
        .set((
            patch.content.map(|c| replies::content.eq(c)),
            replies::updated_at.eq(now()),
        ))
        .execute(conn)?;
    log_moderation(
        conn,
        caller,
        reply.author_id,
        "reply_edited_by_moderator",
        &format!("edited reply {id} of user {}", reply.author_id),
        serde_json::json!({"reply_id": id, "post_id": reply.post_id, "author_id": reply.author_id}),
    )?;
    load_reply_out(conn, id)
}

/// Deletes a reply: a tombstone when others answered it, gone otherwise (and its parent with
/// it when that was a tombstone waiting for its last answer to go). Answers the post's id.
pub fn delete_reply(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<i64> {
    let reply = live_reply(conn, id)?;
    ensure_can_edit(caller, reply.author_id, "reply")?;
    // The post first, as when replying: one lock order for every reply write.
    model::add_reply_count(conn, reply.post_id, -1)?;
    if model::count_children(conn, id)? > 0 {
        let at = now();
        diesel::update(replies::table.find(id))
            .set((
                replies::is_deleted.eq(true),
                replies::content.eq(""),
                replies::deleted_at.eq(Some(at)),
                replies::updated_at.eq(at),
            ))
            .execute(conn)?;
    } else {
        diesel::delete(replies::table.find(id)).execute(conn)?;
        if let Some(parent_id) = reply.parent_id {
            let parent_is_tombstone =
                model::find_reply(conn, parent_id)?.is_some_and(|p| p.is_deleted);
            if parent_is_tombstone && model::count_children(conn, parent_id)? == 0 {
                diesel::delete(replies::table.find(parent_id)).execute(conn)?;
            }
        }
    }
    log_moderation(
        conn,
        caller,
        reply.author_id,
        "reply_deleted_by_moderator",
        &format!("deleted reply {id} of user {}", reply.author_id),
        serde_json::json!({"reply_id": id, "post_id": reply.post_id, "author_id": reply.author_id}),
    )?;
    Ok(reply.post_id)
}

/// The forum's writes as a request makes them: each picks its own transaction (or none), so
/// handlers only extract, call one of these, and answer.
pub mod requests {
    use plaza_kernel::{ApiResult, Body, Caller, Db};

    use super::{CreatedReply, NewPost, NewReply};
    use crate::batch::{PostBatcher, ReplyBatcher};
    use crate::types::{PostDetail, PostPatch, PostWrite, ReplyOut, ReplyPatch, ReplyWrite};

    /// Creates a post. Tags that do not exist yet are created first, each committed on its
    /// own; a post with tags is then one transaction with them. A post without tags goes to
    /// `batcher` when there is one, written with the creates waiting beside it
    /// ([`crate::batch`]); otherwise it is one `INSERT` after its reads (no transaction to
    /// open and commit).
    pub async fn publish_post(
        db: &Db,
        batcher: Option<&PostBatcher>,
        caller: Caller,
        input: PostWrite,
    ) -> ApiResult<PostDetail> {
        if input.tags.as_ref().is_some_and(|tags| !tags.is_empty()) {
            let names = input.tags.clone();
            db.run(move |conn| super::prepare_tags(conn, names.as_deref()))
                .await?;
            return db
                .transaction(move |conn| super::create_post(conn, &caller, &input))
                .await;
        }
        if let Some(batcher) = batcher {
            if let Some(answer) = batcher.create(NewPost::new(&caller, &input)).await {
                return answer;
            }
            // The batcher's worker has stopped: this one goes alone.
        }
        db.write(move |conn| super::create_post(conn, &caller, &input))
            .await
    }

    /// Changes a post (author or moderator). Only someone who may edit it creates tags
    /// through it; the change itself is one transaction.
    pub async fn edit_post(
        db: &Db,
        caller: Caller,
        id: i64,
        patch: Body<PostPatch>,
    ) -> ApiResult<PostDetail> {
        let check = caller.clone();
        // 404, then 403, then the body's 400, as DRF orders them.
        let patch = db
            .run(move |conn| {
                let post = crate::model::find_post(conn, id)?.ok_or_else(super::post_not_found)?;
                super::ensure_can_edit(&check, post.author_id, "post")?;
                let patch = patch.parse()?;
                super::prepare_tags(conn, patch.tags.as_deref())?;
                Ok(patch)
            })
            .await?;
        db.transaction(move |conn| super::update_post(conn, &caller, id, patch))
            .await
    }

    /// Deletes a post with its replies (author or moderator), in one transaction.
    pub async fn remove_post(db: &Db, caller: Caller, id: i64) -> ApiResult<()> {
        db.transaction(move |conn| super::delete_post(conn, &caller, id))
            .await
    }

    /// Answers a post or one of its top-level replies, in one transaction. A top-level reply
    /// goes to `batcher` when there is one, written in one transaction with the replies
    /// waiting beside it ([`crate::batch`]); a reply to a reply, whose parent is checked,
    /// goes alone.
    pub async fn publish_reply(
        db: &Db,
        batcher: Option<&ReplyBatcher>,
        caller: Caller,
        post_id: i64,
        input: ReplyWrite,
    ) -> ApiResult<CreatedReply> {
        if let Some(batcher) = batcher.filter(|_| input.parent_id.is_none()) {
            if let Some(answer) = batcher
                .create(NewReply::new(&caller, post_id, &input))
                .await
            {
                return answer;
            }
            // The batcher's worker has stopped: this one goes alone.
        }
        db.transaction(move |conn| super::create_reply(conn, &caller, post_id, &input))
            .await
    }

    /// Changes a reply's text (author or moderator), in one transaction.
    pub async fn edit_reply(
        db: &Db,
        caller: Caller,
        id: i64,
        patch: Body<ReplyPatch>,
    ) -> ApiResult<ReplyOut> {
        db.transaction(move |conn| super::update_reply(conn, &caller, id, patch))
            .await
    }

    /// Deletes a reply (author or moderator), in one transaction; answers the post's id.
    pub async fn remove_reply(db: &Db, caller: Caller, id: i64) -> ApiResult<i64> {
        db.transaction(move |conn| super::delete_reply(conn, &caller, id))
            .await
    }
}
