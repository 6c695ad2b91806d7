//! `/api/v1/posts/`: handlers, thin over [`crate::service`]. The forum's original paths
//! (`/posts/create/`, …) are adapters over these same handlers, in plaza-server.

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use plaza_kernel::error::ErrorBody;
use std::sync::Arc;

use plaza_kernel::pagination::{absolute_url, PageParams};
use plaza_kernel::{
    ApiError, ApiResult, Body, Bus, Caller, Db, Page, PageRequest, ValidJson, ValidQuery,
};

use crate::batch::{PostBatcher, ReplyBatcher};
use crate::cache::{CachedPost, Change, Changes, Generation, ReadCache};
use crate::service::{self, requests, CreatedReply, PostFilter};
use crate::types::{
    PostDetail, PostOut, PostPatch, PostQuery, PostWrite, ReplyEdit, ReplyOut, ReplyPatch,
    ReplyQuery, ReplyWrite,
};
use crate::views::ViewCounter;

/// The Bus topic a new reply is announced on (JSON: `post_id`, `reply_id`, `post_author_id`,
/// `reply_author_id`, `parent_author_id`), for notifications.
pub const REPLY_CREATED_TOPIC: &str = "posts.reply_created";

/// Lists posts, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/posts/",
    tag = "posts",
    params(PageParams, PostQuery),
    responses(
        (status = 200, description = "A page of posts", body = Page<PostOut>),
        (status = 400, description = "Invalid filter or ordering", body = ErrorBody),
        (status = 404, description = "Page past the end", body = ErrorBody),
    )
)]
pub async fn list_posts(
    req: HttpRequest,
    db: web::Data<Db>,
    page: PageRequest,
    query: ValidQuery<PostQuery>,
) -> ApiResult<HttpResponse> {
    // The generation is read before the page, so a page read across a write is not kept.
    let cached = match read_cache(&req) {
        Some(cache) => cache
            .list_generation()
            .await
            .map(|generation| (cache, absolute_url(&req), generation)),
        None => None,
    };
    if let Some((cache, url, generation)) = &cached {
        if let Some(body) = cache.list(url, generation) {
            return Ok(json(body));
        }
    }
    let query = query.into_inner();
    let filter = PostFilter {
        search: query.search,
        author: query.author,
        tag: query.tag,
        ordering: query.ordering,
    };
    let page = db
        .run(move |conn| service::list_posts(conn, &filter, page))
        .await?;
    let body = Bytes::from(serde_json::to_vec(&page).map_err(ApiError::internal)?);
    if let Some((cache, url, generation)) = cached {
        cache.put_list(url, generation, body.clone());
    }
    Ok(json(body))
}

/// The app's read cache, when it has one that is on.
fn read_cache(req: &HttpRequest) -> Option<web::Data<ReadCache>> {
    req.app_data::<web::Data<ReadCache>>()
        .filter(|cache| cache.enabled())
        .cloned()
}

fn json(body: Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(actix_web::http::header::ContentType::json())
        .body(body)
}

/// Creates a post.
#[utoipa::path(
    post,
    path = "/api/v1/posts/",
    tag = "posts",
    request_body = PostWrite,
    responses(
        (status = 201, description = "Created", body = PostDetail),
        (status = 400, description = "Invalid title, content or tags", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn create_post(
    db: web::Data<Db>,
    batcher: Option<web::Data<PostBatcher>>,
    caller: Caller,
    changes: Changes,
    body: ValidJson<PostWrite>,
) -> ApiResult<HttpResponse> {
    let batcher = batcher.as_ref().map(|b| b.get_ref());
    let post = requests::publish_post(&db, batcher, caller, body.into_inner()).await?;
    changes.announce(Change::Lists).await;
    Ok(HttpResponse::Created().json(post))
}

/// A post with its replies, oldest first; counts a view.
#[utoipa::path(
    get,
    path = "/api/v1/posts/{id}/",
    tag = "posts",
    params(("id" = i64, Path, description = "Post id")),
    responses(
        (status = 200, description = "The post and its replies", body = PostDetail),
        (status = 404, description = "No such post", body = ErrorBody),
    )
)]
pub async fn get_post(
    req: HttpRequest,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let Some(views) = req.app_data::<web::Data<ViewCounter>>().cloned() else {
        // No buffered counter in this app: one UPDATE per view.
        let post = db
            .run(move |conn| service::get_post(conn, id, true))
            .await?;
        return Ok(HttpResponse::Ok().json(post));
    };
    let cache = match read_cache(&req) {
        Some(cache) => cache
            .post_generation(id)
            .await
            .map(|generation| (cache, generation)),
        None => None,
    };
    let cached = cache
        .as_ref()
        .and_then(|(cache, generation)| cache.post(id, generation));
    let (mut detail, mut snapshot) = match cached {
        Some(hit) => hit,
        None => read_detail(&db, &views, cache.as_ref(), id).await?,
    };
    views.add(id);
    // A flush that forgot idle tallies since the snapshot was taken makes it unusable: read
    // again (rare: at most once per flush interval).
    for _ in 0..2 {
        if let Some(count) = views.shown(id, detail.post.view_count, snapshot) {
            return Ok(HttpResponse::Ok().json(with_views(&detail, count)));
        }
        (detail, snapshot) = read_detail(&db, &views, cache.as_ref(), id).await?;
    }
    let count = views
        .shown(id, detail.post.view_count, snapshot)
        .unwrap_or(detail.post.view_count);
    Ok(HttpResponse::Ok().json(with_views(&detail, count)))
}

