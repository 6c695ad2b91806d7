//! `/api/v1/core/tags/`: anyone lists and reads tags; staff create, change and delete them.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::PageParams;
use plaza_kernel::{ApiResult, Body, Caller, Db, Page, PageRequest, ValidQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::service::{self, requests, Tag, TagFilter, TagInput};

/// A tag.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagOut {
    /// Id.
    pub id: i64,
    /// Display name (unique in any case).
    pub name: String,
    /// URL-safe unique name.
    pub slug: String,
    /// `#rrggbb`.
    pub color: String,
    /// Free text.
    pub description: String,
    /// How many posts carry the tag.
    pub usage_count: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Tag> for TagOut {
    fn from(tag: Tag) -> Self {
        Self {
            id: tag.id,
            name: tag.name,
            slug: tag.slug,
            color: tag.color,
            description: tag.description,
            usage_count: tag.usage_count,
            created_at: plaza_kernel::time::utc(tag.created_at),
            updated_at: plaza_kernel::time::utc(tag.updated_at),
        }
    }
}

/// Creates a tag (POST) or replaces its editable fields (PUT).
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct TagWrite {
    /// 1–50 characters, no commas; unique in any case.
    pub name: String,
    /// Letters, digits, `-`, `_` (1–60); derived from the name when absent.
    pub slug: Option<String>,
    /// `#rrggbb` (default `#6c757d`).
    pub color: Option<String>,
    /// At most 1000 characters.
    pub description: Option<String>,
}

/// Changes some fields of a tag.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct TagPatch {
    /// 1–50 characters, no commas; unique in any case.
    pub name: Option<String>,
    /// Letters, digits, `-`, `_` (1–60).
    pub slug: Option<String>,
    /// `#rrggbb`.
    pub color: Option<String>,
    /// At most 1000 characters.
    pub description: Option<String>,
}

/// Filters of the tag list.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TagQuery {
    /// Part of the name, in any case.
    pub search: Option<String>,
    /// `name`, `usage_count`, `created_at`, each optionally `-`; default `-usage_count`.
    pub ordering: Option<String>,
}

/// Lists tags, most used first.
#[utoipa::path(
    get,
    path = "/api/v1/core/tags/",
    tag = "core",
    params(PageParams, TagQuery),
    responses(
        (status = 200, description = "A page of tags", body = Page<TagOut>),
        (status = 400, description = "Unknown ordering field", body = ErrorBody),
        (status = 404, description = "Page past the end", body = ErrorBody),
    )
)]
pub async fn list_tags(
    db: web::Data<Db>,
    page: PageRequest,
    query: ValidQuery<TagQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let filter = TagFilter {
        search: query.search,
        ordering: query.ordering,
    };
    let page = db
        .run(move |conn| service::list(conn, &filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(page.map(TagOut::from)))
}

/// Creates a tag (staff).
#[utoipa::path(
    post,
    path = "/api/v1/core/tags/",
    tag = "core",
    request_body = TagWrite,
    responses(
        (status = 201, description = "Created", body = TagOut),
        (status = 400, description = "Invalid field, or a name or slug taken", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn create_tag(
    db: web::Data<Db>,
    caller: Caller,
    body: Body<TagWrite>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let input = body.map(|b| TagInput::raw(Some(b.name), b.slug, b.color, b.description));
    let ip = plaza_kernel::http::client_ip(&req);
    let tag = requests::create_tag(&db, caller, input, ip).await?;
    Ok(HttpResponse::Created().json(TagOut::from(tag)))
}

/// One tag.
#[utoipa::path(
    get,
    path = "/api/v1/core/tags/{id}/",
    tag = "core",
    params(("id" = i64, Path, description = "Tag id")),
    responses(
        (status = 200, description = "The tag", body = TagOut),
        (status = 404, description = "No such tag", body = ErrorBody),
    )
)]
pub async fn get_tag(db: web::Data<Db>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let tag = db.run(move |conn| service::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(TagOut::from(tag)))
}

/// Replaces a tag's name, and its slug, colour and description when given (staff).
#[utoipa::path(
    put,
    path = "/api/v1/core/tags/{id}/",
    tag = "core",
    params(("id" = i64, Path, description = "Tag id")),
    request_body = TagWrite,
    responses(
        (status = 200, description = "The tag", body = TagOut),
        (status = 400, description = "Invalid field, or a name or slug taken", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
        (status = 404, description = "No such tag", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn replace_tag(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<TagWrite>,
) -> ApiResult<HttpResponse> {
    let input = body.map(|b| TagInput::raw(Some(b.name), b.slug, b.color, b.description));
    let tag = requests::update_tag(&db, &caller, id.into_inner(), input).await?;
    Ok(HttpResponse::Ok().json(TagOut::from(tag)))
}

/// Changes some fields of a tag (staff).
#[utoipa::path(
    patch,
    path = "/api/v1/core/tags/{id}/",
    tag = "core",
    params(("id" = i64, Path, description = "Tag id")),
    request_body = TagPatch,
    responses(
        (status = 200, description = "The tag", body = TagOut),
        (status = 400, description = "Invalid field, or a name or slug taken", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
        (status = 404, description = "No such tag", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn update_tag(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<TagPatch>,
) -> ApiResult<HttpResponse> {
    let input = body.map(|b| TagInput::raw(b.name, b.slug, b.color, b.description));
    let tag = requests::update_tag(&db, &caller, id.into_inner(), input).await?;
    Ok(HttpResponse::Ok().json(TagOut::from(tag)))
}

/// Deletes a tag (staff); posts that carried it lose it.
#[utoipa::path(
    delete,
    path = "/api/v1/core/tags/{id}/",
    tag = "core",
    params(("id" = i64, Path, description = "Tag id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
        (status = 404, description = "No such tag", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn delete_tag(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let ip = plaza_kernel::http::client_ip(&req);
    requests::delete_tag(&db, caller, id.into_inner(), ip).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mounts the tag resources inside `/api/v1/core`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/tags/").get(list_tags).post(create_tag))
        .service(
            web::resource("/tags/{id}/")
                .get(get_tag)
                .put(replace_tag)
                .patch(update_tag)
                .delete(delete_tag),
        );
}
