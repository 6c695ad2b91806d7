//! The database: one connection type over MySQL and SQLite, a pool, and helpers that run
//! queries on the blocking pool.
//!
//! Model functions take `&mut DbConn` and return `QueryResult<T>` (or [`ApiResult<T>`]), so
//! the same function runs on a pooled connection or inside a transaction. Handlers call them
//! through [`Db::run`] or [`Db::transaction`], which hop to the blocking pool: a query never
//! runs on an async worker thread.

mod cached;
pub mod like;
mod migrations;
mod pool;
mod query_log;

pub use cached::{ids_in, IdsIn};

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::{MysqlConnection, SqliteConnection};
use prometheus_client::metrics::counter::Counter;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, ApiResult};
use crate::jobs::observe;
use crate::metrics::{JobLabels, Metrics};

pub use migrations::{embedded_versions, pending_migrations, run_migrations, MigrationError};
pub use pool::DbError;
pub use query_log::QueryLog;

/// A connection to either backend. Diesel queries built against the `schema` work on both.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// Production.
    Mysql(MysqlConnection),
    /// The embedded default.
    Sqlite(SqliteConnection),
}

impl DbConn {
    /// Which backend this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Mysql(_) => Backend::Mysql,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// The database engine behind a [`Db`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// MySQL or MariaDB.
    Mysql,
    /// SQLite.
    Sqlite,
}

impl Backend {
    /// `"mysql"` or `"sqlite"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mysql => "mysql",
            Self::Sqlite => "sqlite",
        }
    }
}

/// How long a caller waits for a connection while the database is known to be unreachable:
/// long enough to take one that a background attempt has just opened, short enough that a
/// request during an outage answers 503 at once.
const DOWN_WAIT: Duration = Duration::from_millis(250);

/// A connection taken from the pool, returned to it when dropped. It dereferences to
/// [`DbConn`]: pass `&mut conn` to model functions, and `&mut *conn` to diesel's generic
/// query methods (`load`, `execute`, …).
pub struct PooledConn(r2d2::PooledConnection<pool::DbManager>);

impl PooledConn {
    /// Asks the pool to ping this connection when it comes back, and to replace it if the
    /// ping fails: the work done on it failed in a way that may have been the connection's.
    pub fn mark_suspect(&self) {
        self.0.mark_suspect();
    }
}

impl std::ops::Deref for PooledConn {
    type Target = DbConn;

    fn deref(&self) -> &DbConn {
        &self.0
    }
}

impl std::ops::DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.0
    }
}

/// The pool; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<pool::DbManager>,
    backend: Backend,
    query_log: Option<QueryLog>,
    /// Statements run by every connection of the pool.
    statements: Counter,
    /// One permit per pool connection: callers queue here, in order and without holding a
    /// thread, instead of parking blocking-pool threads on the pool's condition variable.
    permits: Arc<Semaphore>,
    /// SQLite has one writer at a time: transactions queue here (first come, first served)
    /// rather than in SQLite's busy handler, which sleeps in growing steps.
    writer: Option<Arc<Semaphore>>,
    /// How long a caller waits for a permit.
    timeout: Duration,
    /// Where [`Db::run`] counts the jobs its work enqueued.
    metrics: Option<Arc<Metrics>>,
    /// Whether the last connection attempt failed.
    reachability: Arc<pool::Reachability>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// Pool size and wait settings.
#[derive(Clone, Copy, Debug)]
pub struct PoolOptions {
    /// Maximum connections.
    pub max_size: u32,
    /// How long a caller waits for a free connection.
    pub timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            timeout: Duration::from_secs(5),
        }
    }
}

impl Db {
    /// Opens a pool for `url` (`mysql://…`, `sqlite://path`, `sqlite::memory:`) and checks one
    /// connection, so a wrong password or an unreachable host fails here with the real error.
    pub fn connect(url: &str, options: PoolOptions) -> Result<Self, DbError> {
        let probe = pool::DbManager::new(url)?;
        r2d2::ManageConnection::connect(&probe).map_err(|e| DbError::Connect(e.to_string()))?;
        Self::connect_lazy(url, options)
    }

