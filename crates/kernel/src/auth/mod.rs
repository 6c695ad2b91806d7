//! Who is calling: credentials resolved once per request into a [`Caller`].
//!
//! Handlers take `Caller` (401 without valid credentials) or `Option<Caller>` (anonymous
//! allowed, but a bad credential is still 401, as DRF does). Accepted credentials:
//! `Authorization: Bearer <access JWT>`, `Authorization: Api-Key <key>`, `X-API-Key: <key>`,
//! and `Authorization: Bearer plz_<key>` (so OpenAI SDKs can pass an API key). WebSockets add
//! `?token=` and one-time `?ticket=` ([`authenticate_ws`]).
//!
//! API keys live in the authentication domain; it registers an [`ApiKeyResolver`] in app data.

pub mod revocation;
pub mod tickets;
mod tokens;

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use tokens::{Claims, IssuedToken, TokenCodec, TokenSubject, TokenType, CHALLENGE_TTL};

use crate::cache::Cache;
use crate::db::Db;
use crate::error::ApiError;

/// The prefix every Plaza API key starts with.
pub const API_KEY_PREFIX: &str = "plz_";

/// A user's role. Staff and superuser flags are separate, as in Django.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everyone.
    User,
    /// May edit and delete others' content.
    Moderator,
    /// May manage users and settings.
    Admin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Moderator => "moderator",
            Self::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self, ApiError> {
        match s {
            "user" => Ok(Self::User),
            "moderator" => Ok(Self::Moderator),
            "admin" => Ok(Self::Admin),
            _ => Err(ApiError::invalid_field(
                "role",
                "Must be one of: user, moderator, admin.",
            )),
        }
    }
}

/// How the caller proved who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A JWT access token.
    Access {
        /// Its id.
        jti: String,
        /// Its expiry, seconds since the epoch.
        expires_at: i64,
    },
    /// An API key.
    ApiKey {
        /// The key's row id.
        key_id: i64,
    },
    /// A one-time WebSocket ticket.
    Ticket,
    /// A staff console session (`/admin/`).
    Console,
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    /// User id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Django's `is_staff`.
    pub is_staff: bool,
    /// Django's `is_superuser`.
    pub is_superuser: bool,
    /// How they authenticated.
    pub credential: Credential,
}

impl Caller {
    /// Staff, superusers and admins.
    pub fn is_staff(&self) -> bool {
        self.is_staff || self.is_superuser || self.role == Role::Admin
    }

    /// Moderators and everyone above them.
    pub fn is_moderator(&self) -> bool {
        self.role >= Role::Moderator || self.is_staff()
    }

    /// The caller is `user_id`.
    pub fn is(&self, user_id: i64) -> bool {
        self.id == user_id
    }

    /// The owner of an object, or a moderator, may change it.
    pub fn can_moderate(&self, owner_id: i64) -> bool {
        self.is(owner_id) || self.is_moderator()
    }

