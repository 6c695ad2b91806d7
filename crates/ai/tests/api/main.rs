//! Integration tests of plaza-ai, against fake upstreams started by the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat;
mod fakes;
mod gateway;
mod models;
mod quotas;
mod spark;
mod support;
mod templates;
