-- The social domain: friends, follows, blocks, groups, the feed (posts, likes, comments),
-- direct messages with one conversation row per participant, and notifications.
--
-- Pairs are stored once per direction where a list reads them per user (friendships: both
-- rows; conversations: one row per participant). Counters (like_count, comment_count,
-- member_count, unread_count) change in SQL (`col = col + 1`).
-- A pending friend request between two users holds `pending_key` = "<low id>:<high id>",
-- unique, so two requests between the same pair (either direction) cannot both be pending:
-- it is NULL once the request is answered.
CREATE TABLE social_friend_requests (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    from_user_id BIGINT NOT NULL,
    to_user_id BIGINT NOT NULL,
    message VARCHAR(500) NOT NULL DEFAULT '',
    status VARCHAR(16) NOT NULL,
    pending_key VARCHAR(48) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY pending_key (pending_key),
    KEY idx_social_fr_to (to_user_id, status, id),
    KEY idx_social_fr_from (from_user_id, status, id),
    CONSTRAINT fk_social_fr_from FOREIGN KEY (from_user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_social_fr_to FOREIGN KEY (to_user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE social_friendships (
    user_id BIGINT NOT NULL,
    friend_id BIGINT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (user_id, friend_id),
    KEY idx_social_friendships_list (user_id, created_at),
    KEY idx_social_friendships_friend (friend_id),
    CONSTRAINT fk_social_friendships_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_social_friendships_friend FOREIGN KEY (friend_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE social_follows (
    follower_id BIGINT NOT NULL,
    followee_id BIGINT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    KEY idx_social_follows_following (follower_id, created_at),
    KEY idx_social_follows_followers (followee_id, created_at),
    CONSTRAINT fk_social_follows_follower FOREIGN KEY (follower_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_social_follows_followee FOREIGN KEY (followee_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE social_blocks (
    blocker_id BIGINT NOT NULL,
    blocked_id BIGINT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id),
    KEY idx_social_blocks_list (blocker_id, created_at),
    KEY idx_social_blocks_blocked (blocked_id),
    CONSTRAINT fk_social_blocks_blocker FOREIGN KEY (blocker_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_social_blocks_blocked FOREIGN KEY (blocked_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE social_groups (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    description TEXT NOT NULL,
    is_private BOOLEAN NOT NULL DEFAULT FALSE,
    owner_id BIGINT NOT NULL,
    member_count BIGINT NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_social_groups_created (created_at),
    KEY idx_social_groups_owner (owner_id),
    KEY idx_social_groups_name (name),
    CONSTRAINT fk_social_groups_owner FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE social_group_members (
    group_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    role VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (group_id, user_id),
    KEY idx_social_gm_list (group_id, status, created_at),
    KEY idx_social_gm_user (user_id, status),
    CONSTRAINT fk_social_gm_group FOREIGN KEY (group_id) REFERENCES social_groups (id) ON DELETE CASCADE,
    CONSTRAINT fk_social_gm_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE social_posts (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    author_id BIGINT NOT NULL,
    content TEXT NOT NULL,
    visibility VARCHAR(16) NOT NULL,
    group_id BIGINT NULL,
    attachment_ids VARCHAR(255) NOT NULL DEFAULT '[]',
    like_count BIGINT NOT NULL DEFAULT 0,
    comment_count BIGINT NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_social_posts_author (author_id, id),
    KEY idx_social_posts_group (group_id, id),
    KEY idx_social_posts_visibility (visibility, id),
    CONSTRAINT fk_social_posts_author FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_social_posts_group FOREIGN KEY (group_id) REFERENCES social_groups (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE social_likes (
    post_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (post_id, user_id),
    KEY idx_social_likes_user (user_id),
    CONSTRAINT fk_social_likes_post FOREIGN KEY (post_id) REFERENCES social_posts (id) ON DELETE CASCADE,
    CONSTRAINT fk_social_likes_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE social_comments (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    post_id BIGINT NOT NULL,
    author_id BIGINT NOT NULL,
    content TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    KEY idx_social_comments_post (post_id, id),
    KEY idx_social_comments_author (author_id),
    CONSTRAINT fk_social_comments_post FOREIGN KEY (post_id) REFERENCES social_posts (id) ON DELETE CASCADE,
    CONSTRAINT fk_social_comments_author FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A message between low_id and high_id (the pair's ids, ordered), so a conversation's
-- history is one index range whoever sent each message.
CREATE TABLE social_messages (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    sender_id BIGINT NOT NULL,
    recipient_id BIGINT NOT NULL,
    low_id BIGINT NOT NULL,
    high_id BIGINT NOT NULL,
    content TEXT NOT NULL,
    read_at DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL,
    KEY idx_social_messages_pair (low_id, high_id, id),
    KEY idx_social_messages_unread (recipient_id, sender_id, read_at),
    CONSTRAINT fk_social_messages_sender FOREIGN KEY (sender_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_social_messages_recipient FOREIGN KEY (recipient_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per participant and partner: the conversations list is one index range.
CREATE TABLE social_conversations (
    user_id BIGINT NOT NULL,
    partner_id BIGINT NOT NULL,
    last_message_id BIGINT NOT NULL,
    unread_count BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, partner_id),
    KEY idx_social_conversations_list (user_id, last_message_id),
    CONSTRAINT fk_social_conversations_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_social_conversations_partner FOREIGN KEY (partner_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE social_notifications (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    recipient_id BIGINT NOT NULL,
    actor_id BIGINT NULL,
    kind VARCHAR(32) NOT NULL,
    data TEXT NOT NULL,
    is_read BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME(6) NOT NULL,
    KEY idx_social_notifications_list (recipient_id, id),
    KEY idx_social_notifications_unread (recipient_id, is_read, id),
    CONSTRAINT fk_social_notifications_recipient FOREIGN KEY (recipient_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_social_notifications_actor FOREIGN KEY (actor_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
