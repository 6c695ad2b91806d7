//! Group commit of creates: concurrent creates of posts without tags, and of top-level
//! replies, are written together, sharing their statements instead of repeating them each. On
//! MariaDB a create's cost is per statement (about 0.1 ms of the database's CPU each,
//! docs/performance.md), so sharing the statements is what raises the rate.
//!
//! - A request hands its validated row to a bounded queue and waits for its own answer. When
//!   the queue is full it waits for room (backpressure), so nothing grows without bound.
//! - One worker task per kind takes whatever is queued, up to the batch size, as soon as the
//!   previous batch is answered. It never waits for more to arrive: a lone create goes at once.
//! - The batch runs through [`Db::write`] (the blocking pool, and SQLite's writer queue) with
//!   the kind's [`Creates::write`]: one row failing (an author deleted meanwhile, a reply to
//!   a post deleted meanwhile) fails that request only; an error of the whole batch (the
//!   database unreachable) answers every request of it with that error.
//! - A client that goes away does not take its row back, as with any create whose client
//!   disconnected; the others are answered as usual.
//! - The database tells once whether one statement's rows get consecutive ids
//!   ([`multi_row_ids_are_consecutive`]); where not, the batch inserts row by row (still one
//!   authors lookup for all).
//!
//! [`PostCreates`]: three statements a batch (the authors' cards, one multi-row `INSERT`,
//! its first id), no transaction ([`service::create_posts`]). Tagged posts are not batched:
//! their tag writes need a transaction each
//! ([`requests::publish_post`](crate::service::requests::publish_post)).
//!
//! [`ReplyCreates`]: one transaction a batch ([`service::create_replies`]): the reply counts
//! of every post answered in one `UPDATE` (which locks them, in ascending id order), the
//! posts, the authors, one multi-row `INSERT` and its first id, then the notices to the posts'
//! authors. Replies to a reply are not batched: their parent is checked on its own
//! ([`requests::publish_reply`](crate::service::requests::publish_reply)).

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use plaza_kernel::db::{multi_row_ids_are_consecutive, DbConn};
use plaza_kernel::{ApiError, ApiResult, Db};
use tokio::sync::{mpsc, oneshot};

use crate::service::{self, CreatedReply, NewPost, NewReply};
use crate::types::PostDetail;

/// Most rows written together by default (`POSTS_CREATE_BATCH`).
pub const DEFAULT_BATCH: usize = 64;

/// How many batches the queue holds before requests wait for room.
const QUEUED_BATCHES: usize = 4;

/// A kind of create written in batches: what waits in the queue, what each waiter gets back,
/// and how a batch is written.
pub trait Creates: Send + Sync + 'static {
    /// A validated row waiting to be written.
    type Row: Send + 'static;
    /// What its request gets back once written.
    type Created: Send + 'static;
    /// What the logs call these creates.
    const NAME: &'static str;

    /// Writes `rows` together and answers each, in order, with its own result.
    /// `consecutive_ids`: whether one statement's rows get consecutive ids
    /// ([`multi_row_ids_are_consecutive`]).
    fn write(
        conn: &mut DbConn,
        rows: &[Self::Row],
        consecutive_ids: bool,
    ) -> Vec<ApiResult<Self::Created>>;
}

/// Posts without tags ([`service::create_posts`]).
#[derive(Debug)]
pub struct PostCreates;

impl Creates for PostCreates {
    type Row = NewPost;
    type Created = PostDetail;
    const NAME: &'static str = "post creates";

    fn write(
        conn: &mut DbConn,
        rows: &[NewPost],
        consecutive_ids: bool,
    ) -> Vec<ApiResult<PostDetail>> {
        service::create_posts(conn, rows, consecutive_ids)
    }
}

/// Top-level replies ([`service::create_replies`]).
#[derive(Debug)]
pub struct ReplyCreates;

impl Creates for ReplyCreates {
    type Row = NewReply;
    type Created = CreatedReply;
    const NAME: &'static str = "reply creates";

    fn write(
        conn: &mut DbConn,
        rows: &[NewReply],
        consecutive_ids: bool,
    ) -> Vec<ApiResult<CreatedReply>> {
        service::create_replies(conn, rows, consecutive_ids)
    }
}

/// The queue of post creates.
pub type PostBatcher = Batcher<PostCreates>;
/// The worker of a [`PostBatcher`].
pub type PostWorker = BatchWorker<PostCreates>;
/// The queue of reply creates.
pub type ReplyBatcher = Batcher<ReplyCreates>;
/// The worker of a [`ReplyBatcher`].
pub type ReplyWorker = BatchWorker<ReplyCreates>;

/// A row waiting in the queue, with where its answer goes.
struct Queued<C: Creates> {
    row: C::Row,
    answer: oneshot::Sender<ApiResult<C::Created>>,
}

/// The queue of one kind of create: hand it a row with [`Batcher::create`]. Cheap to clone;
/// the worker stops once every clone is dropped and the queue is empty.
pub struct Batcher<C: Creates> {
    queue: mpsc::Sender<Queued<C>>,
    /// Rows the worker has taken and not answered yet.
    in_worker: Arc<AtomicUsize>,
}

