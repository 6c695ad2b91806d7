//! Rows of `video_streams` and `stream_connections`, and the queries on them. Every function
//! takes `&mut DbConn`, so it runs on a pooled connection or inside a transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use plaza_kernel::schema::{stream_connections, video_streams};
use plaza_kernel::DbConn;

/// `video_streams.status` of a stream whose creator is connected.
pub const LIVE: &str = "live";
/// `video_streams.status` of a finished stream.
pub const ENDED: &str = "ended";

/// Why a stream ended (`video_streams.end_reason`).
pub mod end_reason {
    /// The creator left (or disconnected).
    pub const CREATOR_LEFT: &str = "creator_left";
    /// The owner ended it through the API.
    pub const ENDED_BY_OWNER: &str = "ended_by_owner";
    /// Staff ended it through the API.
    pub const ENDED_BY_STAFF: &str = "ended_by_staff";
    /// The process holding the creator's connection stopped answering.
    pub const CREATOR_LOST: &str = "creator_lost";
}

/// A stream.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = video_streams)]
pub struct StreamRow {
    /// UUID.
    pub id: String,
    /// Who created it.
    pub owner_id: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Listed and open to anonymous viewers (when allowed).
    pub is_public: bool,
    /// [`LIVE`] or [`ENDED`].
    pub status: String,
    /// One of [`end_reason`].
    pub end_reason: Option<String>,
    /// Peers connected now.
    pub current_peers: i32,
    /// Most peers at once.
    pub peak_peers: i32,
    /// Joins, the creator's included.
    pub total_connections: i64,
    /// Video frames sent into the stream.
    pub frames: i64,
    /// Their bytes.
    pub bytes: i64,
    /// Frames dropped for slow viewers.
    pub frames_dropped: i64,
    /// Creation.
    pub created_at: NaiveDateTime,
    /// End.
    pub ended_at: Option<NaiveDateTime>,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

impl StreamRow {
    /// The stream is live.
    pub fn is_live(&self) -> bool {
        self.status == LIVE
    }
}

/// A peer's membership of a stream.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = stream_connections)]
pub struct ConnectionRow {
    /// Row id.
    pub id: i64,
    /// The stream.
    pub stream_id: String,
    /// The peer's id in the protocol.
    pub peer_id: String,
    /// The WebSocket session.
    pub session_id: String,
    /// The user; `None` for an anonymous viewer (or a deleted user).
    pub user_id: Option<i64>,
    /// The stream's creator.
    pub is_creator: bool,
    /// The process holding the connection.
    pub instance_id: String,
    /// The client's address.
    pub ip_address: Option<String>,
    /// Join time.
    pub joined_at: NaiveDateTime,
    /// Leave time; `None` while connected.
    pub left_at: Option<NaiveDateTime>,
    /// The holding process's last heartbeat.
    pub last_seen_at: NaiveDateTime,
    /// Video frames this peer sent.
    pub frames_sent: i64,
    /// Their bytes.
    pub bytes_sent: i64,
    /// Video frames relayed to this peer.
    pub frames_received: i64,
    /// Their bytes.
    pub bytes_received: i64,
    /// Frames this peer lost for being slow.
    pub frames_dropped: i64,
}

/// A stream to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = video_streams)]
pub struct NewStream<'a> {
    /// UUID.
    pub id: &'a str,
    /// Creator.
    pub owner_id: i64,
    /// Title.
    pub title: &'a str,
    /// Description.
    pub description: &'a str,
    /// Public.
    pub is_public: bool,
    /// Always [`LIVE`].
    pub status: &'a str,
    /// 1: the creator.
    pub current_peers: i32,
    /// 1.
    pub peak_peers: i32,
    /// 1.
    pub total_connections: i64,
    /// Now.
    pub created_at: NaiveDateTime,
    /// Now.
    pub updated_at: NaiveDateTime,
}

/// A connection to insert.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = stream_connections)]
pub struct NewConnection {
    /// The stream.
    pub stream_id: String,
    /// The peer.
    pub peer_id: String,
    /// The session.
    pub session_id: String,
    /// The user, if authenticated.
    pub user_id: Option<i64>,
    /// Creator or viewer.
    pub is_creator: bool,
    /// This process.
    pub instance_id: String,
    /// The client's address.
    pub ip_address: Option<String>,
    /// Now.
    pub joined_at: NaiveDateTime,
    /// Now.
    pub last_seen_at: NaiveDateTime,
}