    /// 403 unless staff.
    pub fn require_staff(&self) -> Result<(), ApiError> {
        if self.is_staff() {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// 403 unless moderator or above.
    pub fn require_moderator(&self) -> Result<(), ApiError> {
        if self.is_moderator() {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// 403 unless the caller owns the object or moderates.
    pub fn require_owner_or_moderator(&self, owner_id: i64) -> Result<(), ApiError> {
        if self.can_moderate(owner_id) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// The subject to sign new tokens for this caller.
    pub fn subject(&self) -> TokenSubject {
        TokenSubject {
            user_id: self.id,
            username: self.username.clone(),
            role: self.role,
            is_staff: self.is_staff,
            is_superuser: self.is_superuser,
        }
    }

    fn from_claims(claims: Claims) -> Self {
        Self {
            id: claims.user_id,
            username: claims.username,
            role: claims.role,
            is_staff: claims.is_staff,
            is_superuser: claims.is_superuser,
            credential: Credential::Access {
                jti: claims.jti,
                expires_at: claims.exp,
            },
        }
    }
}

/// A boxed future, for [`ApiKeyResolver`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Resolves an API key to its owner. The authentication domain implements it and registers
/// it as `web::Data<dyn ApiKeyResolver>` from its `configure`; it is handed the app's [`Db`]
/// (a domain's `configure` has no access to the services, so the resolver holds no state).
pub trait ApiKeyResolver: Send + Sync + 'static {
    /// `Ok(None)` for an unknown, revoked or expired key, or an inactive owner.
    fn resolve<'a>(
        &'a self,
        db: &'a Db,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Caller>, ApiError>>;
}

/// A credential as presented, before it is checked.
#[derive(Debug, PartialEq, Eq)]
enum Presented {
    Jwt(String),
    ApiKey(String),
    Ticket(String),
}

fn presented_in_headers(headers: &HeaderMap) -> Result<Option<Presented>, ApiError> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| ApiError::token_invalid("Invalid Authorization header."))?;
        let mut parts = value.split_whitespace();
        let scheme = parts.next().unwrap_or_default();
        let secret = parts.next();
        if parts.next().is_some() {
            return Err(ApiError::token_invalid(
                "Invalid Authorization header. Credentials string should not contain spaces.",
            ));
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            let token = secret.ok_or_else(|| {
                ApiError::token_invalid("Invalid Authorization header. No credentials provided.")
            })?;
            return Ok(Some(if token.starts_with(API_KEY_PREFIX) {
                Presented::ApiKey(token.to_owned())
            } else {
                Presented::Jwt(token.to_owned())
            }));
        }
        if scheme.eq_ignore_ascii_case("api-key") {
            let key = secret.ok_or_else(|| {
                ApiError::token_invalid("Invalid Authorization header. No credentials provided.")
            })?;
            return Ok(Some(Presented::ApiKey(key.to_owned())));
        }
        // Another scheme (Basic, …) is not ours: treat as no credentials, as DRF does.
    }
    if let Some(value) = headers.get("x-api-key") {
        let key = value
            .to_str()
            .map_err(|_| ApiError::token_invalid("Invalid API key."))?;
        return Ok(Some(Presented::ApiKey(key.trim().to_owned())));
    }
    Ok(None)
}

fn presented_in_query(req: &HttpRequest) -> Option<Presented> {
    let mut found = None;
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match key.as_ref() {
            "ticket" if !value.is_empty() => return Some(Presented::Ticket(value.into_owned())),
            "token" if !value.is_empty() => {
                found = Some(if value.starts_with(API_KEY_PREFIX) {
                    Presented::ApiKey(value.into_owned())
                } else {
                    Presented::Jwt(value.into_owned())
                });
            }
            _ => {}
        }
    }
    found
}

async fn resolve(req: &HttpRequest, presented: Presented) -> Result<Caller, ApiError> {
    let cache = req
        .app_data::<web::Data<Cache>>()
        .ok_or_else(|| ApiError::internal("Cache missing from app data"))?;
    match presented {
        Presented::Jwt(token) => {
            let codec = req
                .app_data::<web::Data<TokenCodec>>()
                .ok_or_else(|| ApiError::internal("TokenCodec missing from app data"))?;
            let claims = codec.decode(&token, TokenType::Access)?;
            if revocation::is_revoked(cache, &claims).await? {
                return Err(ApiError::token_invalid("Token has been revoked."));
            }
            Ok(Caller::from_claims(claims))
        }
        Presented::ApiKey(key) => {
            let resolver = req
                .app_data::<web::Data<dyn ApiKeyResolver>>()
                .ok_or_else(|| ApiError::token_invalid("API keys are not accepted here."))?;
            let db = req
                .app_data::<web::Data<Db>>()
                .ok_or_else(|| ApiError::internal("Db missing from app data"))?;
            resolver
                .resolve(db, &key)
                .await?
                .ok_or_else(|| ApiError::token_invalid("Invalid or expired API key."))
        }
        Presented::Ticket(ticket) => tickets::redeem(cache, &ticket)
            .await?
            .ok_or_else(|| ApiError::token_invalid("Invalid or expired ticket.")),
    }
}

