//! Live presence: `WS /ws/metaverse/worlds/{id}/`, on the kernel's realtime pattern.
//!
//! Each world is a [`Room`](plaza_kernel::realtime::Room) of the `metaverse` hub, so users
//! connected to different processes sharing Redis are in one room: joins (`user_joined`),
//! leaves (`user_left`) and `chat` travel as room messages, reliably.
//!
//! Moves take another path, because a slow reader must get the *latest* position of each
//! user, never a backlog. Each connection has a [`Coalescer`]: the latest `user_moved` per
//! user waiting to be sent, replaced by newer ones, and a task that moves them into the
//! connection's bounded outbound queue only while that queue is below half full. A reader
//! that falls behind therefore holds at most one pending move per user in the world, and its
//! memory does not grow with the rate of moves. Between processes, moves (and REST changes of
//! instances, `object_changed`) are published once per process on the world's own Bus topic
//! (`metaverse:world:{id}`), which every process with connections in that world subscribes to
//! once and fans out locally.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use bytestring::ByteString;
use plaza_kernel::auth::authenticate_ws;
use plaza_kernel::realtime::{
    self, CloseCode, Delivery, Incoming, Member, OutMessage, Outbound, RoomLease,
};
use plaza_kernel::settings::Settings;
use plaza_kernel::sync::lock;
use plaza_kernel::{ApiError, Bus, Caller, Db, Realtime};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::model::Session;
use crate::settings::MetaverseSettings;
use crate::types::Vec3;
use crate::{access, sessions};

/// The realtime endpoint name (hub, metrics label).
pub const ENDPOINT: &str = "metaverse";

/// The room of world `id`.
pub fn room_name(world_id: i64) -> String {
    format!("world:{world_id}")
}

fn topic(world_id: i64) -> String {
    format!("metaverse:world:{world_id}")
}

/// How a member describes itself to the room (carried to other processes).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct MemberInfo {
    user_id: i64,
    username: String,
    session_id: i64,
    position: Vec3,
    rotation: Vec3,
}

/// What a client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Move {
        position: Vec3,
        #[serde(default)]
        rotation: Vec3,
        /// An opaque client value echoed in `user_moved` (a send timestamp, say).
        #[serde(default)]
        t: Option<serde_json::Value>,
    },
    Chat {
        text: String,
    },
    Ping,
}

fn error_message(code: &str, message: &str) -> ByteString {
    ByteString::from(
        serde_json::json!({"type": "error", "code": code, "message": message}).to_string(),
    )
}

/// What travels on a world's Bus topic.
#[derive(Serialize, Deserialize)]
struct Relay {
    /// The publishing process (nil for REST changes, which every process delivers).
    o: Uuid,
    /// `m`: a move of user `u` (coalesced); `e`: a reliable event for everyone.
    k: char,
    u: i64,
    m: String,
}

/// The latest `user_moved` per user waiting for one connection, and the task that feeds them
/// into its outbound queue while the queue has room.
#[derive(Debug)]
pub struct Coalescer {
    pending: Mutex<HashMap<i64, ByteString>>,
    ready: Notify,
    outbound: Outbound,
    /// Moves are queued only while the outbound queue holds fewer messages than this.
    low_water: usize,
}

/// How often a connection checks it is still in its room.
const MEMBERSHIP_CHECK: Duration = Duration::from_secs(1);

/// How long a coalescer waits for a full queue to drain before looking again.
const DRAIN_POLL: Duration = Duration::from_millis(5);

impl Coalescer {
    /// A coalescer feeding `outbound`, whose queue holds `queue_limit` messages; its task
    /// ends when the connection closes.
    pub fn new(outbound: Outbound, queue_limit: usize) -> Arc<Self> {
        let this = Arc::new(Self {
            pending: Mutex::new(HashMap::new()),
            ready: Notify::new(),
            outbound,
            low_water: (queue_limit / 2).max(1),
        });
        tokio::spawn(this.clone().run());
        this
    }

    /// Replaces user `user_id`'s pending move with `message`.
    pub fn offer(&self, user_id: i64, message: ByteString) {
        lock(&self.pending).insert(user_id, message);
        self.ready.notify_one();
    }

    /// The move of `user_id` waiting, if any.
    pub fn latest(&self, user_id: i64) -> Option<ByteString> {
        lock(&self.pending).get(&user_id).cloned()
    }

