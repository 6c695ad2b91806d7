//! The rules of the users API, callable without HTTP. Every function takes the caller's
//! connection (inside a transaction where it writes several rows) and checks permissions
//! itself, one named rule at a time.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use plaza_kernel::db::{like, MultiBackend};
use plaza_kernel::domain::UserDeletion;
use plaza_kernel::error::FieldErrors;
use plaza_kernel::schema::users;
use plaza_kernel::syslog::{self, Event, Level};
use plaza_kernel::{ApiError, ApiResult, Body, Caller, DbConn, Page, PageRequest};

use crate::model::{create_account, NewAccount, User};
use crate::password::{validate_password, UserAttributes};
use crate::privacy::PrivacySettings;
use crate::profile;
use crate::sessions::Sessions;
use crate::types::{CreateUser, ListQuery, Settings, SettingsUpdate, UserPatch};
use crate::values::{Email, Username};
use crate::views::{detail, for_viewer, UserDetail, UserOut, Viewer};

pub mod requests;

type UsersQuery = users::BoxedQuery<'static, MultiBackend>;
type Condition = Box<dyn BoxableExpression<users::table, MultiBackend, SqlType = Bool>>;

/// At most this many search terms are used; the rest are ignored.
const MAX_SEARCH_TERMS: usize = 8;

/// A sort key of the user list (each has an index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SortKey {
    Id,
    Username,
    DateJoined,
    LastLogin,
}

/// Parses `?ordering=`; unknown fields are a `validation_error` on `ordering`.
fn parse_ordering(spec: Option<&str>) -> ApiResult<Vec<(SortKey, bool)>> {
    let spec = spec
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("-date_joined");
    spec.split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|field| {
            let (descending, name) = field
                .strip_prefix('-')
                .map_or((false, field), |name| (true, name));
            let key = match name {
                "id" => SortKey::Id,
                "username" => SortKey::Username,
                "date_joined" => SortKey::DateJoined,
                "last_login" => SortKey::LastLogin,
                other => {
                    return Err(ApiError::invalid_field(
                        "ordering",
                        format!(
                        "Cannot order by \"{other}\"; use id, username, date_joined or last_login."
                    ),
                    ))
                }
            };
            Ok((key, descending))
        })
        .collect()
}

fn ordered(mut query: UsersQuery, keys: &[(SortKey, bool)]) -> UsersQuery {
    for (key, descending) in keys {
        query = match (key, descending) {
            (SortKey::Id, false) => query.then_order_by(users::id.asc()),
            (SortKey::Id, true) => query.then_order_by(users::id.desc()),
            (SortKey::Username, false) => query.then_order_by(users::username_key.asc()),
            (SortKey::Username, true) => query.then_order_by(users::username_key.desc()),
            (SortKey::DateJoined, false) => query.then_order_by(users::date_joined.asc()),
            (SortKey::DateJoined, true) => query.then_order_by(users::date_joined.desc()),
            (SortKey::LastLogin, false) => query.then_order_by(users::last_login.asc()),
            (SortKey::LastLogin, true) => query.then_order_by(users::last_login.desc()),
        };
    }
    // A stable order between equal keys, so pages never overlap.
    query.then_order_by(users::id.asc())
}

