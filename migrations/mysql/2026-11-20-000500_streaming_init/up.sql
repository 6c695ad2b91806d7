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
    owner_id BIGINT NOT NULL,
    title VARCHAR(200) NOT NULL,
    description TEXT NOT NULL,
    is_public BOOLEAN NOT NULL DEFAULT TRUE,
    status VARCHAR(16) NOT NULL DEFAULT 'live',
    end_reason VARCHAR(32) NULL,
    current_peers INT NOT NULL DEFAULT 0,
    peak_peers INT NOT NULL DEFAULT 0,
    total_connections BIGINT NOT NULL DEFAULT 0,
    frames BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    frames_dropped BIGINT NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    ended_at DATETIME(6) NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_video_streams_created (created_at),
    KEY idx_video_streams_status (status, created_at),
    KEY idx_video_streams_owner (owner_id, created_at),
    KEY idx_video_streams_peak (peak_peers),
    KEY idx_video_streams_title (title),
    CONSTRAINT fk_video_streams_owner FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE stream_connections (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    stream_id VARCHAR(36) NOT NULL,
    peer_id VARCHAR(36) NOT NULL,
    session_id VARCHAR(36) NOT NULL,
    user_id BIGINT NULL,
    is_creator BOOLEAN NOT NULL DEFAULT FALSE,
    instance_id VARCHAR(36) NOT NULL,
    ip_address VARCHAR(45) NULL,
    joined_at DATETIME(6) NOT NULL,
    left_at DATETIME(6) NULL,
    last_seen_at DATETIME(6) NOT NULL,
    frames_sent BIGINT NOT NULL DEFAULT 0,
    bytes_sent BIGINT NOT NULL DEFAULT 0,
    frames_received BIGINT NOT NULL DEFAULT 0,
    bytes_received BIGINT NOT NULL DEFAULT 0,
    frames_dropped BIGINT NOT NULL DEFAULT 0,
    KEY idx_stream_connections_stream (stream_id, left_at),
    KEY idx_stream_connections_peer (peer_id),
    KEY idx_stream_connections_user (user_id),
    KEY idx_stream_connections_instance (instance_id, left_at),
    KEY idx_stream_connections_open (left_at, last_seen_at),
    CONSTRAINT fk_stream_connections_stream FOREIGN KEY (stream_id) REFERENCES video_streams (id) ON DELETE CASCADE,
    CONSTRAINT fk_stream_connections_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
