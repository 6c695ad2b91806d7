-- Live video streams and the connections of their peers (plaza-streaming).
--
-- A stream is `live` while its creator's connection is open, `ended` afterwards. Statistics
-- (frames, bytes, drops) are aggregated in memory by each process and added here periodically
-- and when a connection closes (`col = col + delta`), never once per frame. current_peers and
-- peak_peers move in SQL with every join and leave. Each connection row records the process
-- that holds it (instance_id) and that process's heartbeat (last_seen_at), so rows left open by
-- a process that died can be closed, and their streams ended, by the periodic reaper.
CREATE TABLE video_streams (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title VARCHAR(200) NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_public BOOLEAN NOT NULL DEFAULT 1,
    status VARCHAR(16) NOT NULL DEFAULT 'live',
    end_reason VARCHAR(32) NULL,
    current_peers INTEGER NOT NULL DEFAULT 0,
    peak_peers INTEGER NOT NULL DEFAULT 0,
    total_connections BIGINT NOT NULL DEFAULT 0,
    frames BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    frames_dropped BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_video_streams_created ON video_streams (created_at);
CREATE INDEX idx_video_streams_status ON video_streams (status, created_at);
CREATE INDEX idx_video_streams_owner ON video_streams (owner_id, created_at);
CREATE INDEX idx_video_streams_peak ON video_streams (peak_peers);
CREATE INDEX idx_video_streams_title ON video_streams (title);

CREATE TABLE stream_connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    stream_id VARCHAR(36) NOT NULL REFERENCES video_streams (id) ON DELETE CASCADE,
    peer_id VARCHAR(36) NOT NULL,
    session_id VARCHAR(36) NOT NULL,
    user_id INTEGER NULL REFERENCES users (id) ON DELETE SET NULL,
    is_creator BOOLEAN NOT NULL DEFAULT 0,
    instance_id VARCHAR(36) NOT NULL,
    ip_address VARCHAR(45) NULL,
    joined_at TIMESTAMP NOT NULL,
    left_at TIMESTAMP NULL,
    last_seen_at TIMESTAMP NOT NULL,
    frames_sent BIGINT NOT NULL DEFAULT 0,
    bytes_sent BIGINT NOT NULL DEFAULT 0,
    frames_received BIGINT NOT NULL DEFAULT 0,
    bytes_received BIGINT NOT NULL DEFAULT 0,
    frames_dropped BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX idx_stream_connections_stream ON stream_connections (stream_id, left_at);
CREATE INDEX idx_stream_connections_peer ON stream_connections (peer_id);
CREATE INDEX idx_stream_connections_user ON stream_connections (user_id);
CREATE INDEX idx_stream_connections_instance ON stream_connections (instance_id, left_at);
CREATE INDEX idx_stream_connections_open ON stream_connections (left_at, last_seen_at);
