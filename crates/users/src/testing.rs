//! Test support (feature `test-support`): the account fixture the kernel's `TestApp` creates
//! users with, through this domain's own `create_account`.

use plaza_kernel::testing::NewTestUser;
use plaza_kernel::{ApiResult, DbConn};

use crate::model::{create_account, NewAccount};
use crate::values::{Email, Username};

/// Creates `spec`'s account (and its profile) as sign-up does; for
/// `TestAppBuilder::users`.
pub fn create_test_user(
    conn: &mut DbConn,
    spec: &NewTestUser,
    email: &str,
    hash: &str,
) -> ApiResult<i64> {
    let mut account = NewAccount::user(
        Username::parse(&spec.username)?,
        Email::parse(email)?,
        hash.to_owned(),
    );
    account.role = spec.role;
    account.is_staff = spec.is_staff;
    account.is_superuser = spec.is_superuser;
    account.is_active = spec.is_active;
    account.is_verified = spec.is_verified;
    Ok(create_account(conn, &account)?.id)
}
