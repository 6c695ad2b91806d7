//! The bounded outbound queue of one WebSocket connection, with a drop policy.
//!
//! Everything sent to a client goes through its [`Outbound`]: replies, relayed signalling,
//! media frames. The queue holds at most `messages` messages and `bytes` bytes. When it is
//! full:
//!
//! - a [`Delivery::Droppable`] message (a video delta frame, a position update) is dropped;
//! - a [`Delivery::Important`] message (a key frame) evicts the oldest droppable message, or is
//!   dropped when there is none;
//! - a [`Delivery::Reliable`] message (signalling, presence, errors) evicts the oldest
//!   droppable, then the oldest important message; when the queue holds nothing but reliable
//!   messages it may overflow up to twice the limits, and past that the connection is closed —
//!   a reliable message is never silently lost.
//!
//! Every drop is counted. A queue that stays full (it does not drain below half its limits) for
//! longer than the slow-consumer timeout closes its connection with a reason. Messages are
//! shared bytes: fanning one frame out to many queues copies no payload.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use actix_ws::{CloseCode, CloseReason};
use bytes::Bytes;
use bytestring::ByteString;
use tokio::sync::Notify;

/// How hard the queue tries to deliver a message when the client falls behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Delivery {
    /// Dropped first (video delta frames, position updates).
    Droppable,
    /// Dropped only when no droppable message can make room (video key frames).
    Important,
    /// Never dropped (signalling, presence, replies); a client that cannot take one is closed.
    Reliable,
}

impl Delivery {
    /// The wire code used in bus envelopes.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Droppable => 0,
            Self::Important => 1,
            Self::Reliable => 2,
        }
    }

    /// Parses a wire code.
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Droppable),
            1 => Some(Self::Important),
            2 => Some(Self::Reliable),
            _ => None,
        }
    }
}

/// One message for a client. Cloning shares the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutMessage {
    /// A text frame.
    Text(ByteString),
    /// A binary frame.
    Binary(Bytes),
    /// A pong answering the client's ping.
    Pong(Bytes),
}

impl OutMessage {
    /// A text frame from a string.
    pub fn text(text: impl Into<ByteString>) -> Self {
        Self::Text(text.into())
    }

    /// Payload size in bytes.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) | Self::Pong(b) => b.len(),
        }
    }

    /// True for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The limits of one queue.
#[derive(Clone, Copy, Debug)]
pub struct QueueLimits {
    /// Messages buffered before the drop policy applies.
    pub messages: usize,
    /// Bytes buffered before the drop policy applies.
    pub bytes: usize,
    /// How long the queue may stay full before the connection is closed.
    pub slow_consumer_timeout: Duration,
}

/// What [`Outbound::push`] did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Queued. `evicted` older droppable messages were dropped to make room.
    Queued {
        /// Messages dropped to make room (0 or 1).
        evicted: u32,
    },
    /// The message itself was dropped: the queue is full.
    Dropped,
    /// The connection is closed (or was just closed because it stayed behind too long).
    Closed,
}

impl Pushed {
    /// Messages this push dropped (the message itself or an evicted one).
    pub fn dropped(self) -> u64 {
        match self {
            Self::Queued { evicted } => u64::from(evicted),
            Self::Dropped => 1,
            Self::Closed => 0,
        }
    }

    /// The message was queued.
    pub fn queued(self) -> bool {
        matches!(self, Self::Queued { .. })
    }
}

/// Totals since the queue was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboundCounters {
    /// Lossy (droppable or important) messages queued.
    pub lossy_messages: u64,
    /// Their bytes.
    pub lossy_bytes: u64,
    /// Messages dropped because the client fell behind.
    pub dropped: u64,
}

/// What the writer should do next.
#[derive(Debug)]
pub(crate) enum Next {
    /// Send this message.
    Message(OutMessage),
    /// Everything queued was sent: close with this reason.
    Close(CloseReason),
    /// Stop now, without sending what is queued.
    Abort(CloseReason),
}

struct Entry {
    message: OutMessage,
    delivery: Delivery,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Entry>,
    bytes: usize,
    /// Since when the queue has been full (cleared when it drains below half).
    full_since: Option<Instant>,
    /// Close after sending what is queued.
    closing: Option<CloseReason>,
    /// Close now.
    aborted: Option<CloseReason>,
}

