//! Integration tests of plaza-streaming: a real server over SQLite and MySQL, real WebSocket
//! clients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cross;
mod rest;
mod signalling;
mod stats;
mod support;