    /// Opens a pool without connecting; connections are made on first use.
    pub fn connect_lazy(url: &str, options: PoolOptions) -> Result<Self, DbError> {
        Self::build(url, options, None)
    }

    /// Like [`Db::connect`], with `log` installed on every connection: statements are
    /// recorded while the log is started (see [`QueryLog`]). Test databases use it.
    pub fn connect_with_log(
        url: &str,
        options: PoolOptions,
        log: QueryLog,
    ) -> Result<Self, DbError> {
        let probe = pool::DbManager::new(url)?;
        r2d2::ManageConnection::connect(&probe).map_err(|e| DbError::Connect(e.to_string()))?;
        Self::build(url, options, Some(log))
    }

    fn build(url: &str, options: PoolOptions, log: Option<QueryLog>) -> Result<Self, DbError> {
        let manager = pool::DbManager::new(url)?;
        let backend = manager.backend();
        let statements = Counter::default();
        let reachability = Arc::new(pool::Reachability::default());
        let pool = r2d2::Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(0))
            // A checkout must not cost a round trip (`SELECT 1`) per request; a connection
            // the server closed fails its statement and is dropped as broken instead.
            .test_on_check_out(false)
            .idle_timeout(Some(Duration::from_secs(600)))
            .max_lifetime(Some(Duration::from_secs(1800)))
            // Also the cap of the retry backoff while the database is unreachable: the pool
            // tries again at least every `timeout / 2`, so service returns that soon after it.
            .connection_timeout(options.timeout)
            .error_handler(Box::new(pool::LogErrors(reachability.clone())))
            .connection_customizer(Box::new(query_log::Instrument {
                statements: statements.clone(),
                log: log.clone(),
                reachability: reachability.clone(),
            }))
            .build_unchecked(manager);
        Ok(Self {
            pool,
            backend,
            query_log: log,
            statements,
            permits: Arc::new(Semaphore::new(options.max_size as usize)),
            writer: (backend == Backend::Sqlite).then(|| Arc::new(Semaphore::new(1))),
            timeout: options.timeout,
            metrics: None,
            reachability,
        })
    }

    /// The statement log installed on this pool's connections, if any.
    pub fn query_log(&self) -> Option<&QueryLog> {
        self.query_log.as_ref()
    }

    /// The count of statements every connection of this pool has run; register it with
    /// [`Metrics::with_db_statements`] to expose it as `plaza_db_statements_total`.
    pub fn statement_counter(&self) -> Counter {
        self.statements.clone()
    }

    /// Counts the jobs enqueued through [`Db::run`] and [`Db::transaction`] (once committed)
    /// in `metrics` (`plaza_jobs_enqueued_total`).
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Which backend this pool talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection from the pool, blocking until one is free. Only call this from blocking
    /// code (jobs, the CLI, inside [`Db::run`]).
    pub fn get(&self) -> Result<PooledConn, ApiError> {
        checkout(&self.pool, &self.reachability, self.timeout)
    }

    /// Connections open and idle, for metrics.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    pub async fn run<F, T>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConn) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.acquire(&self.permits).await?;
        let pool = self.pool.clone();
        let reachability = self.reachability.clone();
        let timeout = self.timeout;
        let metrics = self.metrics.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            observe::begin();
            let result = checkout(&pool, &reachability, timeout).and_then(|mut conn| {
                let result = f(&mut conn);
                if matches!(&result, Err(err) if err.status().is_server_error()) {
                    // The work failed on our side; if the connection is why, the ping on
                    // its return finds out and the pool replaces it.
                    conn.mark_suspect();
                }
                result
            });
            // What is still noted committed (rolled-back transactions forgot theirs).
            let enqueued = observe::take();
            if let Some(metrics) = metrics {
                for kind in enqueued {
                    metrics
                        .jobs_enqueued
                        .get_or_create(&JobLabels { kind })
                        .inc();
                }
            }
            result
        })
        .await?
    }

    /// Runs `f` inside one transaction on the blocking pool: committed when `f` returns `Ok`,
    /// rolled back otherwise.
    pub async fn transaction<F, T>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConn) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.write(move |conn| transaction(conn, f)).await
    }

    /// Runs `f`, a write that needs no transaction (a single statement, with reads before it
    /// and at most a `last_insert_id` after), on the blocking pool: no `BEGIN`/`COMMIT` round
    /// trips. On SQLite it queues for the writer permit as [`Db::transaction`] does.
    pub async fn write<F, T>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConn) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        // Queue for SQLite's write lock before taking a connection, so waiting writers
        // leave the connections to readers.
        let _writer = match &self.writer {
            Some(writer) => Some(self.acquire(writer).await?),
            None => None,
        };
        self.run(f).await
    }

    async fn acquire(&self, semaphore: &Arc<Semaphore>) -> ApiResult<OwnedSemaphorePermit> {
        match tokio::time::timeout(self.timeout, semaphore.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(closed)) => Err(ApiError::internal(closed)),
            Err(elapsed) => Err(ApiError::unavailable(
                "The database is busy; retry shortly.",
                elapsed,
            )
            .with_retry_after(1)),
        }
    }
}

