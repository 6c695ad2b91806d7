//! The forum's settings section.

use std::time::Duration;

use plaza_kernel::settings::{Env, Section};

/// Most posts or replies one batch may hold: a statement of 7 parameters a row stays far below every
/// backend's limit on parameters.
pub const MAX_CREATE_BATCH: usize = 1000;

/// `POSTS_*`.
#[derive(Clone, Debug)]
pub struct PostsSettings {
    /// `POSTS_CACHE_TTL` (default 1 s): how long the forum's read cache may serve a list page
    /// or a post (a forum write invalidates what it changed at once, on every instance; this
    /// bounds how late writes made elsewhere, such as a deleted user's cascade, show). `0`
    /// turns it off.
    pub cache_ttl: Duration,
    /// `POSTS_CREATE_BATCH` (default 64): most posts without tags, and most top-level
    /// replies, that concurrent requests create together, in one `INSERT` ([`crate::batch`]).
    /// `1` writes each on its own.
    pub create_batch: usize,
}

impl Section for PostsSettings {
    fn from_env(env: &mut Env<'_>) -> Self {
        Self {
            cache_ttl: env.duration("POSTS_CACHE_TTL", Duration::from_secs(1)),
            create_batch: env.number(
                "POSTS_CREATE_BATCH",
                crate::batch::DEFAULT_BATCH,
                1,
                MAX_CREATE_BATCH,
            ),
        }
    }
}