struct Shared {
    state: Mutex<State>,
    limits: QueueLimits,
    /// Wakes the writer.
    ready: Notify,
    /// Wakes whoever waits for the connection to end.
    closed_signal: Notify,
    closed: AtomicBool,
    lossy_messages: AtomicU64,
    lossy_bytes: AtomicU64,
    dropped: AtomicU64,
}

/// The outbound queue of one connection; cheap to clone, safe to push from any thread.
#[derive(Clone)]
pub struct Outbound {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Outbound")
            .field("queued", &state.queue.len())
            .field("bytes", &state.bytes)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The reason sent when a client stays behind too long.
pub fn slow_consumer_reason() -> CloseReason {
    CloseReason {
        code: CloseCode::Policy,
        description: Some("too slow: outbound queue stayed full".to_owned()),
    }
}

impl Outbound {
    /// An empty queue with these limits.
    pub fn new(limits: QueueLimits) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                limits: QueueLimits {
                    messages: limits.messages.max(1),
                    bytes: limits.bytes.max(1),
                    slow_consumer_timeout: limits.slow_consumer_timeout,
                },
                ready: Notify::new(),
                closed_signal: Notify::new(),
                closed: AtomicBool::new(false),
                lossy_messages: AtomicU64::new(0),
                lossy_bytes: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Two handles on the same queue.
    pub fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Queues `message` under the drop policy of `delivery`.
    pub fn push(&self, message: OutMessage, delivery: Delivery) -> Pushed {
        self.push_at(message, delivery, Instant::now())
    }