/// The resolved caller, kept in the request's extensions so extractors resolve once.
#[derive(Clone)]
struct Resolved(Option<Caller>);

async fn caller_from_headers(req: &HttpRequest) -> Result<Option<Caller>, ApiError> {
    if let Some(Resolved(caller)) = req.extensions().get::<Resolved>() {
        return Ok(caller.clone());
    }
    let caller = match presented_in_headers(req.headers())? {
        Some(presented) => Some(resolve(req, presented).await?),
        None => None,
    };
    req.extensions_mut().insert(Resolved(caller.clone()));
    Ok(caller)
}

/// Authenticates a WebSocket upgrade: `?ticket=`, `?token=` (an access JWT or API key), or the
/// HTTP headers. `Ok(None)` when nothing was presented.
pub async fn authenticate_ws(req: &HttpRequest) -> Result<Option<Caller>, ApiError> {
    match presented_in_query(req) {
        Some(presented) => resolve(req, presented).await.map(Some),
        None => caller_from_headers(req).await,
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            caller_from_headers(&req)
                .await?
                .ok_or_else(ApiError::not_authenticated)
        })
    }
}

/// Optional authentication: anonymous is `None`; a bad credential is still 401.
#[derive(Clone, Debug)]
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequest for MaybeCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { caller_from_headers(&req).await.map(MaybeCaller) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                actix_web::http::header::HeaderName::from_static(k),
                HeaderValue::from_static(v),
            );
        }
        map
    }

    #[test]
    fn reads_every_accepted_header_form() {
        let jwt = presented_in_headers(&headers(&[("authorization", "Bearer abc.def.ghi")]));
        assert_eq!(jwt.unwrap(), Some(Presented::Jwt("abc.def.ghi".into())));
        let sdk = presented_in_headers(&headers(&[("authorization", "Bearer plz_secret")]));
        assert_eq!(sdk.unwrap(), Some(Presented::ApiKey("plz_secret".into())));
        let api = presented_in_headers(&headers(&[("authorization", "Api-Key plz_k")]));
        assert_eq!(api.unwrap(), Some(Presented::ApiKey("plz_k".into())));
        let x = presented_in_headers(&headers(&[("x-api-key", "plz_x")]));
        assert_eq!(x.unwrap(), Some(Presented::ApiKey("plz_x".into())));
        let basic = presented_in_headers(&headers(&[("authorization", "Basic Zm9vOmJhcg==")]));
        assert_eq!(basic.unwrap(), None);
    }

    #[test]
    fn malformed_bearer_is_refused() {
        let empty = presented_in_headers(&headers(&[("authorization", "Bearer")]));
        assert_eq!(empty.unwrap_err().code(), "token_invalid");
        let spaced = presented_in_headers(&headers(&[("authorization", "Bearer a b")]));
        assert_eq!(spaced.unwrap_err().code(), "token_invalid");
    }

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::Admin > Role::Moderator && Role::Moderator > Role::User);
        assert_eq!("moderator".parse::<Role>().unwrap(), Role::Moderator);
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn staff_and_moderator_helpers() {
        let user = Caller {
            id: 1,
            username: "u".into(),
            role: Role::User,
            is_staff: false,
            is_superuser: false,
            credential: Credential::Ticket,
        };
        assert!(user.can_moderate(1));
        assert!(!user.can_moderate(2));
        assert!(user.require_staff().is_err());
        let staff = Caller {
            is_staff: true,
            ..user.clone()
        };
        assert!(staff.is_moderator() && staff.can_moderate(2));
        let moderator = Caller {
            role: Role::Moderator,
            ..user
        };
        assert!(moderator.can_moderate(2) && !moderator.is_staff());
    }
}
