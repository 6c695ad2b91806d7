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

use diesel::connection::{Instrumentation, InstrumentationEvent};

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

    /// The instrumentation to install on one connection.
    pub(crate) fn instrumentation(&self) -> impl Instrumentation {
        let inner = self.inner.clone();
        move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                if inner.recording.load(Ordering::Relaxed) {
                    let sql = query.to_string();
                    inner
                        .statements
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(sql);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        // A panic while pushing a string leaves a usable vector; keep going.
        self.inner
            .statements
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Installs a [`QueryLog`] on each connection the pool opens.
#[derive(Debug)]
pub(crate) struct InstallLog(pub(crate) QueryLog);

impl r2d2::CustomizeConnection<super::DbConn, diesel::r2d2::Error> for InstallLog {
    fn on_acquire(&self, conn: &mut super::DbConn) -> Result<(), diesel::r2d2::Error> {
        diesel::Connection::set_instrumentation(conn, self.0.instrumentation());
        Ok(())
    }
}