    /// Moves waiting (at most one per user).
    pub fn pending(&self) -> usize {
        lock(&self.pending).len()
    }

    async fn run(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = self.ready.notified() => {}
                () = self.outbound.closed() => return,
            }
            loop {
                if self.outbound.is_closed() {
                    return;
                }
                let (queued, _) = self.outbound.queued();
                if queued >= self.low_water {
                    tokio::time::sleep(DRAIN_POLL).await;
                    continue;
                }
                let room = self.low_water - queued;
                let batch: Vec<ByteString> = {
                    let mut pending = lock(&self.pending);
                    let users: Vec<i64> = pending.keys().take(room).copied().collect();
                    users.iter().filter_map(|u| pending.remove(u)).collect()
                };
                if batch.is_empty() {
                    break;
                }
                for message in batch {
                    self.outbound
                        .push(OutMessage::Text(message), Delivery::Droppable);
                }
            }
        }
    }
}

/// One world's presence in this process: the room lease, the Bus listener, and the local
/// connections' coalescers.
struct WorldPresence {
    world_id: i64,
    instance: Uuid,
    bus: Bus,
    room: RoomLease,
    locals: Mutex<HashMap<Uuid, (i64, Arc<Coalescer>)>>,
    /// Latest pose of every user seen moving in this world (any process).
    poses: Mutex<HashMap<i64, (Vec3, Vec3)>>,
    listener: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for WorldPresence {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.listener).take() {
            task.abort();
        }
    }
}

impl WorldPresence {
    /// Queues a move of `user_id` for every local connection but `from`.
    fn fan_out_move(&self, from: Option<Uuid>, user_id: i64, message: &ByteString) {
        let locals = lock(&self.locals);
        for (id, (_, coalescer)) in locals.iter() {
            if Some(*id) != from {
                coalescer.offer(user_id, message.clone());
            }
        }
    }

    /// Queues a reliable message for every local connection.
    fn fan_out_event(&self, message: &ByteString) {
        let locals = lock(&self.locals);
        for (_, coalescer) in locals.values() {
            coalescer
                .outbound
                .push(OutMessage::Text(message.clone()), Delivery::Reliable);
        }
    }

    fn remember(&self, user_id: i64, position: Vec3, rotation: Vec3) {
        lock(&self.poses).insert(user_id, (position, rotation));
    }

