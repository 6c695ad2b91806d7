-- The forum: posts, their replies (nested one level through parent_id) and their tags.
--
-- Deleting a post is a hard delete: its replies and tag links go with it (ON DELETE CASCADE;
-- the app decrements tags.usage_count in the same transaction). Deleting a reply that others
-- answered keeps it as a tombstone (is_deleted, content cleared) so the thread stays readable;
-- a reply nobody answered is removed.
--
-- reply_count and view_count are maintained in SQL (`reply_count = reply_count + 1`).
-- Search: FULLTEXT on (title, content) in boolean mode for the terms InnoDB can index, LIKE
-- for the rest (CJK text, short terms); see crates/posts/src/search.rs.
CREATE TABLE posts (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    author_id BIGINT NOT NULL,
    title VARCHAR(200) NOT NULL,
    content MEDIUMTEXT NOT NULL,
    reply_count BIGINT NOT NULL DEFAULT 0,
    view_count BIGINT NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_posts_created (created_at),
    KEY idx_posts_updated (updated_at),
    KEY idx_posts_reply_count (reply_count),
    KEY idx_posts_view_count (view_count),
    KEY idx_posts_author (author_id, created_at),
    FULLTEXT KEY ft_posts_search (title, content),
    CONSTRAINT fk_posts_author FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE replies (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    post_id BIGINT NOT NULL,
    author_id BIGINT NOT NULL,
    parent_id BIGINT NULL,
    content TEXT NOT NULL,
    is_deleted BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    deleted_at DATETIME(6) NULL,
    KEY idx_replies_post (post_id, created_at),
    KEY idx_replies_author (author_id, created_at),
    KEY idx_replies_parent (parent_id),
    CONSTRAINT fk_replies_post FOREIGN KEY (post_id) REFERENCES posts (id) ON DELETE CASCADE,
    CONSTRAINT fk_replies_author FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_replies_parent FOREIGN KEY (parent_id) REFERENCES replies (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE post_tags (
    post_id BIGINT NOT NULL,
    tag_id BIGINT NOT NULL,
    PRIMARY KEY (post_id, tag_id),
    KEY idx_post_tags_tag (tag_id, post_id),
    CONSTRAINT fk_post_tags_post FOREIGN KEY (post_id) REFERENCES posts (id) ON DELETE CASCADE,
    CONSTRAINT fk_post_tags_tag FOREIGN KEY (tag_id) REFERENCES tags (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
