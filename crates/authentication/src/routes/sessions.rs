//! `sessions/`: the caller's live login sessions.

use actix_web::{web, HttpResponse};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::PageParams;
use plaza_kernel::{ApiResult, Cache, Caller, Db, Page, PageRequest};
use plaza_users::routes::require_login_session;

use crate::sessions::{self, revoke_access_tokens};
use crate::types::SessionView;

/// The caller's live sessions (one per login and device), most recently used first.
#[utoipa::path(get, path = "/api/v1/auth/sessions/", tag = "auth",
    params(PageParams),
    responses(
        (status = 200, description = "A page of sessions", body = Page<SessionView>),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn list_sessions(
    db: web::Data<Db>,
    caller: Caller,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let page = db
        .run(move |conn| sessions::list(conn, caller.id, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Ends one of the caller's sessions: its refresh token and its access tokens stop working.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}/", tag = "auth",
    params(("id" = i64, Path, description = "Session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Called with an API key", body = ErrorBody),
        (status = 404, description = "Not one of the caller's live sessions", body = ErrorBody),
    ),
    security(("jwt" = [])))]
pub async fn delete_session(
    db: web::Data<Db>,
    cache: web::Data<Cache>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    require_login_session(&caller)?;
    let id = id.into_inner();
    let revoke = db
        .transaction(move |conn| sessions::delete(conn, caller.id, id))
        .await?;
    revoke_access_tokens(&cache, &revoke).await?;
    Ok(HttpResponse::NoContent().finish())
}
