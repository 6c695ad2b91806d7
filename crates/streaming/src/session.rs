//! `WS /ws/webrtc/`: one task per connection runs [`PeerSession`] over the kernel's socket,
//! turning client messages into stream memberships, relayed signalling and relayed frames.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use plaza_kernel::auth::authenticate_ws;
use plaza_kernel::realtime::{
    self, CloseCode, Delivery, Incoming, Member, OutMessage, Outbound, RoomLease, SendError, Socket,
};
use plaza_kernel::throttle::Limit;
use plaza_kernel::{ApiError, Caller, Realtime};
use uuid::Uuid;

use crate::model::StatsDelta;
use crate::protocol::{
    self, ClientMessage, CreateStream, ErrorCode, FrameKind, PeerUser, Refusal, ServerMessage,
    Signal, Target, VideoFrame, STREAM_CREATED, STREAM_JOINED,
};
use crate::runtime::{room_name, MembershipStats, ProcessRuntime, Runtime, ENDPOINT};
use crate::service::{self, Left, PeerSpec};

/// Upgrades to the signalling protocol. Credentials: `?ticket=`, `?token=`, or the headers;
/// without any, only when anonymous viewers are allowed.
#[utoipa::path(
    get,
    path = "/ws/webrtc/",
    tag = "streaming",
    params(
        ("ticket" = Option<String>, Query, description = "One-time ticket from POST /api/v1/auth/ws-ticket/"),
        ("token" = Option<String>, Query, description = "An access token (prefer a ticket in browsers)"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol of API.md §8"),
        (status = 400, description = "Not a WebSocket upgrade", body = plaza_kernel::error::ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = plaza_kernel::error::ErrorBody),
    )
)]
pub async fn webrtc_socket(
    req: HttpRequest,
    body: web::Payload,
    realtime: web::Data<Realtime>,
    runtime: ProcessRuntime,
) -> Result<HttpResponse, ApiError> {
    realtime::check_upgrade(&req)?;
    let caller = authenticate_ws(&req).await?;
    if caller.is_none() && !runtime.settings.allow_anonymous {
        return Err(ApiError::not_authenticated());
    }
    let runtime = runtime.0;
    let (response, socket) = realtime.accept(&req, body, ENDPOINT, runtime.socket)?;
    let session = PeerSession {
        outbound: socket.outbound().clone(),
        peer: PeerSpec {
            peer_id: Uuid::new_v4(),
            session_id: Uuid::new_v4(),
            user: caller.as_ref().map(|c| PeerUser {
                id: c.id,
                username: c.username.clone(),
            }),
            instance_id: runtime.instance_id(),
            ip_address: plaza_kernel::http::client_ip(&req),
        },
        caller,
        runtime,
        membership: None,
    };
    actix_web::rt::spawn(session.run(socket));
    Ok(response)
}

/// What a connection in a stream holds.
struct Membership {
    stream_id: String,
    title: String,
    connection_id: i64,
    is_creator: bool,
    room: RoomLease,
    stats: Arc<MembershipStats>,
}

/// Whether to keep reading.
#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Disconnect,
}

/// One connection's protocol state.
struct PeerSession {
    runtime: Arc<Runtime>,
    caller: Option<Caller>,
    peer: PeerSpec,
    outbound: Outbound,
    membership: Option<Membership>,
}

impl PeerSession {
    async fn run(mut self, mut socket: Socket) {
        self.send(&ServerMessage::ConnectionEstablished {
            session_id: self.peer.session_id,
            peer_id: self.peer.peer_id,
        });
        while let Some(incoming) = socket.recv().await {
            let flow = match incoming {
                Incoming::Text(text) => self.on_text(&text).await,
                Incoming::Binary(data) => self.on_binary(data).await,
                Incoming::InvalidText => self.refuse(&Refusal::new(
                    ErrorCode::InvalidJson,
                    "Text messages must be UTF-8 JSON.",
                )),
                Incoming::Oversize { size } => self.refuse(&Refusal::new(
                    ErrorCode::MessageTooLarge,
                    format!(
                        "A message of {size} bytes exceeds the limit of {} bytes.",
                        self.runtime.socket.max_message_bytes
                    ),
                )),
            };
            if flow == Flow::Disconnect {
                // Leave first, so this client still hears the stream end if it created it.
                Box::pin(self.leave()).await;
                socket.close(CloseCode::Normal, "disconnect");
                break;
            }
        }
        Box::pin(self.leave()).await;
    }

