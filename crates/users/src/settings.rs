//! The users domain's settings section.

use plaza_kernel::settings::{Env, Section};

/// `BCRYPT_COST` and what else governs accounts.
#[derive(Clone, Debug)]
pub struct UsersSettings {
    /// `BCRYPT_COST` (4–31, default 12): the work factor of new password hashes. Tests use 4.
    pub bcrypt_cost: u32,
}

impl Section for UsersSettings {
    fn from_env(env: &mut Env<'_>) -> Self {
        Self {
            bcrypt_cost: env.number("BCRYPT_COST", 12, 4, 31),
        }
    }
}