/// The users `viewer` may list, filtered as asked. Others than staff see active users who
/// allow being found (`privacy_settings.searchable`).
fn filtered(viewer: Viewer, filters: &ListQuery) -> UsersQuery {
    let mut query = users::table.into_boxed();
    if viewer.is_staff() {
        if let Some(is_staff) = filters.is_staff {
            query = query.filter(users::is_staff.eq(is_staff));
        }
    } else {
        query = query
            .filter(users::is_active.eq(true))
            .filter(users::is_searchable.eq(true));
    }
    if let Some(is_active) = filters.is_active {
        query = query.filter(users::is_active.eq(is_active));
    }
    if let Some(is_verified) = filters.is_verified {
        query = query.filter(users::is_verified.eq(is_verified));
    }
    if let Some(role) = filters.role {
        query = query.filter(users::role.eq(role.as_str()));
    }
    let terms = filters.search.as_deref().unwrap_or("");
    for term in terms.split_whitespace().take(MAX_SEARCH_TERMS) {
        let pattern = like::contains(term);
        let lower = like::contains(&term.to_lowercase());
        let mut condition: Condition =
            Box::new(users::username_key.like(lower.clone()).escape(like::ESCAPE));
        condition =
            Box::new(condition.or(users::first_name.like(pattern.clone()).escape(like::ESCAPE)));
        condition = Box::new(condition.or(users::last_name.like(pattern).escape(like::ESCAPE)));
        if viewer.is_staff() {
            condition = Box::new(condition.or(users::email_key.like(lower).escape(like::ESCAPE)));
        }
        query = query.filter(condition);
    }
    query
}

/// A page of users as `viewer` may see them: the count, the page, and the page's profiles in
/// one more query.
pub fn list_users(
    conn: &mut DbConn,
    viewer: Viewer,
    filters: &ListQuery,
    page: PageRequest,
) -> ApiResult<Page<UserOut>> {
    let keys = parse_ordering(filters.ordering.as_deref())?;
    let count: i64 = filtered(viewer, filters).count().get_result(conn)?;
    page.paginate(count, |window| {
        let rows: Vec<User> = ordered(filtered(viewer, filters), &keys)
            .limit(window.limit)
            .offset(window.offset)
            .select(User::as_select())
            .load(conn)?;
        let ids: Vec<i64> = rows.iter().map(|u| u.id).collect();
        let mut profiles = profile::load_many(conn, &ids)?;
        Ok(rows
            .into_iter()
            .map(|user| {
                let profile = profiles.remove(&user.id).unwrap_or_default();
                for_viewer(user, profile, viewer)
            })
            .collect())
    })
}

/// `search/?q=`: users whose username or name contains every term, by username.
pub fn search_users(
    conn: &mut DbConn,
    viewer: Viewer,
    q: &str,
    page: PageRequest,
) -> ApiResult<Page<UserOut>> {
    let filters = ListQuery {
        search: Some(q.to_owned()),
        ordering: Some("username".to_owned()),
        ..ListQuery::default()
    };
    list_users(conn, viewer, &filters, page)
}

/// One user as `viewer` may see them. Inactive accounts are visible to staff only.
pub fn get_user(conn: &mut DbConn, viewer: Viewer, id: i64) -> ApiResult<UserOut> {
    let user = find_visible(conn, viewer, id)?;
    let profile = profile::load(conn, id)?;
    Ok(for_viewer(user, profile, viewer))
}

/// The user `id` if `viewer` may know of it (404 otherwise, as for an unknown id).
pub fn find_visible(conn: &mut DbConn, viewer: Viewer, id: i64) -> ApiResult<User> {
    let user = User::find(conn, id).optional()?;
    match user {
        Some(user) if user.is_active || viewer.is_staff() => Ok(user),
        _ => Err(ApiError::not_found("No user with this id.")),
    }
}

/// The caller's own account with its profile.
pub fn me(conn: &mut DbConn, caller: &Caller) -> ApiResult<UserDetail> {
    let user = User::find(conn, caller.id)
        .optional()?
        .ok_or_else(|| ApiError::not_found("Your account no longer exists."))?;
    let profile = profile::load(conn, caller.id)?;
    Ok(detail(user, profile))
}

/// Checks a staff-made account before its password is hashed: every field problem at once.
pub fn check_new_user(body: &CreateUser) -> ApiResult<(Username, Email)> {
    check_new_account(
        &AccountFields {
            username: &body.username,
            email: &body.email,
            password: &body.password,
            first_name: &body.first_name,
            last_name: &body.last_name,
        },
        FieldErrors::new(),
    )
}

