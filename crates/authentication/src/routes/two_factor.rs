//! `2fa/`: status, enrollment, confirmation, and turning it off.

use actix_web::{web, HttpResponse};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::{ApiResult, Body, Caller, Db};

use crate::types::{
    CodeRequest, RecoveryCodes, TwoFactorDisable, TwoFactorEnrollment, TwoFactorStatus,
};
use crate::{service, two_factor};

/// Whether two-factor authentication is on, and how many recovery codes are left.
#[utoipa::path(get, path = "/api/v1/auth/2fa/", tag = "auth",
    responses(
        (status = 200, description = "Status", body = TwoFactorStatus),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn two_factor_status(db: web::Data<Db>, caller: Caller) -> ApiResult<HttpResponse> {
    let status = db
        .run(move |conn| Ok(two_factor::status(conn, caller.id)?))
        .await?;
    Ok(HttpResponse::Ok().json(status))
}

/// Starts enrollment: a new secret, its `otpauth://` URL and a QR code (SVG). Nothing changes
/// for logins until `2fa/confirm/`.
#[utoipa::path(post, path = "/api/v1/auth/2fa/enable/", tag = "auth",
    responses(
        (status = 200, description = "A pending secret", body = TwoFactorEnrollment),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Called with an API key", body = ErrorBody),
        (status = 409, description = "Already enabled", body = ErrorBody),
    ),
    security(("jwt" = [])))]
pub async fn enable_two_factor(db: web::Data<Db>, caller: Caller) -> ApiResult<HttpResponse> {
    let enrollment = service::begin_two_factor(&db, &caller).await?;
    Ok(HttpResponse::Ok().json(enrollment))
}

/// Turns two-factor authentication on with a first code from the app; answers the ten
/// recovery codes (shown once).
#[utoipa::path(post, path = "/api/v1/auth/2fa/confirm/", tag = "auth",
    request_body = CodeRequest,
    responses(
        (status = 200, description = "Enabled", body = RecoveryCodes),
        (status = 400, description = "Wrong code, or no enrollment started", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Called with an API key", body = ErrorBody),
        (status = 409, description = "Already enabled", body = ErrorBody),
    ),
    security(("jwt" = [])))]
pub async fn confirm_two_factor(
    db: web::Data<Db>,
    caller: Caller,
    body: Body<CodeRequest>,
) -> ApiResult<HttpResponse> {
    let codes = service::confirm_two_factor(&db, &caller, body).await?;
    Ok(HttpResponse::Ok().json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Turns two-factor authentication off; needs the password and a code (TOTP or recovery).
#[utoipa::path(post, path = "/api/v1/auth/2fa/disable/", tag = "auth",
    request_body = TwoFactorDisable,
    responses(
        (status = 204, description = "Disabled"),
        (status = 400, description = "Wrong password or code, or not enabled", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Called with an API key", body = ErrorBody),
    ),
    security(("jwt" = [])))]
pub async fn disable_two_factor(
    db: web::Data<Db>,
    caller: Caller,
    body: Body<TwoFactorDisable>,
) -> ApiResult<HttpResponse> {
    service::disable_two_factor(&db, &caller, body).await?;
    Ok(HttpResponse::NoContent().finish())
}
