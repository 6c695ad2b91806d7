//! Integration tests of plaza-social, each on SQLite and MySQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod concurrency;
mod feed;
mod friends;
mod groups;
mod home;
mod messages;
mod notifications;
mod queries;
mod realtime;
mod support;
mod user_deletion;