/// The fields a new account is checked on (staff creation and sign-up alike).
#[derive(Debug, Clone, Copy)]
pub struct AccountFields<'a> {
    /// The username as given.
    pub username: &'a str,
    /// The email as given.
    pub email: &'a str,
    /// The password, checked against Django's rules and the other fields.
    pub password: &'a str,
    /// The first name (the password may not resemble it).
    pub first_name: &'a str,
    /// The last name (likewise).
    pub last_name: &'a str,
}

/// Checks a new account's username, email and password, adding to the `errors` the caller
/// already found, so every problem is reported at once.
pub fn check_new_account(
    fields: &AccountFields<'_>,
    mut errors: FieldErrors,
) -> ApiResult<(Username, Email)> {
    let username = collect(&mut errors, Username::parse(fields.username));
    let email = collect(&mut errors, Email::parse(fields.email));
    collect(
        &mut errors,
        validate_password(
            fields.password,
            "password",
            &UserAttributes {
                username: fields.username,
                email: fields.email,
                first_name: fields.first_name,
                last_name: fields.last_name,
            },
        ),
    );
    match (username, email) {
        (Some(username), Some(email)) if errors.is_empty() => Ok((username, email)),
        _ => Err(ApiError::validation(errors)),
    }
}

/// Keeps the value, or moves the error's field messages into `errors`.
pub fn collect<T>(errors: &mut FieldErrors, result: ApiResult<T>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(err) => {
            match err.errors() {
                Some(fields) => {
                    for (field, messages) in fields {
                        errors
                            .entry(field.clone())
                            .or_default()
                            .extend(messages.iter().cloned());
                    }
                }
                None => errors
                    .entry("non_field_errors".to_owned())
                    .or_default()
                    .push(err.detail().to_owned()),
            }
            None
        }
    }
}

/// `POST /api/v1/users/` (staff): creates an account and its profile.
pub fn create_user(
    conn: &mut DbConn,
    caller: &Caller,
    body: &CreateUser,
    username: Username,
    email: Email,
    password_hash: String,
) -> ApiResult<UserDetail> {
    caller.require_staff()?;
    let account = NewAccount {
        role: body.role.unwrap_or(plaza_kernel::Role::User),
        is_staff: body.is_staff.unwrap_or(false),
        is_verified: body.is_verified.unwrap_or(true),
        is_active: body.is_active.unwrap_or(true),
        is_premium: body.is_premium.unwrap_or(false),
        first_name: body.first_name.clone(),
        last_name: body.last_name.clone(),
        ..NewAccount::user(username, email, password_hash)
    };
    let user = create_account(conn, &account)?;
    syslog::record(
        conn,
        &Event::new(
            Level::Info,
            "users",
            "user_created",
            format!("{} created the account {}", caller.username, user.username),
        )
        .user(user.id)
        .data(serde_json::json!({ "by": caller.id, "role": user.role, "is_staff": user.is_staff })),
    )?;
    let profile = profile::load(conn, user.id)?;
    Ok(detail(user, profile))
}

/// Rule: an account is changed by its owner or by staff.
fn ensure_can_edit(caller: &Caller, target: &User) -> ApiResult<()> {
    if caller.is(target.id) || caller.is_staff() {
        Ok(())
    } else {
        Err(ApiError::permission_denied(
            "You may only change your own account.",
        ))
    }
}

/// Rule: only a superuser changes or deletes a superuser's account (besides its owner).
fn ensure_superuser_guard(caller: &Caller, target: &User) -> ApiResult<()> {
    if target.is_superuser && !caller.is_superuser && !caller.is(target.id) {
        return Err(ApiError::permission_denied(
            "Only a superuser may change a superuser's account.",
        ));
    }
    Ok(())
}

