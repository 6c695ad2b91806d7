//! Cleaning up after a process that died: its connections stay open in the database until the
//! reaper closes those whose heartbeat is stale and ends the live streams whose creator is gone,
//! then tells the peers still connected elsewhere (`stream_ended`, `peer_left`).
//!
//! Run it periodically (the job registry's beat does, see `lib.rs`) from any process.

use std::time::Duration;

use plaza_kernel::realtime::{Hub, OutMessage};
use plaza_kernel::{ApiResult, Db};

use crate::protocol::ServerMessage;
use crate::runtime::room_name;
use crate::service::{self, Reaped};
use crate::settings::StreamingSettings;

/// How old a heartbeat may be before its connection counts as dead: four flush intervals,
/// and never less than a minute (a busy database or a paused process is not a dead one).
pub fn stale_after(settings: &StreamingSettings) -> Duration {
    (settings.stats_flush_interval * 4).max(Duration::from_secs(60))
}

/// Reaps what processes that died left behind, and announces it to the peers still connected.
pub async fn reap(db: &Db, hub: &Hub, stale_after: Duration) -> ApiResult<Reaped> {
    let now = plaza_kernel::time::now();
    let stale_before =
        now - chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::minutes(1));
    let reaped = db
        .transaction(move |conn| service::reap_stale(conn, now, stale_before))
        .await?;
    for stream_id in &reaped.ended_streams {
        let ended = ServerMessage::StreamEnded { stream_id }.to_text();
        if let Err(error) = hub
            .close_room(&room_name(stream_id), Some(OutMessage::Text(ended)))
            .await
        {
            tracing::warn!(%error, stream = %stream_id, "could not announce a reaped stream");
        }
    }
    for (stream_id, peer_id) in &reaped.gone_peers {
        let left = ServerMessage::PeerLeft { peer_id: *peer_id }.to_text();
        if let Err(error) = hub
            .member_gone(
                &room_name(stream_id),
                *peer_id,
                Some(OutMessage::Text(left)),
            )
            .await
        {
            tracing::warn!(%error, stream = %stream_id, "could not announce a reaped peer");
        }
    }
    if !reaped.is_empty() {
        tracing::info!(
            streams = reaped.ended_streams.len(),
            peers = reaped.gone_peers.len(),
            "reaped streams and connections of processes that stopped"
        );
    }
    Ok(reaped)
}
