//! `sessions/`: the caller's live login sessions.

use actix_web::{web, HttpResponse};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::PageParams;
use plaza_kernel::{ApiResult, Caller, Db, Page, PageRequest, Services};

use crate::types::SessionView;
use crate::{service, sessions};

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
    services: web::Data<Services>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    service::end_session(&services, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
