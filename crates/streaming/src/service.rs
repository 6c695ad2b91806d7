//! The rules of streams, callable without HTTP or WebSocket: who may create, join and end a
//! stream, what joining and leaving change, how statistics are written, and how streams left
//! behind by a process that died are reaped. Each function runs on the connection it is given;
//! callers wrap writes in `Db::transaction`.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::StatusCode;
use chrono::NaiveDateTime;
use plaza_kernel::{ApiError, ApiResult, Caller, DbConn};
use uuid::Uuid;

use crate::model::{
    self, end_reason, ConnectionRow, NewConnection, NewStream, StatsDelta, StreamRow,
};
use crate::protocol::{CreateStream, PeerInfo, PeerUser};

/// Who is joining: the connection's identity in the protocol and where it is held.
#[derive(Clone, Debug)]
pub struct PeerSpec {
    /// The peer id announced in `connection_established`.
    pub peer_id: Uuid,
    /// The WebSocket session.
    pub session_id: Uuid,
    /// The authenticated user, if any.
    pub user: Option<PeerUser>,
    /// The process holding the connection.
    pub instance_id: Uuid,
    /// The client's address.
    pub ip_address: Option<String>,
}

impl PeerSpec {
    fn connection(&self, stream_id: &str, is_creator: bool, now: NaiveDateTime) -> NewConnection {
        NewConnection {
            stream_id: stream_id.to_owned(),
            peer_id: self.peer_id.to_string(),
            session_id: self.session_id.to_string(),
            user_id: self.user.as_ref().map(|u| u.id),
            is_creator,
            instance_id: self.instance_id.to_string(),
            ip_address: self.ip_address.clone(),
            joined_at: now,
            last_seen_at: now,
        }
    }

    /// How other peers see this one.
    pub fn info(&self) -> PeerInfo {
        PeerInfo {
            peer_id: self.peer_id,
            user: self.user.clone(),
        }
    }
}

/// Creates a live stream with `peer` as its connected creator; returns the connection's id.
pub fn create_stream(
    conn: &mut DbConn,
    caller: &Caller,
    stream_id: &str,
    spec: &CreateStream,
    peer: &PeerSpec,
) -> ApiResult<i64> {
    let now = plaza_kernel::time::now();
    model::insert_stream(
        conn,
        &NewStream {
            id: stream_id,
            owner_id: caller.id,
            title: &spec.title,
            description: &spec.description,
            is_public: spec.is_public,
            status: model::LIVE,
            current_peers: 1,
            peak_peers: 1,
            total_connections: 1,
            created_at: now,
            updated_at: now,
        },
    )?;
    Ok(model::insert_connection(
        conn,
        &peer.connection(stream_id, true, now),
    )?)
}

/// A successful join.
#[derive(Debug)]
pub struct Joined {
    /// The stream.
    pub stream: StreamRow,
    /// The new connection row.
    pub connection_id: i64,
    /// The other peers in the stream.
    pub peers: Vec<PeerInfo>,
}

/// Joins `peer` to a live stream: anyone authenticated may join; an anonymous viewer only a
/// public stream, and only when `allow_anonymous` (refusals as [`check_joinable`]).
pub fn join_stream(
    conn: &mut DbConn,
    stream_id: &str,
    caller: Option<&Caller>,
    allow_anonymous: bool,
    peer: &PeerSpec,
) -> ApiResult<Joined> {
    let stream = check_joinable(conn, stream_id, caller, allow_anonymous)?;
    let now = plaza_kernel::time::now();
    // Count first: the UPDATE takes the stream row's exclusive lock before the insert's
    // foreign-key check would take a shared one. The other way round, two viewers joining at
    // once each held the shared lock and waited for the other's (an InnoDB deadlock).
    model::count_join(conn, stream_id, now)?;
    let connection_id = model::insert_connection(conn, &peer.connection(stream_id, false, now))?;
    let peers = peers_of(conn, stream_id, Some(peer.peer_id))?;
    Ok(Joined {
        stream,
        connection_id,
        peers,
    })
}

