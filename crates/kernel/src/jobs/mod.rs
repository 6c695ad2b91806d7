//! Background jobs: a durable queue in the database.
//!
//! A job is a value of a type implementing [`Job`] (its `KIND` names the handler), stored as
//! JSON in the `jobs` table by [`enqueue`] — on the caller's connection, so inside a
//! transaction the job exists exactly when the write that asked for it commits.
//!
//! ```ignore
//! #[derive(Serialize, Deserialize)]
//! struct SendDigest { user_id: i64 }
//! impl Job for SendDigest { const KIND: &'static str = "send_digest"; }
//!
//! db::transaction(conn, |conn| {
//!     /* … the write … */
//!     enqueue(conn, &SendDigest { user_id }, JobOptions::default().unique(format!("digest:{user_id}")))?;
//!     Ok(())
//! })
//! ```

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::db::{self, DbConn};
use crate::schema::jobs;

/// Attempts before a job is dead, unless its options say otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// A kind of background work. The value is the job's payload.
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// The stable name handlers are registered under (≤ 64 characters).
    const KIND: &'static str;
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for `run_at` (also after a failed attempt that will be retried).
    Queued,
    /// Claimed by a worker whose lease has not expired.
    Running,
    /// Done.
    Succeeded,
    /// Failed `max_attempts` times; kept with its last error until retried by staff.
    Dead,
}

impl JobStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "dead" => Self::Dead,
            _ => return None,
        })
    }
}

/// When and how a job runs.
#[derive(Clone, Debug, Default)]
pub struct JobOptions {
    /// Not before this time (default: now).
    pub run_at: Option<NaiveDateTime>,
    /// Higher runs first among due jobs (default 0).
    pub priority: i32,
    /// At most one job with this key exists (≤ 191 characters).
    pub unique_key: Option<String>,
    /// Attempts before the job is dead (default [`DEFAULT_MAX_ATTEMPTS`]).
    pub max_attempts: Option<u32>,
}

impl JobOptions {
    /// Runs after `delay`.
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::zero());
        self.run_at = Some(crate::time::now() + delay);
        self
    }

    /// Runs at `at`.
    #[must_use]
    pub fn at(mut self, at: NaiveDateTime) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Sets the priority.
    #[must_use]
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// De-duplicates on `key`.
    #[must_use]
    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    /// Sets the attempt limit.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts.max(1));
        self
    }
}

/// What [`enqueue`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job with this id.
    Created(i64),
    /// A job with the same unique key already exists; nothing was added.
    Duplicate,
}

/// Stores `job` to run as `options` say, on `conn` (inside the caller's transaction, if any).
pub fn enqueue<J: Job>(conn: &mut DbConn, job: &J, options: JobOptions) -> QueryResult<Enqueued> {
    let payload = serde_json::to_string(job)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    enqueue_raw(conn, J::KIND, &payload, options)
}

/// [`enqueue`] for a kind and JSON payload known only at run time (periodic jobs, retries).
pub fn enqueue_raw(
    conn: &mut DbConn,
    kind: &str,
    payload: &str,
    options: JobOptions,
) -> QueryResult<Enqueued> {
    let JobOptions {
        run_at,
        priority,
        unique_key,
        max_attempts,
    } = options;
    let now = crate::time::now();
    let max_attempts = max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
    let insert = diesel::insert_into(jobs::table).values((
        jobs::kind.eq(kind),
        jobs::payload.eq(payload),
        jobs::status.eq(JobStatus::Queued.as_str()),
        jobs::priority.eq(priority),
        jobs::run_at.eq(run_at.unwrap_or(now)),
        jobs::max_attempts.eq(i32::try_from(max_attempts).unwrap_or(i32::MAX)),
        jobs::unique_key.eq(unique_key.as_deref()),
        jobs::created_at.eq(now),
        jobs::updated_at.eq(now),
    ));
    // A savepoint keeps a duplicate from spoiling the caller's transaction on any backend.
    let result = db::transaction(conn, |conn| {
        insert.execute(conn)?;
        db::last_insert_id(conn)
    });
    match result {
        Ok(id) => Ok(Enqueued::Created(id)),
        Err(err) if unique_key.is_some() && db::is_unique_violation(&err) => {
            Ok(Enqueued::Duplicate)
        }
        Err(err) => Err(err),
    }
}