impl<C: Creates> Clone for Batcher<C> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
            in_worker: self.in_worker.clone(),
        }
    }
}

impl<C: Creates> std::fmt::Debug for Batcher<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("creates", &C::NAME)
            .field("waiting", &self.waiting())
            .finish()
    }
}

/// The task that writes what a [`Batcher`] queued: run [`BatchWorker::run`] once.
pub struct BatchWorker<C: Creates> {
    queue: mpsc::Receiver<Queued<C>>,
    max_batch: usize,
    in_worker: Arc<AtomicUsize>,
    creates: PhantomData<C>,
}

impl<C: Creates> std::fmt::Debug for BatchWorker<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWorker")
            .field("creates", &C::NAME)
            .field("max_batch", &self.max_batch)
            .finish_non_exhaustive()
    }
}

impl<C: Creates> Batcher<C> {
    /// A queue whose batches hold up to `max_batch` rows (at least one), and its worker, not
    /// running yet: spawn [`BatchWorker::run`]. The queue holds a few batches; past that,
    /// requests wait for room.
    pub fn new(max_batch: usize) -> (Self, BatchWorker<C>) {
        let max_batch = max_batch.max(1);
        let (sender, receiver) = mpsc::channel(max_batch * QUEUED_BATCHES);
        let in_worker = Arc::new(AtomicUsize::new(0));
        let batcher = Self {
            queue: sender,
            in_worker: in_worker.clone(),
        };
        let worker = BatchWorker {
            queue: receiver,
            max_batch,
            in_worker,
            creates: PhantomData,
        };
        (batcher, worker)
    }

    /// A queue with its worker spawned on the current Tokio runtime (call it inside one),
    /// writing through `db`.
    pub fn start(db: Db, max_batch: usize) -> Self {
        let (batcher, worker) = Self::new(max_batch);
        tokio::spawn(worker.run(db));
        batcher
    }

    /// Writes `row` with whatever other creates are waiting, and answers this one: what it
    /// created, or its own error. `None` when the worker has stopped and the row was not
    /// queued: create it alone.
    pub async fn create(&self, row: C::Row) -> Option<ApiResult<C::Created>> {
        let (answer, answered) = oneshot::channel();
        self.queue.send(Queued { row, answer }).await.ok()?;
        Some(answered.await.unwrap_or_else(|_| {
            // The worker was stopped (the runtime shutting down) while holding the row.
            Err(ApiError::unavailable(
                "The server is shutting down; retry shortly.",
                format!("the batch worker of {} stopped before answering", C::NAME),
            )
            .with_retry_after(1))
        }))
    }

    /// Creates queued or being written and not answered yet (for tests and metrics).
    pub fn waiting(&self) -> usize {
        let queued = self.queue.max_capacity() - self.queue.capacity();
        queued + self.in_worker.load(Ordering::SeqCst)
    }
}

impl<C: Creates> BatchWorker<C> {
    /// Writes batches until every [`Batcher`] of this queue is dropped. Never panics on a
    /// failed batch: its requests get the error.
    pub async fn run(mut self, db: Db) {
        // Asked on the first batch that reaches the database, then kept.
        let mut consecutive_ids: Option<bool> = None;
        let mut batch = Vec::with_capacity(self.max_batch);
        while self.queue.recv_many(&mut batch, self.max_batch).await > 0 {
            self.in_worker.store(batch.len(), Ordering::SeqCst);
            let (rows, answers): (Vec<C::Row>, Vec<_>) =
                batch.drain(..).map(|q| (q.row, q.answer)).unzip();
            let known = consecutive_ids;
            let written = db
                .write(move |conn| {
                    let consecutive = known.or_else(|| ask_consecutive_ids(conn, C::NAME));
                    let results = C::write(conn, &rows, consecutive.unwrap_or(false));
                    Ok((results, consecutive))
                })
                .await;
            match written {
                Ok((results, consecutive)) => {
                    consecutive_ids = consecutive;
                    for (answer, result) in answers.into_iter().zip(results) {
                        // Its client may be gone; the row stays, as for any create.
                        let _ = answer.send(result);
                    }
                }
                Err(err) => {
                    for answer in answers {
                        let _ = answer.send(Err(err.clone()));
                    }
                }
            }
            self.in_worker.store(0, Ordering::SeqCst);
        }
    }
}

/// Whether the database gives one statement's rows consecutive ids; `None` when it could not
/// say (asked again with the next batch).
fn ask_consecutive_ids(conn: &mut DbConn, creates: &str) -> Option<bool> {
    match multi_row_ids_are_consecutive(conn) {
        Ok(true) => {
            tracing::info!("{creates}: each batch is one multi-row INSERT");
            Some(true)
        }
        Ok(false) => {
            tracing::info!(
                "{creates}: one INSERT per row (the database does not give a multi-row \
                 INSERT consecutive ids: innodb_autoinc_lock_mode 2 or auto_increment_increment > 1)"
            );
            Some(false)
        }
        Err(err) => {
            tracing::warn!(error = %err, "{creates}: could not ask how the database numbers rows; inserting rows one by one for now");
            None
        }
    }
}
