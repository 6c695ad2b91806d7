-- The forum: posts, their replies (nested one level through parent_id) and their tags.
--
-- Deleting a post is a hard delete: its replies and tag links go with it (ON DELETE CASCADE;
-- the app decrements tags.usage_count in the same transaction). Deleting a reply that others
-- answered keeps it as a tombstone (is_deleted, content cleared) so the thread stays readable;
-- a reply nobody answered is removed.
--
-- reply_count and view_count are maintained in SQL (`reply_count = reply_count + 1`).
-- Search is the portable fallback here: LIKE on title and content (see crates/posts/src/search.rs).
CREATE TABLE posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title VARCHAR(200) NOT NULL,
    content TEXT NOT NULL,
    reply_count BIGINT NOT NULL DEFAULT 0,
    view_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_posts_created ON posts (created_at);
CREATE INDEX idx_posts_updated ON posts (updated_at);
CREATE INDEX idx_posts_reply_count ON posts (reply_count);
CREATE INDEX idx_posts_view_count ON posts (view_count);
CREATE INDEX idx_posts_author ON posts (author_id, created_at);

CREATE TABLE replies (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id BIGINT NULL REFERENCES replies (id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    is_deleted BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP NULL
);
CREATE INDEX idx_replies_post ON replies (post_id, created_at);
CREATE INDEX idx_replies_author ON replies (author_id, created_at);
CREATE INDEX idx_replies_parent ON replies (parent_id);

CREATE TABLE post_tags (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX idx_post_tags_tag ON post_tags (tag_id, post_id);