    fn send(&self, message: &ServerMessage<'_>) {
        self.outbound
            .push(OutMessage::Text(message.to_text()), Delivery::Reliable);
    }

    fn refuse(&self, refusal: &Refusal) -> Flow {
        self.outbound
            .push(OutMessage::Text(refusal.to_message()), Delivery::Reliable);
        Flow::Continue
    }

    async fn on_text(&mut self, text: &str) -> Flow {
        let message = match protocol::parse(text) {
            Ok(message) => message,
            Err(refusal) => return self.refuse(&refusal),
        };
        let result = match message {
            // Rare and with deep futures: boxed, so an idle connection's task stays small.
            ClientMessage::CreateStream(spec) => Box::pin(self.create(spec)).await,
            ClientMessage::JoinStream { stream_id } => Box::pin(self.join(&stream_id)).await,
            ClientMessage::LeaveStream => match self.current() {
                Some(_) => {
                    Box::pin(self.leave()).await;
                    Ok(())
                }
                None => Err(not_in_stream()),
            },
            ClientMessage::Disconnect => return Flow::Disconnect,
            ClientMessage::Ping => {
                self.send(&ServerMessage::Pong);
                Ok(())
            }
            ClientMessage::Offer(signal) => {
                self.signal(signal, |payload, peer_id| ServerMessage::Offer {
                    offer: payload,
                    peer_id,
                })
                .await
            }
            ClientMessage::Answer(signal) => {
                self.signal(signal, |payload, peer_id| ServerMessage::Answer {
                    answer: payload,
                    peer_id,
                })
                .await
            }
            ClientMessage::IceCandidate(signal) => {
                self.signal(signal, |payload, peer_id| ServerMessage::IceCandidate {
                    candidate: payload,
                    peer_id,
                })
                .await
            }
            ClientMessage::VideoFrame(frame) => self.frame(&frame).await,
        };
        match result {
            Ok(()) => Flow::Continue,
            Err(refusal) => self.refuse(&refusal),
        }
    }

    /// The stream this connection is in. A membership whose room no longer holds it (the
    /// stream was ended elsewhere) is let go here.
    fn current(&mut self) -> Option<&Membership> {
        let stale = self
            .membership
            .as_ref()
            .is_some_and(|m| !m.room.is_local(self.peer.peer_id));
        if stale {
            if let Some(membership) = self.membership.take() {
                self.finish_detached(membership);
            }
        }
        self.membership.as_ref()
    }

    /// Writes the last counters of a membership that was closed from elsewhere.
    fn finish_detached(&self, membership: Membership) {
        let runtime = self.runtime.clone();
        actix_web::rt::spawn(async move {
            let delta = membership.stats.claim();
            runtime.unregister(membership.connection_id);
            write_leave(&runtime, &membership, delta).await;
        });
    }

    /// Counts one attempt against `limit`, per user (per address for anonymous viewers),
    /// across instances; over it, the message is refused with `throttled`.
    async fn throttle(&self, limit: Option<Limit>) -> Result<(), Refusal> {
        let Some(limit) = limit else {
            return Ok(());
        };
        let who = match (&self.peer.user, &self.peer.ip_address) {
            (Some(user), _) => format!("user:{}", user.id),
            (None, Some(ip)) => format!("ip:{ip}"),
            (None, None) => "anonymous".to_owned(),
        };
        limit
            .hit(&self.runtime.cache, &who)
            .await
            .map_err(Refusal::from)
    }

