//! The `jobs` table's queries: claiming due jobs under a lease, recording how an attempt
//! ended, taking back expired leases, pruning finished jobs, and the staff views.
//!
//! A claim is owned by `(id, locked_by, attempts)`: every write that ends an attempt checks
//! all three with `status = 'running'`, so a worker that lost its lease (it stalled, another
//! worker took the job back) cannot overwrite what the new owner does.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use diesel::sqlite::Sqlite;
use serde::Serialize;
use utoipa::ToSchema;

use super::JobStatus;
use crate::db::DbConn;
use crate::schema::jobs;

/// A job as stored.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = jobs)]
pub struct JobRecord {
    /// Id.
    pub id: i64,
    /// Kind (names the handler).
    pub kind: String,
    /// JSON payload.
    pub payload: String,
    /// `queued`, `running`, `succeeded` or `dead`.
    pub status: String,
    /// Higher runs first.
    pub priority: i32,
    /// Not before.
    pub run_at: NaiveDateTime,
    /// Attempts started so far.
    pub attempts: i32,
    /// The job's own attempt limit (`None`: the handler's, else the worker's).
    pub max_attempts: Option<i32>,
    /// De-duplication key.
    pub unique_key: Option<String>,
    /// The worker that ran (or runs) the last attempt.
    pub locked_by: Option<String>,
    /// While running: until when the lease holds.
    pub locked_until: Option<NaiveDateTime>,
    /// The last failure.
    pub last_error: Option<String>,
    /// Enqueued at.
    pub created_at: NaiveDateTime,
    /// Last changed at.
    pub updated_at: NaiveDateTime,
    /// Succeeded or died at.
    pub finished_at: Option<NaiveDateTime>,
}

impl JobRecord {
    /// The parsed status (an unknown stored value reads as `queued`).
    pub fn status(&self) -> JobStatus {
        JobStatus::parse(&self.status).unwrap_or(JobStatus::Queued)
    }
}

const COLUMNS: &str = "id, kind, payload, status, priority, run_at, attempts, max_attempts, \
                       unique_key, locked_by, locked_until, last_error, created_at, updated_at, \
                       finished_at";

fn after(now: NaiveDateTime, duration: Duration) -> NaiveDateTime {
    now + TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX / 2)
}

/// Claims up to `limit` due queued jobs of `kinds` for `worker`, highest priority first, then
/// oldest: each becomes `running`, leased until `now + lease`, with one more attempt. Call it
/// on a connection outside any transaction.
///
/// MySQL: `SELECT … FOR UPDATE SKIP LOCKED` then `UPDATE` in one READ COMMITTED transaction,
/// so concurrent workers take disjoint jobs without waiting for each other. SQLite: one
/// `UPDATE … WHERE id IN (SELECT …) RETURNING …` statement, atomic under SQLite's single
/// writer.
pub fn claim(
    conn: &mut DbConn,
    worker: &str,
    kinds: &[&str],
    limit: usize,
    lease: Duration,
    now: NaiveDateTime,
) -> QueryResult<Vec<JobRecord>> {
    if kinds.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let until = after(now, lease);
    let mut claimed = match conn {
        DbConn::Mysql(c) => claim_mysql(c, worker, kinds, limit, until, now)?,
        DbConn::Sqlite(c) => claim_sqlite(c, worker, kinds, limit, until, now)?,
    };
    // Both backends return the claimed rows in no particular order.
    claimed.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(a.run_at.cmp(&b.run_at))
            .then(a.id.cmp(&b.id))
    });
    Ok(claimed)
}

