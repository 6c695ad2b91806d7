//! Integration tests of plaza-posts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod batch;
mod cache;
mod concurrency;
mod counts;
mod listing;
mod posts;
mod queries;
mod repair;
mod replies;
mod support;
mod tags;
mod user_deletion;