/// Takes a connection from `pool`, waiting up to `timeout` (or only [`DOWN_WAIT`] while the
/// database is unreachable). A connection that sat idle and no longer answers a ping is
/// dropped and the next one tried, so a database restart during a quiet spell costs no
/// request an error.
fn checkout(
    pool: &r2d2::Pool<pool::DbManager>,
    reachability: &pool::Reachability,
    timeout: Duration,
) -> ApiResult<PooledConn> {
    let wait = if reachability.is_down() {
        DOWN_WAIT.min(timeout)
    } else {
        timeout
    };
    let deadline = Instant::now() + wait;
    loop {
        let mut conn = pool.get_timeout(deadline.saturating_duration_since(Instant::now()))?;
        if conn.check_out() {
            return Ok(PooledConn(conn));
        }
        // Dropped here: the pool sees it dead and closes it.
    }
}

/// Runs `f` in a transaction on `conn` (a savepoint when one is already open).
///
/// On SQLite the outermost transaction begins `IMMEDIATE`: it takes the write lock up front
/// (waiting up to `busy_timeout`), so two read-then-write transactions queue instead of one
/// failing with `SQLITE_BUSY` when it tries to upgrade its read snapshot.
pub fn transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let nested = matches!(
        <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth(),
        Ok(Some(_))
    );
    let mark = observe::mark();
    let result = transaction_inner(conn, nested, f);
    if result.is_err() {
        // Jobs enqueued inside a rolled-back transaction never existed.
        observe::rollback_to(mark);
    }
    result
}

fn transaction_inner<T, E, F>(conn: &mut DbConn, nested: bool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(inner) if !nested => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            match f(conn) {
                Ok(value) => {
                    <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
                    Ok(value)
                }
                Err(err) => {
                    match <DbConn as Connection>::TransactionManager::rollback_transaction(conn) {
                        Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(err),
                        Err(rollback) => Err(rollback.into()),
                    }
                }
            }
        }
        _ => conn.transaction(f),
    }
}

/// Ids written into a statement as a list of numbers (`1,2,3`), for set-based statements over
/// many rows (`… WHERE id IN ({list})`) that diesel's DSL cannot spell on both backends
/// (`UPDATE … SET n = (SELECT COUNT(*) …)`). Only numbers go in, so nothing a client sent can
/// reach the SQL. Keep lists to a few hundred ids per statement.
pub fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// The id of the row the last `INSERT` on this connection created.
///
/// Call it on the same connection right after the insert (inside the same transaction when
/// the insert is part of one); `RETURNING` does not compile through [`DbConn`].
pub fn last_insert_id(conn: &mut DbConn) -> QueryResult<i64> {
    let sql = match conn {
        DbConn::Mysql(_) => "LAST_INSERT_ID()",
        DbConn::Sqlite(_) => "last_insert_rowid()",
    };
    diesel::select(cached::FixedBigInt(sql)).get_result(conn)
}

