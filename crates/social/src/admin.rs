//! The social domain in the staff console: groups (search, a group's facts, deletion with
//! its memberships and posts), feed posts (search the text, filter by visibility, deletion
//! with their likes and comments, also in bulk) and comments (search, deletion), through this
//! crate's services ([`crate::moderation`] shows staff what the API hides from them).

use plaza_kernel::admin::{
    self, Action, Admin, AdminContext, AdminFuture, AdminModel, Column, Delete, Filter, ListPage,
    ListRequest, Record, Row,
};
use plaza_kernel::ApiError;
use plaza_users::authors_by_id;

use crate::{groups, moderation};

/// The social domain in the console.
pub const ADMIN: Admin = Admin {
    models: &[GROUPS, FEED_POSTS, COMMENTS],
    charts: &[],
    gauges: &[],
};

/// Groups.
pub const GROUPS: AdminModel = AdminModel {
    columns: &[
        Column::new("name", "Name"),
        Column::new("owner", "Owner"),
        Column::new("private", "Private"),
        Column::new("members", "Members"),
        Column::new("created_at", "Created"),
    ],
    search: Some("name"),
    delete: Some(Delete {
        preview: delete_preview,
        run: delete,
    }),
    ..AdminModel::new("groups", "Groups", list, get)
};

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

fn list(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, caller| {
        let page = groups::list(
            conn,
            caller.id,
            request.search.as_deref(),
            false,
            request.page_request(),
        )?;
        Ok(ListPage::from_page(page, |g| {
            Row::new(g.id)
                .cell("name", &g.name)
                .cell("owner", &g.owner.username)
                .cell("private", yes_no(g.is_private))
                .cell("members", g.member_count)
                .cell("created_at", g.created_at.format("%Y-%m-%d %H:%M"))
        }))
    })
}

fn get(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, caller| {
        let g = groups::get(conn, caller.id, admin::numeric_id(&id)?)?;
        Ok(Record::new(g.id, &g.name)
            .detail("Description", &g.description)
            .detail("Owner", format!("{} (#{})", g.owner.username, g.owner.id))
            .detail("Private", yes_no(g.is_private))
            .detail("Members", g.member_count)
            .detail("Created", g.created_at.format("%Y-%m-%d %H:%M:%S UTC")))
    })
}

fn delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, caller| {
        let g = groups::get(conn, caller.id, admin::numeric_id(&id)?)?;
        Ok(vec![
            format!("The group \"{}\"", g.name),
            format!("Its {} memberships", g.member_count),
            "The posts shared in it".to_owned(),
        ])
    })
}

fn delete(ctx: AdminContext, id: String) -> AdminFuture<()> {
    ctx.write(move |conn, caller| groups::delete(conn, caller, admin::numeric_id(&id)?))
}

const TIME: &str = "%Y-%m-%d %H:%M";

fn short(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn username(cards: &std::collections::HashMap<i64, plaza_users::Author>, id: i64) -> String {
    cards
        .get(&id)
        .map_or_else(|| format!("#{id}"), |a| a.username.clone())
}

/// Feed posts.
pub const FEED_POSTS: AdminModel = AdminModel {
    columns: &[
        Column::new("content", "Text"),
        Column::new("author", "Author"),
        Column::new("visibility", "Visibility"),
        Column::new("likes", "Likes"),
        Column::new("comments", "Comments"),
        Column::new("created_at", "Posted"),
    ],
    search: Some("text"),
    filters: &[Filter {
        key: "visibility",
        label: "Visibility",
        choices: &[
            ("public", "Public"),
            ("friends", "Friends"),
            ("private", "Private"),
            ("group", "Group"),
        ],
    }],
    orderings: &[("-id", "Newest")],
    actions: &[Action::new("delete", "Delete the selected posts")],
    act: delete_posts,
    delete: Some(Delete {
        preview: post_delete_preview,
        run: delete_post,
    }),
    ..AdminModel::new("feed-posts", "Feed posts", list_posts, get_post)
};

fn list_posts(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let page = moderation::posts(
            conn,
            request.search.as_deref(),
            request.filter("visibility"),
            request.page_request(),
        )?;
        let authors: Vec<i64> = page.results.iter().map(|p| p.author_id).collect();
        let cards = authors_by_id(conn, &authors)?;
        Ok(ListPage::from_page(page, |p| {
            Row::new(p.id)
                .cell("content", short(&p.content, 80))
                .cell("author", username(&cards, p.author_id))
                .cell("visibility", &p.visibility)
                .cell("likes", p.like_count)
                .cell("comments", p.comment_count)
                .cell("created_at", p.created_at.format(TIME))
        }))
    })
}