/// Counters to add to a connection (and its stream).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsDelta {
    /// Frames the peer sent.
    pub frames_sent: i64,
    /// Their bytes.
    pub bytes_sent: i64,
    /// Frames relayed to the peer.
    pub frames_received: i64,
    /// Their bytes.
    pub bytes_received: i64,
    /// Frames the peer lost.
    pub frames_dropped: i64,
}

impl StatsDelta {
    /// Nothing to add.
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    /// `self + other`.
    #[must_use]
    pub fn plus(self, other: Self) -> Self {
        Self {
            frames_sent: self.frames_sent + other.frames_sent,
            bytes_sent: self.bytes_sent + other.bytes_sent,
            frames_received: self.frames_received + other.frames_received,
            bytes_received: self.bytes_received + other.bytes_received,
            frames_dropped: self.frames_dropped + other.frames_dropped,
        }
    }
}

/// The stream, or `NotFound`.
pub fn find_stream(conn: &mut DbConn, id: &str) -> QueryResult<StreamRow> {
    video_streams::table
        .find(id)
        .select(StreamRow::as_select())
        .first(conn)
}

/// Streams by id (absent ids are skipped).
pub fn streams_by_id(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<StreamRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    video_streams::table
        .filter(video_streams::id.eq_any(ids))
        .select(StreamRow::as_select())
        .load(conn)
}

/// Inserts a stream.
pub fn insert_stream(conn: &mut DbConn, stream: &NewStream<'_>) -> QueryResult<()> {
    diesel::insert_into(video_streams::table)
        .values(stream)
        .execute(conn)
        .map(drop)
}

/// Inserts a connection and returns its id.
pub fn insert_connection(conn: &mut DbConn, connection: &NewConnection) -> QueryResult<i64> {
    diesel::insert_into(stream_connections::table)
        .values(connection)
        .execute(conn)?;
    plaza_kernel::db::last_insert_id(conn)
}

/// One more peer in the stream: current, total and (if exceeded) peak counts, in SQL.
pub fn count_join(conn: &mut DbConn, stream_id: &str, now: NaiveDateTime) -> QueryResult<()> {
    let target = video_streams::table.find(stream_id);
    diesel::update(target)
        .set((
            video_streams::current_peers.eq(video_streams::current_peers + 1),
            video_streams::total_connections.eq(video_streams::total_connections + 1),
            video_streams::updated_at.eq(now),
        ))
        .execute(conn)?;
    // A separate statement: MySQL and SQLite disagree on whether a later assignment in one
    // UPDATE sees an earlier one.
    diesel::update(target.filter(video_streams::current_peers.gt(video_streams::peak_peers)))
        .set(video_streams::peak_peers.eq(video_streams::current_peers))
        .execute(conn)
        .map(drop)
}

/// Marks connection `id` left with its last counters. Returns false when it had already been
/// closed (by the end of its stream, or by the reaper); the counters are added either way.
pub fn close_connection(
    conn: &mut DbConn,
    id: i64,
    delta: StatsDelta,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let closed = diesel::update(
        stream_connections::table
            .find(id)
            .filter(stream_connections::left_at.is_null()),
    )
    .set(stream_connections::left_at.eq(now))
    .execute(conn)?;
    add_connection_stats(conn, id, delta)?;
    Ok(closed == 1)
}

/// Marks the stream changed now; as the first statement of a transaction it takes the stream
/// row's exclusive lock, so later statements touching the stream's connections queue behind it.
pub fn touch_stream(conn: &mut DbConn, stream_id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(video_streams::table.find(stream_id))
        .set(video_streams::updated_at.eq(now))
        .execute(conn)
        .map(drop)
}

/// One peer fewer, in SQL.
pub fn count_leave(
    conn: &mut DbConn,
    stream_id: &str,
    n: i32,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        video_streams::table
            .find(stream_id)
            .filter(video_streams::current_peers.ge(n)),
    )
    .set((
        video_streams::current_peers.eq(video_streams::current_peers - n),
        video_streams::updated_at.eq(now),
    ))
    .execute(conn)
    .map(drop)
}

