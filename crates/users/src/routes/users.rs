//! `/api/v1/users/`, `search/`, `{id}/`, `{id}/stats/`, `{id}/resume/`.

use crate::settings::UsersSettings;
use actix_web::{web, HttpResponse};
use plaza_kernel::counts::Counts;
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::PageParams;
use plaza_kernel::settings::Settings;
use plaza_kernel::ValidQuery;
use plaza_kernel::{ApiResult, Body, Caller, Db, MaybeCaller, Page, PageRequest, Services};

use crate::resume::{self, Resume};
use crate::service::{self, requests};
use crate::sessions::Sessions;
use crate::types::{CreateUser, ListQuery, SearchQuery, UserPatch, UserStats};
use crate::views::{UserDetail, UserOut, Viewer};

/// Lists users. Staff see every field of everyone and may filter on `is_active`,
/// `is_staff`, `is_verified`; others see active users who allow being found, filtered by
/// their privacy settings.
#[utoipa::path(get, path = "/api/v1/users/", tag = "users",
    params(ListQuery, PageParams),
    responses(
        (status = 200, description = "A page of users", body = Page<UserOut>),
        (status = 400, description = "Bad filter or ordering", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Page past the end", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn list_users(
    db: web::Data<Db>,
    caller: Caller,
    query: ValidQuery<ListQuery>,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let viewer = Viewer::of(Some(&caller));
    let filters = query.into_inner();
    let page = db
        .run(move |conn| service::list_users(conn, viewer, &filters, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a user (staff only). The account gets a profile; its email counts as verified
/// unless `is_verified: false` is sent.
#[utoipa::path(post, path = "/api/v1/users/", tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = UserDetail),
        (status = 400, description = "Invalid or taken field, or weak password", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn create_user(
    db: web::Data<Db>,
    settings: Settings<UsersSettings>,
    caller: Caller,
    body: Body<CreateUser>,
) -> ApiResult<HttpResponse> {
    let user = requests::create_user(&db, settings.bcrypt_cost, caller, body).await?;
    Ok(HttpResponse::Created().json(user))
}

/// Users whose username or name contains every term of `q`, respecting privacy settings.
#[utoipa::path(get, path = "/api/v1/users/search/", tag = "users",
    params(SearchQuery, PageParams),
    responses(
        (status = 200, description = "A page of users", body = Page<UserOut>),
        (status = 400, description = "Missing or too long q", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn search_users(
    db: web::Data<Db>,
    caller: Caller,
    query: ValidQuery<SearchQuery>,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let viewer = Viewer::of(Some(&caller));
    let q = query.into_inner().q;
    let page = db
        .run(move |conn| service::search_users(conn, viewer, &q, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One user: in full for themselves and staff, as their privacy settings allow for others
/// (anonymous callers included).
#[utoipa::path(get, path = "/api/v1/users/{id}/", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = UserOut),
        (status = 404, description = "No such (active) user", body = ErrorBody),
    ),
    security((), ("jwt" = []), ("api_key" = [])))]
pub async fn get_user(
    db: web::Data<Db>,
    caller: MaybeCaller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let viewer = Viewer::of(caller.0.as_ref());
    let id = id.into_inner();
    let user = db
        .run(move |conn| service::get_user(conn, viewer, id))
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Replaces a user's fields (`username` and `email` required). The user or staff; only staff
/// change `is_active`, `is_staff`, `is_premium`, `is_verified`, `role`, and only a
/// superuser changes a superuser.
#[utoipa::path(put, path = "/api/v1/users/{id}/", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = UserPatch,
    responses(
        (status = 200, description = "Updated", body = UserDetail),
        (status = 400, description = "Invalid or taken field", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the user or staff, or a staff-only field", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn replace_user(
    services: web::Data<Services>,
    sessions: Option<web::Data<dyn Sessions>>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<UserPatch>,
) -> ApiResult<HttpResponse> {
    let user =
        requests::update_account(&services, sessions, caller, id.into_inner(), body, true).await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Changes some of a user's fields (and, with `profile`, of their profile). Same rules as PUT.
#[utoipa::path(patch, path = "/api/v1/users/{id}/", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = UserPatch,
    responses(
        (status = 200, description = "Updated", body = UserDetail),
        (status = 400, description = "Invalid or taken field", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the user or staff, or a staff-only field", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn patch_user(
    services: web::Data<Services>,
    sessions: Option<web::Data<dyn Sessions>>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<UserPatch>,
) -> ApiResult<HttpResponse> {
    let user =
        requests::update_account(&services, sessions, caller, id.into_inner(), body, false).await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Deletes a user and everything they own (staff only; not oneself; a superuser only by a
/// superuser).
#[utoipa::path(delete, path = "/api/v1/users/{id}/", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Deleting oneself", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn delete_user(
    services: web::Data<Services>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    requests::delete_user(&services, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A user's counts (posts, replies, friends, …: whatever the mounted domains contribute).
/// Others may read them when the user's profile is visible to them.
#[utoipa::path(get, path = "/api/v1/users/{id}/stats/", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "Counts", body = UserStats),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Profile private", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn user_stats(
    db: web::Data<Db>,
    counts: Option<web::Data<Counts>>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let viewer = Viewer::of(Some(&caller));
    let id = id.into_inner();
    let stats = db
        .run(move |conn| {
            let user = service::find_visible(conn, viewer, id)?;
            if !viewer.sees_all_of(id) && !user.privacy().profile_visibility.admits(true) {
                return Err(plaza_kernel::ApiError::permission_denied(
                    "This user's profile is private.",
                ));
            }
            stats_of(conn, counts.as_ref().map(|c| c.get_ref()), id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(stats))
}

/// The counts of `user_id` from every registered domain.
pub(crate) fn stats_of(
    conn: &mut plaza_kernel::DbConn,
    counts: Option<&Counts>,
    user_id: i64,
) -> ApiResult<UserStats> {
    let counts = match counts {
        Some(counts) => counts
            .count_user(conn, user_id)?
            .into_iter()
            .map(|(name, n)| (name.to_owned(), n))
            .collect(),
        None => std::collections::BTreeMap::new(),
    };
    Ok(UserStats { user_id, counts })
}

/// A user's résumé, when its privacy settings (`resume_visibility`) let the caller read it.
#[utoipa::path(get, path = "/api/v1/users/{id}/resume/", tag = "resume",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The résumé", body = Resume),
        (status = 403, description = "Not shared with the caller", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security((), ("jwt" = []), ("api_key" = [])))]
pub async fn user_resume(
    db: web::Data<Db>,
    caller: MaybeCaller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let viewer = Viewer::of(caller.0.as_ref());
    let id = id.into_inner();
    let resume = db
        .run(move |conn| resume::for_viewer(conn, viewer, id))
        .await?;
    Ok(HttpResponse::Ok().json(resume))
}
