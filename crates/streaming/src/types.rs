//! Request and response bodies of `/api/v1/streams/`.

use chrono::{DateTime, Utc};
use plaza_kernel::time::{utc, utc_opt};
use plaza_users::public::Author;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::model::{ConnectionRow, StatsDelta, StreamRow};
use crate::protocol::PeerUser;

/// `?status=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    /// Live streams.
    Live,
    /// Ended streams.
    Ended,
}

/// `?ordering=`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
pub enum Ordering {
    /// Oldest first.
    #[serde(rename = "created_at")]
    CreatedAt,
    /// Newest first (the default).
    #[default]
    #[serde(rename = "-created_at")]
    CreatedAtDesc,
    /// Fewest peers at their peak first.
    #[serde(rename = "peak_peers")]
    PeakPeers,
    /// Most peers at their peak first.
    #[serde(rename = "-peak_peers")]
    PeakPeersDesc,
}

/// Filters of the stream list.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamFilters {
    /// `live` or `ended`.
    #[param(value_type = Option<String>, example = "live")]
    pub status: Option<StatusFilter>,
    /// Streams of this user id.
    pub owner: Option<i64>,
    /// Words that must all appear in the title.
    #[validate(length(max = 200))]
    pub search: Option<String>,
    /// `created_at`, `-created_at` (default), `peak_peers`, `-peak_peers`.
    #[param(value_type = Option<String>, example = "-created_at")]
    pub ordering: Option<Ordering>,
}

/// A stream in a list.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StreamSummary {
    /// UUID.
    #[schema(value_type = String, format = Uuid)]
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Who created it.
    pub owner: Author,
    /// Listed, and open to anonymous viewers when they are allowed.
    pub is_public: bool,
    /// `live` or `ended`.
    pub status: String,
    /// `creator_left`, `ended_by_owner`, `ended_by_staff` or `creator_lost`.
    pub end_reason: Option<String>,
    /// Peers connected now.
    pub current_peers: i32,
    /// Most peers at once.
    pub peak_peers: i32,
    /// Creation.
    pub created_at: DateTime<Utc>,
    /// End, if it ended.
    pub ended_at: Option<DateTime<Utc>>,
}

impl StreamSummary {
    /// From a row and its owner's card.
    pub fn new(row: &StreamRow, owner: Author) -> Self {
        Self {
            id: row.id.clone(),
            title: row.title.clone(),
            description: row.description.clone(),
            owner,
            is_public: row.is_public,
            status: row.status.clone(),
            end_reason: row.end_reason.clone(),
            current_peers: row.current_peers,
            peak_peers: row.peak_peers,
            created_at: utc(row.created_at),
            ended_at: utc_opt(row.ended_at),
        }
    }
}

/// A stream's totals.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StreamStatistics {
    /// Video frames sent into the stream.
    pub frames: i64,
    /// Their bytes (base64 text for JSON frames).
    pub bytes: i64,
    /// Frames dropped for viewers that fell behind.
    pub frames_dropped: i64,
    /// Joins, the creator's included.
    pub total_connections: i64,
    /// Peers connected now.
    pub current_peers: i32,
    /// Most peers at once.
    pub peak_peers: i32,
    /// Seconds from creation to the end (or to now).
    pub duration_seconds: i64,
}

/// A peer connected to a stream.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PeerView {
    /// The peer's id in the protocol.
    #[schema(value_type = String, format = Uuid)]
    pub peer_id: Uuid,
    /// Its user; null for an anonymous viewer.
    pub user: Option<PeerUser>,
    /// The stream's creator.
    pub is_creator: bool,
    /// Join time.
    pub joined_at: DateTime<Utc>,
    /// Video frames it sent.
    pub frames_sent: i64,
    /// Their bytes.
    pub bytes_sent: i64,
    /// Video frames relayed to it.
    pub frames_received: i64,
    /// Their bytes.
    pub bytes_received: i64,
    /// Frames it lost for being slow.
    pub frames_dropped: i64,
}

impl PeerView {
    /// From a row, its user and the counters this process has not written yet.
    pub fn new(row: &ConnectionRow, user: Option<PeerUser>, unflushed: StatsDelta) -> Self {
        Self {
            peer_id: Uuid::parse_str(&row.peer_id).unwrap_or_default(),
            user,
            is_creator: row.is_creator,
            joined_at: utc(row.joined_at),
            frames_sent: row.frames_sent + unflushed.frames_sent,
            bytes_sent: row.bytes_sent + unflushed.bytes_sent,
            frames_received: row.frames_received + unflushed.frames_received,
            bytes_received: row.bytes_received + unflushed.bytes_received,
            frames_dropped: row.frames_dropped + unflushed.frames_dropped,
        }
    }
}

/// A stream with its statistics and the peers connected now.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StreamDetail {
    /// The stream.
    #[serde(flatten)]
    pub stream: StreamSummary,
    /// Totals, including counters not yet written by this process.
    pub statistics: StreamStatistics,
    /// Peers connected now, oldest first.
    pub peers: Vec<PeerView>,
}