/// Adds counters to a connection.
pub fn add_connection_stats(conn: &mut DbConn, id: i64, d: StatsDelta) -> QueryResult<()> {
    if d.is_zero() {
        return Ok(());
    }
    use stream_connections::dsl as c;
    diesel::update(c::stream_connections.find(id))
        .set((
            c::frames_sent.eq(c::frames_sent + d.frames_sent),
            c::bytes_sent.eq(c::bytes_sent + d.bytes_sent),
            c::frames_received.eq(c::frames_received + d.frames_received),
            c::bytes_received.eq(c::bytes_received + d.bytes_received),
            c::frames_dropped.eq(c::frames_dropped + d.frames_dropped),
        ))
        .execute(conn)
        .map(drop)
}

/// Adds what peers sent (and lost) to their stream's totals.
pub fn add_stream_stats(conn: &mut DbConn, stream_id: &str, d: StatsDelta) -> QueryResult<()> {
    if d.frames_sent == 0 && d.bytes_sent == 0 && d.frames_dropped == 0 {
        return Ok(());
    }
    use video_streams::dsl as s;
    diesel::update(s::video_streams.find(stream_id))
        .set((
            s::frames.eq(s::frames + d.frames_sent),
            s::bytes.eq(s::bytes + d.bytes_sent),
            s::frames_dropped.eq(s::frames_dropped + d.frames_dropped),
        ))
        .execute(conn)
        .map(drop)
}

/// Ends a live stream and closes its open connections. Returns false if it was not live.
pub fn end_stream(
    conn: &mut DbConn,
    stream_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let ended = diesel::update(
        video_streams::table
            .find(stream_id)
            .filter(video_streams::status.eq(LIVE)),
    )
    .set((
        video_streams::status.eq(ENDED),
        video_streams::end_reason.eq(reason),
        video_streams::ended_at.eq(now),
        video_streams::current_peers.eq(0),
        video_streams::updated_at.eq(now),
    ))
    .execute(conn)?;
    if ended == 0 {
        return Ok(false);
    }
    diesel::update(
        stream_connections::table
            .filter(stream_connections::stream_id.eq(stream_id))
            .filter(stream_connections::left_at.is_null()),
    )
    .set(stream_connections::left_at.eq(now))
    .execute(conn)?;
    Ok(true)
}

/// The open connections of a stream, oldest first.
pub fn open_connections(conn: &mut DbConn, stream_id: &str) -> QueryResult<Vec<ConnectionRow>> {
    stream_connections::table
        .filter(stream_connections::stream_id.eq(stream_id))
        .filter(stream_connections::left_at.is_null())
        .order(stream_connections::id.asc())
        .select(ConnectionRow::as_select())
        .load(conn)
}

/// Sets the heartbeat of the given open connections (this process's).
pub fn touch_connections(conn: &mut DbConn, ids: &[i64], now: NaiveDateTime) -> QueryResult<()> {
    for chunk in ids.chunks(500) {
        diesel::update(
            stream_connections::table
                .filter(stream_connections::id.eq_any(chunk))
                .filter(stream_connections::left_at.is_null()),
        )
        .set(stream_connections::last_seen_at.eq(now))
        .execute(conn)?;
    }
    Ok(())
}

/// Open connections whose process has not sent a heartbeat since `before`.
pub fn stale_connections(
    conn: &mut DbConn,
    before: NaiveDateTime,
) -> QueryResult<Vec<ConnectionRow>> {
    stream_connections::table
        .filter(stream_connections::left_at.is_null())
        .filter(stream_connections::last_seen_at.lt(before))
        .order(stream_connections::id.asc())
        .select(ConnectionRow::as_select())
        .load(conn)
}

/// Closes the given connections (those still open); returns how many were closed.
pub fn close_connections(conn: &mut DbConn, ids: &[i64], now: NaiveDateTime) -> QueryResult<usize> {
    let mut closed = 0;
    for chunk in ids.chunks(500) {
        closed += diesel::update(
            stream_connections::table
                .filter(stream_connections::id.eq_any(chunk))
                .filter(stream_connections::left_at.is_null()),
        )
        .set(stream_connections::left_at.eq(now))
        .execute(conn)?;
    }
    Ok(closed)
}

/// Live streams whose creator is no longer connected.
pub fn orphaned_live_streams(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let creators = stream_connections::table
        .filter(stream_connections::stream_id.eq(video_streams::id))
        .filter(stream_connections::is_creator.eq(true))
        .filter(stream_connections::left_at.is_null());
    video_streams::table
        .filter(video_streams::status.eq(LIVE))
        .filter(diesel::dsl::not(diesel::dsl::exists(creators)))
        .select(video_streams::id)
        .load(conn)
}
