//! `login_attempts`: every attempt to log in, good or bad, with why it ended as it did.

use diesel::prelude::*;
use plaza_kernel::schema::login_attempts;
use plaza_kernel::syslog::truncate;
use plaza_kernel::DbConn;
use plaza_users::ClientInfo;

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Signed in.
    Success,
    /// Unknown user or wrong password.
    InvalidCredentials,
    /// Right password, inactive account.
    Inactive,
    /// Refused while locked out.
    Locked,
    /// Right password; a second factor was asked for.
    TwoFactorRequired,
    /// Wrong TOTP or recovery code.
    InvalidSecondFactor,
}

impl Outcome {
    /// The stored `reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Inactive => "inactive",
            Self::Locked => "locked",
            Self::TwoFactorRequired => "two_factor_required",
            Self::InvalidSecondFactor => "invalid_second_factor",
        }
    }
}

/// Records one attempt. `login` is what the client typed (cut to 254 characters).
pub fn record(
    conn: &mut DbConn,
    login: &str,
    user_id: Option<i64>,
    client: &ClientInfo,
    outcome: Outcome,
) -> QueryResult<()> {
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::username.eq(truncate(login.trim(), 254)),
            login_attempts::user_id.eq(user_id),
            login_attempts::ip_address.eq(client.ip.as_deref()),
            login_attempts::user_agent.eq(client.user_agent.as_deref().unwrap_or("")),
            login_attempts::success.eq(outcome == Outcome::Success),
            login_attempts::reason.eq(outcome.as_str()),
            login_attempts::created_at.eq(plaza_kernel::time::now()),
        ))
        .execute(conn)
        .map(drop)
}
