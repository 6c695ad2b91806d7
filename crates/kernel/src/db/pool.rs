//! The r2d2 manager: picks the backend by URL scheme and prepares every new connection.
//!
//! Diesel's derived `establish` for a multi-connection hides the real error behind "Invalid
//! connection url for multiconnection" after the pool's timeout; this manager connects the
//! right backend directly, so "Access denied for user …" surfaces at once.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
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

impl r2d2::ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match &self.target {
            Target::Mysql(url) => {
                let mut conn = MysqlConnection::establish(url)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.batch_execute(MYSQL_SETUP)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Mysql(conn))
            }
            Target::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_SETUP)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Logs connection failures once each, with the real cause.
#[derive(Debug)]
pub(crate) struct LogErrors;

impl r2d2::HandleError<diesel::r2d2::Error> for LogErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::warn!(%error, "database connection failed");
    }
}