/// The stream, if `caller` may join it now: it exists (404 otherwise), is live (409), and an
/// anonymous caller joins only a public stream when `allow_anonymous` (401).
pub fn check_joinable(
    conn: &mut DbConn,
    stream_id: &str,
    caller: Option<&Caller>,
    allow_anonymous: bool,
) -> ApiResult<StreamRow> {
    let stream = match model::find_stream(conn, stream_id) {
        Ok(stream) => stream,
        Err(diesel::result::Error::NotFound) => return Err(stream_not_found()),
        Err(err) => return Err(err.into()),
    };
    if !stream.is_live() {
        return Err(ApiError::conflict("This stream has ended."));
    }
    if caller.is_none() && !(allow_anonymous && stream.is_public) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
            "Authentication is required to join this stream.",
        ));
    }
    Ok(stream)
}

/// 404 for an unknown stream.
pub fn stream_not_found() -> ApiError {
    ApiError::not_found("No such stream.")
}

/// The peers connected to a stream, but `except`: two queries whatever their number.
pub fn peers_of(
    conn: &mut DbConn,
    stream_id: &str,
    except: Option<Uuid>,
) -> ApiResult<Vec<PeerInfo>> {
    let rows = model::open_connections(conn, stream_id)?;
    let users = users_of(conn, &rows)?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let peer_id = Uuid::parse_str(&row.peer_id).ok()?;
            (Some(peer_id) != except).then(|| PeerInfo {
                peer_id,
                user: row.user_id.and_then(|id| users.get(&id).cloned()),
            })
        })
        .collect())
}

/// The users of some connections, in one query.
pub fn users_of(conn: &mut DbConn, rows: &[ConnectionRow]) -> ApiResult<HashMap<i64, PeerUser>> {
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.user_id).collect();
    Ok(plaza_users::public::authors_by_id(conn, &ids)?
        .into_iter()
        .map(|(id, author)| {
            (
                id,
                PeerUser {
                    id,
                    username: author.username,
                },
            )
        })
        .collect())
}

/// What leaving did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Left {
    /// A viewer left.
    Viewer,
    /// The creator left: the stream ended.
    StreamEnded,
    /// The connection had already been closed (its stream ended meanwhile); only the last
    /// counters were added.
    AlreadyClosed,
}

/// Closes a connection with its last counters; the creator leaving ends the stream.
pub fn leave_stream(
    conn: &mut DbConn,
    connection_id: i64,
    stream_id: &str,
    is_creator: bool,
    delta: StatsDelta,
) -> ApiResult<Left> {
    let now = plaza_kernel::time::now();
    // The stream row first, as a join does: closing the connection changes the index its
    // foreign key lives in, so MySQL takes a shared lock on the stream there, and two
    // departures holding that and waiting for each other's exclusive lock deadlocked.
    model::touch_stream(conn, stream_id, now)?;
    let closed = model::close_connection(conn, connection_id, delta, now)?;
    model::add_stream_stats(conn, stream_id, delta)?;
    if !closed {
        return Ok(Left::AlreadyClosed);
    }
    model::count_leave(conn, stream_id, 1, now)?;
    if is_creator && model::end_stream(conn, stream_id, end_reason::CREATOR_LEFT, now)? {
        return Ok(Left::StreamEnded);
    }
    Ok(Left::Viewer)
}

/// Ends a live stream through the API: its owner or staff may.
pub fn end_stream(conn: &mut DbConn, stream_id: &str, caller: &Caller) -> ApiResult<StreamRow> {
    let stream = model::find_stream(conn, stream_id)?;
    ensure_can_end(caller, &stream)?;
    if !stream.is_live() {
        return Err(ApiError::conflict("This stream has already ended."));
    }
    let reason = if caller.is(stream.owner_id) {
        end_reason::ENDED_BY_OWNER
    } else {
        end_reason::ENDED_BY_STAFF
    };
    model::end_stream(conn, stream_id, reason, plaza_kernel::time::now())?;
    Ok(model::find_stream(conn, stream_id)?)
}

/// The owner of a stream, or staff, may end it.
pub fn ensure_can_end(caller: &Caller, stream: &StreamRow) -> ApiResult<()> {
    if caller.is(stream.owner_id) || caller.is_staff() {
        Ok(())
    } else {
        Err(ApiError::permission_denied(
            "Only the stream's owner or staff may end it.",
        ))
    }
}

