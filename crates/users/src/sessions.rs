//! Login sessions, as far as the users domain needs them.
//!
//! Sessions (refresh-token families) belong to the authentication domain, which depends on
//! this crate. Account changes made here must still end or renew them: a password change
//! revokes every session and opens a fresh one for the caller; deactivating an account
//! revokes them all. The authentication domain implements [`Sessions`] and registers it as
//! `web::Data<dyn Sessions>`; mounted without it, those changes only revoke access tokens
//! (there are no sessions to end).

use actix_web::HttpRequest;
use diesel::QueryResult;
use plaza_kernel::auth::TokenCodec;
use plaza_kernel::{ApiResult, DbConn};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::User;

/// Where a request came from, for session, login and audit records.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    /// The client's address.
    pub ip: Option<String>,
    /// Its `User-Agent`, cut to 255 bytes.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The client of `req` (honouring `TRUST_PROXY_HEADERS`).
    pub fn of(req: &HttpRequest) -> Self {
        Self {
            ip: plaza_kernel::http::client_ip(req),
            user_agent: plaza_kernel::http::user_agent(req)
                .map(|ua| plaza_kernel::syslog::truncate(&ua, 255).to_owned()),
        }
    }
}

/// A new access and refresh token.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    /// Access token (JWT, short-lived).
    pub access: String,
    /// Refresh token (JWT, long-lived, single use).
    pub refresh: String,
}

/// What the authentication domain does for account changes made here.
pub trait Sessions: Send + Sync + 'static {
    /// Ends every live session of `user_id`; returns how many. Runs inside the caller's
    /// transaction.
    fn revoke_all(
        &self,
        conn: &mut DbConn,
        user_id: i64,
        reason: &'static str,
    ) -> QueryResult<usize>;

    /// Opens a new session for `user` and returns its first tokens.
    fn open(
        &self,
        conn: &mut DbConn,
        tokens: &TokenCodec,
        user: &User,
        client: &ClientInfo,
    ) -> ApiResult<TokenPair>;
}