/// Rule: `is_active`, `is_staff`, `is_premium`, `is_verified` and `role` change by staff only
/// (sending the current value is allowed, so a client may PUT back what it read).
fn ensure_staff_fields(caller: &Caller, target: &User, patch: &UserPatch) -> ApiResult<()> {
    if caller.is_staff() {
        return Ok(());
    }
    let changes = [
        (
            "is_active",
            patch.is_active.is_some_and(|v| v != target.is_active),
        ),
        (
            "is_staff",
            patch.is_staff.is_some_and(|v| v != target.is_staff),
        ),
        (
            "is_premium",
            patch.is_premium.is_some_and(|v| v != target.is_premium),
        ),
        (
            "is_verified",
            patch.is_verified.is_some_and(|v| v != target.is_verified),
        ),
        ("role", patch.role.is_some_and(|r| r != target.role())),
    ];
    match changes.iter().find(|(_, changed)| *changed) {
        Some((field, _)) => Err(ApiError::permission_denied(format!(
            "Only staff may change {field}."
        ))),
        None => Ok(()),
    }
}

/// What an account update did.
#[derive(Debug)]
pub struct Updated {
    /// The account after the change.
    pub user: UserDetail,
    /// The user's access tokens carry stale facts (role, staff flag) or the account was
    /// deactivated: revoke every access token issued so far.
    pub revoke_access: bool,
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct UserChanges<'a> {
    username: Option<&'a str>,
    username_key: Option<String>,
    email: Option<&'a str>,
    email_key: Option<String>,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    birthday: Option<Option<NaiveDate>>,
    gender: Option<&'a str>,
    bio: Option<&'a str>,
    website: Option<&'a str>,
    github: Option<&'a str>,
    privacy_settings: Option<String>,
    is_searchable: Option<bool>,
    is_active: Option<bool>,
    is_staff: Option<bool>,
    is_premium: Option<bool>,
    is_verified: Option<bool>,
    role: Option<&'static str>,
    updated_at: NaiveDateTime,
}

/// PUT (`full`) or PATCH of account `target_id` (and its nested `profile`). Deactivating an
/// account ends its sessions; changing role, staff flag or activity asks the caller to revoke
/// access tokens ([`Updated::revoke_access`]).
pub fn update_user(
    conn: &mut DbConn,
    caller: &Caller,
    target_id: i64,
    patch: Body<UserPatch>,
    full: bool,
    sessions: Option<&dyn Sessions>,
) -> ApiResult<Updated> {
    let target = User::find(conn, target_id)
        .optional()?
        .ok_or_else(|| ApiError::not_found("No user with this id."))?;
    ensure_can_edit(caller, &target)?;
    ensure_superuser_guard(caller, &target)?;
    // 404, then 403, then the body's 400, as DRF orders them.
    let patch = &patch.parse()?;
    ensure_staff_fields(caller, &target, patch)?;

    let mut errors = FieldErrors::new();
    if full {
        for (field, present) in [
            ("username", patch.username.is_some()),
            ("email", patch.email.is_some()),
        ] {
            if !present {
                errors
                    .entry(field.to_owned())
                    .or_default()
                    .push("This field is required.".to_owned());
            }
        }
    }
    let username = patch
        .username
        .as_deref()
        .and_then(|u| collect(&mut errors, Username::parse(u)));
    let email = patch
        .email
        .as_deref()
        .and_then(|e| collect(&mut errors, Email::parse(e)));
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }

    let privacy = patch.privacy_settings.map(|p| target.privacy().merged(&p));
    let email_changed = email.as_ref().is_some_and(|e| e.key() != target.email_key);
    let is_verified = match patch.is_verified {
        Some(v) if caller.is_staff() => Some(v),
        _ if email_changed => Some(false),
        _ => None,
    };
    let role = patch.role.map(plaza_kernel::Role::as_str);
    let changes = UserChanges {
        username: username.as_ref().map(Username::as_str),
        username_key: username.as_ref().map(Username::key),
        email: email.as_ref().map(Email::as_str),
        email_key: email.as_ref().map(Email::key),
        first_name: patch.first_name.as_deref().map(str::trim),
        last_name: patch.last_name.as_deref().map(str::trim),
        birthday: patch.birthday,
        gender: patch.gender.as_deref().map(str::trim),
        bio: patch.bio.as_deref(),
        website: patch.website.as_deref().map(str::trim),
        github: patch.github.as_deref().map(str::trim),
        privacy_settings: privacy.as_ref().map(PrivacySettings::to_stored),
        is_searchable: privacy.as_ref().map(|p| p.searchable),
        is_active: patch.is_active,
        is_staff: patch.is_staff,
        is_premium: patch.is_premium,
        is_verified,
        role,
        updated_at: plaza_kernel::time::now(),
    };
    diesel::update(users::table.find(target_id))
        .set(&changes)
        .execute(conn)?;
    if let Some(profile_patch) = &patch.profile {
        profile::update(conn, target_id, profile_patch)?;
    }

    let deactivated = patch.is_active == Some(false) && target.is_active;
    let privileges = privilege_changes(&target, patch);
    if deactivated {
        if let Some(sessions) = sessions {
            sessions.revoke_all(conn, target_id, "deactivated")?;
        }
    }
    if !privileges.is_empty() {
        syslog::record(
            conn,
            &Event::new(
                Level::Warning,
                "users",
                "user_permissions_changed",
                format!(
                    "{} changed {} of {}",
                    caller.username,
                    privileges.keys().cloned().collect::<Vec<_>>().join(", "),
                    target.username
                ),
            )
            .user(target_id)
            .data(serde_json::json!({ "by": caller.id, "changes": privileges })),
        )?;
    }
    let revoke_access = deactivated
        || privileges.contains_key("role")
        || privileges.contains_key("is_staff")
        || privileges.contains_key("is_active");
    let user = User::find(conn, target_id)?;
    let profile = profile::load(conn, target_id)?;
    Ok(Updated {
        user: detail(user, profile),
        revoke_access,
    })
}

