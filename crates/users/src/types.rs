//! Request bodies and query strings of the users API, and the field rules they share.

use chrono::NaiveDate;
use plaza_kernel::Role;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use crate::password::MAX_INPUT_LENGTH;
use crate::privacy::{PrivacyPatch, PrivacySettings};
use crate::profile::{NotificationPatch, NotificationSettings, ProfilePatch};

/// Reads a present field as `Some(value)` (so `null` is `Some(None)`), for PATCH bodies where
/// a missing field and an explicit `null` mean different things.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// An `http(s)://` URL of at most 200 characters, or empty (to clear the field).
pub fn http_url(value: &str) -> Result<(), ValidationError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(());
    }
    let parsed = url::Url::parse(value).ok();
    let ok = value.len() <= 200
        && parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new("url").with_message("Enter a valid http(s) URL.".into()))
    }
}

/// A GitHub profile URL, a GitHub username, or empty.
pub fn valid_github(value: &str) -> Result<(), ValidationError> {
    let value = value.trim();
    let username = |s: &str| {
        (1..=39).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !s.starts_with('-')
    };
    if value.is_empty() || username(value) || (value.starts_with("http") && http_url(value).is_ok())
    {
        Ok(())
    } else {
        Err(ValidationError::new("github")
            .with_message("Enter a GitHub username or profile URL.".into()))
    }
}

/// A birthday: after 1900-01-01 and not in the future.
pub fn valid_birthday(value: &NaiveDate) -> Result<(), ValidationError> {
    let today = chrono::Utc::now().date_naive();
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
    if *value < earliest || *value > today {
        return Err(ValidationError::new("birthday")
            .with_message("Enter a date between 1900-01-01 and today.".into()));
    }
    Ok(())
}

/// A partial update of an account (PATCH); with PUT, `username` and `email` are required.
/// `is_active`, `is_staff`, `is_premium`, `is_verified` and `role` are for staff only.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema)]
pub struct UserPatch {
    /// 3–150 letters, digits and `@.+-_`; unique case-insensitively.
    pub username: Option<String>,
    /// Unique case-insensitively. Changing it clears `is_verified`.
    pub email: Option<String>,
    /// At most 150 characters.
    #[validate(length(max = 150))]
    pub first_name: Option<String>,
    /// At most 150 characters.
    #[validate(length(max = 150))]
    pub last_name: Option<String>,
    /// `YYYY-MM-DD`, or null to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(custom(function = "valid_birthday"))]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub birthday: Option<Option<NaiveDate>>,
    /// At most 16 characters.
    #[validate(length(max = 16))]
    pub gender: Option<String>,
    /// At most 5000 characters.
    #[validate(length(max = 5000))]
    pub bio: Option<String>,
    /// An http(s) URL, or empty.
    #[validate(custom(function = "http_url"))]
    pub website: Option<String>,
    /// A GitHub username or profile URL, or empty.
    #[validate(custom(function = "valid_github"))]
    pub github: Option<String>,
    /// Privacy settings to change (keys left out keep their value).
    pub privacy_settings: Option<PrivacyPatch>,
    /// Profile fields to change.
    #[validate(nested)]
    pub profile: Option<ProfilePatch>,
    /// Staff only.
    pub is_active: Option<bool>,
    /// Staff only.
    pub is_staff: Option<bool>,
    /// Staff only.
    pub is_premium: Option<bool>,
    /// Staff only.
    pub is_verified: Option<bool>,
    /// Staff only: `user`, `moderator` or `admin`.
    pub role: Option<Role>,
}

/// A new account made by staff.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct CreateUser {
    /// 3–150 letters, digits and `@.+-_`.
    pub username: String,
    /// Email address.
    pub email: String,
    /// Checked against Django's password rules.
    #[validate(length(max = MAX_INPUT_LENGTH))]
    pub password: String,
    /// At most 150 characters.
    #[validate(length(max = 150))]
    #[serde(default)]
    pub first_name: String,
    /// At most 150 characters.
    #[validate(length(max = 150))]
    #[serde(default)]
    pub last_name: String,
    /// Default true.
    pub is_active: Option<bool>,
    /// Default false.
    pub is_staff: Option<bool>,
    /// Default false.
    pub is_premium: Option<bool>,
    /// Default true: staff vouch for the address.
    pub is_verified: Option<bool>,
    /// Default `user`.
    pub role: Option<Role>,
}

