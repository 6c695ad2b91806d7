//! # plaza-authentication
//!
//! Registration, login (bcrypt against a dummy hash for unknown users, lockouts per account
//! and per address shared through the Cache, Django PBKDF2 hashes accepted and upgraded),
//! JWT sessions with rotating refresh tokens whose reuse revokes their family, logout,
//! email verification and password reset with single-use hashed tokens sent as mail jobs,
//! TOTP two-factor authentication with recovery codes, API keys (the kernel's
//! `ApiKeyResolver`), WebSocket tickets, and the list of live sessions.
//!
//! Mount it with [`configure`] in an actix app holding the kernel's `Db`, `Config`, `Cache`
//! and `TokenCodec`: it adds the `/api/v1/auth/` scope and registers, app-wide, the API-key
//! resolver (so every domain accepts API keys) and the users domain's [`plaza_users::Sessions`]
//! hook (so password changes and deactivations end sessions). [`register_jobs`] adds the
//! hourly cleanup of what expired ([`cleanup::cleanup_expired`]) to the job registry.

pub mod account_tokens;
pub mod admin;
pub mod api_keys;
pub mod attempts;
pub mod cleanup;
pub mod lockout;
pub mod login;
pub mod routes;
pub mod service;
pub mod sessions;
pub mod two_factor;
pub mod types;

use std::sync::Arc;

use actix_web::web;
use plaza_kernel::auth::ApiKeyResolver;
use utoipa::OpenApi;

pub use cleanup::register_jobs;

/// Authentication, as a Plaza server mounts it: `/api/v1/auth/`, the API-key resolver and
/// sessions hook, and the hourly cleanup of what expired. Its settings (`BCRYPT_COST`) are
/// the users domain's; JWT lifetimes are the kernel's.
pub const DOMAIN: plaza_kernel::domain::Domain = plaza_kernel::domain::Domain {
    name: "authentication",
    settings: |_, _| {},
    configure,
    openapi: <ApiDoc as OpenApi>::openapi,
    jobs: register_jobs,
    counts: |counts, _| counts,
    start: |_| None,
    before_user_delete: |_, _| Ok(()),
    admin: admin::ADMIN,
};

use routes::{api_keys as keys, auth, email, sessions as session_routes, two_factor as tfa};

/// Mounts `/api/v1/auth/` and registers the API-key resolver and the sessions hook app-wide.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let resolver: Arc<dyn ApiKeyResolver> = Arc::new(api_keys::ApiKeys);
    let store: Arc<dyn plaza_users::Sessions> = Arc::new(sessions::SessionStore);
    cfg.app_data(web::Data::from(resolver))
        .app_data(web::Data::from(store))
        .service(
            web::scope("/api/v1/auth")
                .service(web::resource("/register/").post(auth::register))
                .service(web::resource("/login/").post(auth::login))
                .service(web::resource("/logout/").post(auth::logout))
                .service(web::resource("/refresh-token/").post(auth::refresh_token))
                .service(web::resource("/verify-token/").post(auth::verify_token))
                .service(web::resource("/ws-ticket/").post(auth::ws_ticket))
                .service(web::resource("/password-reset/").post(email::request_password_reset))
                .service(
                    web::resource("/password-reset/confirm/").post(email::confirm_password_reset),
                )
                .service(web::resource("/verify-email/").post(email::verify_email))
                .service(web::resource("/verify-email/resend/").post(email::resend_verification))
                .service(web::resource("/2fa/").get(tfa::two_factor_status))
                .service(web::resource("/2fa/enable/").post(tfa::enable_two_factor))
                .service(web::resource("/2fa/confirm/").post(tfa::confirm_two_factor))
                .service(web::resource("/2fa/disable/").post(tfa::disable_two_factor))
                .service(web::resource("/2fa/verify/").post(auth::verify_two_factor))
                .service(
                    web::resource("/api-keys/")
                        .get(keys::list_api_keys)
                        .post(keys::create_api_key),
                )
                .service(web::resource("/api-keys/{id}/").delete(keys::delete_api_key))
                .service(web::resource("/sessions/").get(session_routes::list_sessions))
                .service(web::resource("/sessions/{id}/").delete(session_routes::delete_session)),
        );
}

/// The OpenAPI description of `/api/v1/auth/`.
#[derive(OpenApi)]
#[openapi(
    paths(
        auth::register,
        auth::login,
        auth::verify_two_factor,
        auth::logout,
        auth::refresh_token,
        auth::verify_token,
        auth::ws_ticket,
        email::request_password_reset,
        email::confirm_password_reset,
        email::verify_email,
        email::resend_verification,
        tfa::two_factor_status,
        tfa::enable_two_factor,
        tfa::confirm_two_factor,
        tfa::disable_two_factor,
        keys::list_api_keys,
        keys::create_api_key,
        keys::delete_api_key,
        session_routes::list_sessions,
        session_routes::delete_session,
    ),
    components(schemas(
        types::RegisterRequest,
        types::RegisterResponse,
        types::LoginRequest,
        types::LoginResponse,
        types::LoginOutcome,
        types::TwoFactorChallenge,
        types::TwoFactorVerify,
        types::RefreshRequest,
        types::TokenPairOut,
        types::VerifyTokenRequest,
        types::PasswordResetRequest,
        types::PasswordResetConfirm,
        types::TokenRequest,
        types::TwoFactorEnrollment,
        types::CodeRequest,
        types::RecoveryCodes,
        types::TwoFactorDisable,
        types::TwoFactorStatus,
        types::NewApiKey,
        types::CreatedApiKey,
        types::ApiKeyView,
        types::SessionView,
        types::WsTicket,
        types::Empty,
    )),
    tags((name = "auth", description = "Registration, login, tokens, email flows, 2FA, API keys, sessions"))
)]
pub struct ApiDoc;
