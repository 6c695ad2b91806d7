//! Rooms on the Bus: the members of a room may be connected to any `plaza serve` process.
//!
//! A [`Hub`] (one per endpoint per process) keeps the rooms that have local members. Each such
//! room holds one Bus subscription, whatever its number of local members, and a roster of every
//! member — local ones with their [`Outbound`] queue, remote ones learnt from join and leave
//! events and from a snapshot the domain provides ([`Room::seed`]).
//!
//! Delivery: a message from a local member goes straight into the other local members' queues
//! and, when the roster has remote members, is published once on the room's topic; every other
//! process delivers it to its own local members. A process ignores what it published itself, so
//! nobody receives a message twice and a sender never receives its own. Membership events are
//! always published, so every process's roster converges.
//!
//! ```ignore
//! let room = hub.open("stream:42").await?;            // subscribes on first local use
//! room.seed(others_from_the_database);                // members who joined elsewhere before
//! room.add(Member { id, outbound, info }, Some(joined_announcement)).await?;
//! room.broadcast(id, OutMessage::text(json), Delivery::Reliable).await?;
//! room.leave(id, Some(left_announcement)).await?;      // the lease unsubscribes when dropped
//! ```

use crate::sync::lock;
use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::envelope::{Envelope, Kind};
use super::outbound::{Delivery, OutMessage, Outbound};
use crate::bus::{Bus, BusError, RecvError, Subscription};
use crate::metrics::{EndpointLabels, Metrics};

/// Departed member ids remembered per room, so a stale snapshot cannot bring one back.
const DEPARTED_MEMORY: usize = 4096;

/// A connection joining a room.
#[derive(Clone, Debug)]
pub struct Member {
    /// Unique across every process (a fresh UUID per connection).
    pub id: Uuid,
    /// Where messages for this member go.
    pub outbound: Outbound,
    /// How the domain describes the member to others (JSON, say); carried to other processes.
    pub info: Bytes,
}

/// What a local delivery did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Messages queued to local members.
    pub queued: u64,
    /// Messages dropped because local members were behind.
    pub dropped: u64,
}

impl Delivered {
    fn add(&mut self, pushed: super::outbound::Pushed) {
        if pushed.queued() {
            self.queued += 1;
        }
        self.dropped += pushed.dropped();
    }
}

/// Why a targeted message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The recipient is not in the room.
    #[error("no such member in the room")]
    NotMember,
    /// The bus failed.
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// The rooms of one endpoint in this process; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("endpoint", &self.inner.endpoint)
            .field("rooms", &lock(&self.inner.rooms).len())
            .finish()
    }
}

struct HubInner {
    endpoint: &'static str,
    instance: Uuid,
    bus: Bus,
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    relayed: Counter,
    dropped: Counter,
}

impl Hub {
    /// A hub for `endpoint` (`webrtc`, `notifications`, …) of the process `instance`.
    pub fn new(endpoint: &'static str, instance: Uuid, bus: Bus, metrics: &Metrics) -> Self {
        let labels = EndpointLabels {
            endpoint: endpoint.to_owned(),
        };
        Self {
            inner: Arc::new(HubInner {
                endpoint,
                instance,
                bus,
                rooms: Mutex::new(HashMap::new()),
                relayed: metrics.ws_messages_relayed.get_or_create(&labels).clone(),
                dropped: metrics.ws_messages_dropped.get_or_create(&labels).clone(),
            }),
        }
    }

