//! The core domain's settings section.

use plaza_kernel::settings::{Env, Section};

/// Limits of what core stores.
#[derive(Clone, Debug)]
pub struct CoreSettings {
    /// `ATTACHMENT_MAX_BYTES` (default 10 MiB): the largest file `core/attachments/` accepts
    /// (413 above).
    pub attachment_max_bytes: u64,
}

impl Section for CoreSettings {
    fn from_env(env: &mut Env<'_>) -> Self {
        Self {
            attachment_max_bytes: env.number("ATTACHMENT_MAX_BYTES", 10 << 20, 1, 1 << 40),
        }
    }
}
