//! Login sessions and refresh tokens.
//!
//! A login opens a session (`auth_sessions`): one refresh-token family, with its device and
//! address. Each refresh token is stored as its SHA-256 with the access token issued beside
//! it; refreshing spends the token (`used_at`) and issues the next pair in the same family.
//! Presenting a spent token again means it was stolen or replayed: the whole family is
//! revoked, with its access tokens, and a critical security event is logged.

use chrono::{DateTime, NaiveDateTime};
use diesel::prelude::*;
use plaza_kernel::auth::{revocation, Claims, TokenCodec, TokenSubject, TokenType};
use plaza_kernel::crypto::sha256_hex;
use plaza_kernel::schema::{auth_sessions, refresh_tokens};
use plaza_kernel::syslog::{self, Event, Level};
use plaza_kernel::{ApiError, ApiResult, Cache, DbConn, Page, PageRequest};
use plaza_users::{ClientInfo, Sessions, TokenPair, User};

use crate::types::SessionView;

/// A row of `auth_sessions`.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = auth_sessions)]
pub struct SessionRow {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Refresh-token family (the `family` claim).
    pub family: String,
    /// User agent at login.
    pub device: String,
    /// Last address.
    pub ip_address: Option<String>,
    /// Login time.
    pub created_at: NaiveDateTime,
    /// Last refresh.
    pub last_used_at: NaiveDateTime,
    /// Expiry of the newest refresh token.
    pub expires_at: NaiveDateTime,
    /// When it was revoked.
    pub revoked_at: Option<NaiveDateTime>,
    /// Why (`logout`, `reuse`, `password_changed`, …).
    pub revoked_reason: Option<String>,
}

/// A row of `refresh_tokens`.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    /// Id.
    pub id: i64,
    /// Its session.
    pub session_id: i64,
    /// SHA-256 of the token.
    pub token_hash: String,
    /// The token's `jti`.
    pub jti: String,
    /// The access token issued with it.
    pub access_jti: String,
    /// That access token's expiry.
    pub access_expires_at: NaiveDateTime,
    /// Address it was issued to.
    pub ip_address: Option<String>,
    /// Issued at.
    pub created_at: NaiveDateTime,
    /// Expiry.
    pub expires_at: NaiveDateTime,
    /// When it was spent.
    pub used_at: Option<NaiveDateTime>,
}

/// An access token to put on the revocation list once the transaction has committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToRevoke {
    /// Its `jti`.
    pub jti: String,
    /// Its expiry, seconds since the epoch.
    pub expires_at: i64,
}

/// Puts access tokens on the revocation list.
pub async fn revoke_access_tokens(cache: &Cache, tokens: &[AccessToRevoke]) -> ApiResult<()> {
    for token in tokens {
        revocation::revoke_access(cache, &token.jti, token.expires_at).await?;
    }
    Ok(())
}

fn from_epoch(secs: i64) -> NaiveDateTime {
    DateTime::from_timestamp(secs, 0).map_or_else(plaza_kernel::time::now, |t| t.naive_utc())
}

/// Opens a session for `user` and issues its first pair. Call it inside a transaction.
pub fn open(
    conn: &mut DbConn,
    codec: &TokenCodec,
    user: &User,
    client: &ClientInfo,
) -> ApiResult<TokenPair> {
    let family = uuid::Uuid::new_v4().simple().to_string();
    let now = plaza_kernel::time::now();
    diesel::insert_into(auth_sessions::table)
        .values((
            auth_sessions::user_id.eq(user.id),
            auth_sessions::family.eq(&family),
            auth_sessions::device.eq(client.user_agent.as_deref().unwrap_or("")),
            auth_sessions::ip_address.eq(client.ip.as_deref()),
            auth_sessions::created_at.eq(now),
            auth_sessions::last_used_at.eq(now),
            auth_sessions::expires_at.eq(now),
        ))
        .execute(conn)?;
    let session_id = plaza_kernel::db::last_insert_id(conn)?;
    issue(
        conn,
        codec,
        &user.token_subject(),
        session_id,
        &family,
        client,
    )
}

