//! The users domain's settings section.

use plaza_kernel::settings::{Env, Section};
use plaza_kernel::throttle::Limit;

use crate::password::HashPriority;

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
    /// `PASSWORD_HASH_THREADS` (default: the number of CPUs): threads that hash and verify
    /// passwords.
    pub hash_threads: usize,
    /// `PASSWORD_HASH_PRIORITY` (default `9`): the hashing threads' scheduling — a nice value
    /// `0`–`19`, or `idle` (Linux `SCHED_IDLE`: they run only on CPU time nothing else wants).
    pub hash_priority: HashPriority,
}

impl Section for UsersSettings {
    fn from_env(env: &mut Env<'_>) -> Self {
        Self {
            bcrypt_cost: env.number("BCRYPT_COST", 12, 4, 31),
            register_limit: env.limit("THROTTLE_REGISTER", "register", "30/h"),
            password_reset_limit: env.limit("THROTTLE_PASSWORD_RESET", "password_reset", "10/h"),
            hash_threads: env.number(
                "PASSWORD_HASH_THREADS",
                crate::password::default_hash_threads(),
                1,
                1024,
            ),
            hash_priority: hash_priority(env),
        }
    }
}

fn hash_priority(env: &mut Env<'_>) -> HashPriority {
    let raw = env
        .string("PASSWORD_HASH_PRIORITY", "idle")
        .to_ascii_lowercase();
    if raw == "idle" {
        return HashPriority::Idle;
    }
    match raw.parse::<u8>() {
        Ok(nice) if nice <= 19 => HashPriority::Nice(nice),
        _ => {
            env.problem(format!(
                "PASSWORD_HASH_PRIORITY: \"{raw}\" is not idle or a nice value from 0 to 19"
            ));
            HashPriority::default()
        }
    }
}
