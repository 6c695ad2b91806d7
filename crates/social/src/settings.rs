//! The social domain's settings section (`THROTTLE_DIRECT_MESSAGE`), parsed and checked at
//! start with the kernel's [`Env`]; docs/configuration.md lists it.

use plaza_kernel::settings::{Env, Section};
use plaza_kernel::throttle::Limit;

/// What governs the social network.
#[derive(Clone, Debug)]
pub struct SocialSettings {
    /// `THROTTLE_DIRECT_MESSAGE` (default `60/m`): direct messages one user may send, counted
    /// across instances.
    pub message_limit: Option<Limit>,
}

impl Section for SocialSettings {
    fn from_env(env: &mut Env<'_>) -> Self {
        Self {
            message_limit: env.limit("THROTTLE_DIRECT_MESSAGE", "direct_message", "60/m"),
        }
    }
}