    async fn listen(weak: Weak<Self>, mut subscription: plaza_kernel::bus::Subscription) {
        loop {
            let bytes = match subscription.recv().await {
                Ok(bytes) => bytes,
                // Behind: keep going (moves are superseded anyway).
                Err(plaza_kernel::bus::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            };
            let Some(this) = weak.upgrade() else { return };
            let Ok(relay) = serde_json::from_slice::<Relay>(&bytes) else {
                continue;
            };
            if relay.o == this.instance {
                continue;
            }
            let message = ByteString::from(relay.m);
            match relay.k {
                'm' => {
                    if let Ok(moved) = serde_json::from_str::<Moved>(&message) {
                        this.remember(relay.u, moved.position, moved.rotation);
                    }
                    this.fan_out_move(None, relay.u, &message);
                }
                _ => this.fan_out_event(&message),
            }
        }
    }

    async fn publish(&self, kind: char, user_id: i64, message: &str) {
        let relay = Relay {
            o: self.instance,
            k: kind,
            u: user_id,
            m: message.to_owned(),
        };
        if let Ok(payload) = serde_json::to_vec(&relay) {
            if let Err(e) = self
                .bus
                .publish(&topic(self.world_id), Bytes::from(payload))
                .await
            {
                tracing::warn!(world = self.world_id, error = %e, "presence relay failed");
            }
        }
    }

    /// Other processes have members in the room.
    fn has_remote(&self) -> bool {
        self.room.members().len() > self.room.local_count()
    }
}

#[derive(Deserialize)]
struct Moved {
    position: Vec3,
    rotation: Vec3,
}

/// The worlds with connections in this process.
#[derive(Default)]
struct Worlds {
    open: tokio::sync::Mutex<HashMap<i64, Weak<WorldPresence>>>,
}

async fn world_presence(
    realtime: &Realtime,
    bus: &Bus,
    world_id: i64,
) -> Result<Arc<WorldPresence>, ApiError> {
    let worlds = realtime.state(Worlds::default);
    let mut open = worlds.open.lock().await;
    if let Some(existing) = open.get(&world_id).and_then(Weak::upgrade) {
        return Ok(existing);
    }
    let unavailable =
        |e: plaza_kernel::bus::BusError| ApiError::unavailable("The bus is unavailable.", e);
    let subscription = bus.subscribe(&topic(world_id)).await.map_err(unavailable)?;
    let room = realtime
        .hub(ENDPOINT)
        .open(&room_name(world_id))
        .await
        .map_err(unavailable)?;
    let presence = Arc::new(WorldPresence {
        world_id,
        instance: realtime.instance_id(),
        bus: bus.clone(),
        room,
        locals: Mutex::new(HashMap::new()),
        poses: Mutex::new(HashMap::new()),
        listener: Mutex::new(None),
    });
    let task = tokio::spawn(WorldPresence::listen(
        Arc::downgrade(&presence),
        subscription,
    ));
    *lock(&presence.listener) = Some(task);
    open.retain(|_, w| w.strong_count() > 0);
    open.insert(world_id, Arc::downgrade(&presence));
    Ok(presence)
}

/// Tells every connection in world `world_id` (every process) that an instance changed.
pub async fn object_changed(bus: &Bus, world_id: i64, action: &str, instance: &serde_json::Value) {
    let message = serde_json::json!({
        "type": "object_changed",
        "action": action,
        "world_id": world_id,
        "instance": instance,
    })
    .to_string();
    let relay = Relay {
        o: Uuid::nil(),
        k: 'e',
        u: 0,
        m: message,
    };
    if let Ok(payload) = serde_json::to_vec(&relay) {
        if let Err(e) = bus.publish(&topic(world_id), Bytes::from(payload)).await {
            tracing::warn!(world = world_id, error = %e, "object_changed not published");
        }
    }
}

fn left_message(world_id: i64, user_id: i64) -> OutMessage {
    OutMessage::text(
        serde_json::json!({"type": "user_left", "world_id": world_id, "user_id": user_id})
            .to_string(),
    )
}

/// A session was closed over REST or by the stale-session job: if its socket was connected
/// (in any process), the room hears `user_left` and the member is removed.
pub async fn session_closed(realtime: &Realtime, session: &Session) {
    let Some(member) = session
        .connection_id
        .as_deref()
        .and_then(|c| Uuid::parse_str(c).ok())
    else {
        return;
    };
    let hub = realtime.hub(ENDPOINT);
    if let Err(e) = hub
        .member_gone(
            &room_name(session.world_id),
            member,
            Some(left_message(session.world_id, session.user_id)),
        )
        .await
    {
        tracing::warn!(error = %e, "user_left not published");
    }
}

/// The same for a process without sockets (a job worker): a hub of its own only publishes.
pub async fn session_closed_on(hub: &realtime::Hub, session: &Session) {
    let Some(member) = session
        .connection_id
        .as_deref()
        .and_then(|c| Uuid::parse_str(c).ok())
    else {
        return;
    };
    if let Err(e) = hub
        .member_gone(
            &room_name(session.world_id),
            member,
            Some(left_message(session.world_id, session.user_id)),
        )
        .await
    {
        tracing::warn!(error = %e, "user_left not published");
    }
}

/// Joins the presence of world `id` (a user with an open session there). Credentials:
/// `?ticket=`, `?token=`, or the headers.
#[utoipa::path(
    get,
    path = "/ws/metaverse/worlds/{id}/",
    tag = "metaverse",
    params(
        ("id" = i64, Path, description = "World id"),
        ("ticket" = Option<String>, Query, description = "One-time ticket from POST /api/v1/auth/ws-ticket/"),
        ("token" = Option<String>, Query, description = "An access token (prefer a ticket in browsers)"),
    ),
    responses(
        (status = 101, description = "Switching to the presence protocol (docs/metaverse.md)"),
        (status = 400, description = "Not a WebSocket upgrade", body = plaza_kernel::error::ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = plaza_kernel::error::ErrorBody),
        (status = 403, description = "No open session in this world (enter it first)", body = plaza_kernel::error::ErrorBody),
        (status = 404, description = "No such world", body = plaza_kernel::error::ErrorBody),
    )
)]
pub async fn world_socket(
    req: HttpRequest,
    body: web::Payload,
    id: web::Path<i64>,
    db: web::Data<Db>,
    bus: web::Data<Bus>,
    realtime: web::Data<Realtime>,
) -> Result<HttpResponse, ApiError> {
    realtime::check_upgrade(&req)?;
    let caller = authenticate_ws(&req)
        .await?
        .ok_or_else(ApiError::not_authenticated)?;
    let settings = Settings::<MetaverseSettings>::of(&req).0;
    let world_id = id.into_inner();
    let user = caller.clone();
    let (bounds, session) = db
        .run(move |conn| {
            let access = access::visible(conn, world_id, Some(&user))?;
            let session = sessions::open_session(conn, world_id, user.id)?.ok_or_else(|| {
                ApiError::permission_denied("Enter the world first (POST enter/).")
            })?;
            Ok((access.world.bounds, session))
        })
        .await?;
    let world = world_presence(&realtime, &bus, world_id).await?;
    let (response, socket) = realtime.accept(&req, body, ENDPOINT, settings.socket())?;
    let connection = Connection {
        id: Uuid::new_v4(),
        caller,
        session,
        bounds,
        world,
        db: db.get_ref().clone(),
        settings: settings.get_ref().clone(),
        instance: realtime.instance_id(),
        bucket: Bucket::new(settings.moves_per_second),
        last_refusal: None,
        pose: None,
    };
    actix_web::rt::spawn(connection.run(socket));
    Ok(response)
}

