DROP TRIGGER IF EXISTS posts_count_delete;
DROP TRIGGER IF EXISTS posts_count_insert;
DROP TABLE post_totals;