    fn push_at(&self, message: OutMessage, delivery: Delivery, now: Instant) -> Pushed {
        let limits = self.shared.limits;
        let size = message.len();
        let mut state = self.lock();
        if state.closing.is_some() || state.aborted.is_some() {
            return Pushed::Closed;
        }
        let full = |state: &State, extra: usize| {
            state.queue.len() >= limits.messages || state.bytes + extra > limits.bytes
        };
        let mut evicted = 0;
        if full(&state, size) {
            let since = *state.full_since.get_or_insert(now);
            if now.duration_since(since) >= limits.slow_consumer_timeout {
                drop(state);
                self.abort(slow_consumer_reason());
                return Pushed::Closed;
            }
            match delivery {
                Delivery::Droppable => return self.count_drop(Pushed::Dropped),
                Delivery::Important => {
                    if !evict(&mut state, Delivery::Droppable) {
                        return self.count_drop(Pushed::Dropped);
                    }
                    evicted = 1;
                }
                Delivery::Reliable => {
                    if evict(&mut state, Delivery::Droppable)
                        || evict(&mut state, Delivery::Important)
                    {
                        evicted = 1;
                    } else if state.queue.len() >= limits.messages * 2
                        || state.bytes + size > limits.bytes.saturating_mul(2)
                    {
                        // Full of messages that must not be lost: the client cannot keep up.
                        drop(state);
                        self.abort(slow_consumer_reason());
                        return Pushed::Closed;
                    }
                }
            }
            if evicted > 0 {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        if delivery != Delivery::Reliable {
            self.shared.lossy_messages.fetch_add(1, Ordering::Relaxed);
            self.shared
                .lossy_bytes
                .fetch_add(size as u64, Ordering::Relaxed);
        }
        state.bytes += size;
        state.queue.push_back(Entry { message, delivery });
        drop(state);
        self.shared.ready.notify_one();
        Pushed::Queued { evicted }
    }

    fn count_drop(&self, pushed: Pushed) -> Pushed {
        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        pushed
    }

    /// Closes the connection once everything queued so far has been sent; later pushes are
    /// refused. Does nothing if it is already closing.
    pub fn close(&self, reason: CloseReason) {
        let mut state = self.lock();
        if state.closing.is_none() && state.aborted.is_none() {
            state.closing = Some(reason);
        }
        drop(state);
        self.mark_closed();
    }

    /// Closes the connection now, discarding what is queued.
    pub fn abort(&self, reason: CloseReason) {
        let mut state = self.lock();
        if state.aborted.is_none() {
            state.aborted = Some(reason);
        }
        state.queue.clear();
        state.bytes = 0;
        drop(state);
        self.mark_closed();
    }

    fn mark_closed(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.ready.notify_one();
        self.shared.closed_signal.notify_waiters();
    }

    /// The connection is closing or closed: nothing more will be queued.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Waits until the connection is closing or closed.
    pub async fn closed(&self) {
        loop {
            let notified = self.shared.closed_signal.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    /// Totals since the queue was created.
    pub fn counters(&self) -> OutboundCounters {
        OutboundCounters {
            lossy_messages: self.shared.lossy_messages.load(Ordering::Relaxed),
            lossy_bytes: self.shared.lossy_bytes.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
        }
    }

    /// Messages and bytes waiting to be written.
    pub fn queued(&self) -> (usize, usize) {
        let state = self.lock();
        (state.queue.len(), state.bytes)
    }

    /// The next thing for the writer to do; waits while the queue is empty.
    pub(crate) async fn next(&self) -> Next {
        loop {
            if let Some(next) = self.try_next() {
                return next;
            }
            // notify_one stores a permit, so a push between try_next and here is not missed.
            self.shared.ready.notified().await;
        }
    }

    fn try_next(&self) -> Option<Next> {
        let limits = self.shared.limits;
        let mut state = self.lock();
        if let Some(reason) = &state.aborted {
            return Some(Next::Abort(reason.clone()));
        }
        if let Some(entry) = state.queue.pop_front() {
            state.bytes -= entry.message.len();
            if state.queue.len() <= limits.messages / 2 && state.bytes <= limits.bytes / 2 {
                state.full_since = None;
            }
            return Some(Next::Message(entry.message));
        }
        state.closing.clone().map(Next::Close)
    }

    /// Why the connection was aborted, if it was.
    pub(crate) fn abort_reason(&self) -> Option<CloseReason> {
        self.lock().aborted.clone()
    }

    /// Waits until the connection is aborted (not merely closing).
    pub(crate) async fn aborted(&self) {
        loop {
            let notified = self.shared.closed_signal.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().aborted.is_some() {
                return;
            }
            notified.await;
        }
    }
}

/// Removes the oldest queued message of exactly `delivery`; true if one was removed.
fn evict(state: &mut State, delivery: Delivery) -> bool {
    match state.queue.iter().position(|e| e.delivery == delivery) {
        Some(index) => {
            if let Some(entry) = state.queue.remove(index) {
                state.bytes -= entry.message.len();
            }
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(messages: usize) -> Outbound {
        Outbound::new(QueueLimits {
            messages,
            bytes: 1 << 20,
            slow_consumer_timeout: Duration::from_secs(10),
        })
    }

    fn text(s: &str) -> OutMessage {
        OutMessage::text(s.to_owned())
    }

    fn drain(q: &Outbound) -> Vec<OutMessage> {
        let mut out = Vec::new();
        while let Some(Next::Message(m)) = q.try_next() {
            out.push(m);
        }
        out
    }

    #[test]
    fn droppable_messages_are_dropped_when_full_and_counted() {
        let q = queue(2);
        assert!(q.push(text("a"), Delivery::Droppable).queued());
        assert!(q.push(text("b"), Delivery::Droppable).queued());
        assert_eq!(q.push(text("c"), Delivery::Droppable), Pushed::Dropped);
        assert_eq!(q.counters().dropped, 1);
        assert_eq!(q.counters().lossy_messages, 2);
        assert_eq!(drain(&q), vec![text("a"), text("b")]);
    }

    #[test]
    fn reliable_messages_evict_droppable_then_important_ones() {
        let q = queue(3);
        q.push(text("key"), Delivery::Important);
        q.push(text("d1"), Delivery::Droppable);
        q.push(text("d2"), Delivery::Droppable);
        assert_eq!(
            q.push(text("offer"), Delivery::Reliable),
            Pushed::Queued { evicted: 1 }
        );
        assert_eq!(
            q.push(text("key2"), Delivery::Important),
            Pushed::Queued { evicted: 1 }
        );
        // Nothing droppable left: an important message evicts nothing and is dropped.
        assert_eq!(q.push(text("key3"), Delivery::Important), Pushed::Dropped);
        assert_eq!(
            q.push(text("answer"), Delivery::Reliable),
            Pushed::Queued { evicted: 1 }
        );
        assert_eq!(q.counters().dropped, 4);
        assert_eq!(drain(&q), vec![text("offer"), text("key2"), text("answer")]);
    }

    #[test]
    fn reliable_overflow_is_bounded_and_closes_the_connection() {
        let q = queue(2);
        for i in 0..4 {
            assert!(
                q.push(text(&i.to_string()), Delivery::Reliable).queued(),
                "{i}"
            );
        }
        assert_eq!(q.push(text("x"), Delivery::Reliable), Pushed::Closed);
        assert!(q.is_closed());
        assert!(matches!(q.try_next(), Some(Next::Abort(_))));
        assert_eq!(q.queued(), (0, 0), "an aborted queue frees its messages");
    }

    #[test]
    fn a_queue_that_stays_full_past_the_timeout_closes() {
        let q = Outbound::new(QueueLimits {
            messages: 4,
            bytes: 1 << 20,
            slow_consumer_timeout: Duration::from_secs(5),
        });
        let start = Instant::now();
        for s in ["a", "b", "c", "d"] {
            q.push_at(text(s), Delivery::Droppable, start);
        }
        assert_eq!(
            q.push_at(text("e"), Delivery::Droppable, start),
            Pushed::Dropped
        );
        // Draining one message is not recovering: still above half.
        assert!(matches!(q.try_next(), Some(Next::Message(_))));
        q.push_at(
            text("f"),
            Delivery::Droppable,
            start + Duration::from_secs(1),
        );
        assert_eq!(
            q.push_at(
                text("g"),
                Delivery::Droppable,
                start + Duration::from_secs(6)
            ),
            Pushed::Closed
        );
        match q.try_next() {
            Some(Next::Abort(reason)) => assert_eq!(reason.code, CloseCode::Policy),
            other => panic!("expected an abort, got {other:?}"),
        }
    }

    #[test]
    fn draining_below_half_resets_the_slow_consumer_clock() {
        let q = Outbound::new(QueueLimits {
            messages: 2,
            bytes: 1 << 20,
            slow_consumer_timeout: Duration::from_secs(5),
        });
        let start = Instant::now();
        q.push_at(text("a"), Delivery::Droppable, start);
        q.push_at(text("b"), Delivery::Droppable, start);
        q.push_at(text("c"), Delivery::Droppable, start);
        drain(&q);
        let later = start + Duration::from_secs(6);
        q.push_at(text("d"), Delivery::Droppable, later);
        q.push_at(text("e"), Delivery::Droppable, later);
        assert_eq!(
            q.push_at(text("f"), Delivery::Droppable, later),
            Pushed::Dropped,
            "full again, but the clock restarted"
        );
        assert!(!q.is_closed());
    }

    #[test]
    fn byte_limit_applies_too() {
        let q = Outbound::new(QueueLimits {
            messages: 100,
            bytes: 10,
            slow_consumer_timeout: Duration::from_secs(5),
        });
        assert!(q.push(text("12345678"), Delivery::Droppable).queued());
        assert_eq!(q.push(text("123"), Delivery::Droppable), Pushed::Dropped);
        assert!(q.push(text("12"), Delivery::Droppable).queued());
    }

    #[test]
    fn close_sends_what_is_queued_first() {
        let q = queue(4);
        q.push(text("bye"), Delivery::Reliable);
        q.close(CloseReason::from(CloseCode::Normal));
        assert_eq!(q.push(text("late"), Delivery::Reliable), Pushed::Closed);
        assert!(matches!(q.try_next(), Some(Next::Message(_))));
        assert!(matches!(q.try_next(), Some(Next::Close(_))));
    }

    #[tokio::test]
    async fn the_writer_wakes_for_a_push() {
        let q = queue(4);
        let writer = {
            let q = q.clone();
            tokio::spawn(async move { q.next().await })
        };
        tokio::task::yield_now().await;
        q.push(text("hi"), Delivery::Reliable);
        match writer.await.unwrap() {
            Next::Message(m) => assert_eq!(m, text("hi")),
            other => panic!("{other:?}"),
        }
        let waiter = {
            let q = q.clone();
            tokio::spawn(async move { q.closed().await })
        };
        q.close(CloseReason::from(CloseCode::Normal));
        waiter.await.unwrap();
    }
}