/// A token bucket: `rate` moves a second, bursts of `rate`.
struct Bucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: u32) -> Self {
        Self {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            at: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.rate);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct Connection {
    id: Uuid,
    caller: Caller,
    session: Session,
    bounds: f64,
    world: Arc<WorldPresence>,
    db: Db,
    settings: MetaverseSettings,
    instance: Uuid,
    bucket: Bucket,
    last_refusal: Option<Instant>,
    pose: Option<(Vec3, Vec3)>,
}

impl Connection {
    fn info(&self) -> MemberInfo {
        let (position, rotation) = self
            .pose
            .unwrap_or((self.session.position(), self.session.rotation()));
        MemberInfo {
            user_id: self.caller.id,
            username: self.caller.username.clone(),
            session_id: self.session.id,
            position,
            rotation,
        }
    }

    async fn run(mut self, mut socket: realtime::Socket) {
        let outbound = socket.outbound().clone();
        let coalescer = Coalescer::new(outbound.clone(), self.settings.outbound_queue);
        let world_id = self.world.world_id;
        // Recorded first, so a process that opens the room later seeds this member.
        let (db, session_id, cid, instance) = (
            self.db.clone(),
            self.session.id,
            self.id.to_string(),
            self.instance.to_string(),
        );
        let connected = db
            .run(move |conn| Ok(sessions::connect(conn, session_id, &cid, &instance)?))
            .await;
        if !matches!(connected, Ok(true)) {
            socket.close(CloseCode::Policy, "session closed");
            return;
        }
        self.seed().await;
        let info = self.info();
        // Joined first, so a process opening the room after this member was announced
        // everywhere; then the newcomer hears who is here and where, then the moves.
        let joined = OutMessage::text(
            serde_json::json!({"type": "user_joined", "world_id": world_id, "user": info})
                .to_string(),
        );
        let member = Member {
            id: self.id,
            outbound: outbound.clone(),
            info: Bytes::from(serde_json::to_vec(&info).unwrap_or_default()),
        };
        if self.world.room.add(member, Some(joined)).await.is_err() {
            socket.close(CloseCode::Error, "presence unavailable");
        }
        let poses = lock(&self.world.poses).clone();
        let mut users: Vec<serde_json::Value> = Vec::new();
        for (member, raw) in self.world.room.members() {
            if member == self.id {
                continue;
            }
            if let Ok(mut m) = serde_json::from_slice::<MemberInfo>(&raw) {
                if let Some((p, r)) = poses.get(&m.user_id) {
                    (m.position, m.rotation) = (*p, *r);
                }
                users.push(serde_json::to_value(&m).unwrap_or_default());
            }
        }
        socket.reply(
            serde_json::json!({
                "type": "presence",
                "world_id": world_id,
                "you": info,
                "users": users,
            })
            .to_string(),
        );
        lock(&self.world.locals).insert(self.id, (self.caller.id, coalescer.clone()));
        let touch = tokio::spawn(touch_loop(
            self.db.clone(),
            self.session.id,
            outbound.clone(),
            self.settings.touch_interval(),
        ));
        // A session closed elsewhere (REST leave, the stale-session job) removes this member
        // from the room; the check ends the socket within a second.
        let mut check = tokio::time::interval(MEMBERSHIP_CHECK);
        loop {
            let incoming = tokio::select! {
                incoming = socket.recv() => incoming,
                _ = check.tick() => {
                    if self.world.room.is_local(self.id) {
                        continue;
                    }
                    socket.close(CloseCode::Normal, "session ended");
                    break;
                }
            };
            let Some(incoming) = incoming else { break };
            match incoming {
                Incoming::Text(text) => {
                    if !self.on_text(&socket, &text).await {
                        socket.close(CloseCode::Normal, "session ended");
                        break;
                    }
                }
                Incoming::Binary(_) | Incoming::InvalidText => {
                    socket.reply(error_message(
                        "invalid_json",
                        "Messages are UTF-8 JSON text.",
                    ));
                }
                Incoming::Oversize { size } => socket.reply(error_message(
                    "message_too_large",
                    &format!(
                        "A message of {size} bytes exceeds the limit of {} bytes.",
                        self.settings.max_message_bytes
                    ),
                )),
            }
        }
        touch.abort();
        {
            let mut locals = lock(&self.world.locals);
            locals.remove(&self.id);
            // Forget the pose unless the same user is still connected here (another tab).
            if !locals.values().any(|(user, _)| *user == self.caller.id) {
                lock(&self.world.poses).remove(&self.caller.id);
            }
        }
        let left = left_message(world_id, self.caller.id);
        if let Err(e) = self.world.room.leave(self.id, Some(left)).await {
            tracing::warn!(error = %e, "user_left not published");
        }
        let (session_id, cid, pose) = (self.session.id, self.id.to_string(), self.pose);
        let _ = self
            .db
            .run(move |conn| Ok(sessions::disconnect(conn, session_id, &cid, pose)?))
            .await;
    }

