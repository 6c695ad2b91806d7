//! The `user_profiles` row: one per user, created in the same transaction as the account.
//!
//! Accounts made before profiles existed (or inserted by other tools) may lack one: reads
//! fall back to the defaults and the first write creates it.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use plaza_kernel::db::{self, DbConn};
use plaza_kernel::schema::user_profiles;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

/// The default `language` (the Django projects' `LANGUAGE_CODE`).
pub const DEFAULT_LANGUAGE: &str = "zh-hans";
/// The default `timezone` (the Django projects' `TIME_ZONE`).
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";
/// At most this many skills, and as many interests.
pub const MAX_TAGS: usize = 50;

/// A row of `user_profiles`.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = user_profiles)]
pub struct ProfileRow {
    /// Id.
    pub id: i64,
    /// The user.
    pub user_id: i64,
    /// Where the user is.
    pub location: String,
    /// Employer.
    pub company: String,
    /// Job title.
    pub job_title: String,
    /// JSON list of strings.
    pub skills: String,
    /// JSON list of strings.
    pub interests: String,
    /// Preferred language (BCP 47).
    pub language: String,
    /// IANA time zone name.
    pub timezone: String,
    /// JSON object ([`NotificationSettings`]).
    pub notification_settings: String,
    /// Created with the account.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

/// Which notifications a user wants, and how. Stored as JSON; every key has a default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct NotificationSettings {
    /// Send notifications by email too.
    pub email_notifications: bool,
    /// Push notifications to open WebSocket connections.
    pub push_notifications: bool,
    /// Friend requests and acceptances.
    pub friend_requests: bool,
    /// New followers.
    pub follows: bool,
    /// Likes of the user's posts.
    pub likes: bool,
    /// Comments on the user's posts.
    pub comments: bool,
    /// Replies to the user's forum posts.
    pub replies: bool,
    /// Direct messages.
    pub messages: bool,
    /// Group join requests and group news.
    pub groups: bool,
    /// Event reminders.
    pub events: bool,
    /// Email digest: `off`, `daily` or `weekly`.
    pub digest: Digest,
}

/// How often an email digest is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Digest {
    /// Never.
    #[default]
    Off,
    /// Once a day.
    Daily,
    /// Once a week.
    Weekly,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            email_notifications: true,
            push_notifications: true,
            friend_requests: true,
            follows: true,
            likes: true,
            comments: true,
            replies: true,
            messages: true,
            groups: true,
            events: true,
            digest: Digest::Off,
        }
    }
}

impl NotificationSettings {
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
    pub fn merged(mut self, patch: &NotificationPatch) -> Self {
        let NotificationPatch {
            email_notifications,
            push_notifications,
            friend_requests,
            follows,
            likes,
            comments,
            replies,
            messages,
            groups,
            events,
            digest,
        } = *patch;
        let pairs = [
            (&mut self.email_notifications, email_notifications),
            (&mut self.push_notifications, push_notifications),
            (&mut self.friend_requests, friend_requests),
            (&mut self.follows, follows),
            (&mut self.likes, likes),
            (&mut self.comments, comments),
            (&mut self.replies, replies),
            (&mut self.messages, messages),
            (&mut self.groups, groups),
            (&mut self.events, events),
        ];
        for (slot, value) in pairs {
            if let Some(value) = value {
                *slot = value;
            }
        }
        if let Some(digest) = digest {
            self.digest = digest;
        }
        self
    }
}

/// A partial update of [`NotificationSettings`]; keys left out keep their value.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
pub struct NotificationPatch {
    /// Send notifications by email too.
    pub email_notifications: Option<bool>,
    /// Push to open WebSocket connections.
    pub push_notifications: Option<bool>,
    /// Friend requests and acceptances.
    pub friend_requests: Option<bool>,
    /// New followers.
    pub follows: Option<bool>,
    /// Likes.
    pub likes: Option<bool>,
    /// Comments.
    pub comments: Option<bool>,
    /// Replies to forum posts.
    pub replies: Option<bool>,
    /// Direct messages.
    pub messages: Option<bool>,
    /// Group news.
    pub groups: Option<bool>,
    /// Event reminders.
    pub events: Option<bool>,
    /// `off`, `daily` or `weekly`.
    pub digest: Option<Digest>,
}

/// A profile as its owner (and staff) see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    /// Where the user is.
    pub location: String,
    /// Employer.
    pub company: String,
    /// Job title.
    pub job_title: String,
    /// Skills.
    pub skills: Vec<String>,
    /// Interests.
    pub interests: Vec<String>,
    /// Preferred language (BCP 47, e.g. `zh-hans`, `en`).
    pub language: String,
    /// IANA time zone, e.g. `Asia/Shanghai`.
    pub timezone: String,
    /// Notification preferences.
    pub notification_settings: NotificationSettings,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            location: String::new(),
            company: String::new(),
            job_title: String::new(),
            skills: Vec::new(),
            interests: Vec::new(),
            language: DEFAULT_LANGUAGE.to_owned(),
            timezone: DEFAULT_TIMEZONE.to_owned(),
            notification_settings: NotificationSettings::default(),
        }
    }
}

