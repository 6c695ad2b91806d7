//! One WebSocket connection: the upgrade, a writer task draining the [`Outbound`] queue with
//! heartbeat pings, and [`Socket::recv`] yielding the client's messages while it answers pings,
//! enforces the size limit and the client timeout, and notices when the connection closes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Session};
use bytes::Bytes;
use bytestring::ByteString;
use futures_util::{FutureExt, StreamExt};
use prometheus_client::metrics::gauge::Gauge;
use tokio::time::Instant;

use super::frames::{Frame, FrameReader};
use super::outbound::{Delivery, Next, OutMessage, Outbound, QueueLimits};
use crate::error::ApiError;

/// The open sockets of a process, so they can all be closed at shutdown.
#[derive(Default)]
pub(crate) struct Registry {
    next: AtomicU64,
    sockets: Mutex<HashMap<u64, Outbound>>,
}

impl Registry {
    fn add(&self, outbound: &Outbound) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, outbound.clone());
        id
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    pub(crate) fn close_all(&self, reason: &CloseReason) -> usize {
        let sockets: Vec<Outbound> = self.lock().values().cloned().collect();
        for outbound in &sockets {
            outbound.close(reason.clone());
        }
        sockets.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Outbound>> {
        self.sockets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How long a close frame may take to leave before the connection is dropped anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The limits of a WebSocket endpoint, built by the endpoint (from its own settings section)
/// and passed to [`Realtime::accept`](super::Realtime::accept).
#[derive(Clone, Copy, Debug)]
pub struct SocketSettings {
    /// Largest message accepted from the client; larger ones are refused and skipped.
    pub max_message_bytes: usize,
    /// The outbound queue.
    pub queue: QueueLimits,
    /// How often the server pings.
    pub heartbeat_interval: Duration,
    /// No traffic from the client for this long closes the connection.
    pub client_timeout: Duration,
}

impl SocketSettings {
    /// Limits with the outbound queue's byte budget derived from the message limit: eight
    /// maximum-size messages, at least 16 MiB. Each endpoint builds its own from its
    /// settings section (live video from `STREAM_*`; notifications and world presence from
    /// theirs).
    pub fn new(
        max_message_bytes: usize,
        queue_messages: usize,
        slow_consumer_timeout: Duration,
        heartbeat_interval: Duration,
        client_timeout: Duration,
    ) -> Self {
        Self {
            max_message_bytes,
            queue: QueueLimits {
                messages: queue_messages,
                bytes: max_message_bytes.saturating_mul(8).max(16 << 20),
                slow_consumer_timeout,
            },
            heartbeat_interval,
            client_timeout,
        }
    }
}

/// A message from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text message.
    Text(ByteString),
    /// A binary message.
    Binary(Bytes),
    /// A text message that was not UTF-8.
    InvalidText,
    /// A message over the size limit (already discarded).
    Oversize {
        /// Its announced size.
        size: u64,
    },
}

/// 400 unless `req` is a WebSocket upgrade. Check before authenticating, so a plain request
/// does not spend a one-time ticket.
pub fn check_upgrade(req: &HttpRequest) -> Result<(), ApiError> {
    actix_http::ws::verify_handshake(req.head())
        .map_err(|e| ApiError::bad_request(format!("Expected a WebSocket upgrade: {e}.")))
}

/// Accepts the upgrade: returns the `101 Switching Protocols` response to give actix and the
/// [`Socket`] to drive (from a spawned task). `connections` count open sockets.
pub(crate) fn accept(
    req: &HttpRequest,
    body: web::Payload,
    settings: SocketSettings,
    connections: [Gauge; 2],
    registry: Arc<Registry>,
) -> Result<(HttpResponse, Socket), ApiError> {
    check_upgrade(req)?;
    // actix-ws writes our frames; we read the raw payload ourselves (see `frames`), so its
    // reader gets an empty payload.
    let empty = web::Payload::from_request(req, &mut Payload::None)
        .now_or_never()
        .ok_or_else(|| ApiError::internal("payload extractor did not resolve at once"))?
        .map_err(ApiError::internal)?;
    let (response, session, unused_reader) = actix_ws::handle(req, empty)
        .map_err(|e| ApiError::bad_request(format!("WebSocket handshake failed: {e}.")))?;
    drop(unused_reader);
    let outbound = Outbound::new(settings.queue);
    actix_rt::spawn(write(
        outbound.clone(),
        session,
        settings.heartbeat_interval,
    ));
    for gauge in &connections {
        gauge.inc();
    }
    let registration = registry.add(&outbound);
    Ok((
        response,
        Socket {
            payload: body.into_inner(),
            reader: FrameReader::new(settings.max_message_bytes),
            outbound,
            client_timeout: settings.client_timeout,
            last_seen: Instant::now(),
            connections,
            registry,
            registration,
        },
    ))
}

/// The reading side of a connection, and its outbound queue.
pub struct Socket {
    payload: Payload,
    reader: FrameReader,
    outbound: Outbound,
    client_timeout: Duration,
    last_seen: Instant,
    connections: [Gauge; 2],
    registry: Arc<Registry>,
    registration: u64,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("outbound", &self.outbound)
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// The queue of everything sent to this client.
    pub fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    /// Queues a reply that must not be lost (an acknowledgement, an error).
    pub fn reply(&self, text: impl Into<ByteString>) {
        self.outbound
            .push(OutMessage::Text(text.into()), Delivery::Reliable);
    }

    /// Closes after what is queued has been sent.
    pub fn close(&self, code: CloseCode, description: &str) {
        self.outbound.close(CloseReason {
            code,
            description: Some(description.to_owned()),
        });
    }

    /// The next message from the client; `None` once the connection is closing or closed
    /// (by the client, by a protocol error, by the client timeout, or because the client fell
    /// too far behind).
    pub async fn recv(&mut self) -> Option<Incoming> {
        loop {
            if self.outbound.is_closed() {
                return None;
            }
            match self.reader.next_frame() {
                Err(violation) => {
                    self.outbound.close(violation.close_reason());
                    return None;
                }
                Ok(Some(frame)) => match frame {
                    Frame::Text(text) => return Some(Incoming::Text(text)),
                    Frame::Binary(data) => return Some(Incoming::Binary(data)),
                    Frame::InvalidText => return Some(Incoming::InvalidText),
                    Frame::Oversize { size } => return Some(Incoming::Oversize { size }),
                    Frame::Ping(data) => {
                        self.outbound
                            .push(OutMessage::Pong(data), Delivery::Reliable);
                        continue;
                    }
                    Frame::Pong => continue,
                    Frame::Close(reason) => {
                        self.outbound
                            .close(reason.unwrap_or_else(|| CloseCode::Normal.into()));
                        return None;
                    }
                },
                Ok(None) => {}
            }
            let deadline = self.last_seen + self.client_timeout;
            tokio::select! {
                chunk = self.payload.next() => match chunk {
                    Some(Ok(bytes)) => {
                        self.last_seen = Instant::now();
                        self.reader.feed(&bytes);
                    }
                    // The client went away.
                    _ => {
                        self.outbound.abort(CloseCode::Away.into());
                        return None;
                    }
                },
                () = tokio::time::sleep_until(deadline) => {
                    self.outbound.abort(CloseReason {
                        code: CloseCode::Policy,
                        description: Some("heartbeat timeout".to_owned()),
                    });
                    return None;
                }
                () = self.outbound.closed() => return None,
            }
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.outbound.close(CloseCode::Normal.into());
        for gauge in &self.connections {
            gauge.dec();
        }
        self.registry.remove(self.registration);
    }
}

/// The writing side: sends queued messages in order, pings every `heartbeat`, and ends with a
/// close frame. A send that blocks (the client does not read) gives way to an abort.
async fn write(outbound: Outbound, mut session: Session, heartbeat: Duration) {
    let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // The ping first: a busy queue must not starve it, or a client that only receives
        // would never answer one and be timed out.
        let sent = tokio::select! {
            biased;
            _ = ping.tick() => send(&outbound, session.ping(b"")).await,
            next = outbound.next() => match next {
                Next::Message(OutMessage::Text(text)) => send(&outbound, session.text(text)).await,
                Next::Message(OutMessage::Binary(data)) => {
                    send(&outbound, session.binary(data)).await
                }
                Next::Message(OutMessage::Pong(data)) => {
                    send(&outbound, session.pong(&data)).await
                }
                Next::Close(reason) | Next::Abort(reason) => {
                    let _ = tokio::time::timeout(CLOSE_GRACE, session.close(Some(reason))).await;
                    return;
                }
            },
        };
        if sent.is_err() {
            // Aborted while a send waited (say, the client stopped reading): try to say why.
            // Otherwise the client is gone.
            match outbound.abort_reason() {
                Some(reason) => {
                    let _ = tokio::time::timeout(CLOSE_GRACE, session.close(Some(reason))).await;
                }
                None => outbound.abort(CloseCode::Away.into()),
            }
            return;
        }
    }
}

/// Runs one send unless the connection is aborted first.
async fn send<F>(outbound: &Outbound, send: F) -> Result<(), ()>
where
    F: std::future::Future<Output = Result<(), actix_ws::Closed>>,
{
    tokio::select! {
        result = send => result.map_err(drop),
        () = outbound.aborted() => Err(()),
    }
}
