//! Integration tests of plaza-users.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
