//! The forum's original post and reply paths, over `plaza_posts::routes`:
//!
//! | original | canonical |
//! |---|---|
//! | POST `/posts/create/` | POST `/api/v1/posts/` |
//! | DELETE `/posts/delete/{id}/` | DELETE `/api/v1/posts/{id}/` |
//! | POST `/posts/update/{id}/` | PATCH `/api/v1/posts/{id}/` |
//! | GET `/posts/list/` | GET `/api/v1/posts/` (`?page=` and every filter) |
//! | GET `/posts/detail/{id}/` | GET `/api/v1/posts/{id}/` |
//! | POST `/posts/reply/create/{post_id}/` | POST `/api/v1/posts/{post_id}/replies/` |
//! | POST `/posts/reply/update/{reply_id}/` | PATCH `/api/v1/posts/replies/{reply_id}/` |
//! | DELETE `/posts/reply/delete/{reply_id}/` | DELETE `/api/v1/posts/replies/{reply_id}/` |

use actix_web::{web, HttpRequest, HttpResponse};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::PageParams;
use plaza_kernel::{ApiResult, Caller, Db, Page, PageRequest, ValidJson, ValidQuery};
use plaza_posts::cache::Changes;
use plaza_posts::routes;
use plaza_posts::types::{
    PostDetail, PostOut, PostPatch, PostQuery, PostWrite, ReplyOut, ReplyPatch, ReplyWrite,
};
use utoipa::OpenApi;

const TAG: &str = "forum (original paths)";

/// The OpenAPI description of the original post paths.
#[derive(OpenApi)]
#[openapi(
    paths(
        create_post,
        delete_post,
        update_post,
        list_posts,
        get_post,
        create_reply,
        update_reply,
        delete_reply
    ),
    tags((name = "forum (original paths)", description = "The Django forum's paths, served verbatim; each mirrors a /api/v1/posts/ endpoint"))
)]
pub struct ApiDoc;

/// Creates a post (as POST `/api/v1/posts/`).
#[utoipa::path(
    post,
    path = "/posts/create/",
    tag = TAG,
    operation_id = "legacy_create_post",
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
    caller: Caller,
    changes: Changes,
    body: ValidJson<PostWrite>,
) -> ApiResult<HttpResponse> {
    routes::create_post(db, caller, changes, body).await
}

/// Deletes a post with its replies (as DELETE `/api/v1/posts/{id}/`).
#[utoipa::path(
    delete,
    path = "/posts/delete/{id}/",
    tag = TAG,
    operation_id = "legacy_delete_post",
    params(("id" = i64, Path, description = "Post id")),
    responses(
        (status = 204, description = "Deleted"),
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
    routes::delete_post(db, caller, changes, id).await
}

/// Changes the fields given (as PATCH `/api/v1/posts/{id}/`).
#[utoipa::path(
    post,
    path = "/posts/update/{id}/",
    tag = TAG,
    operation_id = "legacy_update_post",
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
    body: ValidJson<PostPatch>,
) -> ApiResult<HttpResponse> {
    routes::update_post(db, caller, changes, id, body).await
}

/// Lists posts, newest first (as GET `/api/v1/posts/`).
#[utoipa::path(
    get,
    path = "/posts/list/",
    tag = TAG,
    operation_id = "legacy_list_posts",
    params(PageParams, PostQuery),
    responses(
        (status = 200, description = "A page of posts", body = Page<PostOut>),
        (status = 400, description = "Invalid filter", body = ErrorBody),
        (status = 404, description = "Page past the end", body = ErrorBody),
    )
)]
pub async fn list_posts(
    req: HttpRequest,
    db: web::Data<Db>,
    page: PageRequest,
    query: ValidQuery<PostQuery>,
) -> ApiResult<HttpResponse> {
    routes::list_posts(req, db, page, query).await
}

/// A post with its replies; counts a view (as GET `/api/v1/posts/{id}/`).
#[utoipa::path(
    get,
    path = "/posts/detail/{id}/",
    tag = TAG,
    operation_id = "legacy_get_post",
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
    routes::get_post(req, db, id).await
}

/// Replies to a post (as POST `/api/v1/posts/{post_id}/replies/`).
#[utoipa::path(
    post,
    path = "/posts/reply/create/{post_id}/",
    tag = TAG,
    operation_id = "legacy_create_reply",
    params(("post_id" = i64, Path, description = "Post id")),
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
    caller: Caller,
    changes: Changes,
    post_id: web::Path<i64>,
    body: ValidJson<ReplyWrite>,
) -> ApiResult<HttpResponse> {
    routes::create_reply(req, db, caller, changes, post_id, body).await
}

/// Changes a reply's text (as PATCH `/api/v1/posts/replies/{reply_id}/`).
#[utoipa::path(
    post,
    path = "/posts/reply/update/{reply_id}/",
    tag = TAG,
    operation_id = "legacy_update_reply",
    params(("reply_id" = i64, Path, description = "Reply id")),
    request_body = ReplyPatch,
    responses(
        (status = 200, description = "The reply", body = ReplyOut),
        (status = 400, description = "Invalid content", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not the author or a moderator", body = ErrorBody),
        (status = 404, description = "No such reply", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn update_reply(
    db: web::Data<Db>,
    caller: Caller,
    changes: Changes,
    reply_id: web::Path<i64>,
    body: ValidJson<ReplyPatch>,
) -> ApiResult<HttpResponse> {
    routes::update_reply(db, caller, changes, reply_id, body).await
}

/// Deletes a reply (as DELETE `/api/v1/posts/replies/{reply_id}/`).
#[utoipa::path(
    delete,
    path = "/posts/reply/delete/{reply_id}/",
    tag = TAG,
    operation_id = "legacy_delete_reply",
    params(("reply_id" = i64, Path, description = "Reply id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not the author or a moderator", body = ErrorBody),
        (status = 404, description = "No such reply", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn delete_reply(
    db: web::Data<Db>,
    caller: Caller,
    changes: Changes,
    reply_id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    routes::delete_reply(db, caller, changes, reply_id).await
}

/// Mounts the original post and reply paths at the root.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/posts/create/").post(create_post))
        .service(web::resource("/posts/delete/{id}/").delete(delete_post))
        .service(web::resource("/posts/update/{id}/").post(update_post))
        .service(web::resource("/posts/list/").get(list_posts))
        .service(web::resource("/posts/detail/{id}/").get(get_post))
        .service(web::resource("/posts/reply/create/{post_id}/").post(create_reply))
        .service(web::resource("/posts/reply/update/{reply_id}/").post(update_reply))
        .service(web::resource("/posts/reply/delete/{reply_id}/").delete(delete_reply));
}
