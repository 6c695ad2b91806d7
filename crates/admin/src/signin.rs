//! Signing in and out. The password check, lockouts and second factor are the authentication
//! domain's own ([`LoginContext`]); the API session that login opens is closed at once (the
//! console keeps its own session), and an account that is not staff is refused.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use plaza_authentication::login::LoginContext;
use plaza_authentication::sessions;
use plaza_authentication::types::{LoginOutcome, LoginResponse};
use plaza_kernel::crypto::random_token;
use plaza_kernel::syslog::{self, Event, Level};
use plaza_kernel::{ApiError, Services};
use plaza_users::{ClientInfo, UsersSettings};
use serde::Deserialize;

use crate::forms::FormData;
use crate::render::{redirect, ConsoleData, PageError};
use crate::session::{self, check_token, Staff, LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_TTL};

/// `?next=` of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only paths inside the console are followed after signing in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/admin/") && !n.starts_with("//") && !n.contains("\\") => {
            n.to_owned()
        }
        _ => "/admin/".to_owned(),
    }
}

fn login_page(
    console: &ConsoleData,
    status: StatusCode,
    csrf: &str,
    next: &str,
    username: &str,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    console.page(
        status,
        "login.html",
        None,
        minijinja::context! { login_csrf => csrf, next => next, username => username, error => error },
    )
}

/// `GET /admin/login/`: the sign-in form, with a fresh CSRF cookie when there is none.
pub async fn login_form(
    req: HttpRequest,
    console: ConsoleData,
    query: web::Query<Next>,
) -> Result<HttpResponse, PageError> {
    let services = session::services(&req)?;
    let existing = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned());
    let csrf = existing.clone().unwrap_or_else(|| random_token(32));
    let next = safe_next(query.next.as_deref());
    let mut response = login_page(&console, StatusCode::OK, &csrf, &next, "", None)?;
    if existing.is_none() {
        response
            .add_cookie(&session::cookie(
                LOGIN_CSRF_COOKIE,
                csrf,
                session::secure(&services),
                SESSION_TTL,
            ))
            .map_err(|e| ApiError::internal(e.to_string()))?;
    }
    Ok(response)
}

fn context(services: &Services) -> LoginContext {
    LoginContext {
        db: services.db.clone(),
        cache: services.cache.clone(),
        codec: services.tokens.clone(),
        bcrypt_cost: services
            .sections
            .get_or_default::<UsersSettings>()
            .bcrypt_cost,
    }
}

/// `POST /admin/login/`: username (or email) and password.
pub async fn login(
    req: HttpRequest,
    console: ConsoleData,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let services = session::services(&req)?;
    let form = FormData::parse(&body)?;
    let cookie_csrf = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned());
    check_token(cookie_csrf.as_deref().unwrap_or(""), form.get("csrf"))?;
    let csrf = cookie_csrf.unwrap_or_default();
    let next = safe_next(form.get("next"));
    let username = form.get("username").unwrap_or("").trim().to_owned();
    let password = form.get("password").unwrap_or("").to_owned();
    if username.is_empty() || password.is_empty() {
        return login_page(
            &console,
            StatusCode::BAD_REQUEST,
            &csrf,
            &next,
            &username,
            Some("Enter your username and password."),
        );
    }
    let outcome = context(&services)
        .password_login(username.clone(), password, None, ClientInfo::of(&req))
        .await;
    match outcome {
        Ok(LoginOutcome::Tokens(response)) => {
            finish(&req, &services, &console, *response, &csrf, &next).await
        }
        Ok(LoginOutcome::Challenge(challenge)) => console.page(
            StatusCode::OK,
            "two_factor.html",
            None,
            minijinja::context! {
                login_csrf => csrf,
                next => next,
                challenge => challenge.challenge_token,
            },
        ),
        Err(error) => login_page(
            &console,
            error.status(),
            &csrf,
            &next,
            &username,
            Some(error.detail()),
        ),
    }
}

/// `POST /admin/login/2fa/`: the second step, a TOTP or recovery code.
pub async fn second_factor(
    req: HttpRequest,
    console: ConsoleData,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let services = session::services(&req)?;
    let form = FormData::parse(&body)?;
    let cookie_csrf = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned());
    check_token(cookie_csrf.as_deref().unwrap_or(""), form.get("csrf"))?;
    let csrf = cookie_csrf.unwrap_or_default();
    let next = safe_next(form.get("next"));
    let challenge = form.get("challenge").unwrap_or("").to_owned();
    let code = form.get("code").unwrap_or("").trim().to_owned();
    match context(&services)
        .verify_challenge(&challenge, code, ClientInfo::of(&req))
        .await
    {
        Ok(response) => finish(&req, &services, &console, response, &csrf, &next).await,
        Err(error) => console.page(
            error.status(),
            "two_factor.html",
            None,
            minijinja::context! {
                login_csrf => csrf,
                next => next,
                challenge => challenge,
                error => error.detail(),
            },
        ),
    }
}

/// A login went through: close the API session it opened, refuse non-staff, open the
/// console's session.
async fn finish(
    req: &HttpRequest,
    services: &Services,
    console: &ConsoleData,
    response: LoginResponse,
    csrf: &str,
    next: &str,
) -> Result<HttpResponse, PageError> {
    let user = response.user;
    let (codec, refresh, user_id) = (services.tokens.clone(), response.refresh, user.id);
    let revoke = services
        .db
        .transaction(move |conn| sessions::logout(conn, &codec, user_id, &refresh))
        .await?;
    sessions::revoke_access_tokens(&services.cache, &revoke).await?;

    let staff = user.is_staff || user.is_superuser || user.role == plaza_kernel::Role::Admin;
    let ip = plaza_kernel::http::client_ip(req);
    let (username, event_ip) = (user.username.clone(), ip.clone());
    services
        .db
        .run(move |conn| {
            let event = if staff {
                Event::new(
                    Level::Info,
                    "admin",
                    "admin_sign_in",
                    format!("{username} signed in to the staff console"),
                )
            } else {
                Event::new(
                    Level::Warning,
                    "admin",
                    "admin_sign_in_refused",
                    format!("{username} is not staff and was refused the staff console"),
                )
            };
            Ok(syslog::record(conn, &event.user(user_id).ip(event_ip))?)
        })
        .await?;
    if !staff {
        return login_page(
            console,
            StatusCode::FORBIDDEN,
            csrf,
            next,
            &user.username,
            Some("This account is not staff; the console is for staff only."),
        );
    }
    let token = session::open(&services.cache, user.id).await?;
    let mut response = redirect(next);
    let secure = session::secure(services);
    response
        .add_cookie(&session::cookie(SESSION_COOKIE, token, secure, SESSION_TTL))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    response
        .add_removal_cookie(&session::removal(LOGIN_CSRF_COOKIE, secure))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(response)
}

/// `POST /admin/logout/`: ends the session.
pub async fn logout(
    req: HttpRequest,
    staff: Staff,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    staff.form(&body)?;
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        session::close(&staff.services.cache, cookie.value()).await?;
    }
    let mut response = redirect("/admin/login/");
    response
        .add_removal_cookie(&session::removal(
            SESSION_COOKIE,
            session::secure(&staff.services),
        ))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(response)
}
