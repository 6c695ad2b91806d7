//! The forum's settings section.

use std::time::Duration;

use plaza_kernel::settings::{Env, Section};

/// `POSTS_*`.
#[derive(Clone, Debug)]
pub struct PostsSettings {
    /// `POSTS_CACHE_TTL` (default 1 s): how long the forum's read cache may serve a list page
    /// or a post (a forum write invalidates what it changed at once, on every instance; this
    /// bounds how late writes made elsewhere, such as a deleted user's cascade, show). `0`
    /// turns it off.
    pub cache_ttl: Duration,
}

impl Section for PostsSettings {
    fn from_env(env: &mut Env<'_>) -> Self {
        Self {
            cache_ttl: env.duration("POSTS_CACHE_TTL", Duration::from_secs(1)),
        }
    }
}
