//! Integration tests of plaza-users.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod admin;
mod avatar;
mod me;
mod password;
mod privacy;
mod resume;
mod search;
mod stats;
mod support;
