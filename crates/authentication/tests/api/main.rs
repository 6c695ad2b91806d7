//! Integration tests of plaza-authentication (mounted with plaza-users, as in the server).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_keys;
mod cleanup;
mod email;
mod login;
mod register;
mod sessions;
mod support;
mod tokens;
mod two_factor;
