-- The home timeline kept per reader (fan-out on write, as Mastodon keeps its home feeds): one
-- row for each feed post a reader's `scope=timeline` may show, written when the post is
-- published and when a follow, friendship or membership begins or ends (crates/social/src/home.rs).
-- A page reads the reader's rows newest first and checks each post's visibility again, so a
-- page walks about as many rows as it shows, however sparse the reader's share of all posts.
CREATE TABLE social_home (
    reader_id BIGINT NOT NULL,
    post_id BIGINT NOT NULL,
    PRIMARY KEY (reader_id, post_id),
    KEY idx_social_home_post (post_id),
    CONSTRAINT fk_social_home_reader FOREIGN KEY (reader_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_social_home_post FOREIGN KEY (post_id) REFERENCES social_posts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every existing reader's timeline, as the write path would have kept it: the author's own
-- posts, followed users' public posts, friends' public and friends-only posts and the posts
-- of groups the reader is an active member of.
INSERT INTO social_home (reader_id, post_id)
SELECT author_id, id FROM social_posts
UNION
SELECT f.follower_id, p.id FROM social_posts p
    JOIN social_follows f ON f.followee_id = p.author_id
    WHERE p.group_id IS NULL AND p.visibility = 'public'
UNION
SELECT fs.user_id, p.id FROM social_posts p
    JOIN social_friendships fs ON fs.friend_id = p.author_id
    WHERE p.group_id IS NULL AND p.visibility IN ('public', 'friends')
UNION
SELECT m.user_id, p.id FROM social_posts p
    JOIN social_group_members m ON m.group_id = p.group_id
    WHERE m.status = 'active';
