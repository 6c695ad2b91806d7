//! Register, login, the second factor, logout, refresh, token verification, WebSocket tickets.

use actix_web::{web, HttpRequest, HttpResponse};
use plaza_kernel::auth::{tickets, TokenCodec};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::settings::Settings;
use plaza_kernel::{ApiError, ApiResult, Body, Cache, Caller, Db, Services, ValidJson};
use plaza_users::settings::UsersSettings;
use plaza_users::ClientInfo;

use crate::login::LoginContext;
use crate::service;
use crate::types::{
    Empty, LoginOutcome, LoginRequest, LoginResponse, RefreshRequest, RegisterRequest,
    RegisterResponse, TokenPairOut, TwoFactorVerify, VerifyTokenRequest, WsTicket,
};

/// Creates an account, queues the verification email, and signs the new user in.
#[utoipa::path(post, path = "/api/v1/auth/register/", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered and signed in", body = RegisterResponse),
        (status = 400, description = "Invalid or taken field (username, email: case-insensitively), weak or mismatched password", body = ErrorBody),
        (status = 429, description = "Too many registrations from this address (THROTTLE_REGISTER); see Retry-After", body = ErrorBody),
    ))]
pub async fn register(
    req: HttpRequest,
    services: web::Data<Services>,
    settings: Settings<UsersSettings>,
    body: Body<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let client = ClientInfo::of(&req);
    let response = service::register(&services, &settings, client, body).await?;
    Ok(HttpResponse::Created().json(response))
}

/// Signs in with a username (or email) and password. With two-factor authentication on,
/// answers a challenge for `2fa/verify/` unless `otp_code` is sent. Five failures for an
/// account, or twenty from an address, within 15 minutes lock logins (429, `Retry-After`).
#[utoipa::path(post, path = "/api/v1/auth/login/", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in, or a second factor is needed", body = LoginOutcome),
        (status = 400, description = "Missing field", body = ErrorBody),
        (status = 401, description = "Unknown user, wrong password or wrong code (`invalid_credentials`)", body = ErrorBody),
        (status = 429, description = "Locked out; see Retry-After", body = ErrorBody),
    ))]
pub async fn login(
    req: HttpRequest,
    db: web::Data<Db>,
    settings: Settings<UsersSettings>,
    cache: web::Data<Cache>,
    tokens: web::Data<TokenCodec>,
    body: ValidJson<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let Some(login) = body
        .username
        .or(body.email)
        .filter(|l| !l.trim().is_empty())
    else {
        return Err(ApiError::invalid_field(
            "username",
            "This field is required.",
        ));
    };
    let context = LoginContext {
        db,
        cache,
        codec: tokens,
        bcrypt_cost: settings.bcrypt_cost,
    };
    let outcome = context
        .password_login(login, body.password, body.otp_code, ClientInfo::of(&req))
        .await?;
    Ok(HttpResponse::Ok().json(outcome))
}

/// Completes a login with a TOTP code or an unused recovery code.
#[utoipa::path(post, path = "/api/v1/auth/2fa/verify/", tag = "auth",
    request_body = TwoFactorVerify,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 401, description = "Bad or expired challenge, or wrong code", body = ErrorBody),
        (status = 429, description = "Locked out; see Retry-After", body = ErrorBody),
    ))]
pub async fn verify_two_factor(
    req: HttpRequest,
    db: web::Data<Db>,
    settings: Settings<UsersSettings>,
    cache: web::Data<Cache>,
    tokens: web::Data<TokenCodec>,
    body: ValidJson<TwoFactorVerify>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let context = LoginContext {
        db,
        cache,
        codec: tokens,
        bcrypt_cost: settings.bcrypt_cost,
    };
    let response = context
        .verify_challenge(&body.challenge_token, body.code, ClientInfo::of(&req))
        .await?;
    Ok(HttpResponse::Ok().json(response))
}

/// Signs out: ends the session of `refresh` (which must be the caller's) and revokes the
/// access token used for this request and those of the session.
#[utoipa::path(post, path = "/api/v1/auth/logout/", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out"),
        (status = 400, description = "Missing refresh", body = ErrorBody),
        (status = 401, description = "Not signed in, or a bad refresh token", body = ErrorBody),
    ),
    security(("jwt" = [])))]
pub async fn logout(
    services: web::Data<Services>,
    caller: Caller,
    body: ValidJson<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    service::logout(&services, &caller, body.into_inner().refresh).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Exchanges a refresh token for a new pair. The token sent is spent; sending a spent one
/// again revokes its whole session (a security event is logged).
#[utoipa::path(post, path = "/api/v1/auth/refresh-token/", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair", body = TokenPairOut),
        (status = 401, description = "Invalid, expired, spent or revoked token", body = ErrorBody),
    ))]
pub async fn refresh_token(
    req: HttpRequest,
    services: web::Data<Services>,
    body: ValidJson<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let client = ClientInfo::of(&req);
    let pair = service::refresh(&services, body.into_inner().refresh, client).await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// Checks an access or refresh token: 200 `{}` when valid, 401 otherwise.
#[utoipa::path(post, path = "/api/v1/auth/verify-token/", tag = "auth",
    request_body = VerifyTokenRequest,
    responses(
        (status = 200, description = "Valid", body = Empty),
        (status = 401, description = "Invalid, expired or revoked", body = ErrorBody),
    ))]
pub async fn verify_token(
    services: web::Data<Services>,
    body: ValidJson<VerifyTokenRequest>,
) -> ApiResult<HttpResponse> {
    service::verify_token(&services, body.into_inner().token).await?;
    Ok(HttpResponse::Ok().json(Empty {}))
}

/// A one-time ticket for opening a WebSocket (`?ticket=`), valid 30 seconds.
#[utoipa::path(post, path = "/api/v1/auth/ws-ticket/", tag = "auth",
    responses(
        (status = 200, description = "A ticket", body = WsTicket),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn ws_ticket(cache: web::Data<Cache>, caller: Caller) -> ApiResult<HttpResponse> {
    let ticket = tickets::issue(&cache, &caller).await?;
    Ok(HttpResponse::Ok().json(WsTicket {
        ticket,
        expires_in: tickets::TICKET_TTL.as_secs(),
    }))
}