impl From<ProfileRow> for Profile {
    fn from(row: ProfileRow) -> Self {
        Self {
            location: row.location,
            company: row.company,
            job_title: row.job_title,
            skills: string_list(&row.skills),
            interests: string_list(&row.interests),
            language: row.language,
            timezone: row.timezone,
            notification_settings: NotificationSettings::from_stored(&row.notification_settings),
        }
    }
}

/// What others may see of a profile (when the privacy settings allow it at all).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PublicProfile {
    /// Where the user is.
    pub location: String,
    /// Employer.
    pub company: String,
    /// Job title.
    pub job_title: String,
    /// Skills.
    pub skills: Vec<String>,
    /// Interests.
    pub interests: Vec<String>,
}

impl From<Profile> for PublicProfile {
    fn from(p: Profile) -> Self {
        Self {
            location: p.location,
            company: p.company,
            job_title: p.job_title,
            skills: p.skills,
            interests: p.interests,
        }
    }
}

fn string_list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn to_json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// A partial update of a profile: fields left out keep their value.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema)]
pub struct ProfilePatch {
    /// At most 100 characters.
    #[validate(length(max = 100))]
    pub location: Option<String>,
    /// At most 100 characters.
    #[validate(length(max = 100))]
    pub company: Option<String>,
    /// At most 100 characters.
    #[validate(length(max = 100))]
    pub job_title: Option<String>,
    /// Up to 50 entries of 1–50 characters; duplicates are dropped.
    #[validate(custom(function = "tag_list"))]
    pub skills: Option<Vec<String>>,
    /// Up to 50 entries of 1–50 characters; duplicates are dropped.
    #[validate(custom(function = "tag_list"))]
    pub interests: Option<Vec<String>>,
    /// A BCP 47 language tag such as `en`, `zh-hans`, `pt-BR`.
    #[validate(custom(function = "language_tag"))]
    pub language: Option<String>,
    /// An IANA time zone name such as `UTC`, `Asia/Shanghai`, `America/Argentina/Buenos_Aires`.
    #[validate(custom(function = "timezone_name"))]
    pub timezone: Option<String>,
    /// Notification preferences to change.
    pub notification_settings: Option<NotificationPatch>,
}

impl ProfilePatch {
    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        self.location.is_none()
            && self.company.is_none()
            && self.job_title.is_none()
            && self.skills.is_none()
            && self.interests.is_none()
            && self.language.is_none()
            && self.timezone.is_none()
            && self.notification_settings.is_none()
    }
}

fn tag_list(items: &[String]) -> Result<(), ValidationError> {
    if items.len() > MAX_TAGS {
        return Err(ValidationError::new("length")
            .with_message(format!("Ensure this list has no more than {MAX_TAGS} items.").into()));
    }
    if items
        .iter()
        .any(|s| s.trim().is_empty() || s.trim().chars().count() > 50)
    {
        return Err(ValidationError::new("length")
            .with_message("Each item must have 1 to 50 characters.".into()));
    }
    Ok(())
}

fn language_tag(tag: &str) -> Result<(), ValidationError> {
    let mut parts = tag.split(['-', '_']);
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if primary_ok && rest_ok && tag.len() <= 16 {
        Ok(())
    } else {
        Err(ValidationError::new("language")
            .with_message("Enter a language tag such as \"en\" or \"zh-hans\".".into()))
    }
}

fn timezone_name(name: &str) -> Result<(), ValidationError> {
    let valid_part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b))
            && p.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
    };
    if name.len() <= 64 && name.split('/').all(valid_part) {
        Ok(())
    } else {
        Err(ValidationError::new("timezone")
            .with_message("Enter an IANA time zone such as \"UTC\" or \"Asia/Shanghai\".".into()))
    }
}

/// Normalises a list of tags: trimmed, without duplicates (case-insensitively), in order.
fn normalise_tags(items: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| seen.insert(s.to_lowercase()))
        .collect()
}

/// The profile of `user_id`, or the defaults when the row does not exist.
pub fn load(conn: &mut DbConn, user_id: i64) -> QueryResult<Profile> {
    Ok(user_profiles::table
        .filter(user_profiles::user_id.eq(user_id))
        .select(ProfileRow::as_select())
        .first(conn)
        .optional()?
        .map(Profile::from)
        .unwrap_or_default())
}

