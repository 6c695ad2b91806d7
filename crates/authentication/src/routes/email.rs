//! Email verification and password reset.

use actix_web::{web, HttpRequest, HttpResponse};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::settings::Settings;
use plaza_kernel::{ApiResult, Body, Caller, Db, Services, ValidJson};
use plaza_users::settings::UsersSettings;
use plaza_users::types::Detail;
use plaza_users::ClientInfo;

use crate::service;
use crate::types::{PasswordResetConfirm, PasswordResetRequest, TokenRequest};

/// Sends a password reset link when an active account has this email. Answers 202 either
/// way, so it cannot tell who has an account.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/", tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted (whether or not the account exists)", body = Detail),
        (status = 429, description = "Too many requests from this address (THROTTLE_PASSWORD_RESET); see Retry-After", body = ErrorBody),
        (status = 400, description = "Not an email address", body = ErrorBody),
    ))]
pub async fn request_password_reset(
    req: HttpRequest,
    services: web::Data<Services>,
    settings: Settings<UsersSettings>,
    body: Body<PasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    let ip = ClientInfo::of(&req).ip;
    service::request_password_reset(&services, &settings, body, ip).await?;
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
    services: web::Data<Services>,
    settings: Settings<UsersSettings>,
    body: ValidJson<PasswordResetConfirm>,
) -> ApiResult<HttpResponse> {
    let ip = ClientInfo::of(&req).ip;
    service::confirm_password_reset(&services, settings.bcrypt_cost, body.into_inner(), ip).await?;
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
    service::verify_email(&db, body.into_inner().token).await?;
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
    services: web::Data<Services>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    let ip = ClientInfo::of(&req).ip;
    service::resend_verification(&services, &caller, ip).await?;
    Ok(HttpResponse::Accepted().json(Detail::new(
        "A new verification link has been sent to your email address.",
    )))
}
