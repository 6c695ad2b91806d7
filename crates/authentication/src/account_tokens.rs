//! Single-use tokens sent by mail: email verification (valid 24 hours) and password reset
//! (valid 1 hour). The token is 32 random bytes; only its SHA-256 is stored, with the address
//! it was sent to. A token dies when used, when it expires, when a newer one of the same kind
//! is issued, or when the account's email changes. Mail is queued as a job inside the
//! caller's transaction.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use plaza_kernel::crypto::{random_token, sha256_hex};
use plaza_kernel::mail::{self, Email};
use plaza_kernel::schema::account_tokens;
use plaza_kernel::{ApiError, ApiResult, Config, DbConn};
use plaza_users::User;

/// What a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Proves the user controls their email address.
    VerifyEmail,
    /// Lets the user choose a new password.
    ResetPassword,
}

impl Purpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }

    /// How long a token stays valid.
    pub fn ttl(self) -> Duration {
        match self {
            Self::VerifyEmail => Duration::from_secs(24 * 3600),
            Self::ResetPassword => Duration::from_secs(3600),
        }
    }
}

/// A row of `account_tokens`.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = account_tokens)]
pub struct AccountToken {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// `verify_email` or `reset_password`.
    pub purpose: String,
    /// SHA-256 of the token.
    pub token_hash: String,
    /// The address it was sent to.
    pub email: String,
    /// Who asked for it.
    pub ip_address: Option<String>,
    /// Issued at.
    pub created_at: NaiveDateTime,
    /// Expiry.
    pub expires_at: NaiveDateTime,
    /// When it was used.
    pub used_at: Option<NaiveDateTime>,
}

/// Issues a token for `user`, invalidating earlier unused ones of the same purpose.
pub fn issue(
    conn: &mut DbConn,
    user: &User,
    purpose: Purpose,
    ip: Option<&str>,
) -> QueryResult<String> {
    let now = plaza_kernel::time::now();
    diesel::update(
        account_tokens::table
            .filter(account_tokens::user_id.eq(user.id))
            .filter(account_tokens::purpose.eq(purpose.as_str()))
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(now))
    .execute(conn)?;
    let token = random_token(32);
    let ttl = chrono::Duration::from_std(purpose.ttl()).unwrap_or(chrono::Duration::hours(1));
    diesel::insert_into(account_tokens::table)
        .values((
            account_tokens::user_id.eq(user.id),
            account_tokens::purpose.eq(purpose.as_str()),
            account_tokens::token_hash.eq(sha256_hex(&token)),
            account_tokens::email.eq(&user.email),
            account_tokens::ip_address.eq(ip),
            account_tokens::created_at.eq(now),
            account_tokens::expires_at.eq(now + ttl),
        ))
        .execute(conn)?;
    Ok(token)
}

fn invalid_token() -> ApiError {
    ApiError::invalid_field("token", "Invalid or expired token.")
}

/// The live token `token` for `purpose` and its user, without spending it.
pub fn find_live(
    conn: &mut DbConn,
    token: &str,
    purpose: Purpose,
) -> ApiResult<(AccountToken, User)> {
    let now = plaza_kernel::time::now();
    let row: Option<AccountToken> = account_tokens::table
        .filter(account_tokens::token_hash.eq(sha256_hex(token.trim())))
        .filter(account_tokens::purpose.eq(purpose.as_str()))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(now))
        .select(AccountToken::as_select())
        .first(conn)
        .optional()?;
    let row = row.ok_or_else(invalid_token)?;
    let user = User::find(conn, row.user_id).optional()?;
    match user {
        Some(user)
            if user.is_active && plaza_users::values::email_key(&row.email) == user.email_key =>
        {
            Ok((row, user))
        }
        _ => Err(invalid_token()),
    }
}

/// Spends a token (once, even under concurrent requests).
pub fn spend(conn: &mut DbConn, row: &AccountToken) -> ApiResult<()> {
    let spent = diesel::update(
        account_tokens::table
            .find(row.id)
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(plaza_kernel::time::now()))
    .execute(conn)?;
    if spent == 1 {
        Ok(())
    } else {
        Err(invalid_token())
    }
}

/// Issues a verification token and queues the mail carrying it.
pub fn send_verification(
    conn: &mut DbConn,
    config: &Config,
    user: &User,
    ip: Option<&str>,
) -> ApiResult<()> {
    let token = issue(conn, user, Purpose::VerifyEmail, ip)?;
    let link = format!("{}/verify-email/?token={token}", config.email.frontend_url);
    let text = format!(
        "Hello {name},\n\n\
         Please confirm your email address by opening this link:\n\n{link}\n\n\
         Or send this token to POST /api/v1/auth/verify-email/:\n\n{token}\n\n\
         The link works once and expires in 24 hours. If you did not create an account, \
         ignore this message.\n",
        name = user.username
    );
    mail::queue(
        conn,
        &Email {
            to: user.email.clone(),
            subject: "Confirm your email address".to_owned(),
            text,
            html: None,
        },
    )?;
    Ok(())
}

/// Issues a reset token and queues the mail carrying it.
pub fn send_reset(
    conn: &mut DbConn,
    config: &Config,
    user: &User,
    ip: Option<&str>,
) -> ApiResult<()> {
    let token = issue(conn, user, Purpose::ResetPassword, ip)?;
    let link = format!(
        "{}/reset-password/?token={token}",
        config.email.frontend_url
    );
    let text = format!(
        "Hello {name},\n\n\
         Someone asked to reset the password of your account. To choose a new password, open \
         this link:\n\n{link}\n\n\
         Or send this token with your new password to POST \
         /api/v1/auth/password-reset/confirm/:\n\n{token}\n\n\
         The link works once and expires in 1 hour. If you did not ask for this, ignore this \
         message; your password stays as it is.\n",
        name = user.username
    );
    mail::queue(
        conn,
        &Email {
            to: user.email.clone(),
            subject: "Reset your password".to_owned(),
            text,
            html: None,
        },
    )?;
    Ok(())
}