/// One connection's counters to flush.
#[derive(Clone, Debug)]
pub struct Flush {
    /// The connection row.
    pub connection_id: i64,
    /// What to add.
    pub delta: StatsDelta,
}

/// Writes one stream's part of a process's periodic flush: the stream's totals (one
/// statement, however many of its peers contributed), each connection's counters, and the
/// heartbeat of the stream's connections the process holds.
pub fn flush(
    conn: &mut DbConn,
    stream_id: &str,
    flushes: &[Flush],
    held: &[i64],
    now: NaiveDateTime,
) -> ApiResult<()> {
    // One stream per transaction, its row first and then its connections: the order of a
    // join and of a departure, so none of them waits on another in a cycle.
    let total = flushes
        .iter()
        .fold(StatsDelta::default(), |total, f| total.plus(f.delta));
    model::add_stream_stats(conn, stream_id, total)?;
    for f in flushes {
        model::add_connection_stats(conn, f.connection_id, f.delta)?;
    }
    model::touch_connections(conn, held, now)?;
    Ok(())
}

/// What [`reap_stale`] cleaned up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reaped {
    /// Streams ended because their creator's process stopped answering.
    pub ended_streams: Vec<String>,
    /// Viewers closed in streams that go on: (stream, peer).
    pub gone_peers: Vec<(String, Uuid)>,
}

impl Reaped {
    /// Nothing was reaped.
    pub fn is_empty(&self) -> bool {
        self.ended_streams.is_empty() && self.gone_peers.is_empty()
    }
}

/// Closes connections whose process has not sent a heartbeat since `stale_before` (it
/// crashed, or lost its database), and ends live streams whose creator is gone.
pub fn reap_stale(
    conn: &mut DbConn,
    now: NaiveDateTime,
    stale_before: NaiveDateTime,
) -> ApiResult<Reaped> {
    let stale = model::stale_connections(conn, stale_before)?;
    let ids: Vec<i64> = stale.iter().map(|c| c.id).collect();
    let mut per_stream: BTreeMap<&str, i32> = BTreeMap::new();
    for row in &stale {
        *per_stream.entry(&row.stream_id).or_default() += 1;
    }
    // Stream rows first (in order), then their connections: the order of joins and
    // departures, so the reaper never deadlocks with a live session.
    for stream_id in per_stream.keys() {
        model::touch_stream(conn, stream_id, now)?;
    }
    model::close_connections(conn, &ids, now)?;
    for (stream_id, n) in per_stream {
        model::count_leave(conn, stream_id, n, now)?;
    }
    let mut ended_streams = Vec::new();
    for stream_id in model::orphaned_live_streams(conn)? {
        if model::end_stream(conn, &stream_id, end_reason::CREATOR_LOST, now)? {
            ended_streams.push(stream_id);
        }
    }
    let gone_peers = stale
        .iter()
        .filter(|row| !ended_streams.contains(&row.stream_id))
        .filter_map(|row| Some((row.stream_id.clone(), Uuid::parse_str(&row.peer_id).ok()?)))
        .collect();
    Ok(Reaped {
        ended_streams,
        gone_peers,
    })
}

/// The stream requests a handler makes that change state over REST.
pub mod requests {
    use plaza_kernel::realtime::OutMessage;
    use plaza_kernel::{ApiResult, Caller};

    use crate::model::StreamRow;
    use crate::protocol::ServerMessage;
    use crate::runtime::{room_name, Runtime};

    /// Ends a live stream (its owner or staff) in one transaction, then tells its peers on
    /// every instance and closes its room. A failure to tell them is logged, not answered:
    /// the stream has ended either way.
    pub async fn end_stream(runtime: &Runtime, id: String, caller: Caller) -> ApiResult<StreamRow> {
        let stream = runtime
            .db
            .transaction(move |conn| super::end_stream(conn, &id, &caller))
            .await?;
        let ended = ServerMessage::StreamEnded {
            stream_id: &stream.id,
        }
        .to_text();
        if let Err(error) = runtime
            .hub
            .close_room(&room_name(&stream.id), Some(OutMessage::Text(ended)))
            .await
        {
            tracing::error!(%error, stream = %stream.id, "ended a stream but could not tell its peers");
        }
        Ok(stream)
    }
}
