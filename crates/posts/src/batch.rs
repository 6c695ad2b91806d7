//! Group commit of post creates: concurrent creates of posts without tags are written
//! together, in three statements for the whole batch (the authors' cards, one multi-row
//! `INSERT`, its first id) instead of three each. On MariaDB a create's cost is per statement
//! (about 0.1 ms of the database's CPU each, docs/performance.md), so sharing the statements
//! is what raises the rate.
//!
//! - A request hands its validated post to a bounded queue and waits for its own answer. When
//!   the queue is full it waits for room (backpressure), so nothing grows without bound.
//! - One worker task takes whatever is queued, up to the batch size, as soon as the previous
//!   batch is answered. It never waits for more to arrive: a lone create goes at once.
//! - The batch runs through [`Db::write`] (the blocking pool, and SQLite's writer queue) with
//!   [`service::create_posts`]: one row failing (an author deleted meanwhile) fails that
//!   request only; an error of the whole batch (the database unreachable) answers every
//!   request of it with that error.
//! - A client that goes away does not take its row back, as with any create whose client
//!   disconnected; the others are answered as usual.
//! - The database tells once whether one statement's rows get consecutive ids
//!   ([`multi_row_ids_are_consecutive`]); where not, the batch inserts row by row (still one
//!   authors lookup for all).
//!
//! Tagged posts are not batched: their tag writes need a transaction each
//! ([`requests::publish_post`](crate::service::requests::publish_post)).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use plaza_kernel::db::multi_row_ids_are_consecutive;
use plaza_kernel::{ApiError, ApiResult, Db};
use tokio::sync::{mpsc, oneshot};

use crate::service::{self, NewPost};
use crate::types::PostDetail;

/// Most posts written together by default (`POSTS_CREATE_BATCH`).
pub const DEFAULT_BATCH: usize = 64;

/// How many batches the queue holds before requests wait for room.
const QUEUED_BATCHES: usize = 4;

/// A post waiting in the queue, with where its answer goes.
struct Queued {
    post: NewPost,
    answer: oneshot::Sender<ApiResult<PostDetail>>,
}

/// The queue of post creates: hand it a post with [`PostBatcher::create`]. Cheap to clone;
/// the worker stops once every clone is dropped and the queue is empty.
#[derive(Clone)]
pub struct PostBatcher {
    queue: mpsc::Sender<Queued>,
    /// Posts the worker has taken and not answered yet.
    in_worker: Arc<AtomicUsize>,
}

impl std::fmt::Debug for PostBatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostBatcher")
            .field("waiting", &self.waiting())
            .finish()
    }
}

/// The task that writes what a [`PostBatcher`] queued: run [`BatchWorker::run`] once.
pub struct BatchWorker {
    queue: mpsc::Receiver<Queued>,
    max_batch: usize,
    in_worker: Arc<AtomicUsize>,
}

impl std::fmt::Debug for BatchWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWorker")
            .field("max_batch", &self.max_batch)
            .finish_non_exhaustive()
    }
}

impl PostBatcher {
    /// A queue whose batches hold up to `max_batch` posts (at least one), and its worker, not
    /// running yet: spawn [`BatchWorker::run`]. The queue holds a few batches; past that,
    /// requests wait for room.
    pub fn new(max_batch: usize) -> (Self, BatchWorker) {
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

    /// Creates `post` with whatever other creates are waiting, and answers this one: its
    /// detail, or its own error. `None` when the worker has stopped and the post was not
    /// queued: create it alone.
    pub async fn create(&self, post: NewPost) -> Option<ApiResult<PostDetail>> {
        let (answer, answered) = oneshot::channel();
        self.queue.send(Queued { post, answer }).await.ok()?;
        Some(answered.await.unwrap_or_else(|_| {
            // The worker was stopped (the runtime shutting down) while holding the post.
            Err(ApiError::unavailable(
                "The server is shutting down; retry shortly.",
                "the post batch worker stopped before answering",
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

impl BatchWorker {
    /// Writes batches until every [`PostBatcher`] of this queue is dropped. Never panics on a
    /// failed batch: its requests get the error.
    pub async fn run(mut self, db: Db) {
        // Asked on the first batch that reaches the database, then kept.
        let mut consecutive_ids: Option<bool> = None;
        let mut batch = Vec::with_capacity(self.max_batch);
        while self.queue.recv_many(&mut batch, self.max_batch).await > 0 {
            self.in_worker.store(batch.len(), Ordering::SeqCst);
            let (posts, answers): (Vec<NewPost>, Vec<_>) =
                batch.drain(..).map(|q| (q.post, q.answer)).unzip();
            let known = consecutive_ids;
            let written = db
                .write(move |conn| {
                    let consecutive = known.or_else(|| ask_consecutive_ids(conn));
                    let results = service::create_posts(conn, &posts, consecutive.unwrap_or(false));
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
fn ask_consecutive_ids(conn: &mut plaza_kernel::db::DbConn) -> Option<bool> {
    match multi_row_ids_are_consecutive(conn) {
        Ok(true) => {
            tracing::info!("post creates: each batch is one multi-row INSERT");
            Some(true)
        }
        Ok(false) => {
            tracing::info!(
                "post creates: one INSERT per post (the database does not give a multi-row \
                 INSERT consecutive ids: innodb_autoinc_lock_mode 2 or auto_increment_increment > 1)"
            );
            Some(false)
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not ask how the database numbers rows; inserting posts one by one for now");
            None
        }
    }
}