/// The privileged fields `patch` changes, with their new values.
fn privilege_changes(
    target: &User,
    patch: &UserPatch,
) -> BTreeMap<&'static str, serde_json::Value> {
    let mut out = BTreeMap::new();
    if let Some(v) = patch.is_active.filter(|v| *v != target.is_active) {
        out.insert("is_active", v.into());
    }
    if let Some(v) = patch.is_staff.filter(|v| *v != target.is_staff) {
        out.insert("is_staff", v.into());
    }
    if let Some(v) = patch.is_premium.filter(|v| *v != target.is_premium) {
        out.insert("is_premium", v.into());
    }
    if let Some(v) = patch.is_verified.filter(|v| *v != target.is_verified) {
        out.insert("is_verified", v.into());
    }
    if let Some(role) = patch.role.filter(|r| *r != target.role()) {
        out.insert("role", role.as_str().into());
    }
    out
}

/// `DELETE me/`: the account is deactivated (kept, as Django does) and its sessions end.
pub fn deactivate_me(
    conn: &mut DbConn,
    caller: &Caller,
    sessions: Option<&dyn Sessions>,
) -> ApiResult<()> {
    let updated = diesel::update(users::table.find(caller.id))
        .set((
            users::is_active.eq(false),
            users::updated_at.eq(plaza_kernel::time::now()),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Err(ApiError::not_found("Your account no longer exists."));
    }
    if let Some(sessions) = sessions {
        sessions.revoke_all(conn, caller.id, "deactivated")?;
    }
    syslog::record(
        conn,
        &Event::new(
            Level::Info,
            "users",
            "account_deactivated",
            format!("{} deactivated their account", caller.username),
        )
        .user(caller.id),
    )?;
    Ok(())
}

/// `DELETE {id}/` (staff): deletes the account and, through the database's cascades, what it
/// owns, after every domain has noted what the cascade leaves stale (`hooks`, which queue the
/// jobs that bring it up to date). Returns the media files to remove once the transaction has
/// committed.
pub fn delete_user(
    conn: &mut DbConn,
    caller: &Caller,
    target_id: i64,
    hooks: &UserDeletion,
) -> ApiResult<Vec<String>> {
    caller.require_staff()?;
    if caller.is(target_id) {
        return Err(ApiError::bad_request(
            "You cannot delete your own account; DELETE /api/v1/users/me/ deactivates it.",
        ));
    }
    let target = User::find(conn, target_id)
        .optional()?
        .ok_or_else(|| ApiError::not_found("No user with this id."))?;
    ensure_superuser_guard(caller, &target)?;
    hooks.run(conn, target_id)?;
    diesel::delete(users::table.find(target_id)).execute(conn)?;
    syslog::record(
        conn,
        &Event::new(
            Level::Warning,
            "users",
            "user_deleted",
            format!("{} deleted the account {}", caller.username, target.username),
        )
        .user(target_id)
        .data(serde_json::json!({ "by": caller.id, "username": target.username, "email": target.email })),
    )?;
    Ok([target.avatar, target.avatar_thumbnail]
        .into_iter()
        .flatten()
        .collect())
}

/// Stores a new password hash.
pub fn set_password(conn: &mut DbConn, user_id: i64, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password.eq(hash),
            users::updated_at.eq(plaza_kernel::time::now()),
        ))
        .execute(conn)
        .map(drop)
}