/// Issues the next pair of a session and stores the refresh token's hash.
fn issue(
    conn: &mut DbConn,
    codec: &TokenCodec,
    subject: &TokenSubject,
    session_id: i64,
    family: &str,
    client: &ClientInfo,
) -> ApiResult<TokenPair> {
    let refresh = codec.issue_refresh(subject, family)?;
    let access = codec.issue_access(subject)?;
    let now = plaza_kernel::time::now();
    let refresh_expires = from_epoch(refresh.expires_at);
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::token_hash.eq(sha256_hex(&refresh.token)),
            refresh_tokens::jti.eq(&refresh.jti),
            refresh_tokens::access_jti.eq(&access.jti),
            refresh_tokens::access_expires_at.eq(from_epoch(access.expires_at)),
            refresh_tokens::ip_address.eq(client.ip.as_deref()),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(refresh_expires),
        ))
        .execute(conn)?;
    diesel::update(auth_sessions::table.find(session_id))
        .set((
            auth_sessions::last_used_at.eq(now),
            auth_sessions::expires_at.eq(refresh_expires),
            auth_sessions::ip_address.eq(client.ip.as_deref()),
        ))
        .execute(conn)?;
    Ok(TokenPair {
        access: access.token,
        refresh: refresh.token,
    })
}

