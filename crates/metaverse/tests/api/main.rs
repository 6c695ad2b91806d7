//! Integration tests of plaza-metaverse, each on SQLite and on MySQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod avatars;
mod concurrency;
mod events;
mod jobs;
mod objects;
mod presence;
mod queries;
mod sessions;
mod support;
mod user_deletion;
mod worlds;
