//! Background jobs: a durable queue in the database, workers that share it, and periodic
//! jobs.
//!
//! - **Enqueue.** A job is a value of a type implementing [`Job`] (its `KIND` names the
//!   handler), stored as JSON in the `jobs` table by [`enqueue`] — on the caller's connection,
//!   so inside a transaction the job exists exactly when the write that asked for it commits.
//! - **Handle.** Domains register a typed handler per kind in a [`JobRegistry`] at start
//!   (`register_jobs(&mut registry)`), and periodic jobs with a [`Schedule`].
//! - **Run.** A [`Worker`] claims due jobs (`FOR UPDATE SKIP LOCKED` on MySQL, one atomic
//!   `UPDATE … RETURNING` on SQLite) under a lease, runs their handlers with a [`JobContext`],
//!   retries failures with exponential backoff, keeps dead jobs with their last error, and
//!   takes back jobs whose worker died once their lease expires. Its beat enqueues each
//!   periodic job once per period, however many workers run.
//!
//! ```ignore
//! #[derive(Serialize, Deserialize)]
//! struct SendDigest { user_id: i64 }
//! impl Job for SendDigest { const KIND: &'static str = "send_digest"; }
//!
//! pub fn register_jobs(jobs: &mut JobRegistry) {
//!     jobs.handle(|ctx: JobContext, job: SendDigest| async move {
//!         let user_id = job.user_id;
//!         ctx.db.run(move |conn| digest::send(conn, user_id)).await?;
//!         Ok(())
//!     });
//!     jobs.periodic("digest.daily", Schedule::daily_at(7, 0), &SendDigest { user_id: 0 });
//! }
//!
//! db::transaction(conn, |conn| {
//!     /* … the write … */
//!     enqueue(conn, &SendDigest { user_id }, JobOptions::default().unique(format!("digest:{user_id}")))?;
//!     Ok(())
//! })
//! ```
//!
//! docs/jobs.md explains kinds, retries, scheduling and running workers at scale.

mod context;
mod error;
mod housekeeping;
pub(crate) mod observe;
mod registry;
mod schedule;
pub mod store;
mod worker;

pub use context::{JobContext, JobInfo, JobServices};
pub use error::JobError;
pub use housekeeping::PruneJobs;
pub use registry::{HandlerSettings, JobRegistry, PeriodicJob, RegistryError};
pub use schedule::{Schedule, Scheduler};
pub use store::{JobRecord, QueueDepth};
pub use worker::{RunSummary, Stopper, Worker, WorkerHandle, WorkerSettings};

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Text, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::db::{self, DbConn};
use crate::schema::jobs;

/// Attempts before a job is dead when neither the job, its handler nor `WORKER_MAX_ATTEMPTS`
/// says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// The longest kind name the `jobs` table stores.
pub const MAX_KIND_LEN: usize = 64;

/// The longest unique key the `jobs` table stores.
pub const MAX_UNIQUE_KEY_LEN: usize = 191;

/// A kind of background work. The value is the job's payload.
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// The stable name handlers are registered under (≤ 64 characters).
    const KIND: &'static str;

    /// Hides secrets in a stored payload before staff see it in `/api/v1/core/jobs/`
    /// (a mail body with a password-reset link, say). Nothing is hidden by default.
    fn redact(payload: &mut serde_json::Value) {
        let _ = payload;
    }
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
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

    /// Every status, in the order of a job's life.
    pub const ALL: [Self; 4] = [Self::Queued, Self::Running, Self::Succeeded, Self::Dead];

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
    /// At most one job with this key exists, whatever its status, until the row is pruned
    /// (≤ 191 characters).
    pub unique_key: Option<String>,
    /// Attempts before the job is dead (default: its handler's limit, else
    /// `WORKER_MAX_ATTEMPTS`).
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
    if kind.is_empty() || kind.len() > MAX_KIND_LEN {
        return Err(invalid_job(format!(
            "job kind \"{kind}\" must have 1 to {MAX_KIND_LEN} bytes"
        )));
    }
    if unique_key
        .as_ref()
        .is_some_and(|k| k.len() > MAX_UNIQUE_KEY_LEN)
    {
        return Err(invalid_job(format!(
            "unique key of a \"{kind}\" job is longer than {MAX_UNIQUE_KEY_LEN} bytes"
        )));
    }
    let now = crate::time::now();
    let max_attempts = max_attempts.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
    let insert = diesel::insert_into(jobs::table).values((
        jobs::kind.eq(kind),
        jobs::payload.eq(payload),
        jobs::status.eq(JobStatus::Queued.as_str()),
        jobs::priority.eq(priority),
        jobs::run_at.eq(run_at.unwrap_or(now)),
        jobs::max_attempts.eq(max_attempts),
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
        Ok(id) => {
            observe::enqueued(kind);
            Ok(Enqueued::Created(id))
        }
        Err(err) if unique_key.is_some() && db::is_unique_violation(&err) => {
            Ok(Enqueued::Duplicate)
        }
        Err(err) => Err(err),
    }
}

