//! The r2d2 manager: picks the backend by URL scheme, prepares every new connection, and
//! throws away the ones the database has dropped.
//!
//! Diesel's derived `establish` for a multi-connection hides the real error behind "Invalid
//! connection url for multiconnection" after the pool's timeout; this manager connects the
//! right backend directly, so "Access denied for user …" surfaces at once.
//!
//! Diesel only calls a connection broken when its transaction manager is, so a MySQL
//! connection that lost its server ("MySQL server has gone away") would go back to the pool
//! and fail every request after the database returned. Here a connection whose statement
//! failed is *suspect*, and a suspect connection is pinged when it comes back to the pool and
//! dropped if the ping fails. Healthy traffic pays nothing: only a failed statement, or a
//! connection idle for longer than [`IDLE_CHECK`], costs a ping.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{MysqlConnection, SqliteConnection};

use super::{Backend, DbConn};

/// Why a pool could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL's scheme is neither `mysql://` nor `sqlite:`.
    #[error("unsupported database URL (use mysql://user:pass@host:port/db or sqlite://path)")]
    UnsupportedUrl,
    /// The first connection failed.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// Preparing the SQLite file's directory failed.
    #[error("cannot create the database directory {path}: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Connects the backend named by the URL.
#[derive(Debug)]
pub struct DbManager {
    target: Target,
}

#[derive(Debug)]
enum Target {
    Mysql(String),
    Sqlite(String),
}

impl DbManager {
    pub(crate) fn new(url: &str) -> Result<Self, DbError> {
        let target = if url.starts_with("mysql://") {
            Target::Mysql(url.to_owned())
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(DbError::UnsupportedUrl);
            }
            if path != ":memory:" && !path.starts_with("file:") {
                if let Some(dir) = Path::new(path)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    // A missing directory is created; one we cannot create is reported at
                    // connect time with SQLite's own message.
                    let _ = std::fs::create_dir_all(dir);
                }
            }
            Target::Sqlite(path.to_owned())
        } else {
            return Err(DbError::UnsupportedUrl);
        };
        Ok(Self { target })
    }

    pub(crate) fn backend(&self) -> Backend {
        match self.target {
            Target::Mysql(_) => Backend::Mysql,
            Target::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Per-connection setup. MySQL: UTC and utf8mb4, so `DATETIME` values round-trip exactly, and
/// READ COMMITTED (as Django runs MySQL): under InnoDB's default REPEATABLE READ, an insert
/// checked by a prior locking read takes gap locks, and concurrent sign-ups deadlock on them.
/// SQLite: WAL for concurrent readers, a busy timeout instead of instant `SQLITE_BUSY`, and
/// foreign keys, which SQLite does not enforce unless asked on every connection.
const MYSQL_SETUP: &str = "SET time_zone = '+00:00'; SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci; \
     SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED; \
     SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'";
const SQLITE_SETUP: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";

/// A connection idle for longer than this is pinged before it is handed out: after a quiet
/// spell the database may have restarted or dropped it. Busy connections are never pinged.
pub(crate) const IDLE_CHECK: Duration = Duration::from_secs(2);

/// A connection as the pool keeps it: a [`DbConn`] and what tells whether it still works.
///
/// It dereferences to [`DbConn`], so `&mut conn` passes wherever a model function wants a
/// `&mut DbConn`.
pub struct PoolConn {
    conn: DbConn,
    /// Set by the connection's instrumentation when a statement failed in a way that can mean
    /// the connection is gone, or by [`PoolConn::mark_suspect`].
    suspect: Arc<AtomicBool>,
    /// Set when a ping failed: the pool drops the connection on its return.
    dead: bool,
    /// When the connection was last handed out.
    last_checkout: Instant,
}

impl PoolConn {
    fn new(conn: DbConn) -> Self {
        Self {
            conn,
            suspect: Arc::new(AtomicBool::new(false)),
            dead: false,
            last_checkout: Instant::now(),
        }
    }

    /// Asks for a ping when the connection goes back to the pool: the work it did failed, and
    /// the failure may have been the connection's.
    pub(crate) fn mark_suspect(&self) {
        self.suspect.store(true, Ordering::Relaxed);
    }

    /// The flag the connection's instrumentation sets on a failed statement.
    pub(crate) fn suspect_flag(&self) -> Arc<AtomicBool> {
        self.suspect.clone()
    }

    /// Called on every checkout: `false` (and the connection condemned) when it sat idle past
    /// [`IDLE_CHECK`] and no longer answers a ping.
    pub(crate) fn check_out(&mut self) -> bool {
        let now = Instant::now();
        let idle = now.duration_since(self.last_checkout);
        self.last_checkout = now;
        if idle > IDLE_CHECK && self.conn.ping().is_err() {
            self.dead = true;
            return false;
        }
        true
    }

    fn is_unusable(&mut self) -> bool {
        if self.dead || self.conn.is_broken() {
            return true;
        }
        if self.suspect.swap(false, Ordering::Relaxed) && self.conn.ping().is_err() {
            self.dead = true;
        }
        self.dead
    }
}

impl Deref for PoolConn {
    type Target = DbConn;

    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl DerefMut for PoolConn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

/// `true` when a failed statement may mean the connection itself is gone: the errors the
/// drivers report for a lost server are "unknown" database errors ("MySQL server has gone
/// away", "Lost connection to server during query"), so every such error earns a ping.
pub(crate) fn may_have_lost_connection(err: &DieselError) -> bool {
    matches!(
        err,
        DieselError::DatabaseError(
            DatabaseErrorKind::Unknown | DatabaseErrorKind::ClosedConnection,
            _
        ) | DieselError::BrokenTransactionManager
    )
}

impl r2d2::ManageConnection for DbManager {
    type Connection = PoolConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PoolConn, Self::Error> {
        let conn = match &self.target {
            Target::Mysql(url) => {
                let mut conn = MysqlConnection::establish(url)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.batch_execute(MYSQL_SETUP)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                DbConn::Mysql(conn)
            }
            Target::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_SETUP)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                DbConn::Sqlite(conn)
            }
        };
        Ok(PoolConn::new(conn))
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), Self::Error> {
        conn.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        std::thread::panicking() || conn.is_unusable()
    }
}

/// Whether the database can be reached, as the pool last found out: set when a connection
/// attempt fails, cleared when one succeeds. While it is down, callers wait only briefly for
/// a connection and answer 503 at once instead of queueing for the whole pool timeout; the
/// pool keeps retrying in the background (every `timeout / 2` at most), so the first
/// successful attempt ends the outage without any request having to wait for it.
#[derive(Debug, Default)]
pub(crate) struct Reachability {
    down: AtomicBool,
}

impl Reachability {
    pub(crate) fn connect_failed(&self) {
        self.down.store(true, Ordering::Relaxed);
    }

    pub(crate) fn connected(&self) {
        self.down.store(false, Ordering::Relaxed);
    }

    /// `true` while the last connection attempt failed.
    pub(crate) fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }
}

/// Logs connection failures with the real cause, and notes that the database is unreachable.
#[derive(Debug)]
pub(crate) struct LogErrors(pub(crate) Arc<Reachability>);

impl r2d2::HandleError<diesel::r2d2::Error> for LogErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        self.0.connect_failed();
        tracing::warn!(%error, "database connection failed");
    }
}
