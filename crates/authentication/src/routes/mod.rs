//! HTTP handlers of `/api/v1/auth/`.

pub mod api_keys;
pub mod auth;
pub mod email;
pub mod sessions;
pub mod two_factor;
