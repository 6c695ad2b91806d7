//! Integration tests of plaza-server: the composed app (forum paths, media, OpenAPI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod legacy_users;
mod media;
mod openapi;
mod support;
