//! A log of the SQL statements a pool runs, for tests that assert a fixed number of queries
//! (no N+1) and for debugging what an endpoint sends to the database.
//!
//! A [`QueryLog`] is installed on every connection of a pool opened with
//! [`Db::connect_with_log`](super::Db::connect_with_log) through diesel's connection
//! instrumentation. It records nothing until [`QueryLog::start`], so an installed but idle log
//! costs one atomic load per statement. Every test database (`testing::TestDb`) has one:
//!
//! ```ignore
//! let log = app.db().query_log().expect("test pools log queries");
//! log.start();
//! app.get("/api/v1/posts/?page_size=100").send().await?;
//! let statements = log.stop();
//! assert_eq!(statements.len(), 5, "{statements:#?}");
//! ```
//!
//! Statements of every connection of the pool are recorded, in the order they start; the log
//! counts what reaches the database (`BEGIN`/`COMMIT` and savepoints included), not what an
//! endpoint meant to send.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use diesel::connection::InstrumentationEvent;
use prometheus_client::metrics::counter::Counter;

use super::pool::{may_have_lost_connection, PoolConn, Reachability};

/// The statements a pool ran while recording; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct QueryLog {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    recording: AtomicBool,
    statements: Mutex<Vec<String>>,
}

impl std::fmt::Debug for QueryLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryLog")
            .field("recording", &self.is_recording())
            .field("statements", &self.len())
            .finish()
    }
}

impl QueryLog {
    /// A log that records nothing until [`start`](Self::start).
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets what was recorded and starts recording.
    pub fn start(&self) {
        self.lock().clear();
        self.inner.recording.store(true, Ordering::SeqCst);
    }

    /// Stops recording and returns the statements recorded since [`start`](Self::start).
    pub fn stop(&self) -> Vec<String> {
        self.inner.recording.store(false, Ordering::SeqCst);
        std::mem::take(&mut *self.lock())
    }

    /// Whether statements are being recorded.
    pub fn is_recording(&self) -> bool {
        self.inner.recording.load(Ordering::SeqCst)
    }

    /// How many statements were recorded so far.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// `true` when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The statements recorded so far (recording continues).
    pub fn statements(&self) -> Vec<String> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        // A panic while pushing a string leaves a usable vector; keep going.
        self.inner
            .statements
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The statement of a pool's liveness check (diesel's `R2D2Connection::ping`).
const POOL_PING: &str = "SELECT 1";

/// Instruments each connection the pool opens: every statement is counted (the
/// `plaza_db_statements_total` metric, so a load test can read statements per request from
/// a production build) and, when the pool has a [`QueryLog`], recorded while it is started.
/// A failed statement that may mean a lost connection marks the connection suspect (see
/// [`PoolConn`]); a connection that opens tells the pool the database is reachable.
#[derive(Debug)]
pub(crate) struct Instrument {
    pub(crate) statements: Counter,
    pub(crate) log: Option<QueryLog>,
    pub(crate) reachability: Arc<Reachability>,
}

impl r2d2::CustomizeConnection<PoolConn, diesel::r2d2::Error> for Instrument {
    fn on_acquire(&self, conn: &mut PoolConn) -> Result<(), diesel::r2d2::Error> {
        self.reachability.connected();
        let statements = self.statements.clone();
        let log = self.log.as_ref().map(|log| log.inner.clone());
        let suspect = conn.suspect_flag();
        let instrument = move |event: InstrumentationEvent<'_>| match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                statements.inc();
                if let Some(inner) = log.as_ref().filter(|l| l.recording.load(Ordering::Relaxed)) {
                    let sql = query.to_string();
                    if sql.trim() == POOL_PING {
                        // The pool's liveness check of an idle connection, not the request's.
                        return;
                    }
                    inner
                        .statements
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(sql);
                }
            }
            InstrumentationEvent::FinishQuery {
                error: Some(error), ..
            } if may_have_lost_connection(error) => suspect.store(true, Ordering::Relaxed),
            _ => {}
        };
        diesel::Connection::set_instrumentation(&mut **conn, instrument);
        Ok(())
    }
}
