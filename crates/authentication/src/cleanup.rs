//! Periodic cleanup of authentication rows that can no longer do anything: expired refresh
//! tokens, sessions that expired or were revoked a week ago, expired mail tokens, login
//! attempts older than 90 days, and two-factor enrollments never confirmed within a day.
//! Deleting them changes no answer: an expired token is refused by its signature's `exp`
//! before the database is consulted, and a token whose row is gone is refused as unknown.
//!
//! [`register_jobs`] runs it hourly through the job registry's beat.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use plaza_kernel::jobs::{Job, JobContext, JobError, JobRegistry, Schedule};
use plaza_kernel::schema::{
    account_tokens, auth_sessions, login_attempts, refresh_tokens, two_factor_auth,
};
use plaza_kernel::DbConn;
use serde::{Deserialize, Serialize};

/// How long revoked sessions are kept (for the sessions' audit trail).
pub const REVOKED_SESSION_RETENTION: Duration = Duration::days(7);
/// How long login attempts are kept.
pub const LOGIN_ATTEMPT_RETENTION: Duration = Duration::days(90);
/// How long an unconfirmed two-factor enrollment is kept.
pub const PENDING_TWO_FACTOR_RETENTION: Duration = Duration::days(1);

/// How many rows each step deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupReport {
    /// Expired refresh tokens.
    pub refresh_tokens: usize,
    /// Expired or long-revoked sessions (with their remaining tokens).
    pub sessions: usize,
    /// Expired verification and reset tokens.
    pub account_tokens: usize,
    /// Old login attempts.
    pub login_attempts: usize,
    /// Abandoned two-factor enrollments.
    pub pending_two_factor: usize,
}

/// Deletes what expired before `now`. Each step is one statement; run it from a periodic job.
pub fn cleanup_expired(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<CleanupReport> {
    let refresh_tokens =
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(now)))
            .execute(conn)?;
    let sessions = diesel::delete(
        auth_sessions::table.filter(
            auth_sessions::expires_at
                .lt(now)
                .or(auth_sessions::revoked_at.lt(now - REVOKED_SESSION_RETENTION)),
        ),
    )
    .execute(conn)?;
    let account_tokens =
        diesel::delete(account_tokens::table.filter(account_tokens::expires_at.lt(now)))
            .execute(conn)?;
    let login_attempts = diesel::delete(
        login_attempts::table.filter(login_attempts::created_at.lt(now - LOGIN_ATTEMPT_RETENTION)),
    )
    .execute(conn)?;
    let pending_two_factor = diesel::delete(
        two_factor_auth::table
            .filter(two_factor_auth::is_enabled.eq(false))
            .filter(two_factor_auth::created_at.lt(now - PENDING_TWO_FACTOR_RETENTION)),
    )
    .execute(conn)?;
    Ok(CleanupReport {
        refresh_tokens,
        sessions,
        account_tokens,
        login_attempts,
        pending_two_factor,
    })
}

/// The periodic job that runs [`cleanup_expired`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CleanupExpired {}

impl Job for CleanupExpired {
    const KIND: &'static str = "authentication_cleanup";
}

/// Registers the cleanup handler and its hourly schedule.
pub fn register_jobs(registry: &mut JobRegistry) {
    registry.handle(run_cleanup).max_attempts(3);
    registry.periodic(
        "authentication.cleanup_expired",
        Schedule::hourly(),
        &CleanupExpired {},
    );
}

async fn run_cleanup(ctx: JobContext, _: CleanupExpired) -> Result<(), JobError> {
    let report = ctx
        .db
        .run(|conn| Ok(cleanup_expired(conn, plaza_kernel::time::now())?))
        .await?;
    if report != CleanupReport::default() {
        tracing::info!(?report, "deleted expired authentication rows");
    }
    Ok(())
}