/// Reads post `id` with its view snapshot (no flush in between), and caches it under the
/// thread's generation read before.
async fn read_detail(
    db: &Db,
    views: &web::Data<ViewCounter>,
    cache: Option<&(web::Data<ReadCache>, Generation)>,
    id: i64,
) -> ApiResult<CachedPost> {
    let counter = views.clone();
    let (detail, snapshot) = db
        .run(move |conn| {
            let _no_flush = counter.reading();
            let detail = service::get_post(conn, id, false)?;
            Ok((Arc::new(detail), counter.snapshot(id)))
        })
        .await?;
    if let Some((cache, generation)) = cache {
        cache.put_post(id, generation.clone(), detail.clone(), snapshot);
    }
    Ok((detail, snapshot))
}

fn with_views(detail: &PostDetail, count: i64) -> PostDetail {
    let mut shown = detail.clone();
    shown.post.view_count = count;
    shown
}

/// Replaces a post's title and content, and its tags when given (author or moderator).
#[utoipa::path(
    put,
    path = "/api/v1/posts/{id}/",
    tag = "posts",
    params(("id" = i64, Path, description = "Post id")),
    request_body = PostWrite,
    responses(
        (status = 200, description = "The post", body = PostDetail),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not the author or a moderator", body = ErrorBody),
        (status = 404, description = "No such post", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn replace_post(
    db: web::Data<Db>,
    caller: Caller,
    changes: Changes,
    id: web::Path<i64>,
    body: Body<PostWrite>,
) -> ApiResult<HttpResponse> {
    save_post(db, caller, changes, id.into_inner(), body.map(Into::into)).await
}

/// Changes some fields of a post (author or moderator).
#[utoipa::path(
    patch,
    path = "/api/v1/posts/{id}/",
    tag = "posts",
    params(("id" = i64, Path, description = "Post id")),
    request_body = PostPatch,
    responses(
        (status = 200, description = "The post", body = PostDetail),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not the author or a moderator", body = ErrorBody),
        (status = 404, description = "No such post", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn update_post(
    db: web::Data<Db>,
    caller: Caller,
    changes: Changes,
    id: web::Path<i64>,
    body: Body<PostPatch>,
) -> ApiResult<HttpResponse> {
    save_post(db, caller, changes, id.into_inner(), body).await
}

async fn save_post(
    db: web::Data<Db>,
    caller: Caller,
    changes: Changes,
    id: i64,
    patch: Body<PostPatch>,
) -> ApiResult<HttpResponse> {
    let post = requests::edit_post(&db, caller, id, patch).await?;
    changes.announce(Change::ThreadAndLists(id)).await;
    Ok(HttpResponse::Ok().json(post))
}

/// Deletes a post with its replies (author or moderator).
#[utoipa::path(
    delete,
    path = "/api/v1/posts/{id}/",
    tag = "posts",
    params(("id" = i64, Path, description = "Post id")),
    responses(
        (status = 204, description = "Deleted, with its replies"),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not the author or a moderator", body = ErrorBody),
        (status = 404, description = "No such post", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn delete_post(
    db: web::Data<Db>,
    caller: Caller,
    changes: Changes,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    requests::remove_post(&db, caller, id).await?;
    changes.announce(Change::ThreadAndLists(id)).await;
    Ok(HttpResponse::NoContent().finish())
}

/// A post's replies, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/posts/{id}/replies/",
    tag = "posts",
    params(("id" = i64, Path, description = "Post id"), PageParams, ReplyQuery),
    responses(
        (status = 200, description = "A page of replies", body = Page<ReplyOut>),
        (status = 400, description = "Invalid ordering", body = ErrorBody),
        (status = 404, description = "No such post, or page past the end", body = ErrorBody),
    )
)]
pub async fn list_replies(
    db: web::Data<Db>,
    id: web::Path<i64>,
    page: PageRequest,
    query: ValidQuery<ReplyQuery>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let ordering = query.into_inner().ordering;
    let page = db
        .run(move |conn| service::list_replies(conn, id, ordering.as_deref(), page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Replies to a post, or to one of its top-level replies (`parent_id`).
#[utoipa::path(
    post,
    path = "/api/v1/posts/{id}/replies/",
    tag = "posts",
    params(("id" = i64, Path, description = "Post id")),
    request_body = ReplyWrite,
    responses(
        (status = 201, description = "Created", body = ReplyOut),
        (status = 400, description = "Invalid content or parent", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 404, description = "No such post", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn create_reply(
    req: HttpRequest,
    db: web::Data<Db>,
    batcher: Option<web::Data<ReplyBatcher>>,
    caller: Caller,
    changes: Changes,
    id: web::Path<i64>,
    body: ValidJson<ReplyWrite>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let batcher = batcher.as_ref().map(|b| b.get_ref());
    let created = requests::publish_reply(&db, batcher, caller, id, body.into_inner()).await?;
    changes.announce(Change::ThreadAndLists(id)).await;
    announce_reply(&req, &created).await;
    Ok(HttpResponse::Created().json(created.reply))
}

/// Publishes a committed reply on the Bus (when the app has one), for notifications.
/// Best effort: the reply exists whether or not anyone hears of it.
async fn announce_reply(req: &HttpRequest, created: &CreatedReply) {
    let Some(bus) = req.app_data::<web::Data<Bus>>() else {
        return;
    };
    let event = serde_json::json!({
        "post_id": created.reply.post_id,
        "reply_id": created.reply.id,
        "post_author_id": created.post_author_id,
        "reply_author_id": created.reply.author.as_ref().map(|a| a.id),
        "parent_author_id": created.parent_author_id,
    });
    if let Err(err) = bus
        .publish(REPLY_CREATED_TOPIC, Bytes::from(event.to_string()))
        .await
    {
        tracing::warn!(error = %err, "could not announce a reply");
    }
}

/// Replaces a reply's text (author or moderator).
#[utoipa::path(
    put,
    path = "/api/v1/posts/replies/{id}/",
    tag = "posts",
    params(("id" = i64, Path, description = "Reply id")),
    request_body = ReplyEdit,
    responses(
        (status = 200, description = "The reply", body = ReplyOut),
        (status = 400, description = "Invalid content", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not the author or a moderator", body = ErrorBody),
        (status = 404, description = "No such reply, or deleted", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn replace_reply(
    db: web::Data<Db>,
    caller: Caller,
    changes: Changes,
    id: web::Path<i64>,
    body: Body<ReplyEdit>,
) -> ApiResult<HttpResponse> {
    save_reply(db, caller, changes, id.into_inner(), body.map(Into::into)).await
}

/// Changes a reply's text (author or moderator).
#[utoipa::path(
    patch,
    path = "/api/v1/posts/replies/{id}/",
    tag = "posts",
    params(("id" = i64, Path, description = "Reply id")),
    request_body = ReplyPatch,
    responses(
        (status = 200, description = "The reply", body = ReplyOut),
        (status = 400, description = "Invalid content", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not the author or a moderator", body = ErrorBody),
        (status = 404, description = "No such reply, or deleted", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn update_reply(
    db: web::Data<Db>,
    caller: Caller,
    changes: Changes,
    id: web::Path<i64>,
    body: Body<ReplyPatch>,
) -> ApiResult<HttpResponse> {
    save_reply(db, caller, changes, id.into_inner(), body).await
}

async fn save_reply(
    db: web::Data<Db>,
    caller: Caller,
    changes: Changes,
    id: i64,
    patch: Body<ReplyPatch>,
) -> ApiResult<HttpResponse> {
    let reply = requests::edit_reply(&db, caller, id, patch).await?;
    // A reply's text is not on the list pages.
    changes.announce(Change::Thread(reply.post_id)).await;
    Ok(HttpResponse::Ok().json(reply))
}

/// Deletes a reply (author or moderator): a tombstone when others answered it.
#[utoipa::path(
    delete,
    path = "/api/v1/posts/replies/{id}/",
    tag = "posts",
    params(("id" = i64, Path, description = "Reply id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not the author or a moderator", body = ErrorBody),
        (status = 404, description = "No such reply, or already deleted", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn delete_reply(
    db: web::Data<Db>,
    caller: Caller,
    changes: Changes,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let post_id = requests::remove_reply(&db, caller, id.into_inner()).await?;
    changes.announce(Change::ThreadAndLists(post_id)).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Mounts the forum's resources inside `/api/v1/posts`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").get(list_posts).post(create_post))
        .service(
            web::resource("/replies/{id}/")
                .put(replace_reply)
                .patch(update_reply)
                .delete(delete_reply),
        )
        .service(
            web::resource("/{id}/")
                .get(get_post)
                .put(replace_post)
                .patch(update_post)
                .delete(delete_post),
        )
        .service(
            web::resource("/{id}/replies/")
                .get(list_replies)
                .post(create_reply),
        );
}