fn get_post(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let p = moderation::post(conn, admin::numeric_id(&id)?)?;
        let cards = authors_by_id(conn, &[p.author_id])?;
        let author = username(&cards, p.author_id);
        Ok(Record::new(p.id, format!("Post {} by {author}", p.id))
            .detail("Text", &p.content)
            .detail("Author", format!("{author} (#{})", p.author_id))
            .detail("Visibility", &p.visibility)
            .detail(
                "Group",
                p.group_id.map_or_else(|| "—".to_owned(), |g| g.to_string()),
            )
            .detail("Likes", p.like_count)
            .detail("Comments", p.comment_count)
            .detail("Posted", p.created_at.format("%Y-%m-%d %H:%M:%S UTC"))
            .detail("Edited", p.updated_at.format("%Y-%m-%d %H:%M:%S UTC")))
    })
}

fn post_delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, _| {
        let p = moderation::post(conn, admin::numeric_id(&id)?)?;
        Ok(vec![
            format!("The post \"{}\"", short(&p.content, 60)),
            format!(
                "Its {} likes and {} comments",
                p.like_count, p.comment_count
            ),
        ])
    })
}

fn delete_post(ctx: AdminContext, id: String) -> AdminFuture<()> {
    ctx.write(move |conn, caller| moderation::delete_post(conn, caller, admin::numeric_id(&id)?))
}

fn delete_posts(ctx: AdminContext, action: String, ids: Vec<String>) -> AdminFuture<usize> {
    Box::pin(async move {
        if action != "delete" {
            return Err(ApiError::bad_request(format!("No action \"{action}\".")));
        }
        let ids = ids
            .iter()
            .map(|id| admin::numeric_id(id))
            .collect::<Result<Vec<_>, _>>()?;
        ctx.write(move |conn, caller| {
            for id in &ids {
                moderation::delete_post(conn, caller, *id)?;
            }
            Ok(ids.len())
        })
        .await
    })
}

/// Comments on feed posts.
pub const COMMENTS: AdminModel = AdminModel {
    columns: &[
        Column::new("content", "Text"),
        Column::new("author", "Author"),
        Column::new("post", "Post"),
        Column::new("created_at", "Written"),
    ],
    search: Some("text"),
    orderings: &[("-id", "Newest")],
    delete: Some(Delete {
        preview: comment_delete_preview,
        run: delete_comment,
    }),
    ..AdminModel::new("comments", "Feed comments", list_comments, get_comment)
};

fn list_comments(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let page = moderation::comments(conn, request.search.as_deref(), request.page_request())?;
        let authors: Vec<i64> = page.results.iter().map(|c| c.author_id).collect();
        let cards = authors_by_id(conn, &authors)?;
        Ok(ListPage::from_page(page, |c| {
            Row::new(c.id)
                .cell("content", short(&c.content, 80))
                .cell("author", username(&cards, c.author_id))
                .cell("post", c.post_id)
                .cell("created_at", c.created_at.format(TIME))
        }))
    })
}

fn get_comment(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let c = moderation::comment(conn, admin::numeric_id(&id)?)?;
        let cards = authors_by_id(conn, &[c.author_id])?;
        let author = username(&cards, c.author_id);
        Ok(Record::new(c.id, format!("Comment {} by {author}", c.id))
            .detail("Text", &c.content)
            .detail("Author", format!("{author} (#{})", c.author_id))
            .detail("Post", c.post_id)
            .detail("Written", c.created_at.format("%Y-%m-%d %H:%M:%S UTC")))
    })
}

fn comment_delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, _| {
        let c = moderation::comment(conn, admin::numeric_id(&id)?)?;
        Ok(vec![format!("The comment \"{}\"", short(&c.content, 60))])
    })
}

fn delete_comment(ctx: AdminContext, id: String) -> AdminFuture<()> {
    ctx.write(move |conn, caller| moderation::delete_comment(conn, caller, admin::numeric_id(&id)?))
}
