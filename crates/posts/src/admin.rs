//! Forum posts in the staff console: a searchable list, the post form (title and text, with
//! the API's validation), deletion with its replies, the "delete" bulk action, and posts per
//! day on the dashboard; and replies (search the text, hide tombstones, edit with the API's
//! rules, delete as the API does). Every change goes through [`crate::service`] and announces
//! itself to the forum's read cache, as the API's handlers do.

use actix_web::FromRequest;
use diesel::prelude::*;
use plaza_kernel::admin::{
    self, Action, Admin, AdminContext, AdminFuture, AdminModel, Chart, Column, Delete, Field,
    FieldKind, Filter, ListPage, ListRequest, Point, Record, Row, Values, YES_NO,
};
use plaza_kernel::db::{like, MultiBackend};
use plaza_kernel::schema::{post_tags, replies};
use plaza_kernel::{ApiError, Body};

use crate::cache::{Change, Changes};
use crate::model::Reply;
use crate::service::{self, requests, PostFilter};
use crate::types::{PostPatch, ReplyPatch};

/// The posts domain in the console.
pub const ADMIN: Admin = Admin {
    models: &[POSTS, REPLIES],
    charts: &[Chart {
        title: "Posts per day",
        unit: "posts",
        series: posts_per_day,
    }],
    gauges: &[],
};

/// Forum posts.
pub const POSTS: AdminModel = AdminModel {
    columns: &[
        Column::new("title", "Title"),
        Column::new("author", "Author"),
        Column::new("replies", "Replies"),
        Column::new("views", "Views"),
        Column::new("created_at", "Created"),
    ],
    search: Some("title or text"),
    orderings: &[
        ("-created_at", "Newest"),
        ("created_at", "Oldest"),
        ("-reply_count", "Most replies"),
        ("-view_count", "Most viewed"),
    ],
    fields: &[
        Field::new("title", "Title", FieldKind::Text),
        Field::new("content", "Text", FieldKind::LongText),
    ],
    actions: &[Action::new("delete", "Delete the selected posts")],
    update: Some(update),
    delete: Some(Delete {
        preview: delete_preview,
        run: delete,
    }),
    act,
    ..AdminModel::new("posts", "Posts", list, get)
};

fn list(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let filter = PostFilter {
            search: request.search.clone(),
            ordering: request.ordering.clone(),
            ..PostFilter::default()
        };
        let page = service::list_posts(conn, &filter, request.page_request())?;
        Ok(ListPage::from_page(page, |post| {
            Row::new(post.id)
                .cell("title", &post.title)
                .cell("author", &post.author.username)
                .cell("replies", post.reply_count)
                .cell("views", post.view_count)
                .cell("created_at", post.created_at.format("%Y-%m-%d %H:%M"))
        }))
    })
}

fn get(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let id = admin::numeric_id(&id)?;
        let post = service::get_post(conn, id, false)?.post;
        let tags: Vec<&str> = post.tags.iter().map(|t| t.name.as_str()).collect();
        Ok(
            Record::new(post.id, format!("Post {}: {}", post.id, post.title))
                .value("title", &post.title)
                .value("content", &post.content)
                .detail(
                    "Author",
                    format!("{} (#{})", post.author.username, post.author.id),
                )
                .detail("Tags", tags.join(", "))
                .detail("Replies", post.reply_count)
                .detail("Views", post.view_count)
                .detail("Created", post.created_at.format("%Y-%m-%d %H:%M:%S UTC"))
                .detail("Edited", post.updated_at.format("%Y-%m-%d %H:%M:%S UTC")),
        )
    })
}

fn update(ctx: AdminContext, id: String, values: Values) -> AdminFuture<()> {
    Box::pin(async move {
        let id = admin::numeric_id(&id)?;
        let patch = PostPatch {
            title: values.text("title"),
            content: values.text("content"),
            tags: None,
        };
        // The API's rules (a title of 1–200 characters, not blank), errors per field.
        plaza_kernel::extract::validate(&patch)?;
        requests::edit_post(&ctx.services.db, ctx.caller.clone(), id, Body::valid(patch)).await?;
        announce(&ctx, Change::ThreadAndLists(id)).await;
        Ok(())
    })
}

/// Invalidates what a console write changed in the forum's read cache, as the API's writes do.
async fn announce(ctx: &AdminContext, change: Change) {
    if let Ok(changes) = Changes::extract(&ctx.request).await {
        changes.announce(change).await;
    }
}

fn delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, _| {
        let id = admin::numeric_id(&id)?;
        let post = crate::model::find_post(conn, id)?
            .ok_or_else(|| ApiError::not_found("Post not found."))?;
        let reply_count: i64 = replies::table
            .filter(replies::post_id.eq(id))
            .count()
            .get_result(conn)?;
        let tag_count: i64 = post_tags::table
            .filter(post_tags::post_id.eq(id))
            .count()
            .get_result(conn)?;
        Ok(vec![
            format!("The post \"{}\"", post.title),
            format!("{reply_count} replies"),
            format!("{tag_count} tag links (the tags stay)"),
        ])
    })
}

fn delete(ctx: AdminContext, id: String) -> AdminFuture<()> {
    Box::pin(async move {
        let id = admin::numeric_id(&id)?;
        requests::remove_post(&ctx.services.db, ctx.caller.clone(), id).await?;
        announce(&ctx, Change::ThreadAndLists(id)).await;
        Ok(())
    })
}