/// Ends a session; returns its access tokens that are still valid (to revoke in the Cache).
pub fn revoke_session(
    conn: &mut DbConn,
    session_id: i64,
    reason: &str,
) -> QueryResult<Vec<AccessToRevoke>> {
    let now = plaza_kernel::time::now();
    diesel::update(
        auth_sessions::table
            .find(session_id)
            .filter(auth_sessions::revoked_at.is_null()),
    )
    .set((
        auth_sessions::revoked_at.eq(now),
        auth_sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?;
    live_access_tokens(conn, &[session_id])
}

/// Ends every live session of `user_id`: how many, and their live access tokens.
pub fn revoke_all(
    conn: &mut DbConn,
    user_id: i64,
    reason: &str,
) -> QueryResult<(usize, Vec<AccessToRevoke>)> {
    let ids: Vec<i64> = auth_sessions::table
        .filter(auth_sessions::user_id.eq(user_id))
        .filter(auth_sessions::revoked_at.is_null())
        .select(auth_sessions::id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok((0, Vec::new()));
    }
    let now = plaza_kernel::time::now();
    diesel::update(auth_sessions::table.filter(auth_sessions::id.eq_any(&ids)))
        .set((
            auth_sessions::revoked_at.eq(now),
            auth_sessions::revoked_reason.eq(reason),
        ))
        .execute(conn)?;
    Ok((ids.len(), live_access_tokens(conn, &ids)?))
}

fn live_access_tokens(conn: &mut DbConn, session_ids: &[i64]) -> QueryResult<Vec<AccessToRevoke>> {
    let now = plaza_kernel::time::now();
    let rows: Vec<(String, NaiveDateTime)> = refresh_tokens::table
        .filter(refresh_tokens::session_id.eq_any(session_ids))
        .filter(refresh_tokens::access_expires_at.gt(now))
        .select((
            refresh_tokens::access_jti,
            refresh_tokens::access_expires_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(jti, expires)| AccessToRevoke {
            jti,
            expires_at: expires.and_utc().timestamp(),
        })
        .collect())
}

/// The stored token and its session, for a presented refresh token whose claims check out.
fn find(conn: &mut DbConn, claims: &Claims, token: &str) -> ApiResult<(RefreshRow, SessionRow)> {
    let found: Option<(RefreshRow, SessionRow)> = refresh_tokens::table
        .inner_join(auth_sessions::table)
        .filter(refresh_tokens::token_hash.eq(sha256_hex(token)))
        .select((RefreshRow::as_select(), SessionRow::as_select()))
        .first(conn)
        .optional()?;
    let Some((row, session)) = found else {
        return Err(ApiError::token_invalid(
            "Token is invalid or has been revoked.",
        ));
    };
    if session.user_id != claims.user_id
        || claims.family.as_deref() != Some(session.family.as_str())
    {
        return Err(ApiError::token_invalid("Token is invalid."));
    }
    Ok((row, session))
}

/// What presenting a refresh token did.
#[derive(Debug)]
pub enum Rotation {
    /// The token was spent and a new pair issued.
    Rotated(TokenPair),
    /// The token had been spent before: its family is revoked (commit, revoke these access
    /// tokens, then answer 401).
    Reused(Vec<AccessToRevoke>),
}

/// How long a spent refresh token may be spent again without revoking its session. Two tabs
/// of one browser refreshing at once send the same token twice within a moment; each gets a
/// pair of its own in the same session. A spent token presented later than this is a reuse
/// (a copy in someone else's hands) and ends the session.
pub const REUSE_GRACE: chrono::Duration = chrono::Duration::seconds(10);

/// `refresh-token/`. Call it inside a transaction; a reuse commits the family's revocation.
pub fn rotate(
    conn: &mut DbConn,
    codec: &TokenCodec,
    token: &str,
    client: &ClientInfo,
) -> ApiResult<Rotation> {
    let claims = codec.decode(token, TokenType::Refresh)?;
    let (row, session) = find(conn, &claims, token)?;
    if session.revoked_at.is_some() {
        return Err(ApiError::token_invalid("Token has been revoked."));
    }
    let now = plaza_kernel::time::now();
    if let Some(used_at) = row.used_at {
        if now.signed_duration_since(used_at) > REUSE_GRACE {
            return reused(conn, &session, client).map(Rotation::Reused);
        }
    }
    let user = User::find(conn, session.user_id).optional()?;
    let Some(user) = user.filter(|u| u.is_active) else {
        return Err(ApiError::token_invalid("User is inactive or deleted."));
    };
    if row.used_at.is_none() {
        // Spend it. When a concurrent request spent it first, that was a moment ago: within
        // the grace window, so this request gets a pair of its own as well.
        diesel::update(
            refresh_tokens::table
                .find(row.id)
                .filter(refresh_tokens::used_at.is_null()),
        )
        .set(refresh_tokens::used_at.eq(now))
        .execute(conn)?;
    }
    let pair = issue(
        conn,
        codec,
        &user.token_subject(),
        session.id,
        &session.family,
        client,
    )?;
    Ok(Rotation::Rotated(pair))
}

fn reused(
    conn: &mut DbConn,
    session: &SessionRow,
    client: &ClientInfo,
) -> ApiResult<Vec<AccessToRevoke>> {
    let revoke = revoke_session(conn, session.id, "reuse")?;
    syslog::record(
        conn,
        &Event::new(
            Level::Critical,
            "authentication",
            "refresh_token_reuse",
            format!(
                "A spent refresh token was presented again; session {} revoked",
                session.id
            ),
        )
        .user(session.user_id)
        .ip(client.ip.clone())
        .data(serde_json::json!({
            "session_id": session.id,
            "session_ip": session.ip_address,
            "device": session.device,
        })),
    )?;
    Ok(revoke)
}

/// `logout/`: ends the session of `token`, which must be the caller's.
pub fn logout(
    conn: &mut DbConn,
    codec: &TokenCodec,
    user_id: i64,
    token: &str,
) -> ApiResult<Vec<AccessToRevoke>> {
    let claims = codec.decode(token, TokenType::Refresh)?;
    if claims.user_id != user_id {
        return Err(ApiError::token_invalid("This refresh token is not yours."));
    }
    let (_, session) = find(conn, &claims, token)?;
    Ok(revoke_session(conn, session.id, "logout")?)
}

/// `verify-token/` for a refresh token: valid while unspent, unexpired and its session live.
pub fn check_refresh(conn: &mut DbConn, codec: &TokenCodec, token: &str) -> ApiResult<()> {
    let claims = codec.decode(token, TokenType::Refresh)?;
    let (row, session) = find(conn, &claims, token)?;
    if row.used_at.is_some() || session.revoked_at.is_some() {
        return Err(ApiError::token_invalid("Token has been revoked."));
    }
    Ok(())
}

/// The caller's live sessions, most recently used first.
pub fn list(conn: &mut DbConn, user_id: i64, page: PageRequest) -> ApiResult<Page<SessionView>> {
    let now = plaza_kernel::time::now();
    let live = || {
        auth_sessions::table
            .filter(auth_sessions::user_id.eq(user_id))
            .filter(auth_sessions::revoked_at.is_null())
            .filter(auth_sessions::expires_at.gt(now))
    };
    let count: i64 = live().count().get_result(conn)?;
    page.paginate(count, |window| {
        let rows: Vec<SessionRow> = live()
            .order((auth_sessions::last_used_at.desc(), auth_sessions::id.desc()))
            .limit(window.limit)
            .offset(window.offset)
            .select(SessionRow::as_select())
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|s| SessionView {
                id: s.id,
                device: s.device,
                ip_address: s.ip_address,
                created_at: plaza_kernel::time::utc(s.created_at),
                last_used_at: plaza_kernel::time::utc(s.last_used_at),
                expires_at: plaza_kernel::time::utc(s.expires_at),
            })
            .collect())
    })
}

