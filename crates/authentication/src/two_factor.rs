//! TOTP two-factor authentication (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of clock
//! skew either way) with ten single-use recovery codes.
//!
//! Enabling is two steps: `begin` stores a pending secret and returns it with its
//! `otpauth://` URL and a QR code; `confirm` turns it on once the user proves their app
//! produces codes, and returns the recovery codes (stored as SHA-256, shown once). A code is
//! accepted at most once: the step it belongs to is remembered, so a code seen on the wire
//! cannot be replayed within its 30 seconds.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use plaza_kernel::crypto::{constant_time_eq, sha256_hex};
use plaza_kernel::schema::{two_factor_auth, two_factor_recovery_codes};
use plaza_kernel::{ApiError, ApiResult, DbConn};
use plaza_users::User;
use rand::Rng;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::types::{TwoFactorEnrollment, TwoFactorStatus};

/// The issuer shown in authenticator apps.
pub const ISSUER: &str = "Plaza";
/// Recovery codes issued on confirmation.
pub const RECOVERY_CODES: usize = 10;
const DIGITS: usize = 6;
const STEP: u64 = 30;
const SKEW: u8 = 1;

/// A row of `two_factor_auth`.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = two_factor_auth)]
pub struct TwoFactorRow {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Base32 secret.
    pub secret: String,
    /// Confirmed and on.
    pub is_enabled: bool,
    /// The last step whose code was accepted.
    pub last_used_step: Option<i64>,
    /// When it was confirmed.
    pub confirmed_at: Option<NaiveDateTime>,
    /// Enrollment began.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

/// The user's row, pending or enabled.
pub fn find(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<TwoFactorRow>> {
    two_factor_auth::table
        .filter(two_factor_auth::user_id.eq(user_id))
        .select(TwoFactorRow::as_select())
        .first(conn)
        .optional()
}

/// The user's row if two-factor authentication is on.
pub fn enabled(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<TwoFactorRow>> {
    Ok(find(conn, user_id)?.filter(|row| row.is_enabled))
}

fn totp(secret: &str, account: &str) -> ApiResult<TOTP> {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .map_err(|e| ApiError::internal(format!("stored TOTP secret unreadable: {e:?}")))?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        SKEW,
        STEP,
        bytes,
        Some(ISSUER.to_owned()),
        account.to_owned(),
    )
    .map_err(|e| ApiError::internal(format!("TOTP setup: {e:?}")))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The step `code` belongs to if it is right for `secret` at `now` (± one step) and newer than
/// `last_used_step`.
fn matching_step(totp: &TOTP, code: &str, now: u64, last_used_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now / STEP;
    let mut found = None;
    // Check every candidate so the time taken does not depend on which one matches.
    for step in [current.saturating_sub(1), current, current + 1] {
        let expected = totp.generate(step * STEP);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            found = i64::try_from(step).ok();
        }
    }
    found.filter(|step| last_used_step.is_none_or(|last| *step > last))
}

/// `2fa/enable/`: a new pending secret (replacing a pending one). 409 when already on.
pub fn begin(conn: &mut DbConn, user: &User) -> ApiResult<TwoFactorEnrollment> {
    if let Some(row) = find(conn, user.id)? {
        if row.is_enabled {
            return Err(ApiError::conflict(
                "Two-factor authentication is already enabled; disable it first.",
            ));
        }
    }
    let secret = match Secret::generate_secret().to_encoded() {
        Secret::Encoded(s) => s,
        Secret::Raw(_) => return Err(ApiError::internal("TOTP secret was not encoded")),
    };
    let totp = totp(&secret, &user.username)?;
    let otpauth_url = totp.get_url();
    let qr_svg = qrcode::QrCode::new(otpauth_url.as_bytes())
        .map_err(ApiError::internal)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    let now = plaza_kernel::time::now();
    diesel::delete(two_factor_auth::table.filter(two_factor_auth::user_id.eq(user.id)))
        .execute(conn)?;
    diesel::insert_into(two_factor_auth::table)
        .values((
            two_factor_auth::user_id.eq(user.id),
            two_factor_auth::secret.eq(&secret),
            two_factor_auth::is_enabled.eq(false),
            two_factor_auth::created_at.eq(now),
            two_factor_auth::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(TwoFactorEnrollment {
        secret,
        otpauth_url,
        qr_svg,
    })
}

/// `2fa/confirm/`: turns the pending secret on if `code` is right; returns fresh recovery
/// codes (replacing any old ones).
pub fn confirm(conn: &mut DbConn, user: &User, code: &str) -> ApiResult<Vec<String>> {
    let row = match find(conn, user.id)? {
        Some(row) if row.is_enabled => {
            return Err(ApiError::conflict(
                "Two-factor authentication is already enabled.",
            ))
        }
        Some(row) => row,
        None => {
            return Err(ApiError::bad_request(
                "Start with POST /api/v1/auth/2fa/enable/.",
            ))
        }
    };
    let totp = totp(&row.secret, &user.username)?;
    let Some(step) = matching_step(&totp, code, unix_now(), None) else {
        return Err(ApiError::invalid_field("code", "Invalid code."));
    };
    let now = plaza_kernel::time::now();
    diesel::update(two_factor_auth::table.find(row.id))
        .set((
            two_factor_auth::is_enabled.eq(true),
            two_factor_auth::confirmed_at.eq(now),
            two_factor_auth::last_used_step.eq(step),
            two_factor_auth::updated_at.eq(now),
        ))
        .execute(conn)?;
    replace_recovery_codes(conn, user.id)
}

fn replace_recovery_codes(conn: &mut DbConn, user_id: i64) -> ApiResult<Vec<String>> {
    diesel::delete(
        two_factor_recovery_codes::table.filter(two_factor_recovery_codes::user_id.eq(user_id)),
    )
    .execute(conn)?;
    let now = plaza_kernel::time::now();
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    // One row per statement: multi-row inserts do not compile through the multi-connection.
    for code in &codes {
        diesel::insert_into(two_factor_recovery_codes::table)
            .values((
                two_factor_recovery_codes::user_id.eq(user_id),
                two_factor_recovery_codes::code_hash.eq(recovery_hash(code)),
                two_factor_recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(codes)
}

/// `xxxxx-xxxxx` from a 32-letter alphabet without look-alikes (50 bits).
fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let mut out = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
    }
    out
}

/// Recovery codes are compared without case, spaces or dashes.
fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    sha256_hex(normal)
}

/// Which kind of second factor was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    /// A TOTP code.
    Totp,
    /// A recovery code (now spent).
    RecoveryCode,
}

/// Checks a second factor for an enabled row and spends it (the TOTP step, or the recovery
/// code). `None` when wrong or already used. Call it inside a transaction.
pub fn verify(
    conn: &mut DbConn,
    row: &TwoFactorRow,
    account: &str,
    code: &str,
) -> ApiResult<Option<Factor>> {
    let code = code.trim();
    if code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit()) {
        let totp = totp(&row.secret, account)?;
        let Some(step) = matching_step(&totp, code, unix_now(), row.last_used_step) else {
            return Ok(None);
        };
        // Only one request may spend a step, even when two race with the same code.
        let spent = diesel::update(
            two_factor_auth::table.find(row.id).filter(
                two_factor_auth::last_used_step
                    .is_null()
                    .or(two_factor_auth::last_used_step.lt(step)),
            ),
        )
        .set((
            two_factor_auth::last_used_step.eq(step),
            two_factor_auth::updated_at.eq(plaza_kernel::time::now()),
        ))
        .execute(conn)?;
        return Ok((spent == 1).then_some(Factor::Totp));
    }
    let hash = recovery_hash(code);
    let id: Option<i64> = two_factor_recovery_codes::table
        .filter(two_factor_recovery_codes::user_id.eq(row.user_id))
        .filter(two_factor_recovery_codes::code_hash.eq(&hash))
        .filter(two_factor_recovery_codes::used_at.is_null())
        .select(two_factor_recovery_codes::id)
        .first(conn)
        .optional()?;
    let Some(id) = id else {
        return Ok(None);
    };
    let spent = diesel::update(
        two_factor_recovery_codes::table
            .find(id)
            .filter(two_factor_recovery_codes::used_at.is_null()),
    )
    .set(two_factor_recovery_codes::used_at.eq(plaza_kernel::time::now()))
    .execute(conn)?;
    Ok((spent == 1).then_some(Factor::RecoveryCode))
}

/// Turns two-factor authentication off and forgets the secret and recovery codes.
pub fn disable(conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
    diesel::delete(two_factor_auth::table.filter(two_factor_auth::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(
        two_factor_recovery_codes::table.filter(two_factor_recovery_codes::user_id.eq(user_id)),
    )
    .execute(conn)
    .map(drop)
}

/// `GET 2fa/`.
pub fn status(conn: &mut DbConn, user_id: i64) -> QueryResult<TwoFactorStatus> {
    let row = find(conn, user_id)?;
    let remaining: i64 = two_factor_recovery_codes::table
        .filter(two_factor_recovery_codes::user_id.eq(user_id))
        .filter(two_factor_recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(TwoFactorStatus {
        enabled: row.as_ref().is_some_and(|r| r.is_enabled),
        pending: row.as_ref().is_some_and(|r| !r.is_enabled),
        confirmed_at: row
            .and_then(|r| r.confirmed_at)
            .map(plaza_kernel::time::utc),
        recovery_codes_remaining: remaining,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 seed "12345678901234567890", truncated to 6 digits.
    #[test]
    fn rfc6238_vectors() {
        let totp = totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "alice").unwrap();
        assert_eq!(totp.generate(59), "287082");
        assert_eq!(totp.generate(1_111_111_109), "081804");
        assert_eq!(totp.generate(1_234_567_890), "005924");
        assert_eq!(totp.generate(2_000_000_000), "279037");
    }

    #[test]
    fn codes_match_their_step_once() {
        let totp = totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "alice").unwrap();
        let now = 1_234_567_890;
        let step = i64::try_from(now / STEP).unwrap();
        assert_eq!(matching_step(&totp, "005924", now, None), Some(step));
        // The previous and next steps are accepted too (clock skew).
        let previous = totp.generate(now - STEP);
        assert_eq!(matching_step(&totp, &previous, now, None), Some(step - 1));
        // …but never a step at or before one already used.
        assert_eq!(matching_step(&totp, "005924", now, Some(step)), None);
        assert_eq!(matching_step(&totp, "000000", now, None), None);
        assert_eq!(matching_step(&totp, "12345", now, None), None);
        assert_eq!(matching_step(&totp, "abcdef", now, None), None);
    }

    #[test]
    fn recovery_codes_normalise() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        assert_eq!(
            recovery_hash(&code),
            recovery_hash(&code.to_uppercase().replace('-', " "))
        );
        assert_ne!(new_recovery_code(), new_recovery_code());
    }
}
