//! Integration tests of the kernel: one binary, a module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod cache_bus;
mod db;
mod errors;
mod jobs;
mod mail;
mod pagination;
mod smtp_sink;
mod support;
mod worker;