fn act(ctx: AdminContext, action: String, ids: Vec<String>) -> AdminFuture<usize> {
    Box::pin(async move {
        if action != "delete" {
            return Err(ApiError::bad_request(format!("No action \"{action}\".")));
        }
        let mut done = 0;
        for id in &ids {
            let id = admin::numeric_id(id)?;
            requests::remove_post(&ctx.services.db, ctx.caller.clone(), id).await?;
            announce(&ctx, Change::ThreadAndLists(id)).await;
            done += 1;
        }
        Ok(done)
    })
}

fn posts_per_day(ctx: AdminContext, days: u32) -> AdminFuture<Vec<Point>> {
    // Counted per day in SQL over the `created_at` index.
    ctx.read(move |conn, _| Ok(admin::count_per_day(conn, "posts", "created_at", days)?))
}

/// Forum replies.
pub const REPLIES: AdminModel = AdminModel {
    columns: &[
        Column::new("content", "Text"),
        Column::new("author", "Author"),
        Column::new("post", "Post"),
        Column::new("is_deleted", "Tombstone"),
        Column::new("created_at", "Written"),
    ],
    search: Some("text"),
    filters: &[Filter {
        key: "is_deleted",
        label: "Tombstone",
        choices: YES_NO,
    }],
    orderings: &[("-id", "Newest")],
    fields: &[Field::new("content", "Text", FieldKind::LongText)],
    update: Some(update_reply),
    delete: Some(Delete {
        preview: reply_delete_preview,
        run: delete_reply,
    }),
    ..AdminModel::new("replies", "Replies", list_replies, get_reply)
};

fn short(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Every post's replies, newest first: a count and a page on the primary key, and the
/// authors' names in one statement.
fn list_replies(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let query = || {
            let mut query = replies::table.into_boxed::<MultiBackend>();
            if let Some(flag) = request.flag("is_deleted") {
                query = query.filter(replies::is_deleted.eq(flag));
            }
            if let Some(search) = &request.search {
                query = query.filter(
                    replies::content
                        .like(like::contains(search))
                        .escape(like::ESCAPE),
                );
            }
            query
        };
        let count: i64 = query().count().get_result(conn)?;
        let page = request.page_request().paginate(count, |w| {
            Ok(query()
                .order(replies::id.desc())
                .limit(w.limit)
                .offset(w.offset)
                .select(Reply::as_select())
                .load(conn)?)
        })?;
        let authors: Vec<i64> = page.results.iter().map(|r| r.author_id).collect();
        let cards = plaza_users::authors_by_id(conn, &authors)?;
        Ok(ListPage::from_page(page, |r| {
            let author = cards
                .get(&r.author_id)
                .map_or_else(|| format!("#{}", r.author_id), |a| a.username.clone());
            Row::new(r.id)
                .cell("content", short(&r.content, 80))
                .cell("author", author)
                .cell("post", r.post_id)
                .cell("is_deleted", if r.is_deleted { "yes" } else { "no" })
                .cell("created_at", r.created_at.format("%Y-%m-%d %H:%M"))
        }))
    })
}

fn find_reply(conn: &mut plaza_kernel::DbConn, id: &str) -> Result<Reply, ApiError> {
    crate::model::find_reply(conn, admin::numeric_id(id)?)?
        .ok_or_else(|| ApiError::not_found("Reply not found."))
}

fn get_reply(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let r = find_reply(conn, &id)?;
        let cards = plaza_users::authors_by_id(conn, &[r.author_id])?;
        let author = cards
            .get(&r.author_id)
            .map_or_else(|| format!("#{}", r.author_id), |a| a.username.clone());
        Ok(Record::new(r.id, format!("Reply {} by {author}", r.id))
            .value("content", &r.content)
            .detail("Author", format!("{author} (#{})", r.author_id))
            .detail("Post", r.post_id)
            .detail(
                "Answers",
                r.parent_id
                    .map_or_else(|| "the post".to_owned(), |p| format!("reply {p}")),
            )
            .detail("Tombstone", if r.is_deleted { "yes" } else { "no" })
            .detail("Written", r.created_at.format("%Y-%m-%d %H:%M:%S UTC"))
            .detail("Edited", r.updated_at.format("%Y-%m-%d %H:%M:%S UTC")))
    })
}

fn update_reply(ctx: AdminContext, id: String, values: Values) -> AdminFuture<()> {
    Box::pin(async move {
        let id = admin::numeric_id(&id)?;
        let patch = ReplyPatch {
            content: values.text("content"),
        };
        // The API's rules (1–10 000 characters, not blank), errors per field.
        plaza_kernel::extract::validate(&patch)?;
        let reply = ctx
            .clone()
            .write(move |conn, caller| service::update_reply(conn, caller, id, Body::valid(patch)))
            .await?;
        announce(&ctx, Change::Thread(reply.post_id)).await;
        Ok(())
    })
}

fn reply_delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, _| {
        let r = find_reply(conn, &id)?;
        Ok(vec![
            format!("The reply \"{}\"", short(&r.content, 60)),
            "Kept as an empty tombstone if others answered it".to_owned(),
        ])
    })
}

fn delete_reply(ctx: AdminContext, id: String) -> AdminFuture<()> {
    Box::pin(async move {
        let id = admin::numeric_id(&id)?;
        let post_id = ctx
            .clone()
            .write(move |conn, caller| service::delete_reply(conn, caller, id))
            .await?;
        announce(&ctx, Change::ThreadAndLists(post_id)).await;
        Ok(())
    })
}
