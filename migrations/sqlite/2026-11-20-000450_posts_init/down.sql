DROP TABLE post_tags;
DROP TABLE replies;
DROP TABLE posts;
