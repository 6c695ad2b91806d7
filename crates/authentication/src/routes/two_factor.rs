//! `2fa/`: status, enrollment, confirmation, and turning it off.

use actix_web::{web, HttpResponse};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::syslog::{self, Event, Level};
use plaza_kernel::{ApiError, ApiResult, Caller, Db, ValidJson};
use plaza_users::password::verify_password_async;
use plaza_users::routes::require_login_session;
use plaza_users::User;

use crate::two_factor;
use crate::types::{
    CodeRequest, RecoveryCodes, TwoFactorDisable, TwoFactorEnrollment, TwoFactorStatus,
};

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
    require_login_session(&caller)?;
    let enrollment = db
        .transaction(move |conn| {
            let user = User::find(conn, caller.id)?;
            two_factor::begin(conn, &user)
        })
        .await?;
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
    body: ValidJson<CodeRequest>,
) -> ApiResult<HttpResponse> {
    require_login_session(&caller)?;
    let code = body.into_inner().code;
    let codes = db
        .transaction(move |conn| {
            let user = User::find(conn, caller.id)?;
            let codes = two_factor::confirm(conn, &user, &code)?;
            syslog::record(
                conn,
                &Event::new(
                    Level::Info,
                    "authentication",
                    "two_factor_enabled",
                    format!("{} turned on two-factor authentication", user.username),
                )
                .user(user.id),
            )?;
            Ok(codes)
        })
        .await?;
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
    body: ValidJson<TwoFactorDisable>,
) -> ApiResult<HttpResponse> {
    require_login_session(&caller)?;
    let body = body.into_inner();
    let id = caller.id;
    let (user, row) = db
        .run(move |conn| {
            let user = User::find(conn, id)?;
            let row = two_factor::enabled(conn, id)?;
            Ok((user, row))
        })
        .await?;
    let Some(row) = row else {
        return Err(ApiError::bad_request(
            "Two-factor authentication is not enabled.",
        ));
    };
    if !verify_password_async(body.password, user.password.clone()).await? {
        return Err(ApiError::invalid_field("password", "Incorrect password."));
    }
    let code = body.code;
    db.transaction(move |conn| {
        if two_factor::verify(conn, &row, &user.username, &code)?.is_none() {
            return Err(ApiError::invalid_field("code", "Invalid code."));
        }
        two_factor::disable(conn, user.id)?;
        syslog::record(
            conn,
            &Event::new(
                Level::Warning,
                "authentication",
                "two_factor_disabled",
                format!("{} turned off two-factor authentication", user.username),
            )
            .user(user.id),
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
