//! The `users` row and how accounts are created.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use plaza_kernel::auth::TokenSubject;
use plaza_kernel::db::{self, DbConn};
use plaza_kernel::schema::users;
use plaza_kernel::{ApiResult, Role};

use crate::privacy::PrivacySettings;
use crate::values::{Email, Username};

/// A row of `users`.
#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Username as entered.
    pub username: String,
    /// Lower-cased username (uniqueness).
    pub username_key: String,
    /// Email, domain lower-cased.
    pub email: String,
    /// Lower-cased email (uniqueness).
    pub email_key: String,
    /// bcrypt hash, or `!` when the account has no usable password.
    pub password: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Avatar path under `MEDIA_ROOT`.
    pub avatar: Option<String>,
    /// Avatar thumbnail path under `MEDIA_ROOT`.
    pub avatar_thumbnail: Option<String>,
    /// Birthday.
    pub birthday: Option<NaiveDate>,
    /// Free-form gender.
    pub gender: String,
    /// Biography.
    pub bio: String,
    /// Personal site.
    pub website: String,
    /// GitHub profile.
    pub github: String,
    /// Email verified.
    pub is_verified: bool,
    /// Premium account (higher quotas).
    pub is_premium: bool,
    /// May log in.
    pub is_active: bool,
    /// Django's `is_staff`.
    pub is_staff: bool,
    /// Django's `is_superuser`.
    pub is_superuser: bool,
    /// `user`, `moderator` or `admin`.
    pub role: String,
    /// Privacy settings (JSON object, see [`PrivacySettings`]).
    pub privacy_settings: String,
    /// Mirrors `privacy_settings.searchable`, for filtering in SQL.
    pub is_searchable: bool,
    /// Registration time.
    pub date_joined: NaiveDateTime,
    /// Last successful login.
    pub last_login: Option<NaiveDateTime>,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

impl User {
    /// The role, defaulting to `user` for an unknown stored value.
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::User)
    }

    /// The privacy settings, with defaults for missing keys.
    pub fn privacy(&self) -> PrivacySettings {
        PrivacySettings::from_stored(&self.privacy_settings)
    }

    /// Whether the account has a password it can log in with.
    pub fn has_usable_password(&self) -> bool {
        !self
            .password
            .starts_with(crate::password::UNUSABLE_PASSWORD)
    }

    /// The subject new tokens are signed for.
    pub fn token_subject(&self) -> TokenSubject {
        TokenSubject {
            user_id: self.id,
            username: self.username.clone(),
            role: self.role(),
            is_staff: self.is_staff,
            is_superuser: self.is_superuser,
        }
    }

    /// The token subject of user `id` if the account is active: who an API key or another
    /// credential stored outside `users` stands for. One primary-key read of five columns.
    pub fn active_subject(conn: &mut DbConn, id: i64) -> QueryResult<Option<TokenSubject>> {
        let found: Option<(String, String, bool, bool)> = users::table
            .find(id)
            .filter(users::is_active.eq(true))
            .select((
                users::username,
                users::role,
                users::is_staff,
                users::is_superuser,
            ))
            .first(conn)
            .optional()?;
        Ok(
            found.map(|(username, role, is_staff, is_superuser)| TokenSubject {
                user_id: id,
                username,
                role: role.parse().unwrap_or(Role::User),
                is_staff,
                is_superuser,
            }),
        )
    }

    /// Finds a user by id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        users::table.find(id).select(Self::as_select()).first(conn)
    }

    /// Finds a user by username or email, case-insensitively (login). Usernames may contain
    /// `@`, so one user's username can be another's email: the username wins.
    pub fn find_by_login(conn: &mut DbConn, login: &str) -> QueryResult<Option<Self>> {
        let key = login.trim().to_lowercase();
        let mut found: Vec<Self> = users::table
            .filter(users::username_key.eq(&key).or(users::email_key.eq(&key)))
            .select(Self::as_select())
            .limit(2)
            .load(conn)?;
        found.sort_by_key(|u| u.username_key != key);
        Ok(found.into_iter().next())
    }

    /// Finds a user by email, case-insensitively.
    pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<Self>> {
        users::table
            .filter(users::email_key.eq(crate::values::email_key(email)))
            .select(Self::as_select())
            .first(conn)
            .optional()
    }
}

/// What a new account is made of.
#[derive(Clone, Debug)]
pub struct NewAccount {
    /// Username.
    pub username: Username,
    /// Email.
    pub email: Email,
    /// bcrypt hash (already computed, off the async threads).
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Django's `is_staff`.
    pub is_staff: bool,
    /// Django's `is_superuser`.
    pub is_superuser: bool,
    /// Email verified at creation (staff-created accounts, superusers).
    pub is_verified: bool,
    /// May log in.
    pub is_active: bool,
    /// Premium account.
    pub is_premium: bool,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
}

impl NewAccount {
    /// An ordinary, unverified user.
    pub fn user(username: Username, email: Email, password_hash: String) -> Self {
        Self {
            username,
            email,
            password_hash,
            role: Role::User,
            is_staff: false,
            is_superuser: false,
            is_verified: false,
            is_active: true,
            is_premium: false,
            first_name: String::new(),
            last_name: String::new(),
        }
    }

    /// A staff superuser with role `admin`, as `createsuperuser` makes.
    pub fn superuser(username: Username, email: Email, password_hash: String) -> Self {
        Self {
            role: Role::Admin,
            is_staff: true,
            is_superuser: true,
            is_verified: true,
            ..Self::user(username, email, password_hash)
        }
    }
}

/// Creates an account and its profile in one transaction and returns it. A taken username or
/// email is 400 `validation_error` naming the field (case-insensitively, on both backends).
pub fn create_account(conn: &mut DbConn, account: &NewAccount) -> ApiResult<User> {
    db::transaction(conn, |conn| {
        let now = plaza_kernel::time::now();
        let privacy = PrivacySettings::default();
        diesel::insert_into(users::table)
            .values((
                users::username.eq(account.username.as_str()),
                users::username_key.eq(account.username.key()),
                users::email.eq(account.email.as_str()),
                users::email_key.eq(account.email.key()),
                users::password.eq(&account.password_hash),
                users::first_name.eq(account.first_name.trim()),
                users::last_name.eq(account.last_name.trim()),
                users::bio.eq(""),
                users::privacy_settings.eq(privacy.to_stored()),
                users::is_searchable.eq(privacy.searchable),
                users::role.eq(account.role.as_str()),
                users::is_staff.eq(account.is_staff),
                users::is_superuser.eq(account.is_superuser),
                users::is_verified.eq(account.is_verified),
                users::is_active.eq(account.is_active),
                users::is_premium.eq(account.is_premium),
                users::date_joined.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        let id = db::last_insert_id(conn)?;
        crate::profile::create_default(conn, id)?;
        Ok(User::find(conn, id)?)
    })
}

/// Adds the `users` count of `system/status`: the server counts accounts through the domain
/// that owns the table.
pub fn add_counts(counts: plaza_kernel::counts::Counts) -> plaza_kernel::counts::Counts {
    counts.system("users", |conn| users::table.count().get_result(conn))
}
