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
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    from_user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message VARCHAR(500) NOT NULL DEFAULT '',
    status VARCHAR(16) NOT NULL,
    pending_key VARCHAR(48) NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX idx_social_friend_requests_pending_key ON social_friend_requests (pending_key);
CREATE INDEX idx_social_fr_to ON social_friend_requests (to_user_id, status, id);
CREATE INDEX idx_social_fr_from ON social_friend_requests (from_user_id, status, id);

CREATE TABLE social_friendships (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    friend_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, friend_id)
);
CREATE INDEX idx_social_friendships_list ON social_friendships (user_id, created_at);
CREATE INDEX idx_social_friendships_friend ON social_friendships (friend_id);

CREATE TABLE social_follows (
    follower_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX idx_social_follows_following ON social_follows (follower_id, created_at);
CREATE INDEX idx_social_follows_followers ON social_follows (followee_id, created_at);

CREATE TABLE social_blocks (
    blocker_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX idx_social_blocks_list ON social_blocks (blocker_id, created_at);
CREATE INDEX idx_social_blocks_blocked ON social_blocks (blocked_id);

CREATE TABLE social_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name VARCHAR(100) NOT NULL,
    description TEXT NOT NULL,
    is_private BOOLEAN NOT NULL DEFAULT 0,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    member_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_social_groups_created ON social_groups (created_at);
CREATE INDEX idx_social_groups_owner ON social_groups (owner_id);
CREATE INDEX idx_social_groups_name ON social_groups (name);

CREATE TABLE social_group_members (
    group_id BIGINT NOT NULL REFERENCES social_groups (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX idx_social_gm_list ON social_group_members (group_id, status, created_at);
CREATE INDEX idx_social_gm_user ON social_group_members (user_id, status);

CREATE TABLE social_posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    visibility VARCHAR(16) NOT NULL,
    group_id BIGINT NULL REFERENCES social_groups (id) ON DELETE CASCADE,
    attachment_ids VARCHAR(255) NOT NULL DEFAULT '[]',
    like_count BIGINT NOT NULL DEFAULT 0,
    comment_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_social_posts_author ON social_posts (author_id, id);
CREATE INDEX idx_social_posts_group ON social_posts (group_id, id);
CREATE INDEX idx_social_posts_visibility ON social_posts (visibility, id);

CREATE TABLE social_likes (
    post_id BIGINT NOT NULL REFERENCES social_posts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (post_id, user_id)
);
CREATE INDEX idx_social_likes_user ON social_likes (user_id);

CREATE TABLE social_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    post_id BIGINT NOT NULL REFERENCES social_posts (id) ON DELETE CASCADE,
    author_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_social_comments_post ON social_comments (post_id, id);
CREATE INDEX idx_social_comments_author ON social_comments (author_id);

-- A message between low_id and high_id (the pair's ids, ordered), so a conversation's
-- history is one index range whoever sent each message.
CREATE TABLE social_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    sender_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    recipient_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    low_id BIGINT NOT NULL,
    high_id BIGINT NOT NULL,
    content TEXT NOT NULL,
    read_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_social_messages_pair ON social_messages (low_id, high_id, id);
CREATE INDEX idx_social_messages_unread ON social_messages (recipient_id, sender_id, read_at);

-- One row per participant and partner: the conversations list is one index range.
CREATE TABLE social_conversations (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    partner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_message_id BIGINT NOT NULL,
    unread_count BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, partner_id)
);
CREATE INDEX idx_social_conversations_list ON social_conversations (user_id, last_message_id);

CREATE TABLE social_notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    recipient_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_id BIGINT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind VARCHAR(32) NOT NULL,
    data TEXT NOT NULL,
    is_read BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_social_notifications_list ON social_notifications (recipient_id, id);
CREATE INDEX idx_social_notifications_unread ON social_notifications (recipient_id, is_read, id);
