//! The realtime layer every WebSocket endpoint is built on (live video, notifications,
//! virtual worlds).
//!
//! The pattern: authenticate on upgrade, then [`Realtime::accept`] the socket and drive it from
//! a spawned task. One task reads ([`Socket::recv`]), one writes (spawned by `accept`), and
//! everything sent to the client goes through its bounded [`Outbound`] queue, whose drop policy
//! sacrifices media frames before signalling and closes a client that stays behind. Rooms live
//! on the kernel's Bus ([`Hub`], [`Room`]), so members connected to different processes sharing
//! Redis are in one room, with one Bus subscription per room per process.
//!
//! ```ignore
//! async fn socket(req: HttpRequest, body: web::Payload, realtime: web::Data<Realtime>,
//!                 chat: web::Data<ChatSettings>) -> Result<HttpResponse, ApiError> {
//!     realtime::check_upgrade(&req)?;
//!     let caller = auth::authenticate_ws(&req).await?.ok_or_else(ApiError::not_authenticated)?;
//!     // Each endpoint's limits come from its own settings section.
//!     let settings = SocketSettings::new(
//!         chat.max_message_bytes, chat.outbound_queue, chat.slow_consumer_timeout,
//!         chat.heartbeat_interval, chat.client_timeout,
//!     );
//!     let (response, mut socket) = realtime.accept(&req, body, "chat", settings)?;
//!     let hub = realtime.hub("chat");
//!     actix_web::rt::spawn(async move {
//!         let room = hub.open("lobby").await?;
//!         room.add(Member { id, outbound: socket.outbound().clone(), info }, None).await?;
//!         while let Some(message) = socket.recv().await {
//!             // parse, answer with socket.reply(..), relay with room.broadcast(..)
//!         }
//!         room.leave(id, None).await
//!     });
//!     Ok(response)
//! }
//! ```

mod envelope;
mod frames;
mod hub;
mod outbound;
mod socket;

use crate::sync::lock;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, HttpRequest, HttpResponse};
use prometheus_client::metrics::gauge::Gauge;
use uuid::Uuid;

pub use frames::{Frame, FrameReader, ProtocolViolation};
pub use hub::{Delivered, Hub, Member, Room, RoomLease, SendError};
pub use outbound::{
    slow_consumer_reason, Delivery, OutMessage, Outbound, OutboundCounters, Pushed, QueueLimits,
};
pub use socket::{check_upgrade, Incoming, Socket, SocketSettings};

pub use actix_ws::{CloseCode, CloseReason};

use crate::bus::Bus;
use crate::error::ApiError;
use crate::metrics::{EndpointLabels, Metrics};

type State = Arc<dyn Any + Send + Sync>;

/// The realtime state of this process, shared by every endpoint: its instance id, one [`Hub`]
/// per endpoint, and per-process state that domains keep beside their hub.
pub struct Realtime {
    instance: Uuid,
    bus: Bus,
    metrics: web::Data<Metrics>,
    hubs: Mutex<HashMap<&'static str, Hub>>,
    states: Mutex<HashMap<TypeId, State>>,
    /// Open sockets, every endpoint together.
    open: Gauge,
    sockets: Arc<socket::Registry>,
}

impl std::fmt::Debug for Realtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realtime")
            .field("instance", &self.instance)
            .field("bus", &self.bus.kind())
            .finish_non_exhaustive()
    }
}

impl Realtime {
    /// The realtime state of a process using `bus`, with a fresh instance id.
    pub fn new(bus: Bus, metrics: web::Data<Metrics>) -> Self {
        Self {
            instance: Uuid::new_v4(),
            bus,
            metrics,
            hubs: Mutex::new(HashMap::new()),
            states: Mutex::new(HashMap::new()),
            open: Gauge::default(),
            sockets: Arc::default(),
        }
    }

    /// This process's id: unique per start, carried in bus envelopes and recorded beside
    /// connections so a process that died can be told from one that lives.
    pub fn instance_id(&self) -> Uuid {
        self.instance
    }

    /// The hub of `endpoint`, created on first use.
    pub fn hub(&self, endpoint: &'static str) -> Hub {
        lock(&self.hubs)
            .entry(endpoint)
            .or_insert_with(|| Hub::new(endpoint, self.instance, self.bus.clone(), &self.metrics))
            .clone()
    }

    /// Per-process state of type `T`, created by `init` on first use (a domain's stats
    /// registry, say). `init` runs at most once, under a lock: keep it quick.
    pub fn state<T: Send + Sync + 'static>(&self, init: impl FnOnce() -> T) -> Arc<T> {
        let mut states = lock(&self.states);
        let state = states
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(init()) as State)
            .clone();
        drop(states);
        // The entry for TypeId::of::<T>() always holds a T.
        state
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("realtime state keyed by its own type"))
    }

    /// Accepts a WebSocket upgrade on `endpoint`: the response to return from the handler and
    /// the [`Socket`] to drive from a spawned task.
    pub fn accept(
        &self,
        req: &HttpRequest,
        body: web::Payload,
        endpoint: &'static str,
        settings: SocketSettings,
    ) -> Result<(HttpResponse, Socket), ApiError> {
        let gauge = self
            .metrics
            .ws_connections
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.to_owned(),
            })
            .clone();
        socket::accept(
            req,
            body,
            settings,
            [gauge, self.open.clone()],
            self.sockets.clone(),
        )
    }

    /// WebSocket connections open in this process, every endpoint together.
    pub fn open_connections(&self) -> i64 {
        self.open.get()
    }

    /// Closes every WebSocket of this process after what is queued for it (at shutdown, so
    /// clients reconnect to another instance at once instead of waiting for a timeout).
    pub fn close_all(&self, reason: &CloseReason) -> usize {
        self.sockets.close_all(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_created_once_per_type() {
        let realtime = Realtime::new(Bus::in_memory(), web::Data::new(Metrics::new()));
        let a = realtime.state(|| 41_u32);
        let b = realtime.state(|| 99_u32);
        assert_eq!((*a, *b), (41, 41));
        let s = realtime.state(|| String::from("x"));
        assert_eq!(*s, "x");
        assert_eq!(realtime.hub("t").endpoint(), "t");
    }
}