    /// Adds members connected elsewhere before this process opened the room.
    async fn seed(&self) {
        let world_id = self.world.world_id;
        let me = self.id.to_string();
        let rows = self
            .db
            .run(move |conn| {
                use crate::schema::metaverse_sessions as s;
                use diesel::prelude::*;
                let rows: Vec<Session> = s::table
                    .filter(s::world_id.eq(world_id))
                    .filter(s::left_at.is_null())
                    .filter(s::connection_id.is_not_null())
                    .filter(s::connection_id.ne(me))
                    .select(Session::as_select())
                    .load(conn)?;
                let ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
                let authors = plaza_users::authors_by_id(conn, &ids)?;
                Ok((rows, authors))
            })
            .await;
        let Ok((rows, authors)) = rows else { return };
        let members = rows.into_iter().filter_map(|s| {
            let id = Uuid::parse_str(s.connection_id.as_deref()?).ok()?;
            let info = MemberInfo {
                user_id: s.user_id,
                username: authors
                    .get(&s.user_id)
                    .map(|a| a.username.clone())
                    .unwrap_or_default(),
                session_id: s.id,
                position: s.position(),
                rotation: s.rotation(),
            };
            Some((id, Bytes::from(serde_json::to_vec(&info).ok()?)))
        });
        self.world.room.seed(members.collect::<Vec<_>>());
    }

    fn refuse(&mut self, socket: &realtime::Socket, code: &str, message: &str) {
        socket.reply(error_message(code, message));
    }

