-- Virtual worlds: worlds with per-user permissions, avatars, sessions (who is in a world now),
-- a catalogue of objects and their instances placed in worlds, and events with participants.
--
-- JSON documents (settings, appearance, properties, state) are TEXT holding a JSON object.
-- A session is open while left_at IS NULL; entering locks the world row (FOR UPDATE) and counts
-- the open sessions, so max_users holds under concurrency. connection_id/instance_id name the
-- WebSocket connection (and its process) of a connected session, for the presence roster.
CREATE TABLE metaverse_worlds (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    owner_id BIGINT NOT NULL,
    name VARCHAR(100) NOT NULL,
    description TEXT NOT NULL,
    visibility VARCHAR(16) NOT NULL,
    max_users INT NOT NULL,
    scene_url VARCHAR(500) NOT NULL,
    settings TEXT NOT NULL,
    bounds DOUBLE NOT NULL,
    thumbnail_id BIGINT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_mv_worlds_created (created_at),
    KEY idx_mv_worlds_updated (updated_at),
    KEY idx_mv_worlds_name (name),
    KEY idx_mv_worlds_owner (owner_id, created_at),
    KEY idx_mv_worlds_visibility (visibility, created_at),
    CONSTRAINT fk_mv_worlds_owner FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_mv_worlds_thumbnail FOREIGN KEY (thumbnail_id) REFERENCES attachments (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE metaverse_world_permissions (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    world_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    role VARCHAR(16) NOT NULL,
    granted_by BIGINT NULL,
    created_at DATETIME(6) NOT NULL,
    UNIQUE KEY uq_mv_perm_world_user (world_id, user_id),
    KEY idx_mv_perm_user (user_id),
    CONSTRAINT fk_mv_perm_world FOREIGN KEY (world_id) REFERENCES metaverse_worlds (id) ON DELETE CASCADE,
    CONSTRAINT fk_mv_perm_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE metaverse_avatars (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    name VARCHAR(100) NOT NULL,
    model_url VARCHAR(500) NOT NULL,
    appearance TEXT NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_mv_avatars_user (user_id, created_at),
    CONSTRAINT fk_mv_avatars_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE metaverse_sessions (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    world_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    avatar_id BIGINT NULL,
    pos_x DOUBLE NOT NULL,
    pos_y DOUBLE NOT NULL,
    pos_z DOUBLE NOT NULL,
    rot_x DOUBLE NOT NULL,
    rot_y DOUBLE NOT NULL,
    rot_z DOUBLE NOT NULL,
    connection_id VARCHAR(36) NULL,
    instance_id VARCHAR(36) NULL,
    entered_at DATETIME(6) NOT NULL,
    last_seen_at DATETIME(6) NOT NULL,
    left_at DATETIME(6) NULL,
    KEY idx_mv_sessions_world (world_id, left_at, entered_at),
    KEY idx_mv_sessions_user (user_id, left_at),
    KEY idx_mv_sessions_seen (left_at, last_seen_at),
    CONSTRAINT fk_mv_sessions_world FOREIGN KEY (world_id) REFERENCES metaverse_worlds (id) ON DELETE CASCADE,
    CONSTRAINT fk_mv_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_mv_sessions_avatar FOREIGN KEY (avatar_id) REFERENCES metaverse_avatars (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE metaverse_objects (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    creator_id BIGINT NOT NULL,
    name VARCHAR(100) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    model_url VARCHAR(500) NOT NULL,
    properties TEXT NOT NULL,
    price BIGINT NOT NULL,
    rarity VARCHAR(16) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_mv_objects_created (created_at),
    KEY idx_mv_objects_name (name),
    KEY idx_mv_objects_price (price),
    KEY idx_mv_objects_kind (kind, created_at),
    KEY idx_mv_objects_rarity (rarity, created_at),
    KEY idx_mv_objects_creator (creator_id, created_at),
    CONSTRAINT fk_mv_objects_creator FOREIGN KEY (creator_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE metaverse_instances (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    world_id BIGINT NOT NULL,
    object_id BIGINT NOT NULL,
    placed_by BIGINT NULL,
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
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_mv_instances_world (world_id, id),
    KEY idx_mv_instances_object (object_id),
    CONSTRAINT fk_mv_instances_world FOREIGN KEY (world_id) REFERENCES metaverse_worlds (id) ON DELETE CASCADE,
    CONSTRAINT fk_mv_instances_object FOREIGN KEY (object_id) REFERENCES metaverse_objects (id) ON DELETE CASCADE,
    CONSTRAINT fk_mv_instances_placed_by FOREIGN KEY (placed_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE metaverse_events (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    world_id BIGINT NOT NULL,
    organizer_id BIGINT NOT NULL,
    title VARCHAR(200) NOT NULL,
    description TEXT NOT NULL,
    start_at DATETIME(6) NOT NULL,
    end_at DATETIME(6) NOT NULL,
    max_participants INT NULL,
    participant_count INT NOT NULL DEFAULT 0,
    reminded_at DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_mv_events_start (start_at),
    KEY idx_mv_events_created (created_at),
    KEY idx_mv_events_world (world_id, start_at),
    KEY idx_mv_events_reminder (reminded_at, start_at),
    CONSTRAINT fk_mv_events_world FOREIGN KEY (world_id) REFERENCES metaverse_worlds (id) ON DELETE CASCADE,
    CONSTRAINT fk_mv_events_organizer FOREIGN KEY (organizer_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE metaverse_event_participants (
    event_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    joined_at DATETIME(6) NOT NULL,
    PRIMARY KEY (event_id, user_id),
    KEY idx_mv_participants_user (user_id),
    KEY idx_mv_participants_joined (event_id, joined_at),
    CONSTRAINT fk_mv_participants_event FOREIGN KEY (event_id) REFERENCES metaverse_events (id) ON DELETE CASCADE,
    CONSTRAINT fk_mv_participants_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
