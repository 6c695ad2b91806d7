//! End-to-end tests: the real binary, over HTTP and WebSocket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod admin;
mod ai;
mod bench;
mod faults;
mod forum;
mod foundation;
mod jobs;
mod metaverse;
mod social;
mod streaming;