/// `DELETE sessions/{id}/`: ends one of the caller's live sessions (404 for anyone else's).
pub fn delete(conn: &mut DbConn, user_id: i64, session_id: i64) -> ApiResult<Vec<AccessToRevoke>> {
    let live = diesel::select(diesel::dsl::exists(
        auth_sessions::table
            .find(session_id)
            .filter(auth_sessions::user_id.eq(user_id))
            .filter(auth_sessions::revoked_at.is_null()),
    ))
    .get_result::<bool>(conn)?;
    if !live {
        return Err(ApiError::not_found(
            "No live session of yours with this id.",
        ));
    }
    Ok(revoke_session(conn, session_id, "revoked_by_user")?)
}

/// Which sessions a staff list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// Not revoked and not expired.
    Live,
    /// Revoked (logout, reuse, staff, password change…).
    Revoked,
    /// Not revoked, but its last refresh token has expired.
    Expired,
}

impl SessionState {
    /// `live`, `revoked` or `expired`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "live" => Some(Self::Live),
            "revoked" => Some(Self::Revoked),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }

    /// The state of `session` now.
    pub fn of(session: &SessionRow) -> Self {
        if session.revoked_at.is_some() {
            Self::Revoked
        } else if session.expires_at <= plaza_kernel::time::now() {
            Self::Expired
        } else {
            Self::Live
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

/// Every user's sessions for staff, newest first: optionally one user's, in one state. Two
/// statements (count and page) over the `(user_id, revoked_at, expires_at)`, `revoked_at`
/// and `expires_at` indexes.
pub fn list_all(
    conn: &mut DbConn,
    user_id: Option<i64>,
    state: Option<SessionState>,
    page: PageRequest,
) -> ApiResult<Page<SessionRow>> {
    let now = plaza_kernel::time::now();
    let query = || {
        let mut query = auth_sessions::table.into_boxed::<plaza_kernel::db::MultiBackend>();
        if let Some(user_id) = user_id {
            query = query.filter(auth_sessions::user_id.eq(user_id));
        }
        match state {
            Some(SessionState::Live) => {
                query = query
                    .filter(auth_sessions::revoked_at.is_null())
                    .filter(auth_sessions::expires_at.gt(now));
            }
            Some(SessionState::Revoked) => {
                query = query.filter(auth_sessions::revoked_at.is_not_null());
            }
            Some(SessionState::Expired) => {
                query = query
                    .filter(auth_sessions::revoked_at.is_null())
                    .filter(auth_sessions::expires_at.le(now));
            }
            None => {}
        }
        query
    };
    let count: i64 = query().count().get_result(conn)?;
    page.paginate(count, |window| {
        Ok(query()
            .order(auth_sessions::id.desc())
            .limit(window.limit)
            .offset(window.offset)
            .select(SessionRow::as_select())
            .load(conn)?)
    })
}

/// One session, for staff.
pub fn get(conn: &mut DbConn, id: i64) -> ApiResult<SessionRow> {
    auth_sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("No session with this id."))
}

/// Staff end sessions `ids` (any user's; those already ended are left alone): how many they
/// ended, and the live access tokens to revoke once the transaction has committed.
pub fn revoke_by_staff(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<(usize, Vec<AccessToRevoke>)> {
    let now = plaza_kernel::time::now();
    let ended = diesel::update(
        auth_sessions::table
            .filter(auth_sessions::id.eq_any(ids))
            .filter(auth_sessions::revoked_at.is_null()),
    )
    .set((
        auth_sessions::revoked_at.eq(now),
        auth_sessions::revoked_reason.eq("revoked_by_staff"),
    ))
    .execute(conn)?;
    Ok((ended, live_access_tokens(conn, ids)?))
}

/// What the users domain calls to end or renew sessions (registered as
/// `web::Data<dyn plaza_users::Sessions>`).
#[derive(Debug, Default)]
pub struct SessionStore;

impl Sessions for SessionStore {
    fn revoke_all(
        &self,
        conn: &mut DbConn,
        user_id: i64,
        reason: &'static str,
    ) -> QueryResult<usize> {
        // Callers revoke every access token of the user through the Cache themselves.
        revoke_all(conn, user_id, reason).map(|(count, _)| count)
    }

    fn open(
        &self,
        conn: &mut DbConn,
        tokens: &TokenCodec,
        user: &User,
        client: &ClientInfo,
    ) -> ApiResult<TokenPair> {
        open(conn, tokens, user, client)
    }
}
