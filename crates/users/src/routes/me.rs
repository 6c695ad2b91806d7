//! `/api/v1/users/me/…`: the caller's own account, profile, settings, password, avatar,
//! login history and counts.

use crate::settings::UsersSettings;
use plaza_kernel::settings::Settings as DomainSettings;
use std::time::Duration;

use actix_multipart::Multipart;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use plaza_kernel::auth::{revocation, TokenCodec};
use plaza_kernel::counts::Counts;
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::PageParams;
use plaza_kernel::schema::users;
use plaza_kernel::syslog::{self, Event, Level};
use plaza_kernel::{
    ApiError, ApiResult, Cache, Caller, Config, Db, Page, PageRequest, Services, ValidJson,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::require_login_session;
use crate::avatar::{self, MAX_AVATAR_BYTES};
use crate::login_log::{self, LoginLog};
use crate::model::User;
use crate::password::{
    check_confirmation, hash_password_async, validate_new_password, verify_password_async,
};
use crate::profile::{self, Profile, ProfilePatch};
use crate::public::media_url;
use crate::service;
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
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "A staff-only field", body = ErrorBody),
        (status = 409, description = "Username or email taken", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn replace_me(
    services: web::Data<Services>,
    sessions: Option<web::Data<dyn Sessions>>,
    caller: Caller,
    body: ValidJson<UserPatch>,
) -> ApiResult<HttpResponse> {
    let id = caller.id;
    let user =
        service::update_account(&services, sessions, caller, id, body.into_inner(), true).await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Changes some of the caller's fields, and with `profile` some of their profile.
#[utoipa::path(patch, path = "/api/v1/users/me/", tag = "users",
    request_body = UserPatch,
    responses(
        (status = 200, description = "Updated", body = UserDetail),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "A staff-only field", body = ErrorBody),
        (status = 409, description = "Username or email taken", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn patch_me(
    services: web::Data<Services>,
    sessions: Option<web::Data<dyn Sessions>>,
    caller: Caller,
    body: ValidJson<UserPatch>,
) -> ApiResult<HttpResponse> {
    let id = caller.id;
    let user =
        service::update_account(&services, sessions, caller, id, body.into_inner(), false).await?;
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
    db: web::Data<Db>,
    cache: web::Data<Cache>,
    tokens: web::Data<TokenCodec>,
    sessions: Option<web::Data<dyn Sessions>>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    require_login_session(&caller)?;
    let id = caller.id;
    db.transaction(move |conn| {
        service::deactivate_me(conn, &caller, sessions.as_ref().map(|s| s.get_ref()))
    })
    .await?;
    revocation::revoke_all_access(&cache, id, tokens.access_ttl).await?;
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
    let profile = db
        .transaction(move |conn| Ok(profile::update(conn, caller.id, &patch)?))
        .await?;
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
    let update = body.into_inner();
    let settings = db
        .transaction(move |conn| service::update_settings(conn, caller.id, &update))
        .await?;
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
    sessions: Option<web::Data<dyn Sessions>>,
    caller: Caller,
    body: ValidJson<PasswordChange>,
) -> ApiResult<HttpResponse> {
    let Services {
        db, cache, tokens, ..
    } = services.get_ref();
    require_login_session(&caller)?;
    let body = body.into_inner();
    check_confirmation(
        "new_password_confirm",
        &body.new_password,
        body.new_password_confirm.as_deref(),
    )?;
    let id = caller.id;
    let user = db.run(move |conn| Ok(User::find(conn, id)?)).await?;
    if !verify_password_async(body.old_password.clone(), user.password.clone()).await? {
        return Err(ApiError::invalid_field(
            "old_password",
            "Your old password was entered incorrectly. Please enter it again.",
        ));
    }
    validate_new_password(&body.new_password, &user)?;
    let hash = hash_password_async(body.new_password, settings.bcrypt_cost).await?;

    // Revoke every access token issued so far, then issue the new ones strictly later (the
    // revocation stamp has millisecond resolution).
    revocation::revoke_all_access(cache, id, tokens.access_ttl).await?;
    tokio::time::sleep(Duration::from_millis(3)).await;
    let client = ClientInfo::of(&req);
    let codec = tokens.clone();
    let pair = db
        .transaction(move |conn| {
            service::set_password(conn, id, &hash)?;
            syslog::record(
                conn,
                &Event::new(
                    Level::Info,
                    "users",
                    "password_changed",
                    format!("{} changed their password", caller.username),
                )
                .user(id)
                .ip(client.ip.clone()),
            )?;
            match sessions.as_ref().map(|s| s.get_ref()) {
                Some(sessions) => {
                    sessions.revoke_all(conn, id, "password_changed")?;
                    let user = User::find(conn, id)?;
                    Ok(Some(sessions.open(conn, &codec, &user, &client)?))
                }
                None => Ok(None),
            }
        })
        .await?;
    let (access, refresh) = match pair {
        Some(pair) => (pair.access, Some(pair.refresh)),
        None => (tokens.issue_access(&user.token_subject())?.token, None),
    };
    Ok(HttpResponse::Ok().json(PasswordChanged {
        detail: "Password changed. Other sessions have been signed out.".to_owned(),
        access,
        refresh,
    }))
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
    db: web::Data<Db>,
    config: web::Data<Config>,
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

    let media_root = config.media_root.clone();
    let user_id = caller.id;
    let root = media_root.clone();
    let (path, thumb) =
        tokio::task::spawn_blocking(move || avatar::store(&root, user_id, &processed))
            .await?
            .map_err(ApiError::internal)?;
    let (new_path, new_thumb) = (path.clone(), thumb.clone());
    let replaced = db
        .transaction(move |conn| {
            use diesel::prelude::*;
            let user = User::find(conn, user_id)?;
            diesel::update(users::table.find(user_id))
                .set((
                    users::avatar.eq(&new_path),
                    users::avatar_thumbnail.eq(&new_thumb),
                    users::updated_at.eq(plaza_kernel::time::now()),
                ))
                .execute(conn)?;
            Ok([user.avatar, user.avatar_thumbnail])
        })
        .await;
    let old: Vec<String> = match replaced {
        Ok(old) => old.into_iter().flatten().collect(),
        Err(err) => {
            // Nothing refers to the new files: remove them.
            let root = media_root.clone();
            let files = vec![path, thumb];
            tokio::task::spawn_blocking(move || avatar::remove(&root, &files)).await?;
            return Err(err);
        }
    };
    tokio::task::spawn_blocking(move || avatar::remove(&media_root, &old)).await?;
    Ok(HttpResponse::Ok().json(AvatarOut {
        avatar: media_url(&path),
        avatar_thumbnail: media_url(&thumb),
    }))
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
    db: web::Data<Db>,
    config: web::Data<Config>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    let user_id = caller.id;
    let old = db
        .transaction(move |conn| {
            use diesel::prelude::*;
            let user = User::find(conn, user_id)?;
            diesel::update(users::table.find(user_id))
                .set((
                    users::avatar.eq(None::<String>),
                    users::avatar_thumbnail.eq(None::<String>),
                    users::updated_at.eq(plaza_kernel::time::now()),
                ))
                .execute(conn)?;
            Ok([user.avatar, user.avatar_thumbnail]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>())
        })
        .await?;
    let media_root = config.media_root.clone();
    tokio::task::spawn_blocking(move || avatar::remove(&media_root, &old)).await?;
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
