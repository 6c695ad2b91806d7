//! Request and response bodies of `/api/v1/auth/`.

use chrono::{DateTime, Utc};
use plaza_users::password::MAX_INPUT_LENGTH;
use plaza_users::views::UserDetail;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

/// `POST register/`.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct RegisterRequest {
    /// 3–150 letters, digits and `@.+-_`; unique case-insensitively.
    pub username: String,
    /// Unique case-insensitively; a verification link is sent to it.
    pub email: String,
    /// At least 8 characters, not all digits, not like the username or email, not common.
    #[validate(length(max = MAX_INPUT_LENGTH))]
    pub password: String,
    /// If sent, must equal `password`.
    pub password_confirm: Option<String>,
    /// Given name (optional, at most 150 characters).
    #[serde(default)]
    #[validate(length(max = 150))]
    pub first_name: String,
    /// Family name (optional, at most 150 characters).
    #[serde(default)]
    #[validate(length(max = 150))]
    pub last_name: String,
}

/// `POST login/`: `username` may be the username or the email (or send `email`).
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct LoginRequest {
    /// Username or email.
    #[validate(length(max = 254))]
    pub username: Option<String>,
    /// Email, for clients that send it under this name.
    #[validate(length(max = 254))]
    pub email: Option<String>,
    /// Password.
    #[validate(length(max = MAX_INPUT_LENGTH))]
    pub password: String,
    /// With two-factor authentication on: a TOTP code or a recovery code, to log in in one step.
    #[validate(length(max = 64))]
    pub otp_code: Option<String>,
}

/// Tokens and the signed-in user.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Access token (JWT).
    pub access: String,
    /// Refresh token (JWT, single use).
    pub refresh: String,
    /// The user.
    pub user: UserDetail,
}

/// The password was right; a second factor is needed at `2fa/verify/`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TwoFactorChallenge {
    /// Always true.
    pub two_factor_required: bool,
    /// Pass to `2fa/verify/` with a code, within 5 minutes.
    pub challenge_token: String,
}

/// What `login/` answers.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginOutcome {
    /// Signed in.
    Tokens(Box<LoginResponse>),
    /// A second factor is needed.
    Challenge(TwoFactorChallenge),
}

/// What `register/` answers.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    /// The new user.
    pub user: UserDetail,
    /// Access token.
    pub access: String,
    /// Refresh token.
    pub refresh: String,
}

/// `POST 2fa/verify/`.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct TwoFactorVerify {
    /// From `login/`.
    #[validate(length(max = 4096))]
    pub challenge_token: String,
    /// A TOTP code or an unused recovery code.
    #[validate(length(min = 1, max = 64))]
    pub code: String,
}

/// `{refresh}`: `logout/`, `refresh-token/`.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct RefreshRequest {
    /// A refresh token.
    #[validate(length(min = 1, max = 4096))]
    pub refresh: String,
}

/// A new token pair.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TokenPairOut {
    /// Access token.
    pub access: String,
    /// Refresh token (the one sent is spent).
    pub refresh: String,
}

/// `POST verify-token/`.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct VerifyTokenRequest {
    /// An access or refresh token.
    #[validate(length(min = 1, max = 4096))]
    pub token: String,
}

/// `POST password-reset/`.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct PasswordResetRequest {
    /// The account's email address.
    #[validate(email, length(max = 254))]
    pub email: String,
}

/// `POST password-reset/confirm/`.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct PasswordResetConfirm {
    /// The token from the reset email.
    #[validate(length(min = 1, max = 256))]
    pub token: String,
    /// The new password (Django's rules).
    #[validate(length(max = MAX_INPUT_LENGTH))]
    pub new_password: String,
    /// If sent, must equal `new_password`.
    pub new_password_confirm: Option<String>,
}

/// `{token}`: `verify-email/`.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct TokenRequest {
    /// The token from the email.
    #[validate(length(min = 1, max = 256))]
    pub token: String,
}

/// `POST 2fa/enable/`: scan `qr_svg` (or enter `secret`) in an authenticator app, then confirm
/// with a code at `2fa/confirm/`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TwoFactorEnrollment {
    /// Base32 secret.
    pub secret: String,
    /// `otpauth://totp/…` URL.
    pub otpauth_url: String,
    /// The URL as a QR code (SVG document).
    pub qr_svg: String,
}

/// `POST 2fa/confirm/`.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct CodeRequest {
    /// A 6-digit TOTP code.
    #[validate(length(min = 1, max = 64))]
    pub code: String,
}

/// Recovery codes, shown once.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes; each can replace a TOTP code once.
    pub recovery_codes: Vec<String>,
}

/// `POST 2fa/disable/`.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct TwoFactorDisable {
    /// The account password.
    #[validate(length(max = MAX_INPUT_LENGTH))]
    pub password: String,
    /// A TOTP code or a recovery code.
    #[validate(length(min = 1, max = 64))]
    pub code: String,
}

/// `GET 2fa/`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TwoFactorStatus {
    /// Two-factor authentication is on.
    pub enabled: bool,
    /// An enrollment waits for confirmation.
    pub pending: bool,
    /// When it was turned on.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Recovery codes not used yet.
    pub recovery_codes_remaining: i64,
}

/// `POST api-keys/`.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct NewApiKey {
    /// 1–100 characters.
    #[validate(length(min = 1, max = 100))]
    pub name: String,
    /// When the key stops working (RFC 3339, in the future); never when left out.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A freshly created API key. `key` is shown this once; only its hash is stored.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The key's first characters, to recognise it later.
    pub prefix: String,
    /// The key: `Authorization: Api-Key <key>`, `X-API-Key: <key>` or `Authorization: Bearer <key>`.
    pub key: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
}

/// An API key as listed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Past its expiry.
    pub is_expired: bool,
}

/// A live login session (one refresh-token family).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Id (for `DELETE sessions/{id}/`).
    pub id: i64,
    /// The client's user agent at login.
    pub device: String,
    /// The address it was last used from.
    pub ip_address: Option<String>,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// Last refresh.
    pub last_used_at: DateTime<Utc>,
    /// When it ends unless refreshed.
    pub expires_at: DateTime<Utc>,
}

/// `POST ws-ticket/`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WsTicket {
    /// Pass as `?ticket=` when opening a WebSocket; works once.
    pub ticket: String,
    /// Seconds it stays valid.
    pub expires_in: u64,
}

/// An empty object (`verify-token/`).
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct Empty {}
