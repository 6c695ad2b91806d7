-- The number of posts, kept so the list's exact `count` is one small read instead of a
-- COUNT(*) that InnoDB answers by reading every row of posts.
--
-- A post counts in slot id % 16 and the total is the sum of the slots, so concurrent creates
-- update different rows instead of queueing on one. Triggers change it in the statement that
-- inserts or deletes the post (so in its transaction, whichever code path it is). MySQL fires
-- no trigger for a foreign-key cascade: deleting a user deletes their posts explicitly first
-- (crates/posts/src/user_deletion.rs); the nightly repair recounts it.
CREATE TABLE post_totals (
    slot INT NOT NULL PRIMARY KEY,
    total BIGINT NOT NULL
) ENGINE=InnoDB;

INSERT INTO post_totals (slot, total) VALUES (0, 0),(1, 0),(2, 0),(3, 0),(4, 0),(5, 0),(6, 0),(7, 0),(8, 0),(9, 0),(10, 0),(11, 0),(12, 0),(13, 0),(14, 0),(15, 0);

UPDATE post_totals SET total = (SELECT COUNT(*) FROM posts WHERE posts.id % 16 = post_totals.slot);

CREATE TRIGGER posts_count_insert AFTER INSERT ON posts FOR EACH ROW
    UPDATE post_totals SET total = total + 1 WHERE slot = NEW.id % 16;

CREATE TRIGGER posts_count_delete AFTER DELETE ON posts FOR EACH ROW
    UPDATE post_totals SET total = total - 1 WHERE slot = OLD.id % 16;
