//! The console's session: a random token in an `HttpOnly`, `SameSite=Strict` cookie (`Secure`
//! unless `DEBUG`), kept in the Cache only as its SHA-256 under a fixed lifetime, with the
//! session's CSRF token. Every request re-reads the account, so a deactivated or demoted
//! staff member is out at their next click.

use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, FromRequest, HttpRequest};
use plaza_kernel::auth::{Caller, Credential};
use plaza_kernel::crypto::{constant_time_eq, random_token, sha256_hex};
use plaza_kernel::{ApiError, ApiResult, Cache, Services};
use serde::{Deserialize, Serialize};

use crate::forms::FormData;
use crate::render::PageError;

/// The session cookie.
pub const SESSION_COOKIE: &str = "plaza_admin_session";
/// The sign-in form's CSRF cookie (double submit, before there is a session).
pub const LOGIN_CSRF_COOKIE: &str = "plaza_admin_csrf";
/// How long a console session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

#[derive(Serialize, Deserialize)]
struct Stored {
    user_id: i64,
    csrf: String,
}

fn key(token: &str) -> String {
    format!("admin:session:{}", sha256_hex(token))
}

/// Opens a session for `user_id`; the token for the cookie.
pub async fn open(cache: &Cache, user_id: i64) -> ApiResult<String> {
    let token = random_token(32);
    let stored = Stored {
        user_id,
        csrf: random_token(32),
    };
    let value = serde_json::to_string(&stored).map_err(|e| ApiError::internal(e.to_string()))?;
    cache.set(&key(&token), &value, Some(SESSION_TTL)).await?;
    Ok(token)
}

/// Ends the session of `token`.
pub async fn close(cache: &Cache, token: &str) -> ApiResult<()> {
    cache.delete(&key(token)).await?;
    Ok(())
}

/// Whether cookies need `Secure` (everywhere but `DEBUG`).
pub fn secure(services: &Services) -> bool {
    !services.config.debug
}

/// A console cookie: `HttpOnly`, `SameSite=Strict`, under `/admin/`.
pub fn cookie(
    name: &'static str,
    value: String,
    secure: bool,
    max_age: Duration,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/admin/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ))
        .finish()
}

/// A cookie that removes `name`.
pub fn removal(name: &'static str, secure: bool) -> Cookie<'static> {
    let mut c = cookie(name, String::new(), secure, Duration::ZERO);
    c.make_removal();
    c
}

/// The kernel's services, as the console needs them on every page.
pub fn services(req: &HttpRequest) -> Result<Services, PageError> {
    req.app_data::<web::Data<Services>>()
        .map(|s| s.get_ref().clone())
        .ok_or_else(|| {
            PageError::Api(ApiError::internal(
                "plaza-admin needs the kernel's Services",
            ))
        })
}

/// A signed-in staff member, extracted from the session cookie; anyone else is sent to the
/// sign-in page.
#[derive(Clone)]
pub struct Staff {
    /// The staff member as the domains' services see them.
    pub caller: Caller,
    /// The session's CSRF token, for the forms.
    pub csrf: String,
    /// The kernel's services.
    pub services: Services,
}

impl std::fmt::Debug for Staff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staff")
            .field("caller", &self.caller.username)
            .finish_non_exhaustive()
    }
}

impl Staff {
    /// 403 unless the form carries this session's CSRF token.
    pub fn check_csrf(&self, form: &FormData) -> Result<(), PageError> {
        check_token(&self.csrf, form.get("csrf"))
    }

    /// A posted form, once it has shown this session's CSRF token: how every console POST
    /// reads its body, so none can forget the check.
    pub fn form(&self, body: &[u8]) -> Result<FormData, PageError> {
        let form = FormData::parse(body)?;
        self.check_csrf(&form)?;
        Ok(form)
    }
}

/// 403 unless `given` is `expected`.
pub fn check_token(expected: &str, given: Option<&str>) -> Result<(), PageError> {
    match given {
        Some(given)
            if !expected.is_empty() && constant_time_eq(expected.as_bytes(), given.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(PageError::Csrf),
    }
}

fn sign_in_first(req: &HttpRequest) -> PageError {
    PageError::SignIn(
        req.uri()
            .path_and_query()
            .map_or("/admin/", |p| p.as_str())
            .to_owned(),
    )
}

async fn load(req: HttpRequest) -> Result<Staff, PageError> {
    let services = services(&req)?;
    let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
        return Err(sign_in_first(&req));
    };
    let Some(stored) = services
        .cache
        .get(&key(&token))
        .await
        .map_err(ApiError::from)?
        .and_then(|v| serde_json::from_str::<Stored>(&v).ok())
    else {
        return Err(sign_in_first(&req));
    };
    let user_id = stored.user_id;
    let subject = services
        .db
        .run(move |conn| Ok(plaza_users::User::active_subject(conn, user_id)?))
        .await?;
    let caller = match subject {
        Some(s) => Caller {
            id: s.user_id,
            username: s.username,
            role: s.role,
            is_staff: s.is_staff,
            is_superuser: s.is_superuser,
            credential: Credential::Console,
        },
        None => return Err(sign_in_first(&req)),
    };
    if !caller.is_staff() {
        close(&services.cache, &token).await?;
        return Err(sign_in_first(&req));
    }
    Ok(Staff {
        caller,
        csrf: stored.csrf,
        services,
    })
}

impl FromRequest for Staff {
    type Error = PageError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        Box::pin(load(req.clone()))
    }
}
