//! Integration tests of plaza-core.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod health;
mod jobs;
mod status;