/// The profiles of `user_ids`, in one query (users without a row get the defaults).
pub fn load_many(conn: &mut DbConn, user_ids: &[i64]) -> QueryResult<HashMap<i64, Profile>> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<ProfileRow> = user_profiles::table
        .filter(user_profiles::user_id.eq_any(user_ids))
        .select(ProfileRow::as_select())
        .load(conn)?;
    let mut map: HashMap<i64, Profile> = rows
        .into_iter()
        .map(|row| (row.user_id, Profile::from(row)))
        .collect();
    for id in user_ids {
        map.entry(*id).or_default();
    }
    Ok(map)
}

/// Creates the default profile of a new account (inside its transaction).
pub fn create_default(conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
    let now = plaza_kernel::time::now();
    diesel::insert_into(user_profiles::table)
        .values((
            user_profiles::user_id.eq(user_id),
            user_profiles::skills.eq("[]"),
            user_profiles::interests.eq("[]"),
            user_profiles::language.eq(DEFAULT_LANGUAGE),
            user_profiles::timezone.eq(DEFAULT_TIMEZONE),
            user_profiles::notification_settings.eq(NotificationSettings::default().to_stored()),
            user_profiles::created_at.eq(now),
            user_profiles::updated_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Applies `patch` to the profile of `user_id` (creating the row if it is missing) and
/// returns the result. Call it inside a transaction.
pub fn update(conn: &mut DbConn, user_id: i64, patch: &ProfilePatch) -> QueryResult<Profile> {
    let exists = diesel::select(diesel::dsl::exists(
        user_profiles::table.filter(user_profiles::user_id.eq(user_id)),
    ))
    .get_result::<bool>(conn)?;
    if !exists {
        // A concurrent first write may create it too: the loser's insert is a unique
        // violation, inside a savepoint so the transaction goes on.
        match db::transaction(conn, |conn| create_default(conn, user_id)) {
            Ok(()) => {}
            Err(err) if db::is_unique_violation(&err) => {}
            Err(err) => return Err(err),
        }
    }
    if patch.is_empty() {
        return load(conn, user_id);
    }
    let current = load(conn, user_id)?;
    let notifications = patch
        .notification_settings
        .map(|p| current.notification_settings.clone().merged(&p).to_stored());
    let changes = ProfileChanges {
        location: patch.location.as_deref().map(str::trim),
        company: patch.company.as_deref().map(str::trim),
        job_title: patch.job_title.as_deref().map(str::trim),
        skills: patch
            .skills
            .as_deref()
            .map(|s| to_json_list(&normalise_tags(s))),
        interests: patch
            .interests
            .as_deref()
            .map(|s| to_json_list(&normalise_tags(s))),
        language: patch.language.as_deref().map(str::to_ascii_lowercase),
        timezone: patch.timezone.as_deref(),
        notification_settings: notifications,
        updated_at: plaza_kernel::time::now(),
    };
    diesel::update(user_profiles::table.filter(user_profiles::user_id.eq(user_id)))
        .set(&changes)
        .execute(conn)?;
    load(conn, user_id)
}

#[derive(AsChangeset)]
#[diesel(table_name = user_profiles)]
struct ProfileChanges<'a> {
    location: Option<&'a str>,
    company: Option<&'a str>,
    job_title: Option<&'a str>,
    skills: Option<String>,
    interests: Option<String>,
    language: Option<String>,
    timezone: Option<&'a str>,
    notification_settings: Option<String>,
    updated_at: NaiveDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_and_timezones() {
        for ok in ["en", "zh-hans", "pt-BR", "zh_CN"] {
            assert!(language_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", "e", "english-language-tag", "zh--x", "12"] {
            assert!(language_tag(bad).is_err(), "{bad}");
        }
        for ok in [
            "UTC",
            "Asia/Shanghai",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+8",
        ] {
            assert!(timezone_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Asia//Shanghai", "../etc", "Asia/Shang hai"] {
            assert!(timezone_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_are_trimmed_and_deduplicated() {
        let tags = normalise_tags(&[" Rust ".into(), "rust".into(), "Go".into()]);
        assert_eq!(tags, vec!["Rust", "Go"]);
        assert!(tag_list(&vec!["x".into(); MAX_TAGS + 1]).is_err());
        assert!(tag_list(&["  ".into()]).is_err());
    }

    #[test]
    fn notification_patches_merge() {
        let patch: NotificationPatch =
            serde_json::from_str(r#"{"likes": false, "digest": "weekly"}"#).unwrap();
        let merged = NotificationSettings::default().merged(&patch);
        assert!(!merged.likes && merged.comments);
        assert_eq!(merged.digest, Digest::Weekly);
        assert_eq!(
            NotificationSettings::from_stored("{}"),
            NotificationSettings::default()
        );
    }
}
