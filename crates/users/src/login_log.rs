//! `user_login_logs`: one row per successful login (the authentication domain records them;
//! users read their own history at `me/login-history/`).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use plaza_kernel::schema::{user_login_logs, users};
use plaza_kernel::{ApiResult, DbConn, Page, PageRequest};
use serde::Serialize;
use utoipa::ToSchema;

use crate::sessions::ClientInfo;

/// How a login was completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginMethod {
    /// Username (or email) and password.
    Password,
    /// Password, then a TOTP code.
    TwoFactor,
    /// Password, then a recovery code.
    RecoveryCode,
    /// Registration signs the new user in.
    Register,
}

impl LoginMethod {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::TwoFactor => "two_factor",
            Self::RecoveryCode => "recovery_code",
            Self::Register => "register",
        }
    }
}

/// A row of `user_login_logs`.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = user_login_logs)]
pub struct LoginLogRow {
    /// Id.
    pub id: i64,
    /// The user.
    pub user_id: i64,
    /// Client address.
    pub ip_address: Option<String>,
    /// Client user agent.
    pub user_agent: String,
    /// `password`, `two_factor`, `recovery_code` or `register`.
    pub method: String,
    /// When.
    pub login_at: NaiveDateTime,
}

/// One entry of `me/login-history/`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LoginLog {
    /// Id.
    pub id: i64,
    /// Client address.
    pub ip_address: Option<String>,
    /// Client user agent.
    pub user_agent: String,
    /// `password`, `two_factor`, `recovery_code` or `register`.
    pub method: String,
    /// When (UTC).
    pub login_at: DateTime<Utc>,
}

impl From<LoginLogRow> for LoginLog {
    fn from(row: LoginLogRow) -> Self {
        Self {
            id: row.id,
            ip_address: row.ip_address,
            user_agent: row.user_agent,
            method: row.method,
            login_at: plaza_kernel::time::utc(row.login_at),
        }
    }
}

/// Records a successful login and sets `users.last_login` (inside the login's transaction).
pub fn record(
    conn: &mut DbConn,
    user_id: i64,
    client: &ClientInfo,
    method: LoginMethod,
) -> QueryResult<()> {
    let now = plaza_kernel::time::now();
    diesel::insert_into(user_login_logs::table)
        .values((
            user_login_logs::user_id.eq(user_id),
            user_login_logs::ip_address.eq(client.ip.as_deref()),
            user_login_logs::user_agent.eq(client.user_agent.as_deref().unwrap_or("")),
            user_login_logs::method.eq(method.as_str()),
            user_login_logs::login_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(users::table.find(user_id))
        .set(users::last_login.eq(now))
        .execute(conn)
        .map(drop)
}

/// A page of `user_id`'s logins, newest first.
pub fn history(conn: &mut DbConn, user_id: i64, page: PageRequest) -> ApiResult<Page<LoginLog>> {
    let count: i64 = user_login_logs::table
        .filter(user_login_logs::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    page.paginate(count, |window| {
        let rows: Vec<LoginLogRow> = user_login_logs::table
            .filter(user_login_logs::user_id.eq(user_id))
            .order((user_login_logs::login_at.desc(), user_login_logs::id.desc()))
            .limit(window.limit)
            .offset(window.offset)
            .select(LoginLogRow::as_select())
            .load(conn)?;
        Ok(rows.into_iter().map(LoginLog::from).collect())
    })
}
