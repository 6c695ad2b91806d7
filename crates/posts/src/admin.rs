//! Forum posts in the staff console: a searchable list, the post form (title and text, with
//! the API's validation), deletion with its replies, the "delete" bulk action, and posts per
//! day on the dashboard. Every change goes through [`crate::service::requests`] and announces
//! itself to the forum's read cache, as the API's handlers do.

use actix_web::FromRequest;
use diesel::prelude::*;
use plaza_kernel::admin::{
    self, Action, Admin, AdminContext, AdminFuture, AdminModel, Chart, Column, Delete, Field,
    FieldKind, ListPage, ListRequest, Point, Record, Row, Values,
};
use plaza_kernel::schema::{post_tags, replies};
use plaza_kernel::{ApiError, Body};

use crate::cache::{Change, Changes};
use crate::service::{self, requests, PostFilter};
use crate::types::PostPatch;

/// The posts domain in the console.
pub const ADMIN: Admin = Admin {
    models: &[POSTS],
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