    /// The endpoint this hub serves.
    pub fn endpoint(&self) -> &'static str {
        self.inner.endpoint
    }

    /// This process's id, as carried in bus envelopes.
    pub fn instance(&self) -> Uuid {
        self.inner.instance
    }

    /// Opens room `name` in this process, subscribing its topic if no local member holds it
    /// yet. The room stays open while any lease is alive.
    pub async fn open(&self, name: &str) -> Result<RoomLease, BusError> {
        let room = {
            let mut rooms = lock(&self.inner.rooms);
            let room = rooms
                .entry(name.to_owned())
                .or_insert_with(|| Arc::new(Room::new(name, &self.inner)))
                .clone();
            *lock(&room.leases) += 1;
            room
        };
        let lease = RoomLease {
            room,
            hub: self.inner.clone(),
        };
        lease
            .room
            .listener
            .get_or_try_init(|| async {
                let subscription = self.inner.bus.subscribe(&lease.room.topic).await?;
                let weak = Arc::downgrade(&lease.room);
                Ok::<_, BusError>(Listener(tokio::spawn(listen(weak, subscription))))
            })
            .await?;
        Ok(lease)
    }

    /// Rooms open in this process.
    pub fn open_rooms(&self) -> usize {
        lock(&self.inner.rooms).len()
    }

    /// Closes room `name` everywhere: every member receives `announce` and is removed. Works
    /// whether or not the room is open in this process.
    pub async fn close_room(
        &self,
        name: &str,
        announce: Option<OutMessage>,
    ) -> Result<(), BusError> {
        let room = lock(&self.inner.rooms).get(name).cloned();
        match room {
            Some(room) => room.close(announce).await,
            None => {
                self.publish(
                    name,
                    &Envelope {
                        kind: Kind::Closed,
                        origin: self.inner.instance,
                        from: None,
                        to: None,
                        delivery: Delivery::Reliable,
                        info: Bytes::new(),
                        payload: announce,
                    },
                )
                .await
            }
        }
    }

    /// Announces everywhere that `member` left room `name` (for members whose process is gone).
    pub async fn member_gone(
        &self,
        name: &str,
        member: Uuid,
        announce: Option<OutMessage>,
    ) -> Result<(), BusError> {
        let room = lock(&self.inner.rooms).get(name).cloned();
        match room {
            Some(room) => room.leave(member, announce).await.map(drop),
            None => {
                self.publish(
                    name,
                    &Envelope {
                        kind: Kind::Left,
                        origin: self.inner.instance,
                        from: Some(member),
                        to: None,
                        delivery: Delivery::Reliable,
                        info: Bytes::new(),
                        payload: announce,
                    },
                )
                .await
            }
        }
    }

    async fn publish(&self, name: &str, envelope: &Envelope) -> Result<(), BusError> {
        Box::pin(
            self.inner
                .bus
                .publish(&topic(self.inner.endpoint, name), envelope.encode()),
        )
        .await
    }
}

fn topic(endpoint: &str, name: &str) -> String {
    format!("rt:{endpoint}:{name}")
}

/// Keeps a room open in this process; the room unsubscribes when the last lease drops.
pub struct RoomLease {
    room: Arc<Room>,
    hub: Arc<HubInner>,
}

impl std::fmt::Debug for RoomLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RoomLease({})", self.room.name)
    }
}

impl Deref for RoomLease {
    type Target = Room;

    fn deref(&self) -> &Room {
        &self.room
    }
}

impl Drop for RoomLease {
    fn drop(&mut self) {
        let removed = {
            let mut rooms = lock(&self.hub.rooms);
            let mut leases = lock(&self.room.leases);
            *leases -= 1;
            if *leases == 0
                && rooms
                    .get(&self.room.name)
                    .is_some_and(|r| Arc::ptr_eq(r, &self.room))
            {
                rooms.remove(&self.room.name)
            } else {
                None
            }
        };
        // Dropped outside the lock: stops the listener, which releases the subscription.
        drop(removed);
    }
}

struct Listener(tokio::task::JoinHandle<()>);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Remote {
    info: Bytes,
}

struct Local {
    outbound: Outbound,
    info: Bytes,
}

#[derive(Default)]
struct RoomState {
    local: HashMap<Uuid, Local>,
    remote: HashMap<Uuid, Remote>,
    departed: HashSet<Uuid>,
    departed_order: VecDeque<Uuid>,
    closed: bool,
}

