//! Email verification and password reset.

use plaza_kernel::settings::Settings;
use plaza_users::settings::UsersSettings;
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use plaza_kernel::auth::{revocation, TokenCodec};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::syslog::{self, Event, Level};
use plaza_kernel::{ApiError, ApiResult, Cache, Caller, Config, Db, ValidJson};
use plaza_users::password::{check_confirmation, hash_password_async, validate_new_password};
use plaza_users::types::Detail;
use plaza_users::{ClientInfo, User};

use crate::account_tokens::{self, Purpose};
use crate::sessions::{self, revoke_access_tokens};
use crate::types::{PasswordResetConfirm, PasswordResetRequest, TokenRequest};

/// One mail of a kind per account per minute, so the endpoints cannot be used to flood an
/// inbox.
const MAIL_INTERVAL: Duration = Duration::from_secs(60);

/// Sends a password reset link when an active account has this email. Answers 202 either
/// way, so it cannot tell who has an account.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/", tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted (whether or not the account exists)", body = Detail),
        (status = 400, description = "Not an email address", body = ErrorBody),
    ))]
pub async fn request_password_reset(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    cache: web::Data<Cache>,
    body: ValidJson<PasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    let email = body.into_inner().email;
    let user = db
        .run(move |conn| Ok(User::find_by_email(conn, &email)?))
        .await?;
    if let Some(user) = user.filter(|u| u.is_active) {
        let throttle = format!("auth:reset-mail:{}", user.id);
        if cache.set_nx(&throttle, "1", Some(MAIL_INTERVAL)).await? {
            let ip = ClientInfo::of(&req).ip;
            db.transaction(move |conn| {
                account_tokens::send_reset(conn, &config, &user, ip.as_deref())
            })
            .await?;
        }
    }
    Ok(HttpResponse::Accepted().json(Detail::new(
        "If an account uses this email address, a password reset link has been sent to it.",
    )))
}

/// Sets a new password with the token from the reset email. Every session and access token
/// of the account is revoked; the address counts as verified.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm/", tag = "auth",
    request_body = PasswordResetConfirm,
    responses(
        (status = 200, description = "Password changed", body = Detail),
        (status = 400, description = "Invalid, used or expired token; weak or mismatched password", body = ErrorBody),
    ))]
pub async fn confirm_password_reset(
    req: HttpRequest,
    db: web::Data<Db>,
    settings: Settings<UsersSettings>,
    cache: web::Data<Cache>,
    tokens: web::Data<TokenCodec>,
    body: ValidJson<PasswordResetConfirm>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let token = body.token.clone();
    // Check the token and the password before spending the token on a weak password.
    let (_, user) = db
        .run(move |conn| account_tokens::find_live(conn, &token, Purpose::ResetPassword))
        .await?;
    check_confirmation(
        "new_password_confirm",
        &body.new_password,
        body.new_password_confirm.as_deref(),
    )?;
    validate_new_password(&body.new_password, &user)?;
    let hash = hash_password_async(body.new_password, settings.bcrypt_cost).await?;
    let ip = ClientInfo::of(&req).ip;
    let token = body.token;
    let (user_id, revoke) = db
        .transaction(move |conn| {
            let (row, user) = account_tokens::find_live(conn, &token, Purpose::ResetPassword)?;
            account_tokens::spend(conn, &row)?;
            plaza_users::service::set_password(conn, user.id, &hash)?;
            plaza_users::service::mark_verified(conn, user.id)?;
            let (_, revoke) = sessions::revoke_all(conn, user.id, "password_reset")?;
            syslog::record(
                conn,
                &Event::new(
                    Level::Info,
                    "authentication",
                    "password_reset",
                    format!("{} reset their password by email", user.username),
                )
                .user(user.id)
                .ip(ip),
            )?;
            Ok((user.id, revoke))
        })
        .await?;
    revoke_access_tokens(&cache, &revoke).await?;
    revocation::revoke_all_access(&cache, user_id, tokens.access_ttl).await?;
    Ok(HttpResponse::Ok().json(Detail::new(
        "Your password has been reset; sign in with the new one.",
    )))
}

/// Marks the email address verified with the token from the verification email.
#[utoipa::path(post, path = "/api/v1/auth/verify-email/", tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Verified", body = Detail),
        (status = 400, description = "Invalid, used or expired token", body = ErrorBody),
    ))]
pub async fn verify_email(
    db: web::Data<Db>,
    body: ValidJson<TokenRequest>,
) -> ApiResult<HttpResponse> {
    let token = body.into_inner().token;
    db.transaction(move |conn| {
        let (row, user) = account_tokens::find_live(conn, &token, Purpose::VerifyEmail)?;
        account_tokens::spend(conn, &row)?;
        Ok(plaza_users::service::mark_verified(conn, user.id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Detail::new("Your email address is verified.")))
}

/// Sends a new verification link to the caller (at most one a minute).
#[utoipa::path(post, path = "/api/v1/auth/verify-email/resend/", tag = "auth",
    responses(
        (status = 202, description = "Sent", body = Detail),
        (status = 400, description = "Already verified", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 429, description = "Sent less than a minute ago", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn resend_verification(
    req: HttpRequest,
    db: web::Data<Db>,
    config: web::Data<Config>,
    cache: web::Data<Cache>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    let id = caller.id;
    let user = db.run(move |conn| Ok(User::find(conn, id)?)).await?;
    if user.is_verified {
        return Err(ApiError::bad_request(
            "Your email address is already verified.",
        ));
    }
    let throttle = format!("auth:verify-mail:{id}");
    if !cache.set_nx(&throttle, "1", Some(MAIL_INTERVAL)).await? {
        let left = cache.ttl(&throttle).await?.unwrap_or(MAIL_INTERVAL);
        return Err(ApiError::throttled(left.as_secs().max(1)));
    }
    let ip = ClientInfo::of(&req).ip;
    db.transaction(move |conn| {
        account_tokens::send_verification(conn, &config, &user, ip.as_deref())
    })
    .await?;
    Ok(HttpResponse::Accepted().json(Detail::new(
        "A new verification link has been sent to your email address.",
    )))
}
