//! Integration tests of plaza-server's composition.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod composition;
