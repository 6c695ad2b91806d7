//! `api-keys/`: the caller's API keys.

use actix_web::{web, HttpResponse};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::PageParams;
use plaza_kernel::{ApiResult, Body, Caller, Db, Page, PageRequest};
use plaza_users::routes::require_login_session;

use crate::types::{ApiKeyView, CreatedApiKey, NewApiKey};
use crate::{api_keys, service};

/// The caller's API keys (not revoked), newest first. Keys themselves are never shown again.
#[utoipa::path(get, path = "/api/v1/auth/api-keys/", tag = "auth",
    params(PageParams),
    responses(
        (status = 200, description = "A page of keys", body = Page<ApiKeyView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Called with an API key", body = ErrorBody),
    ),
    security(("jwt" = [])))]
pub async fn list_api_keys(
    db: web::Data<Db>,
    caller: Caller,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    require_login_session(&caller)?;
    let page = db
        .run(move |conn| api_keys::list(conn, caller.id, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates an API key. `key` is in this answer only; store it now.
#[utoipa::path(post, path = "/api/v1/auth/api-keys/", tag = "auth",
    request_body = NewApiKey,
    responses(
        (status = 201, description = "Created", body = CreatedApiKey),
        (status = 400, description = "Invalid name or past expiry, or too many keys", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Called with an API key", body = ErrorBody),
    ),
    security(("jwt" = [])))]
pub async fn create_api_key(
    db: web::Data<Db>,
    caller: Caller,
    body: Body<NewApiKey>,
) -> ApiResult<HttpResponse> {
    let created = service::create_api_key(&db, &caller, body).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Revokes one of the caller's API keys; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/auth/api-keys/{id}/", tag = "auth",
    params(("id" = i64, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Called with an API key", body = ErrorBody),
        (status = 404, description = "Not one of the caller's live keys", body = ErrorBody),
    ),
    security(("jwt" = [])))]
pub async fn delete_api_key(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    service::revoke_api_key(&db, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
