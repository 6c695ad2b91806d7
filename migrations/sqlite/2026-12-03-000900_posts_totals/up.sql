-- The number of posts, kept so the list's exact `count` is one small read (see the MySQL
-- migration: the same slots and triggers on both backends).
CREATE TABLE post_totals (
    slot INTEGER NOT NULL PRIMARY KEY,
    total BIGINT NOT NULL
);

INSERT INTO post_totals (slot, total) VALUES (0, 0),(1, 0),(2, 0),(3, 0),(4, 0),(5, 0),(6, 0),(7, 0),(8, 0),(9, 0),(10, 0),(11, 0),(12, 0),(13, 0),(14, 0),(15, 0);

UPDATE post_totals SET total = (SELECT COUNT(*) FROM posts WHERE posts.id % 16 = post_totals.slot);

CREATE TRIGGER posts_count_insert AFTER INSERT ON posts FOR EACH ROW BEGIN
    UPDATE post_totals SET total = total + 1 WHERE slot = NEW.id % 16;
END;

CREATE TRIGGER posts_count_delete AFTER DELETE ON posts FOR EACH ROW BEGIN
    UPDATE post_totals SET total = total - 1 WHERE slot = OLD.id % 16;
END;
