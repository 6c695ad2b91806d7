//! # plaza-users
//!
//! Accounts: the `users` table, usernames and emails that can only be built valid, Django's
//! password rules, and account creation. Used by the authentication domain and by
//! `plaza createsuperuser`.

pub mod model;
pub mod password;
pub mod public;
pub mod values;

pub use model::{create_account, NewAccount, User};
pub use public::{authors_by_id, Author};
pub use values::{Email, Username};
