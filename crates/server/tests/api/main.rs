//! Integration tests of plaza-server: the composed app, its legacy paths and its schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod legacy_posts;
