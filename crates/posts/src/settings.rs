//! The forum's settings section.

use std::time::Duration;

use plaza_kernel::settings::{Env, Section};

/// `POSTS_*`.
#[derive(Clone, Debug)]
pub struct PostsSettings {
    /// `POSTS_CACHE_TTL` (default 1 s): how long the forum's read cache may serve a list page
    /// or a post (writes invalidate it at once; this bounds what other instances see). `0`
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