impl RoomState {
    fn forget(&mut self, id: Uuid) {
        self.remote.remove(&id);
        if self.departed.insert(id) {
            self.departed_order.push_back(id);
            if self.departed_order.len() > DEPARTED_MEMORY {
                if let Some(old) = self.departed_order.pop_front() {
                    self.departed.remove(&old);
                }
            }
        }
    }

    /// Delivers to local members: to `to` only, or to everyone but `except`.
    fn deliver(
        &self,
        message: &OutMessage,
        delivery: Delivery,
        to: Option<Uuid>,
        except: Option<Uuid>,
    ) -> Delivered {
        let mut delivered = Delivered::default();
        match to {
            Some(id) => {
                if let Some(member) = self.local.get(&id) {
                    delivered.add(member.outbound.push(message.clone(), delivery));
                }
            }
            None => {
                for (id, member) in &self.local {
                    if Some(*id) != except {
                        delivered.add(member.outbound.push(message.clone(), delivery));
                    }
                }
            }
        }
        delivered
    }
}

/// A room open in this process.
pub struct Room {
    name: String,
    topic: String,
    instance: Uuid,
    bus: Bus,
    relayed: Counter,
    dropped: Counter,
    state: RwLock<RoomState>,
    leases: Mutex<usize>,
    listener: OnceCell<Listener>,
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.read();
        f.debug_struct("Room")
            .field("name", &self.name)
            .field("local", &state.local.len())
            .field("remote", &state.remote.len())
            .finish()
    }
}

