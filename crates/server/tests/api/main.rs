//! Integration tests of plaza-server: the composed app (its composition, the forum paths,
//! media, the OpenAPI document).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod composition;
mod drf_rules;
mod legacy_posts;
mod legacy_users;
mod media;
mod openapi;
mod support;