/// Marks the account's email address verified (the authentication domain's email flows).
pub fn mark_verified(conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::is_verified.eq(true),
            users::updated_at.eq(plaza_kernel::time::now()),
        ))
        .execute(conn)
        .map(drop)
}

/// Both settings objects of `user_id`.
pub fn settings(conn: &mut DbConn, user_id: i64) -> ApiResult<Settings> {
    let user = User::find(conn, user_id)?;
    let profile = profile::load(conn, user_id)?;
    Ok(Settings {
        privacy_settings: user.privacy(),
        notification_settings: profile.notification_settings,
    })
}

/// `PUT me/settings/`: merges the keys sent into both settings objects.
pub fn update_settings(
    conn: &mut DbConn,
    user_id: i64,
    update: &SettingsUpdate,
) -> ApiResult<Settings> {
    if let Some(patch) = &update.privacy_settings {
        let user = User::find(conn, user_id)?;
        let privacy = user.privacy().merged(patch);
        diesel::update(users::table.find(user_id))
            .set((
                users::privacy_settings.eq(privacy.to_stored()),
                users::is_searchable.eq(privacy.searchable),
                users::updated_at.eq(plaza_kernel::time::now()),
            ))
            .execute(conn)?;
    }
    if let Some(patch) = update.notification_settings {
        let profile_patch = profile::ProfilePatch {
            notification_settings: Some(patch),
            ..profile::ProfilePatch::default()
        };
        profile::update(conn, user_id, &profile_patch)?;
    }
    settings(conn, user_id)
}

/// Points the account's avatar at new files (or at none) and answers the files it pointed at
/// before, to remove once the change has committed.
pub fn set_avatar(
    conn: &mut DbConn,
    user_id: i64,
    files: Option<(&str, &str)>,
) -> ApiResult<Vec<String>> {
    let user = User::find(conn, user_id)?;
    let (avatar, thumbnail) = files.unzip();
    diesel::update(users::table.find(user_id))
        .set((
            users::avatar.eq(avatar),
            users::avatar_thumbnail.eq(thumbnail),
            users::updated_at.eq(plaza_kernel::time::now()),
        ))
        .execute(conn)?;
    Ok([user.avatar, user.avatar_thumbnail]
        .into_iter()
        .flatten()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_fields() {
        assert_eq!(
            parse_ordering(Some("username,-last_login")).unwrap(),
            vec![(SortKey::Username, false), (SortKey::LastLogin, true)]
        );
        assert_eq!(
            parse_ordering(None).unwrap(),
            vec![(SortKey::DateJoined, true)]
        );
        let err = parse_ordering(Some("password")).unwrap_err();
        assert!(err.errors().unwrap().contains_key("ordering"));
    }
}