impl Room {
    fn new(name: &str, hub: &HubInner) -> Self {
        Self {
            name: name.to_owned(),
            topic: topic(hub.endpoint, name),
            instance: hub.instance,
            bus: hub.bus.clone(),
            relayed: hub.relayed.clone(),
            dropped: hub.dropped.clone(),
            state: RwLock::new(RoomState::default()),
            leases: Mutex::new(0),
            listener: OnceCell::new(),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, RoomState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, RoomState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The room's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds members known to be in the room elsewhere (from a database snapshot taken after
    /// [`Hub::open`]); members already known, local, or seen leaving are skipped.
    pub fn seed(&self, members: impl IntoIterator<Item = (Uuid, Bytes)>) {
        let mut state = self.write();
        for (id, info) in members {
            if !state.local.contains_key(&id) && !state.departed.contains(&id) {
                state.remote.entry(id).or_insert(Remote { info });
            }
        }
    }

    /// Adds a local member; the others (here and elsewhere) receive `announce`.
    pub async fn add(&self, member: Member, announce: Option<OutMessage>) -> Result<(), BusError> {
        let delivered = {
            let mut state = self.write();
            state.closed = false;
            state.remote.remove(&member.id);
            state.local.insert(
                member.id,
                Local {
                    outbound: member.outbound,
                    info: member.info.clone(),
                },
            );
            announce
                .as_ref()
                .map(|m| state.deliver(m, Delivery::Reliable, None, Some(member.id)))
        };
        self.count(delivered);
        self.publish(Envelope {
            kind: Kind::Joined,
            origin: self.instance,
            from: Some(member.id),
            to: None,
            delivery: Delivery::Reliable,
            info: member.info,
            payload: announce,
        })
        .await
    }

    /// Removes a member (local, or remote whose process is gone); the others receive
    /// `announce`. Returns whether it was a local member.
    pub async fn leave(&self, id: Uuid, announce: Option<OutMessage>) -> Result<bool, BusError> {
        let (was_local, delivered) = {
            let mut state = self.write();
            let was_local = state.local.remove(&id).is_some();
            state.forget(id);
            let delivered = announce
                .as_ref()
                .map(|m| state.deliver(m, Delivery::Reliable, None, Some(id)));
            (was_local, delivered)
        };
        self.count(delivered);
        self.publish(Envelope {
            kind: Kind::Left,
            origin: self.instance,
            from: Some(id),
            to: None,
            delivery: Delivery::Reliable,
            info: Bytes::new(),
            payload: announce,
        })
        .await?;
        Ok(was_local)
    }

    /// Ends the room everywhere: every member receives `announce` and is removed.
    pub async fn close(&self, announce: Option<OutMessage>) -> Result<(), BusError> {
        let delivered = {
            let mut state = self.write();
            let delivered = announce
                .as_ref()
                .map(|m| state.deliver(m, Delivery::Reliable, None, None));
            close_state(&mut state);
            delivered
        };
        self.count(delivered);
        self.publish(Envelope {
            kind: Kind::Closed,
            origin: self.instance,
            from: None,
            to: None,
            delivery: Delivery::Reliable,
            info: Bytes::new(),
            payload: announce,
        })
        .await
    }

    /// Sends `message` to every member but `from`.
    pub async fn broadcast(
        &self,
        from: Uuid,
        message: OutMessage,
        delivery: Delivery,
    ) -> Result<Delivered, BusError> {
        let (delivered, remote) = {
            let state = self.read();
            let delivered = state.deliver(&message, delivery, None, Some(from));
            (delivered, !state.remote.is_empty())
        };
        self.count(Some(delivered));
        if remote {
            self.publish(Envelope {
                kind: Kind::Message,
                origin: self.instance,
                from: Some(from),
                to: None,
                delivery,
                info: Bytes::new(),
                payload: Some(message),
            })
            .await?;
        }
        Ok(delivered)
    }

    /// Sends `message` to member `to` only, wherever it is connected.
    pub async fn send_to(
        &self,
        from: Uuid,
        to: Uuid,
        message: OutMessage,
        delivery: Delivery,
    ) -> Result<Delivered, SendError> {
        enum Where {
            Here(Delivered),
            Elsewhere,
        }
        let place = {
            let state = self.read();
            if state.local.contains_key(&to) {
                Where::Here(state.deliver(&message, delivery, Some(to), None))
            } else if state.remote.contains_key(&to) {
                Where::Elsewhere
            } else {
                return Err(SendError::NotMember);
            }
        };
        match place {
            Where::Here(delivered) => {
                self.count(Some(delivered));
                Ok(delivered)
            }
            Where::Elsewhere => {
                self.publish(Envelope {
                    kind: Kind::Message,
                    origin: self.instance,
                    from: Some(from),
                    to: Some(to),
                    delivery,
                    info: Bytes::new(),
                    payload: Some(message),
                })
                .await?;
                Ok(Delivered::default())
            }
        }
    }

    /// `id` is a member, here or elsewhere.
    pub fn contains(&self, id: Uuid) -> bool {
        let state = self.read();
        state.local.contains_key(&id) || state.remote.contains_key(&id)
    }

    /// `id` is a member connected to this process.
    pub fn is_local(&self, id: Uuid) -> bool {
        self.read().local.contains_key(&id)
    }

    /// Every member with its info, local ones first.
    pub fn members(&self) -> Vec<(Uuid, Bytes)> {
        let state = self.read();
        state
            .local
            .iter()
            .map(|(id, m)| (*id, m.info.clone()))
            .chain(state.remote.iter().map(|(id, m)| (*id, m.info.clone())))
            .collect()
    }

    /// Members connected to this process.
    pub fn local_count(&self) -> usize {
        self.read().local.len()
    }

    /// The room was closed (here or elsewhere) and nobody joined since.
    pub fn is_closed(&self) -> bool {
        self.read().closed
    }

    fn count(&self, delivered: Option<Delivered>) {
        if let Some(d) = delivered {
            if d.queued > 0 {
                self.relayed.inc_by(d.queued);
            }
            if d.dropped > 0 {
                self.dropped.inc_by(d.dropped);
            }
        }
    }

    async fn publish(&self, envelope: Envelope) -> Result<(), BusError> {
        // Boxed: a Redis publish is a deep future, and every connection task that may publish
        // would otherwise carry its size while idle.
        Box::pin(self.bus.publish(&self.topic, envelope.encode())).await
    }

    /// Applies an event published by another process.
    fn apply(&self, envelope: &Envelope) {
        if envelope.origin == self.instance {
            return; // delivered locally when it was sent
        }
        let delivered = {
            let mut state = self.write();
            match envelope.kind {
                Kind::Message => {}
                Kind::Joined => {
                    if let Some(id) = envelope.from {
                        if !state.departed.contains(&id) && !state.local.contains_key(&id) {
                            state.remote.insert(
                                id,
                                Remote {
                                    info: envelope.info.clone(),
                                },
                            );
                        }
                    }
                }
                Kind::Left => {
                    if let Some(id) = envelope.from {
                        state.local.remove(&id);
                        state.forget(id);
                    }
                }
                Kind::Closed => {}
            }
            let delivered = envelope
                .payload
                .as_ref()
                .map(|m| state.deliver(m, envelope.delivery, envelope.to, envelope.from));
            if envelope.kind == Kind::Closed {
                close_state(&mut state);
            }
            delivered
        };
        self.count(delivered);
    }
}

fn close_state(state: &mut RoomState) {
    let ids: Vec<Uuid> = state
        .local
        .keys()
        .chain(state.remote.keys())
        .copied()
        .collect();
    for id in ids {
        state.forget(id);
    }
    state.local.clear();
    state.closed = true;
}

async fn listen(room: Weak<Room>, mut subscription: Subscription) {
    loop {
        match subscription.recv().await {
            Ok(bytes) => {
                let Some(room) = room.upgrade() else { return };
                match Envelope::decode(&bytes) {
                    Some(envelope) => room.apply(&envelope),
                    None => tracing::warn!(topic = subscription.topic(), "unreadable room event"),
                }
            }
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(
                    topic = subscription.topic(),
                    lost = n,
                    "room fell behind the bus"
                );
                if let Some(room) = room.upgrade() {
                    room.dropped.inc_by(n);
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::realtime::outbound::{Next, QueueLimits};

    /// Two processes: two hubs with their own instance ids on one bus.
    fn two_hubs() -> (Hub, Hub) {
        let bus = Bus::in_memory();
        let metrics = Metrics::new();
        (
            Hub::new("test", Uuid::new_v4(), bus.clone(), &metrics),
            Hub::new("test", Uuid::new_v4(), bus, &metrics),
        )
    }

    fn member() -> Member {
        Member {
            id: Uuid::new_v4(),
            outbound: Outbound::new(QueueLimits {
                messages: 64,
                bytes: 1 << 20,
                slow_consumer_timeout: Duration::from_secs(60),
            }),
            info: Bytes::from_static(b"{}"),
        }
    }

    async fn next_text(member: &Member) -> String {
        match tokio::time::timeout(Duration::from_secs(5), member.outbound.next()).await {
            Ok(Next::Message(OutMessage::Text(t))) => t.to_string(),
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    fn queued(member: &Member) -> usize {
        member.outbound.queued().0
    }

    /// Waits until the other process has applied what was published (the bus is async).
    async fn settle(room: &RoomLease, id: Uuid, present: bool) {
        for _ in 0..500 {
            if room.contains(id) == present {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("room {} never saw {id} (present: {present})", room.name());
    }

    #[tokio::test]
    async fn members_on_two_processes_reach_each_other_once() {
        let (a, b) = two_hubs();
        let (alice, bob, carol) = (member(), member(), member());

        let room_a = a.open("r").await.unwrap();
        room_a.add(alice.clone(), None).await.unwrap();
        room_a.add(carol.clone(), None).await.unwrap();
        let room_b = b.open("r").await.unwrap();
        room_b.seed([
            (alice.id, alice.info.clone()),
            (carol.id, carol.info.clone()),
        ]);
        room_b
            .add(bob.clone(), Some(OutMessage::text("bob joined")))
            .await
            .unwrap();
        assert_eq!(next_text(&alice).await, "bob joined");
        assert_eq!(next_text(&carol).await, "bob joined");
        settle(&room_a, bob.id, true).await;

        // Broadcast: local directly, remote through the bus; never back to the sender.
        room_a
            .broadcast(alice.id, OutMessage::text("hello"), Delivery::Reliable)
            .await
            .unwrap();
        assert_eq!(next_text(&carol).await, "hello");
        assert_eq!(next_text(&bob).await, "hello");
        // Targeted across processes, then locally.
        room_b
            .send_to(
                bob.id,
                alice.id,
                OutMessage::text("to alice"),
                Delivery::Reliable,
            )
            .await
            .unwrap();
        assert_eq!(next_text(&alice).await, "to alice");
        room_a
            .send_to(
                alice.id,
                carol.id,
                OutMessage::text("to carol"),
                Delivery::Reliable,
            )
            .await
            .unwrap();
        assert_eq!(next_text(&carol).await, "to carol");
        assert!(matches!(
            room_a
                .send_to(
                    alice.id,
                    Uuid::new_v4(),
                    OutMessage::text("?"),
                    Delivery::Reliable
                )
                .await,
            Err(SendError::NotMember)
        ));
        // A round trip through b proves nothing else is in flight, then check for echoes and
        // doubles.
        room_b
            .broadcast(bob.id, OutMessage::text("marker"), Delivery::Reliable)
            .await
            .unwrap();
        assert_eq!(next_text(&alice).await, "marker");
        assert_eq!(next_text(&carol).await, "marker");
        assert_eq!((queued(&alice), queued(&bob), queued(&carol)), (0, 0, 0));

        // Leaving is announced everywhere and updates both rosters.
        room_b
            .leave(bob.id, Some(OutMessage::text("bob left")))
            .await
            .unwrap();
        assert_eq!(next_text(&alice).await, "bob left");
        settle(&room_a, bob.id, false).await;
        // A stale snapshot cannot bring a departed member back.
        room_a.seed([(bob.id, Bytes::new())]);
        assert!(!room_a.contains(bob.id));
    }

    #[tokio::test]
    async fn closing_a_room_from_a_process_without_members_reaches_everyone() {
        let (a, b) = two_hubs();
        let alice = member();
        let room_a = a.open("live").await.unwrap();
        room_a.add(alice.clone(), None).await.unwrap();
        b.close_room("live", Some(OutMessage::text("ended")))
            .await
            .unwrap();
        assert_eq!(next_text(&alice).await, "ended");
        settle(&room_a, alice.id, false).await;
        assert!(room_a.is_closed());
        assert_eq!(a.open_rooms(), 1, "open while a lease is held");
        drop(room_a);
        assert_eq!(a.open_rooms(), 0, "the last lease closes the room here");
    }

    #[tokio::test]
    async fn droppable_messages_are_counted_per_room_delivery() {
        let (a, _) = two_hubs();
        let sender = member();
        let slow = Member {
            outbound: Outbound::new(QueueLimits {
                messages: 1,
                bytes: 1 << 20,
                slow_consumer_timeout: Duration::from_secs(60),
            }),
            ..member()
        };
        let room = a.open("frames").await.unwrap();
        room.add(sender.clone(), None).await.unwrap();
        room.add(slow.clone(), None).await.unwrap();
        let first = room
            .broadcast(sender.id, OutMessage::text("f1"), Delivery::Droppable)
            .await
            .unwrap();
        let second = room
            .broadcast(sender.id, OutMessage::text("f2"), Delivery::Droppable)
            .await
            .unwrap();
        assert_eq!((first.queued, first.dropped), (1, 0));
        assert_eq!((second.queued, second.dropped), (0, 1));
        assert_eq!(slow.outbound.counters().dropped, 1);
    }
}
