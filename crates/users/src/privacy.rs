//! Privacy settings: who may see which part of an account.
//!
//! Stored as a JSON object in `users.privacy_settings`. Every key has a default, so a stored
//! `{}` (or a value written by an older version, or by the Django projects) reads as the
//! defaults; unknown keys are dropped. Updates are partial: only the keys sent change.
//!
//! | key | values | default | what it governs |
//! |---|---|---|---|
//! | `profile_visibility` | `public`, `users`, `private` | `public` | everything beyond the card (id, username, avatar, role) |
//! | `show_email` | bool | `false` | `email` |
//! | `show_real_name` | bool | `true` | `first_name`, `last_name` |
//! | `show_birthday` | bool | `false` | `birthday` |
//! | `show_gender` | bool | `false` | `gender` |
//! | `show_last_login` | bool | `false` | `last_login` |
//! | `show_profile_details` | bool | `true` | `profile` (location, company, job title, skills, interests) |
//! | `resume_visibility` | `public`, `users`, `private` | `private` | `GET users/{id}/resume/` |
//! | `searchable` | bool | `true` | appearing in the user list and search |
//! | `allow_messages_from` | `friends`, `everyone` | `friends` | who may send direct messages (social domain) |
//!
//! The user and staff always see everything.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who may see something.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Anyone, signed in or not.
    #[default]
    Public,
    /// Signed-in users.
    Users,
    /// Only the user (and staff).
    Private,
}

impl Audience {
    /// Whether a viewer who is (or is not) signed in belongs to the audience. The user
    /// themselves and staff are handled before this is asked.
    pub fn admits(self, signed_in: bool) -> bool {
        match self {
            Self::Public => true,
            Self::Users => signed_in,
            Self::Private => false,
        }
    }
}

/// Who may send the user direct messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessagePolicy {
    /// Friends only.
    #[default]
    Friends,
    /// Any signed-in user.
    Everyone,
}

/// A user's privacy settings, every key present (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PrivacySettings {
    /// Who sees the profile beyond the card.
    pub profile_visibility: Audience,
    /// Others see the email address.
    pub show_email: bool,
    /// Others see first and last name.
    pub show_real_name: bool,
    /// Others see the birthday.
    pub show_birthday: bool,
    /// Others see the gender.
    pub show_gender: bool,
    /// Others see when the user last logged in.
    pub show_last_login: bool,
    /// Others see location, company, job title, skills and interests.
    pub show_profile_details: bool,
    /// Who may read the résumé.
    pub resume_visibility: Audience,
    /// The user appears in the user list and in search.
    pub searchable: bool,
    /// Who may send direct messages.
    pub allow_messages_from: MessagePolicy,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            profile_visibility: Audience::Public,
            show_email: false,
            show_real_name: true,
            show_birthday: false,
            show_gender: false,
            show_last_login: false,
            show_profile_details: true,
            resume_visibility: Audience::Private,
            searchable: true,
            allow_messages_from: MessagePolicy::Friends,
        }
    }
}

impl PrivacySettings {
    /// Reads a stored value; anything unreadable reads as the defaults.
    pub fn from_stored(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_default()
    }

    /// The value to store.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Applies the keys present in `patch`.
    #[must_use]
    pub fn merged(mut self, patch: &PrivacyPatch) -> Self {
        let PrivacyPatch {
            profile_visibility,
            show_email,
            show_real_name,
            show_birthday,
            show_gender,
            show_last_login,
            show_profile_details,
            resume_visibility,
            searchable,
            allow_messages_from,
        } = *patch;
        set(&mut self.profile_visibility, profile_visibility);
        set(&mut self.show_email, show_email);
        set(&mut self.show_real_name, show_real_name);
        set(&mut self.show_birthday, show_birthday);
        set(&mut self.show_gender, show_gender);
        set(&mut self.show_last_login, show_last_login);
        set(&mut self.show_profile_details, show_profile_details);
        set(&mut self.resume_visibility, resume_visibility);
        set(&mut self.searchable, searchable);
        set(&mut self.allow_messages_from, allow_messages_from);
        self
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// A partial update of [`PrivacySettings`]: keys left out keep their value. A wrong type or an
/// unknown choice is a `validation_error` naming the key (`privacy_settings.show_email`).
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
pub struct PrivacyPatch {
    /// `public`, `users` or `private`.
    pub profile_visibility: Option<Audience>,
    /// Others see the email address.
    pub show_email: Option<bool>,
    /// Others see first and last name.
    pub show_real_name: Option<bool>,
    /// Others see the birthday.
    pub show_birthday: Option<bool>,
    /// Others see the gender.
    pub show_gender: Option<bool>,
    /// Others see the last login time.
    pub show_last_login: Option<bool>,
    /// Others see location, company, job title, skills, interests.
    pub show_profile_details: Option<bool>,
    /// `public`, `users` or `private`.
    pub resume_visibility: Option<Audience>,
    /// Appear in the user list and search.
    pub searchable: Option<bool>,
    /// `friends` or `everyone`.
    pub allow_messages_from: Option<MessagePolicy>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_read_with_defaults() {
        assert_eq!(
            PrivacySettings::from_stored("{}"),
            PrivacySettings::default()
        );
        assert_eq!(
            PrivacySettings::from_stored("not json"),
            PrivacySettings::default()
        );
        let some = PrivacySettings::from_stored(r#"{"show_email": true, "legacy": 1}"#);
        assert!(some.show_email);
        assert!(some.searchable);
        let round = PrivacySettings::from_stored(&some.to_stored());
        assert_eq!(round, some);
    }

    #[test]
    fn patches_change_only_what_they_name() {
        let patch: PrivacyPatch =
            serde_json::from_str(r#"{"profile_visibility": "private", "searchable": false}"#)
                .unwrap();
        let merged = PrivacySettings::default().merged(&patch);
        assert_eq!(merged.profile_visibility, Audience::Private);
        assert!(!merged.searchable);
        assert!(merged.show_real_name);
        assert!(
            serde_json::from_str::<PrivacyPatch>(r#"{"profile_visibility": "friends"}"#).is_err()
        );
    }

    #[test]
    fn audiences() {
        assert!(Audience::Public.admits(false));
        assert!(!Audience::Users.admits(false) && Audience::Users.admits(true));
        assert!(!Audience::Private.admits(true));
    }
}
