//! Integration tests of plaza-core.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attachments;
mod health;
mod jobs;
mod logs;
mod status;
mod support;
mod tags;
