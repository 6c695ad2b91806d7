//! `/api/v1/users/me/…`: the caller's own account, profile, settings, password, avatar,
//! login history and counts.

use crate::settings::UsersSettings;
use plaza_kernel::settings::Settings as DomainSettings;

use actix_multipart::Multipart;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use plaza_kernel::counts::Counts;
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::PageParams;
use plaza_kernel::{ApiError, ApiResult, Body, Caller, Db, Page, PageRequest, Services, ValidJson};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::avatar::{self, MAX_AVATAR_BYTES};
use crate::login_log::{self, LoginLog};
use crate::profile::{self, Profile, ProfilePatch};
use crate::service::{self, requests, requests::SessionsHook};
use crate::sessions::{ClientInfo, Sessions};
use crate::types::{
    AvatarOut, PasswordChange, PasswordChanged, Settings, SettingsUpdate, UserPatch, UserStats,
};
use crate::views::UserDetail;

/// The caller's account, with its profile.
#[utoipa::path(get, path = "/api/v1/users/me/", tag = "users",
    responses(
        (status = 200, description = "The caller", body = UserDetail),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn get_me(db: web::Data<Db>, caller: Caller) -> ApiResult<HttpResponse> {
    let me = db.run(move |conn| service::me(conn, &caller)).await?;
    Ok(HttpResponse::Ok().json(me))
}

/// Replaces the caller's fields (`username`, `email` required).
#[utoipa::path(put, path = "/api/v1/users/me/", tag = "users",
    request_body = UserPatch,
    responses(
        (status = 200, description = "Updated", body = UserDetail),
        (status = 400, description = "Invalid or taken field", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "A staff-only field", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn replace_me(
    services: web::Data<Services>,
    sessions: Option<web::Data<dyn Sessions>>,
    caller: Caller,
    body: ValidJson<UserPatch>,
) -> ApiResult<HttpResponse> {
    let id = caller.id;
    let user = requests::update_account(
        &services,
        sessions,
        caller,
        id,
        Body::valid(body.into_inner()),
        true,
    )
    .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Changes some of the caller's fields, and with `profile` some of their profile.
#[utoipa::path(patch, path = "/api/v1/users/me/", tag = "users",
    request_body = UserPatch,
    responses(
        (status = 200, description = "Updated", body = UserDetail),
        (status = 400, description = "Invalid or taken field", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "A staff-only field", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn patch_me(
    services: web::Data<Services>,
    sessions: Option<web::Data<dyn Sessions>>,
    caller: Caller,
    body: ValidJson<UserPatch>,
) -> ApiResult<HttpResponse> {
    let id = caller.id;
    let user = requests::update_account(
        &services,
        sessions,
        caller,
        id,
        Body::valid(body.into_inner()),
        false,
    )
    .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Deactivates the caller's account and revokes all its tokens (needs a login session, not
/// an API key).
#[utoipa::path(delete, path = "/api/v1/users/me/", tag = "users",
    responses(
        (status = 204, description = "Deactivated"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Called with an API key", body = ErrorBody),
    ),
    security(("jwt" = [])))]
pub async fn deactivate_me(
    services: web::Data<Services>,
    sessions: SessionsHook,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    requests::deactivate_me(&services, sessions, caller).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/v1/users/me/profile/", tag = "users",
    responses(
        (status = 200, description = "The profile", body = Profile),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn get_profile(db: web::Data<Db>, caller: Caller) -> ApiResult<HttpResponse> {
    let profile = db
        .run(move |conn| Ok(profile::load(conn, caller.id)?))
        .await?;
    Ok(HttpResponse::Ok().json(profile))
}

/// Writes the caller's profile (fields left out keep their value).
#[utoipa::path(put, path = "/api/v1/users/me/profile/", tag = "users",
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "Updated", body = Profile),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn replace_profile(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<ProfilePatch>,
) -> ApiResult<HttpResponse> {
    write_profile(db, caller, body.into_inner()).await
}

/// Changes some of the caller's profile fields.
#[utoipa::path(patch, path = "/api/v1/users/me/profile/", tag = "users",
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "Updated", body = Profile),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn patch_profile(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<ProfilePatch>,
) -> ApiResult<HttpResponse> {
    write_profile(db, caller, body.into_inner()).await
}

async fn write_profile(
    db: web::Data<Db>,
    caller: Caller,
    patch: ProfilePatch,
) -> ApiResult<HttpResponse> {
    let profile = requests::update_profile(&db, &caller, patch).await?;
    Ok(HttpResponse::Ok().json(profile))
}

/// The caller's privacy and notification settings.
#[utoipa::path(get, path = "/api/v1/users/me/settings/", tag = "users",
    responses(
        (status = 200, description = "Settings", body = Settings),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn get_settings(db: web::Data<Db>, caller: Caller) -> ApiResult<HttpResponse> {
    let settings = db
        .run(move |conn| service::settings(conn, caller.id))
        .await?;
    Ok(HttpResponse::Ok().json(settings))
}

/// Changes privacy and notification settings; keys left out keep their value.
#[utoipa::path(put, path = "/api/v1/users/me/settings/", tag = "users",
    request_body = SettingsUpdate,
    responses(
        (status = 200, description = "Both settings objects, complete", body = Settings),
        (status = 400, description = "Unknown choice or wrong type", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn update_settings(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<SettingsUpdate>,
) -> ApiResult<HttpResponse> {
    let settings = requests::update_settings(&db, &caller, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(settings))
}

/// Changes the caller's password. Every session and access token of the account is revoked;
/// the answer carries fresh tokens for the caller (needs a login session, not an API key).
#[utoipa::path(post, path = "/api/v1/users/me/password/", tag = "users",
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Changed; use the new tokens", body = PasswordChanged),
        (status = 400, description = "Wrong old password, weak or mismatched new password", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Called with an API key", body = ErrorBody),
    ),
    security(("jwt" = [])))]
pub async fn change_password(
    req: HttpRequest,
    services: web::Data<Services>,
    settings: DomainSettings<UsersSettings>,
    sessions: SessionsHook,
    caller: Caller,
    body: Body<PasswordChange>,
) -> ApiResult<HttpResponse> {
    let client = ClientInfo::of(&req);
    let changed = requests::change_password(
        &services,
        settings.bcrypt_cost,
        sessions,
        caller,
        body,
        client,
    )
    .await?;
    Ok(HttpResponse::Ok().json(changed))
}

/// The multipart body of `me/avatar/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AvatarUpload {
    /// PNG, JPEG, WebP or GIF, at most 5 MiB; the type is read from the bytes.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Uploads the caller's avatar and stores it with a 256 px thumbnail.
#[utoipa::path(post, path = "/api/v1/users/me/avatar/", tag = "users",
    request_body(content = AvatarUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Stored", body = AvatarOut),
        (status = 400, description = "Not an image, or no file", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 413, description = "Over 5 MiB", body = ErrorBody),
        (status = 415, description = "Not multipart/form-data", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn upload_avatar(
    req: HttpRequest,
    services: web::Data<Services>,
    caller: Caller,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    let bytes = read_file_field(Multipart::new(req.headers(), payload)).await?;
    let processed = tokio::task::spawn_blocking(move || avatar::process(&bytes)).await??;

    let out = requests::replace_avatar(&services, &caller, processed).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Fields of an avatar upload other than `file` are read and ignored, up to this size.
const MAX_OTHER_FIELD_BYTES: usize = 64 * 1024;
/// After the limit is passed, the rest of the body is read (and dropped) up to this size, so
/// the client gets its 413 instead of a reset connection.
const MAX_DRAIN_BYTES: usize = 4 * MAX_AVATAR_BYTES;
/// At most this many parts in one upload.
const MAX_PARTS: usize = 16;

/// The bytes of the `file` part, refusing more than 5 MiB while reading.
async fn read_file_field(mut multipart: Multipart) -> ApiResult<Vec<u8>> {
    let malformed = |e: actix_multipart::MultipartError| {
        ApiError::bad_request(format!("Malformed multipart body: {e}"))
    };
    let mut file: Option<Vec<u8>> = None;
    let mut parts = 0;
    let mut too_large = false;
    let mut drained = 0usize;
    while let Some(part) = multipart.next().await {
        let mut part = part.map_err(malformed)?;
        parts += 1;
        if parts > MAX_PARTS {
            return Err(ApiError::bad_request("Too many parts in the upload."));
        }
        let is_file = part.name() == Some("file") && file.is_none() && !too_large;
        let limit = if is_file {
            MAX_AVATAR_BYTES
        } else {
            MAX_OTHER_FIELD_BYTES
        };
        let mut buf = Vec::new();
        let mut seen = 0usize;
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(malformed)?;
            seen += chunk.len();
            if too_large || seen > limit {
                if is_file || too_large {
                    too_large = true;
                    drained += chunk.len();
                    if drained > MAX_DRAIN_BYTES {
                        return Err(ApiError::payload_too_large(MAX_AVATAR_BYTES));
                    }
                    continue;
                }
                return Err(ApiError::bad_request("A form field is too large."));
            }
            if is_file {
                buf.extend_from_slice(&chunk);
            }
        }
        if is_file && !too_large {
            file = Some(buf);
        }
    }
    if too_large {
        return Err(ApiError::payload_too_large(MAX_AVATAR_BYTES));
    }
    match file {
        Some(bytes) if !bytes.is_empty() => Ok(bytes),
        Some(_) => Err(ApiError::invalid_field(
            "file",
            "The submitted file is empty.",
        )),
        None => Err(ApiError::invalid_field("file", "No file was submitted.")),
    }
}

/// Removes the caller's avatar.
#[utoipa::path(delete, path = "/api/v1/users/me/avatar/", tag = "users",
    responses(
        (status = 204, description = "Removed (or there was none)"),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn delete_avatar(
    services: web::Data<Services>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    requests::remove_avatar(&services, &caller).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's successful logins, newest first.
#[utoipa::path(get, path = "/api/v1/users/me/login-history/", tag = "users",
    params(PageParams),
    responses(
        (status = 200, description = "A page of logins", body = Page<LoginLog>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Page past the end", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn login_history(
    db: web::Data<Db>,
    caller: Caller,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let page = db
        .run(move |conn| login_log::history(conn, caller.id, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The caller's counts (posts, replies, friends, …: whatever the mounted domains contribute).
#[utoipa::path(get, path = "/api/v1/users/me/stats/", tag = "users",
    responses(
        (status = 200, description = "Counts", body = UserStats),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn my_stats(
    db: web::Data<Db>,
    counts: Option<web::Data<Counts>>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    let stats = db
        .run(move |conn| {
            super::users::stats_of(conn, counts.as_ref().map(|c| c.get_ref()), caller.id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(stats))
}