fn claim_mysql(
    c: &mut MysqlConnection,
    worker: &str,
    kinds: &[&str],
    limit: i64,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Vec<JobRecord>> {
    let outermost = matches!(
        AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth(),
        Ok(None)
    );
    if outermost {
        // No gap locks: concurrent enqueues never wait for a claim.
        diesel::sql_query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED").execute(c)?;
    }
    c.transaction(|c| {
        let ids: Vec<i64> = jobs::table
            .select(jobs::id)
            .filter(jobs::status.eq(JobStatus::Queued.as_str()))
            .filter(jobs::run_at.le(now))
            .filter(jobs::kind.eq_any(kinds))
            .order((jobs::priority.desc(), jobs::run_at.asc(), jobs::id.asc()))
            .limit(limit)
            .for_update()
            .skip_locked()
            .load(c)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(jobs::table.filter(jobs::id.eq_any(&ids)))
            .set((
                jobs::status.eq(JobStatus::Running.as_str()),
                jobs::locked_by.eq(worker),
                jobs::locked_until.eq(until),
                jobs::attempts.eq(jobs::attempts + 1),
                jobs::updated_at.eq(now),
            ))
            .execute(c)?;
        jobs::table
            .filter(jobs::id.eq_any(&ids))
            .select(JobRecord::as_select())
            .load(c)
    })
}

fn claim_sqlite(
    c: &mut SqliteConnection,
    worker: &str,
    kinds: &[&str],
    limit: i64,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Vec<JobRecord>> {
    let placeholders = vec!["?"; kinds.len()].join(", ");
    let sql = format!(
        "UPDATE jobs SET status = 'running', locked_by = ?, locked_until = ?, \
         attempts = attempts + 1, updated_at = ? \
         WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= ? \
         AND kind IN ({placeholders}) ORDER BY priority DESC, run_at, id LIMIT ?) \
         RETURNING {COLUMNS}"
    );
    let mut query = diesel::sql_query(sql)
        .into_boxed::<Sqlite>()
        .bind::<Text, _>(worker.to_owned())
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now);
    for kind in kinds {
        query = query.bind::<Text, _>((*kind).to_owned());
    }
    query.bind::<BigInt, _>(limit).load(c)
}

/// Filters a write to the attempt `job` describes, still running under `worker`.
macro_rules! owned_attempt {
    ($job:expr, $worker:expr) => {
        jobs::table
            .filter(jobs::id.eq($job.id))
            .filter(jobs::status.eq(JobStatus::Running.as_str()))
            .filter(jobs::locked_by.eq($worker))
            .filter(jobs::attempts.eq($job.attempts))
    };
}

/// Marks the claimed `job` succeeded. `false` when the claim was lost (the lease expired and
/// the job was taken back).
pub fn complete(
    conn: &mut DbConn,
    job: &JobRecord,
    worker: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(owned_attempt!(job, worker))
        .set((
            jobs::status.eq(JobStatus::Succeeded.as_str()),
            jobs::locked_until.eq(None::<NaiveDateTime>),
            jobs::finished_at.eq(now),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Records a failed attempt of the claimed `job`: queued again for `retry_at`, or dead when
/// `retry_at` is `None`. `false` when the claim was lost.
pub fn fail(
    conn: &mut DbConn,
    job: &JobRecord,
    worker: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = match retry_at {
        Some(at) => diesel::update(owned_attempt!(job, worker))
            .set((
                jobs::status.eq(JobStatus::Queued.as_str()),
                jobs::run_at.eq(at),
                jobs::locked_until.eq(None::<NaiveDateTime>),
                jobs::last_error.eq(error),
                jobs::updated_at.eq(now),
            ))
            .execute(conn)?,
        None => diesel::update(owned_attempt!(job, worker))
            .set((
                jobs::status.eq(JobStatus::Dead.as_str()),
                jobs::locked_until.eq(None::<NaiveDateTime>),
                jobs::last_error.eq(error),
                jobs::finished_at.eq(now),
                jobs::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    Ok(updated == 1)
}

/// Puts an interrupted attempt back in the queue as if it never started (a graceful
/// shutdown that ran out of time). `false` when the claim was already gone.
pub fn release(
    conn: &mut DbConn,
    job: &JobRecord,
    worker: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(owned_attempt!(job, worker))
        .set((
            jobs::status.eq(JobStatus::Queued.as_str()),
            jobs::run_at.eq(now),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::locked_until.eq(None::<NaiveDateTime>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Extends to `now + lease` the leases of the jobs `ids` that `worker` is running (the
/// worker's heartbeat, so a long job is not taken back while its worker lives). Jobs whose
/// attempt the worker gave up on are left out, so their leases expire.
pub fn extend_leases(
    conn: &mut DbConn,
    worker: &str,
    ids: &[i64],
    lease: Duration,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::update(
        jobs::table
            .filter(jobs::id.eq_any(ids))
            .filter(jobs::status.eq(JobStatus::Running.as_str()))
            .filter(jobs::locked_by.eq(worker)),
    )
    .set(jobs::locked_until.eq(after(now, lease)))
    .execute(conn)
}

/// Running jobs whose lease expired before `now` (their worker died or stalled), oldest
/// lease first.
pub fn expired_leases(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<JobRecord>> {
    jobs::table
        .filter(jobs::status.eq(JobStatus::Running.as_str()))
        .filter(jobs::locked_until.lt(now))
        .order(jobs::locked_until.asc())
        .limit(limit)
        .select(JobRecord::as_select())
        .load(conn)
}

/// Takes back `job`, whose lease expired: queued to run again now, or dead when it has no
/// attempts left. `false` when another worker recovered it (or its owner finished) first.
pub fn recover(
    conn: &mut DbConn,
    job: &JobRecord,
    dead: bool,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let worker = job.locked_by.as_deref().unwrap_or("unknown");
    let error = format!(
        "the lease of worker {worker} expired before the attempt finished (the worker died or \
         stalled)"
    );
    let target = jobs::table
        .filter(jobs::id.eq(job.id))
        .filter(jobs::status.eq(JobStatus::Running.as_str()))
        .filter(jobs::attempts.eq(job.attempts))
        .filter(jobs::locked_until.lt(now));
    let updated = if dead {
        diesel::update(target)
            .set((
                jobs::status.eq(JobStatus::Dead.as_str()),
                jobs::locked_until.eq(None::<NaiveDateTime>),
                jobs::last_error.eq(&error),
                jobs::finished_at.eq(now),
                jobs::updated_at.eq(now),
            ))
            .execute(conn)?
    } else {
        diesel::update(target)
            .set((
                jobs::status.eq(JobStatus::Queued.as_str()),
                jobs::run_at.eq(now),
                jobs::locked_until.eq(None::<NaiveDateTime>),
                jobs::last_error.eq(&error),
                jobs::updated_at.eq(now),
            ))
            .execute(conn)?
    };
    Ok(updated == 1)
}

/// Queues a dead job again with a fresh set of attempts. `false` when it is not dead (or
/// does not exist).
pub fn retry_dead(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        jobs::table
            .filter(jobs::id.eq(id))
            .filter(jobs::status.eq(JobStatus::Dead.as_str())),
    )
    .set((
        jobs::status.eq(JobStatus::Queued.as_str()),
        jobs::run_at.eq(now),
        jobs::attempts.eq(0),
        jobs::locked_until.eq(None::<NaiveDateTime>),
        jobs::finished_at.eq(None::<NaiveDateTime>),
        jobs::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Deletes a dead job (staff gave up on it). `false` when it is not dead (or does not exist).
pub fn discard_dead(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    let deleted = diesel::delete(
        jobs::table
            .filter(jobs::id.eq(id))
            .filter(jobs::status.eq(JobStatus::Dead.as_str())),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

/// One job by id (`NotFound` when missing).
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<JobRecord> {
    jobs::table
        .find(id)
        .select(JobRecord::as_select())
        .first(conn)
}

/// What a staff list of jobs is filtered on.
#[derive(Clone, Debug, Default)]
pub struct JobFilter {
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Only jobs of this kind.
    pub kind: Option<String>,
}

fn filtered(filter: &JobFilter) -> jobs::BoxedQuery<'static, <DbConn as Connection>::Backend> {
    let mut query = jobs::table.into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(jobs::status.eq(status.as_str()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(jobs::kind.eq(kind.clone()));
    }
    query
}

/// How many jobs match `filter`.
pub fn count(conn: &mut DbConn, filter: &JobFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn)
}

/// A page of jobs matching `filter`, newest first.
pub fn list(
    conn: &mut DbConn,
    filter: &JobFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<JobRecord>> {
    filtered(filter)
        .order(jobs::id.desc())
        .limit(limit)
        .offset(offset)
        .select(JobRecord::as_select())
        .load(conn)
}

/// How many jobs are in each status, and how many queued ones are due.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct QueueDepth {
    /// Waiting to run (due now or later).
    pub queued: i64,
    /// Queued and due now: the backlog workers have not caught up with.
    pub due: i64,
    /// Claimed by a worker.
    pub running: i64,
    /// Done, not yet pruned.
    pub succeeded: i64,
    /// Out of attempts, kept for staff to inspect and retry.
    pub dead: i64,
}

/// The queue's depth at `now` (two queries).
pub fn depth(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<QueueDepth> {
    let by_status: BTreeMap<String, i64> = jobs::table
        .group_by(jobs::status)
        .select((jobs::status, diesel::dsl::count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let due = jobs::table
        .filter(jobs::status.eq(JobStatus::Queued.as_str()))
        .filter(jobs::run_at.le(now))
        .count()
        .get_result(conn)?;
    let get = |status: JobStatus| by_status.get(status.as_str()).copied().unwrap_or(0);
    Ok(QueueDepth {
        queued: get(JobStatus::Queued),
        due,
        running: get(JobStatus::Running),
        succeeded: get(JobStatus::Succeeded),
        dead: get(JobStatus::Dead),
    })
}

/// Deletes up to `batch` jobs in `status` that finished before `before`; returns how many.
/// Callers loop until it returns less than `batch`, so no statement holds locks for long.
pub fn prune(
    conn: &mut DbConn,
    status: JobStatus,
    before: NaiveDateTime,
    batch: i64,
) -> QueryResult<usize> {
    let ids: Vec<i64> = jobs::table
        .select(jobs::id)
        .filter(jobs::status.eq(status.as_str()))
        .filter(jobs::finished_at.lt(before))
        .order(jobs::finished_at.asc())
        .limit(batch)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        jobs::table
            .filter(jobs::id.eq_any(&ids))
            .filter(jobs::status.eq(status.as_str())),
    )
    .execute(conn)
}
