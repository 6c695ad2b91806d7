-- Virtual worlds: worlds with per-user permissions, avatars, sessions (who is in a world now),
-- a catalogue of objects and their instances placed in worlds, and events with participants.
--
-- JSON documents (settings, appearance, properties, state) are TEXT holding a JSON object.
-- A session is open while left_at IS NULL; entering locks the world row (FOR UPDATE) and counts
-- the open sessions (SQLite: the transaction begins IMMEDIATE), so max_users holds. connection_id/instance_id name the
-- WebSocket connection (and its process) of a connected session, for the presence roster.
CREATE TABLE metaverse_worlds (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name VARCHAR(100) NOT NULL,
    description TEXT NOT NULL,
    visibility VARCHAR(16) NOT NULL,
    max_users INT NOT NULL,
    scene_url VARCHAR(500) NOT NULL,
    settings TEXT NOT NULL,
    bounds DOUBLE NOT NULL,
    thumbnail_id BIGINT NULL REFERENCES attachments (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_mv_worlds_created ON metaverse_worlds (created_at);
CREATE INDEX idx_mv_worlds_updated ON metaverse_worlds (updated_at);
CREATE INDEX idx_mv_worlds_name ON metaverse_worlds (name);
CREATE INDEX idx_mv_worlds_owner ON metaverse_worlds (owner_id, created_at);
CREATE INDEX idx_mv_worlds_visibility ON metaverse_worlds (visibility, created_at);

CREATE TABLE metaverse_world_permissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    world_id BIGINT NOT NULL REFERENCES metaverse_worlds (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role VARCHAR(16) NOT NULL,
    granted_by BIGINT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_mv_perm_world_user ON metaverse_world_permissions (world_id, user_id);
CREATE INDEX idx_mv_perm_user ON metaverse_world_permissions (user_id);

CREATE TABLE metaverse_avatars (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name VARCHAR(100) NOT NULL,
    model_url VARCHAR(500) NOT NULL,
    appearance TEXT NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_mv_avatars_user ON metaverse_avatars (user_id, created_at);

CREATE TABLE metaverse_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    world_id BIGINT NOT NULL REFERENCES metaverse_worlds (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    avatar_id BIGINT NULL REFERENCES metaverse_avatars (id) ON DELETE SET NULL,
    pos_x DOUBLE NOT NULL,
    pos_y DOUBLE NOT NULL,
    pos_z DOUBLE NOT NULL,
    rot_x DOUBLE NOT NULL,
    rot_y DOUBLE NOT NULL,
    rot_z DOUBLE NOT NULL,
    connection_id VARCHAR(36) NULL,
    instance_id VARCHAR(36) NULL,
    entered_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    left_at TIMESTAMP NULL
);
CREATE INDEX idx_mv_sessions_world ON metaverse_sessions (world_id, left_at, entered_at);
CREATE INDEX idx_mv_sessions_user ON metaverse_sessions (user_id, left_at);
CREATE INDEX idx_mv_sessions_seen ON metaverse_sessions (left_at, last_seen_at);

CREATE TABLE metaverse_objects (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    creator_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name VARCHAR(100) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    model_url VARCHAR(500) NOT NULL,
    properties TEXT NOT NULL,
    price BIGINT NOT NULL,
    rarity VARCHAR(16) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_mv_objects_created ON metaverse_objects (created_at);
CREATE INDEX idx_mv_objects_name ON metaverse_objects (name);
CREATE INDEX idx_mv_objects_price ON metaverse_objects (price);
CREATE INDEX idx_mv_objects_kind ON metaverse_objects (kind, created_at);
CREATE INDEX idx_mv_objects_rarity ON metaverse_objects (rarity, created_at);
CREATE INDEX idx_mv_objects_creator ON metaverse_objects (creator_id, created_at);

CREATE TABLE metaverse_instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    world_id BIGINT NOT NULL REFERENCES metaverse_worlds (id) ON DELETE CASCADE,
    object_id BIGINT NOT NULL REFERENCES metaverse_objects (id) ON DELETE CASCADE,
    placed_by BIGINT NULL REFERENCES users (id) ON DELETE SET NULL,
    pos_x DOUBLE NOT NULL,
    pos_y DOUBLE NOT NULL,
    pos_z DOUBLE NOT NULL,
    rot_x DOUBLE NOT NULL,
    rot_y DOUBLE NOT NULL,
    rot_z DOUBLE NOT NULL,
    scale_x DOUBLE NOT NULL,
    scale_y DOUBLE NOT NULL,
    scale_z DOUBLE NOT NULL,
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_mv_instances_world ON metaverse_instances (world_id, id);
CREATE INDEX idx_mv_instances_object ON metaverse_instances (object_id);

CREATE TABLE metaverse_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    world_id BIGINT NOT NULL REFERENCES metaverse_worlds (id) ON DELETE CASCADE,
    organizer_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title VARCHAR(200) NOT NULL,
    description TEXT NOT NULL,
    start_at TIMESTAMP NOT NULL,
    end_at TIMESTAMP NOT NULL,
    max_participants INT NULL,
    participant_count INT NOT NULL DEFAULT 0,
    reminded_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_mv_events_start ON metaverse_events (start_at);
CREATE INDEX idx_mv_events_created ON metaverse_events (created_at);
CREATE INDEX idx_mv_events_world ON metaverse_events (world_id, start_at);
CREATE INDEX idx_mv_events_reminder ON metaverse_events (reminded_at, start_at);

CREATE TABLE metaverse_event_participants (
    event_id BIGINT NOT NULL REFERENCES metaverse_events (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX idx_mv_participants_user ON metaverse_event_participants (user_id);
CREATE INDEX idx_mv_participants_joined ON metaverse_event_participants (event_id, joined_at);
