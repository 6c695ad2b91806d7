//! How a user is shown: in full to themselves and to staff, filtered by their privacy settings
//! to everyone else.

use chrono::{DateTime, NaiveDate, Utc};
use plaza_kernel::time::{utc, utc_opt};
use plaza_kernel::{Caller, Role};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::User;
use crate::privacy::PrivacySettings;
use crate::profile::{Profile, PublicProfile};
use crate::public::media_url;

/// Who is looking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// Nobody signed in.
    Anonymous,
    /// A signed-in user.
    User(i64),
    /// Staff (sees every field of everyone).
    Staff(i64),
}

impl Viewer {
    /// The viewer a (possibly anonymous) caller is.
    pub fn of(caller: Option<&Caller>) -> Self {
        match caller {
            None => Self::Anonymous,
            Some(c) if c.is_staff() => Self::Staff(c.id),
            Some(c) => Self::User(c.id),
        }
    }

    /// Signed in.
    pub fn signed_in(self) -> bool {
        !matches!(self, Self::Anonymous)
    }

    /// Staff.
    pub fn is_staff(self) -> bool {
        matches!(self, Self::Staff(_))
    }

    /// The viewer is `user_id` or staff: privacy settings do not apply.
    pub fn sees_all_of(self, user_id: i64) -> bool {
        match self {
            Self::Anonymous => false,
            Self::User(id) => id == user_id,
            Self::Staff(_) => true,
        }
    }
}

/// A user as they (and staff) see themselves: every field, and the profile.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserDetail {
    /// Id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Email address.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// URL path of the avatar, if any.
    pub avatar: Option<String>,
    /// URL path of the 256 px avatar thumbnail, if any.
    pub avatar_thumbnail: Option<String>,
    /// Birthday.
    pub birthday: Option<NaiveDate>,
    /// Gender (free text, at most 16 characters).
    pub gender: String,
    /// Biography.
    pub bio: String,
    /// Personal site.
    pub website: String,
    /// GitHub profile (URL or username).
    pub github: String,
    /// Email address verified.
    pub is_verified: bool,
    /// Premium account.
    pub is_premium: bool,
    /// May log in.
    pub is_active: bool,
    /// Django's `is_staff`.
    pub is_staff: bool,
    /// Django's `is_superuser`.
    pub is_superuser: bool,
    /// `user`, `moderator` or `admin`.
    pub role: Role,
    /// Who may see what.
    pub privacy_settings: PrivacySettings,
    /// Registration time.
    pub date_joined: DateTime<Utc>,
    /// Last successful login.
    pub last_login: Option<DateTime<Utc>>,
    /// The profile.
    pub profile: Profile,
}

/// A user as others see them: the card (id, username, avatar, role, verification, join
/// date) and whatever the user's privacy settings allow; hidden fields are left out.
/// (`deny_unknown_fields` only marks the schema `additionalProperties: false`, so that a full
/// [`UserDetail`] does not also match it and [`UserOut`]'s `oneOf` stays exact.)
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicUser {
    /// Id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// URL path of the avatar, if any.
    pub avatar: Option<String>,
    /// URL path of the 256 px avatar thumbnail, if any.
    pub avatar_thumbnail: Option<String>,
    /// `user`, `moderator` or `admin`.
    pub role: Role,
    /// Email address verified.
    pub is_verified: bool,
    /// Registration time.
    pub date_joined: DateTime<Utc>,
    /// Given name (`show_real_name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name (`show_real_name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Email (`show_email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Birthday (`show_birthday`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthday: Option<NaiveDate>,
    /// Gender (`show_gender`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Biography.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    /// Personal site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// GitHub profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github: Option<String>,
    /// Last login (`show_last_login`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_login: Option<DateTime<Utc>>,
    /// Profile details (`show_profile_details`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<PublicProfile>,
}

/// A user as the viewer may see them.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum UserOut {
    /// The user themselves, or staff looking.
    Full(UserDetail),
    /// Anyone else.
    Public(PublicUser),
}

/// Every field of `user`.
pub fn detail(user: User, profile: Profile) -> UserDetail {
    let privacy = user.privacy();
    let role = user.role();
    UserDetail {
        id: user.id,
        username: user.username,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        avatar: user.avatar.as_deref().map(media_url),
        avatar_thumbnail: user.avatar_thumbnail.as_deref().map(media_url),
        birthday: user.birthday,
        gender: user.gender,
        bio: user.bio,
        website: user.website,
        github: user.github,
        is_verified: user.is_verified,
        is_premium: user.is_premium,
        is_active: user.is_active,
        is_staff: user.is_staff,
        is_superuser: user.is_superuser,
        role,
        privacy_settings: privacy,
        date_joined: utc(user.date_joined),
        last_login: utc_opt(user.last_login),
        profile,
    }
}

/// What `viewer` may see of `user`, who is someone else.
pub fn public(user: User, profile: Profile, viewer: Viewer) -> PublicUser {
    let privacy = user.privacy();
    let role = user.role();
    let mut out = PublicUser {
        id: user.id,
        username: user.username,
        avatar: user.avatar.as_deref().map(media_url),
        avatar_thumbnail: user.avatar_thumbnail.as_deref().map(media_url),
        role,
        is_verified: user.is_verified,
        date_joined: utc(user.date_joined),
        first_name: None,
        last_name: None,
        email: None,
        birthday: None,
        gender: None,
        bio: None,
        website: None,
        github: None,
        last_login: None,
        profile: None,
    };
    if !privacy.profile_visibility.admits(viewer.signed_in()) {
        return out;
    }
    out.bio = Some(user.bio);
    out.website = Some(user.website);
    out.github = Some(user.github);
    if privacy.show_real_name {
        out.first_name = Some(user.first_name);
        out.last_name = Some(user.last_name);
    }
    if privacy.show_email {
        out.email = Some(user.email);
    }
    if privacy.show_birthday {
        out.birthday = user.birthday;
    }
    if privacy.show_gender {
        out.gender = Some(user.gender);
    }
    if privacy.show_last_login {
        out.last_login = utc_opt(user.last_login);
    }
    if privacy.show_profile_details {
        out.profile = Some(PublicProfile::from(profile));
    }
    out
}

/// `user` as `viewer` may see them.
pub fn for_viewer(user: User, profile: Profile, viewer: Viewer) -> UserOut {
    if viewer.sees_all_of(user.id) {
        UserOut::Full(detail(user, profile))
    } else {
        UserOut::Public(public(user, profile, viewer))
    }
}