    async fn create(&mut self, spec: CreateStream) -> Result<(), Refusal> {
        let Some(caller) = self.caller.clone() else {
            return Err(Refusal::new(
                ErrorCode::NotAuthenticated,
                "Authentication is required to create a stream.",
            ));
        };
        self.throttle(self.runtime.settings.create_limit).await?;
        self.leave().await;
        let stream_id = Uuid::new_v4().to_string();
        let room = self
            .runtime
            .hub
            .open(&room_name(&stream_id))
            .await
            .map_err(|_| unavailable())?;
        let peer = self.peer.clone();
        let connection_id = {
            let stream_id = stream_id.clone();
            let spec_for_db = CreateStream {
                title: spec.title.clone(),
                description: spec.description.clone(),
                is_public: spec.is_public,
            };
            self.runtime
                .db
                .transaction(move |conn| {
                    service::create_stream(conn, &caller, &stream_id, &spec_for_db, &peer)
                })
                .await
                .map_err(Refusal::from)?
        };
        let stats = self
            .runtime
            .register(connection_id, &stream_id, &self.outbound);
        let added = room.add(self.member(), None).await;
        self.membership = Some(Membership {
            stream_id: stream_id.clone(),
            title: spec.title.clone(),
            connection_id,
            is_creator: true,
            room,
            stats,
        });
        if let Err(error) = added {
            // In the room here; only peers on other instances were not told (the bus is down).
            tracing::warn!(%error, stream = %stream_id, "could not announce a new peer");
        }
        self.send(&ServerMessage::StreamCreated {
            stream_id: &stream_id,
            title: &spec.title,
            message: STREAM_CREATED,
        });
        Ok(())
    }

    async fn join(&mut self, stream_id: &str) -> Result<(), Refusal> {
        self.throttle(self.runtime.settings.join_limit).await?;
        let stream_id = Uuid::parse_str(stream_id)
            .map_err(|_| Refusal::from(service::stream_not_found()))?
            .to_string();
        if let Some(current) = self.current() {
            if current.stream_id == stream_id {
                // Already here: answer as the first time, changing nothing.
                let (title, me) = (current.title.clone(), self.peer.peer_id);
                let id = stream_id.clone();
                let peers = self
                    .runtime
                    .db
                    .run(move |conn| service::peers_of(conn, &id, Some(me)))
                    .await
                    .map_err(Refusal::from)?;
                self.send(&ServerMessage::StreamJoined {
                    stream_id: &stream_id,
                    title: &title,
                    message: STREAM_JOINED,
                    peers: &peers,
                });
                return Ok(());
            }
        }
        // Refused joins change nothing: check before leaving the current stream.
        if self.membership.is_some() {
            let (caller, id) = (self.caller.clone(), stream_id.clone());
            let allow_anonymous = self.runtime.settings.allow_anonymous;
            self.runtime
                .db
                .run(move |conn| {
                    service::check_joinable(conn, &id, caller.as_ref(), allow_anonymous)
                })
                .await
                .map_err(Refusal::from)?;
        }
        self.leave().await;
        let room = self
            .runtime
            .hub
            .open(&room_name(&stream_id))
            .await
            .map_err(|_| unavailable())?;
        let joined = {
            let (caller, peer, id) = (self.caller.clone(), self.peer.clone(), stream_id.clone());
            let allow_anonymous = self.runtime.settings.allow_anonymous;
            self.runtime
                .db
                .transaction(move |conn| {
                    service::join_stream(conn, &id, caller.as_ref(), allow_anonymous, &peer)
                })
                .await
                .map_err(Refusal::from)?
        };
        room.seed(
            joined
                .peers
                .iter()
                .map(|p| (p.peer_id, Bytes::from(serde_json_vec(p)))),
        );
        let stats = self
            .runtime
            .register(joined.connection_id, &stream_id, &self.outbound);
        let announce = ServerMessage::PeerJoined {
            peer_id: self.peer.peer_id,
            user: self.peer.user.as_ref(),
        }
        .to_text();
        let added = room
            .add(self.member(), Some(OutMessage::Text(announce)))
            .await;
        self.membership = Some(Membership {
            stream_id: stream_id.clone(),
            title: joined.stream.title.clone(),
            connection_id: joined.connection_id,
            is_creator: false,
            room,
            stats,
        });
        if let Err(error) = added {
            // In the room here; only peers on other instances were not told (the bus is down).
            tracing::warn!(%error, stream = %stream_id, "could not announce a new peer");
        }
        self.send(&ServerMessage::StreamJoined {
            stream_id: &stream_id,
            title: &joined.stream.title,
            message: STREAM_JOINED,
            peers: &joined.peers,
        });
        Ok(())
    }

    fn member(&self) -> Member {
        Member {
            id: self.peer.peer_id,
            outbound: self.outbound.clone(),
            info: Bytes::from(serde_json_vec(&self.peer.info())),
        }
    }