/// Whether the rows of one multi-row `INSERT` get consecutive ids on this connection's
/// database, so that [`inserted_ids`] names each row's. SQLite: always (one writer, each new
/// rowid one past the largest). MySQL/MariaDB: when `innodb_autoinc_lock_mode` is 0 or 1
/// (MariaDB's default; a simple insert reserves its rows' values at once) and
/// `auto_increment_increment` is 1; not in mode 2 (MySQL 8's default), where concurrent
/// inserts interleave, nor on a cluster that steps ids (Galera). Ask once and keep the answer.
///
/// `Ok(false)` also when the server does not know the variables (a MySQL-compatible database
/// that is not InnoDB); `Err` when it could not answer (ask again later).
pub fn multi_row_ids_are_consecutive(conn: &mut DbConn) -> QueryResult<bool> {
    match conn {
        DbConn::Sqlite(_) => Ok(true),
        DbConn::Mysql(c) => {
            let asked = diesel::select((
                diesel::dsl::sql::<BigInt>("CAST(@@innodb_autoinc_lock_mode AS SIGNED)"),
                diesel::dsl::sql::<BigInt>("CAST(@@auto_increment_increment AS SIGNED)"),
            ))
            .get_result::<(i64, i64)>(c);
            match asked {
                Ok((mode, step)) => Ok(mode <= 1 && step == 1),
                Err(diesel::result::Error::DatabaseError(_, info))
                    if info.message().contains("nknown system variable") =>
                {
                    Ok(false)
                }
                Err(err) => Err(err),
            }
        }
    }
}

/// The ids of the `rows` rows the last `INSERT` on this connection created, first to last,
/// when one statement's rows get consecutive ids ([`multi_row_ids_are_consecutive`]). Call it
/// right after the insert, on the same connection. MySQL's `LAST_INSERT_ID()` is the id of the
/// statement's *first* row, SQLite's `last_insert_rowid()` that of its *last*.
pub fn inserted_ids(conn: &mut DbConn, rows: usize) -> QueryResult<std::ops::Range<i64>> {
    let reported = last_insert_id(conn)?;
    let rows =
        i64::try_from(rows).map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))?;
    let first = match conn {
        DbConn::Mysql(_) => reported,
        DbConn::Sqlite(_) => reported - rows + 1,
    };
    Ok(first..first + rows)
}

/// Creates the MySQL database named in `url` if it does not exist (utf8mb4), so a fresh
/// server needs nothing but a user with `CREATE` rights. Does nothing for SQLite, whose file
/// is created on first connection. Returns whether a database was created.
pub fn create_mysql_database_if_missing(url: &str) -> Result<bool, DbError> {
    if !url.starts_with("mysql://") {
        return Ok(false);
    }
    let mut parsed = url::Url::parse(url).map_err(|_| DbError::UnsupportedUrl)?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    if name.is_empty() {
        return Err(DbError::Connect("the MySQL URL names no database".into()));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'-')
    {
        return Err(DbError::Connect(format!(
            "unusual database name \"{name}\"; create it yourself"
        )));
    }
    parsed.set_path("/");
    let mut server =
        MysqlConnection::establish(parsed.as_str()).map_err(|e| DbError::Connect(e.to_string()))?;
    let exists: i64 = diesel::select(diesel::dsl::sql::<BigInt>(&format!(
        "(SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}')"
    )))
    .get_result(&mut server)
    .map_err(|e| DbError::Connect(e.to_string()))?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::sql_query(format!(
        "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    ))
    .execute(&mut server)
    .map_err(|e| DbError::Connect(e.to_string()))?;
    Ok(true)
}

/// `true` if the backend's error says a row with the same unique key exists.
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// A quick round trip, for health checks.
pub fn ping(conn: &mut DbConn) -> QueryResult<()> {
    diesel::select(diesel::dsl::sql::<BigInt>("1"))
        .get_result::<i64>(conn)
        .map(drop)
}