    /// Handles one message; `false` when the connection should end (its session was closed).
    async fn on_text(&mut self, socket: &realtime::Socket, text: &str) -> bool {
        if !self.world.room.is_local(self.id) {
            return false;
        }
        let message: ClientMessage = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                let code = if serde_json::from_str::<serde_json::Value>(text).is_ok() {
                    "invalid_message"
                } else {
                    "invalid_json"
                };
                self.refuse(socket, code, &format!("Unreadable message: {e}."));
                return true;
            }
        };
        match message {
            ClientMessage::Ping => socket.reply(r#"{"type":"pong"}"#),
            ClientMessage::Move {
                position,
                rotation,
                t,
            } => {
                self.on_move(socket, position, rotation, t).await;
            }
            ClientMessage::Chat { text } => {
                let text = text.trim();
                if text.is_empty() || text.chars().count() > self.settings.chat_max_chars {
                    self.refuse(
                        socket,
                        "invalid_message",
                        &format!(
                            "Chat text must be 1–{} characters.",
                            self.settings.chat_max_chars
                        ),
                    );
                    return true;
                }
                let out = serde_json::json!({
                    "type": "chat",
                    "world_id": self.world.world_id,
                    "user": {"id": self.caller.id, "username": self.caller.username},
                    "text": text,
                    "sent_at": chrono::Utc::now(),
                })
                .to_string();
                if let Err(e) = self
                    .world
                    .room
                    .broadcast(self.id, OutMessage::text(out), Delivery::Reliable)
                    .await
                {
                    tracing::warn!(error = %e, "chat not relayed");
                    self.refuse(socket, "unavailable", "Chat is unavailable right now.");
                }
            }
        }
        true
    }

    async fn on_move(
        &mut self,
        socket: &realtime::Socket,
        position: Vec3,
        rotation: Vec3,
        t: Option<serde_json::Value>,
    ) {
        if !position.within(self.bounds) || !rotation.within(crate::types::COORDINATE_MAX) {
            self.refuse(
                socket,
                "invalid_position",
                &format!(
                    "Coordinates must be finite and within ±{} (the world's bounds).",
                    self.bounds
                ),
            );
            return;
        }
        if !self.bucket.take() {
            // At most one refusal a second, so a flooding client is not flooded back.
            let now = Instant::now();
            if self
                .last_refusal
                .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
            {
                self.last_refusal = Some(now);
                self.refuse(
                    socket,
                    "rate_limited",
                    &format!("At most {} moves a second.", self.settings.moves_per_second),
                );
            }
            return;
        }
        self.pose = Some((position, rotation));
        self.world.remember(self.caller.id, position, rotation);
        let mut out = serde_json::json!({
            "type": "user_moved",
            "user_id": self.caller.id,
            "position": position,
            "rotation": rotation,
        });
        if let Some(t) = t {
            out["t"] = t;
        }
        let out = out.to_string();
        self.world.fan_out_move(
            Some(self.id),
            self.caller.id,
            &ByteString::from(out.clone()),
        );
        if self.world.has_remote() {
            self.world.publish('m', self.caller.id, &out).await;
        }
    }
}

/// Records the heartbeat of a connected session until its socket closes.
async fn touch_loop(db: Db, session_id: i64, outbound: Outbound, every: Duration) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = outbound.closed() => return,
        }
        let _ = db
            .run(move |conn| Ok(sessions::touch(conn, &[session_id])?))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_kernel::realtime::QueueLimits;

    #[tokio::test]
    async fn a_reader_that_does_not_read_holds_one_move_per_user() {
        let outbound = Outbound::new(QueueLimits {
            messages: 8,
            bytes: 1 << 20,
            slow_consumer_timeout: Duration::from_secs(60),
        });
        let coalescer = Coalescer::new(outbound.clone(), 8);
        // Nobody writes this queue out: it fills to half, then moves wait, coalesced.
        for round in 0..200 {
            for user in 0..20 {
                coalescer.offer(user, ByteString::from(format!("{user}:{round}")));
            }
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (queued, _) = outbound.queued();
        assert!(
            queued <= 4,
            "moves fill at most half the queue, got {queued}"
        );
        assert!(
            coalescer.pending() <= 20,
            "one pending move per user at most"
        );
        assert!(coalescer.pending() >= 16);
        let waiting: Vec<String> = (0..20)
            .filter_map(|u| coalescer.latest(u))
            .map(|m| m.to_string())
            .collect();
        assert!(
            waiting.iter().all(|m| m.ends_with(":199")),
            "only the latest: {waiting:?}"
        );
        assert_eq!(
            outbound.counters().dropped,
            0,
            "nothing was dropped, only replaced"
        );
        outbound.close(CloseCode::Normal.into());
    }
}