    /// Leaves the current stream, if any: the creator leaving ends it for everyone.
    async fn leave(&mut self) {
        let Some(membership) = self.membership.take() else {
            return;
        };
        let delta = membership.stats.claim();
        self.runtime.unregister(membership.connection_id);
        let left = write_leave(&self.runtime, &membership, delta).await;
        let room = &membership.room;
        if !room.is_local(self.peer.peer_id) {
            return; // the stream ended elsewhere: everyone was told already
        }
        let announced = if membership.is_creator && left != Some(Left::Viewer) {
            let ended = ServerMessage::StreamEnded {
                stream_id: &membership.stream_id,
            }
            .to_text();
            room.close(Some(OutMessage::Text(ended))).await
        } else {
            let gone = ServerMessage::PeerLeft {
                peer_id: self.peer.peer_id,
            }
            .to_text();
            room.leave(self.peer.peer_id, Some(OutMessage::Text(gone)))
                .await
                .map(drop)
        };
        if let Err(error) = announced {
            tracing::warn!(%error, stream = %membership.stream_id, "could not announce a departure");
        }
    }

    async fn signal(
        &mut self,
        signal: Signal<'_>,
        build: impl FnOnce(&serde_json::value::RawValue, Uuid) -> ServerMessage<'_>,
    ) -> Result<(), Refusal> {
        let me = self.peer.peer_id;
        let membership = self.current().ok_or_else(not_in_stream)?;
        let text = build(signal.payload, me).to_text();
        let message = OutMessage::Text(text);
        match signal.target {
            Target::Everyone => membership
                .room
                .broadcast(me, message, Delivery::Reliable)
                .await
                .map(drop)
                .map_err(|_| unavailable()),
            Target::Peer(to) if to == me => Err(peer_not_found()),
            Target::Peer(to) => match membership
                .room
                .send_to(me, to, message, Delivery::Reliable)
                .await
            {
                Ok(_) => Ok(()),
                Err(SendError::NotMember) => Err(peer_not_found()),
                Err(SendError::Bus(_)) => Err(unavailable()),
            },
        }
    }

    async fn frame(&mut self, frame: &VideoFrame<'_>) -> Result<(), Refusal> {
        let me = self.peer.peer_id;
        let membership = self.current().ok_or_else(not_in_stream)?;
        let delivery = match frame.kind {
            FrameKind::Key => Delivery::Important,
            FrameKind::Delta => Delivery::Droppable,
        };
        let text = protocol::video_frame_message(frame, me);
        membership.stats.count_sent(frame.size());
        membership
            .room
            .broadcast(me, OutMessage::Text(text), delivery)
            .await
            .map(drop)
            .map_err(|_| unavailable())
    }

    async fn on_binary(&mut self, data: Bytes) -> Flow {
        let me = self.peer.peer_id;
        let Some(membership) = self.current() else {
            return self.refuse(&not_in_stream());
        };
        membership.stats.count_sent(data.len());
        let sent = membership
            .room
            .broadcast(me, OutMessage::Binary(data), Delivery::Droppable)
            .await;
        match sent {
            Ok(_) => Flow::Continue,
            Err(_) => self.refuse(&unavailable()),
        }
    }
}

/// Records a departure; `None` when the database failed (the reaper closes the row later).
async fn write_leave(
    runtime: &Runtime,
    membership: &Membership,
    delta: StatsDelta,
) -> Option<Left> {
    let (id, stream_id, is_creator) = (
        membership.connection_id,
        membership.stream_id.clone(),
        membership.is_creator,
    );
    match runtime
        .db
        .transaction(move |conn| service::leave_stream(conn, id, &stream_id, is_creator, delta))
        .await
    {
        Ok(left) => Some(left),
        Err(error) => {
            tracing::error!(%error, stream = %membership.stream_id, "could not record a departure");
            None
        }
    }
}

fn serde_json_vec<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

fn not_in_stream() -> Refusal {
    Refusal::new(ErrorCode::NotInStream, "Create or join a stream first.")
}

fn peer_not_found() -> Refusal {
    Refusal::new(ErrorCode::PeerNotFound, "No such peer in this stream.")
}

fn unavailable() -> Refusal {
    Refusal::new(
        ErrorCode::Unavailable,
        "The message bus is unavailable; retry shortly.",
    )
}
