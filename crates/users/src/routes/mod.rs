//! HTTP handlers of `/api/v1/users/`, grouped by resource. They stay thin: extract, call the
//! service on the blocking pool, answer.

pub mod me;
pub mod resume;
pub mod users;

use plaza_kernel::auth::Credential;
use plaza_kernel::{ApiError, ApiResult, Caller};

/// Rule: account-security actions (password, deactivation, 2FA, API keys, sessions) need a
/// login session — a JWT access token — so a leaked API key cannot take over the account.
pub fn require_login_session(caller: &Caller) -> ApiResult<()> {
    match caller.credential {
        Credential::Access { .. } => Ok(()),
        _ => Err(ApiError::permission_denied(
            "This action needs a login session (a JWT access token), not an API key.",
        )),
    }
}