/// `POST me/password/`.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct PasswordChange {
    /// The current password.
    #[validate(length(max = MAX_INPUT_LENGTH))]
    pub old_password: String,
    /// The new password (Django's rules).
    #[validate(length(max = MAX_INPUT_LENGTH))]
    pub new_password: String,
    /// If sent, must equal `new_password`.
    pub new_password_confirm: Option<String>,
}

/// The answer to a password change: the other sessions are gone, this one continues with
/// these tokens.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PasswordChanged {
    /// A confirmation.
    pub detail: String,
    /// A fresh access token (the old ones are revoked).
    pub access: String,
    /// A fresh refresh token, when the authentication domain is mounted.
    pub refresh: Option<String>,
}

/// `PUT me/settings/`.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema)]
pub struct SettingsUpdate {
    /// Privacy keys to change.
    pub privacy_settings: Option<PrivacyPatch>,
    /// Notification keys to change.
    pub notification_settings: Option<NotificationPatch>,
}

/// Both settings objects, complete.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Settings {
    /// Privacy settings.
    pub privacy_settings: PrivacySettings,
    /// Notification settings.
    pub notification_settings: NotificationSettings,
}

/// `GET /api/v1/users/` filters.
#[derive(Clone, Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Whitespace-separated terms, each matching username, first or last name (and email,
    /// for staff).
    #[validate(length(max = 100))]
    pub search: Option<String>,
    /// Comma-separated: `id`, `username`, `date_joined`, `last_login`, each optionally
    /// prefixed with `-`. Default `-date_joined`.
    pub ordering: Option<String>,
    /// Staff: filter on `is_active` (others only ever see active users).
    pub is_active: Option<bool>,
    /// Staff: filter on `is_staff`.
    pub is_staff: Option<bool>,
    /// Staff: filter on `is_verified`.
    pub is_verified: Option<bool>,
    /// Filter on role.
    pub role: Option<Role>,
}

/// `GET search/?q=`.
#[derive(Clone, Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// What to look for in usernames and names.
    #[validate(length(min = 1, max = 100))]
    pub q: String,
}

/// A user's counts, as the domains contribute them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserStats {
    /// The user.
    pub user_id: i64,
    /// Count name → value. The names present depend on the domains mounted: `posts` and
    /// `replies` (forum), `friends`, `followers`, `following`, `groups` (social),
    /// `ai_requests`, `ai_tokens` (AI).
    #[schema(value_type = Object, additional_properties)]
    pub counts: std::collections::BTreeMap<String, i64>,
}

/// A short confirmation.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Detail {
    /// What happened.
    pub detail: String,
}

impl Detail {
    /// A confirmation saying `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            detail: text.into(),
        }
    }
}

/// The stored avatar.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AvatarOut {
    /// URL path of the avatar.
    pub avatar: String,
    /// URL path of its 256 px thumbnail.
    pub avatar_thumbnail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_github() {
        assert!(http_url("").is_ok());
        assert!(http_url("https://example.com/me").is_ok());
        assert!(http_url("javascript:alert(1)").is_err());
        assert!(http_url("ftp://example.com").is_err());
        assert!(valid_github("octocat").is_ok());
        assert!(valid_github("https://github.com/octocat").is_ok());
        assert!(valid_github("-bad").is_err());
        assert!(valid_github("not a name").is_err());
    }

    #[test]
    fn nullable_tells_null_from_missing() {
        let missing: UserPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(missing.birthday, None);
        let null: UserPatch = serde_json::from_str(r#"{"birthday": null}"#).unwrap();
        assert_eq!(null.birthday, Some(None));
        let set: UserPatch = serde_json::from_str(r#"{"birthday": "2000-02-29"}"#).unwrap();
        assert_eq!(set.birthday, Some(NaiveDate::from_ymd_opt(2000, 2, 29)));
        assert!(valid_birthday(&NaiveDate::from_ymd_opt(1800, 1, 1).unwrap()).is_err());
    }
}
