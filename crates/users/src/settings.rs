//! The users domain's settings section.

use plaza_kernel::settings::{Env, Section};
use plaza_kernel::throttle::Limit;

/// `BCRYPT_COST` and what else governs accounts.
#[derive(Clone, Debug)]
pub struct UsersSettings {
    /// `BCRYPT_COST` (4–31, default 12): the work factor of new password hashes. Tests use 4.
    pub bcrypt_cost: u32,
    /// `THROTTLE_REGISTER` (default `30/h`): registrations from one address, across instances.
    pub register_limit: Option<Limit>,
    /// `THROTTLE_PASSWORD_RESET` (default `10/h`): password-reset requests from one address
    /// (on top of one mail a minute per account).
    pub password_reset_limit: Option<Limit>,
}

impl Section for UsersSettings {
    fn from_env(env: &mut Env<'_>) -> Self {
        Self {
            bcrypt_cost: env.number("BCRYPT_COST", 12, 4, 31),
            register_limit: env.limit("THROTTLE_REGISTER", "register", "30/h"),
            password_reset_limit: env.limit("THROTTLE_PASSWORD_RESET", "password_reset", "10/h"),
        }
    }
}