/// Stores `jobs`, each one job with the default options (now, priority 0, the handler's
/// attempt limit, no unique key), in one multi-row `INSERT` per 64 on `conn` (inside the
/// caller's transaction, if any), instead of [`enqueue`]'s savepoint, insert, id and release
/// for each. Without a unique key there is no duplicate to survive, hence no
/// savepoint. Returns how many were stored.
pub fn enqueue_all<'a, J: Job + 'a>(
    conn: &mut DbConn,
    jobs: impl IntoIterator<Item = &'a J>,
) -> QueryResult<usize> {
    let payloads = jobs
        .into_iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let now = crate::time::now();
    let mut written = 0;
    for payloads in payloads.chunks(ENQUEUE_ALL_ROWS) {
        written += InsertJobs {
            kind: J::KIND,
            payloads,
            now,
        }
        .execute(conn)?;
    }
    for _ in 0..written {
        observe::enqueued(J::KIND);
    }
    Ok(written)
}

/// Most rows of one [`enqueue_all`] statement: it keeps the parameters far below every
/// backend's limit, and the cached statements (one per number of rows) few.
const ENQUEUE_ALL_ROWS: usize = 64;

/// The statement of [`enqueue_all`], spelled out: diesel's own multi-row insert does not
/// build over both backends, and this one stays in the connection's statement cache (one per
/// number of rows), as [`db::ids_in`] explains.
struct InsertJobs<'r> {
    kind: &'r str,
    payloads: &'r [String],
    now: NaiveDateTime,
}

impl QueryId for InsertJobs<'_> {
    type QueryId = ();
    // The SQL depends on the number of rows: the cache keys it by its text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for InsertJobs<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Timestamp>,
    str: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // Priority 0, no attempt limit of its own, no unique key: literals, as the defaults.
        out.push_sql(
            "INSERT INTO jobs (kind, payload, status, priority, run_at, max_attempts, \
             unique_key, created_at, updated_at) VALUES ",
        );
        for (i, payload) in self.payloads.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<Text, str>(self.kind)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(payload)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(JobStatus::Queued.as_str())?;
            out.push_sql(", 0, ");
            out.push_bind_param::<Timestamp, _>(&self.now)?;
            out.push_sql(", NULL, NULL, ");
            out.push_bind_param::<Timestamp, _>(&self.now)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&self.now)?;
            out.push_sql(")");
        }
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for InsertJobs<'_> {}

/// A job that cannot be stored, as a query error (the caller's transaction rolls back).
fn invalid_job(message: String) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(message.into())
}

/// Reads the queue's depth and sets `plaza_jobs_queue_depth` and `plaza_jobs{status}` from
/// it (for `/metrics` and `system/status`).
pub async fn sample_depth(
    db: &crate::db::Db,
    metrics: &crate::metrics::Metrics,
) -> crate::error::ApiResult<QueueDepth> {
    let depth = db
        .run(|conn| Ok(store::depth(conn, crate::time::now())?))
        .await?;
    metrics.jobs_queue_depth.set(depth.queued);
    for (status, n) in [
        (JobStatus::Queued, depth.queued),
        (JobStatus::Running, depth.running),
        (JobStatus::Succeeded, depth.succeeded),
        (JobStatus::Dead, depth.dead),
    ] {
        metrics
            .jobs_by_status
            .get_or_create(&crate::metrics::JobStatusLabels {
                status: status.as_str().to_owned(),
            })
            .set(n);
    }
    Ok(depth)
}
