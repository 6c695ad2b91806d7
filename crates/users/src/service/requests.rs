//! The users domain's requests: one async function per unit of work a handler asks for. Each
//! checks who may do it, chooses its transaction, and does what follows a commit (revoking
//! access tokens, removing replaced files); handlers only extract and answer.

use std::time::Duration;

use actix_web::web;
use plaza_kernel::auth::revocation;
use plaza_kernel::syslog::{self, Event, Level};
use plaza_kernel::{ApiError, ApiResult, Body, Caller, Db, Services};

use crate::avatar::{self, Processed};
use crate::model::User;
use crate::password::{
    check_confirmation, hash_password_async, validate_new_password, verify_password_async,
};
use crate::profile::{self, Profile, ProfilePatch};
use crate::public::media_url;
use crate::resume::{self, ActionOutcome, Resume, ResumeBasic, Section};
use crate::routes::require_login_session;
use crate::sessions::{ClientInfo, Sessions};
use crate::types::{
    AvatarOut, CreateUser, PasswordChange, PasswordChanged, Settings, SettingsUpdate, UserPatch,
};
use crate::views::UserDetail;

/// The optional sessions hook, as handlers receive it from app data.
pub type SessionsHook = Option<web::Data<dyn Sessions>>;

/// An account update: [`super::update_user`] in one transaction, then, once it committed,
/// revocation of the target's access tokens when their claims went stale.
pub async fn update_account(
    services: &Services,
    sessions: SessionsHook,
    caller: Caller,
    target_id: i64,
    patch: Body<UserPatch>,
    full: bool,
) -> ApiResult<UserDetail> {
    let updated = services
        .db
        .transaction(move |conn| {
            super::update_user(
                conn,
                &caller,
                target_id,
                patch,
                full,
                sessions.as_ref().map(|s| s.get_ref()),
            )
        })
        .await?;
    if updated.revoke_access {
        revocation::revoke_all_access(&services.cache, target_id, services.tokens.access_ttl)
            .await?;
    }
    Ok(updated.user)
}

/// Staff create an account: checked, hashed outside the transaction, inserted in one.
pub async fn create_user(
    db: &Db,
    bcrypt_cost: u32,
    caller: Caller,
    input: Body<CreateUser>,
) -> ApiResult<UserDetail> {
    caller.require_staff()?;
    let input = input.parse()?;
    let (username, email) = super::check_new_user(&input)?;
    let hash = hash_password_async(input.password.clone(), bcrypt_cost).await?;
    db.transaction(move |conn| super::create_user(conn, &caller, &input, username, email, hash))
        .await
}

/// Staff delete an account in one transaction, in which every domain queues what brings its
/// counters, caches and files up to date; then its access tokens are revoked and its avatar
/// files removed.
pub async fn delete_user(services: &Services, caller: Caller, id: i64) -> ApiResult<()> {
    let hooks = services.user_deletion.clone();
    let files = services
        .db
        .transaction(move |conn| super::delete_user(conn, &caller, id, &hooks))
        .await?;
    revocation::revoke_all_access(&services.cache, id, services.tokens.access_ttl).await?;
    remove_files(services, files).await
}

/// The caller deactivates their account (a login session only); then its access tokens are
/// revoked.
pub async fn deactivate_me(
    services: &Services,
    sessions: SessionsHook,
    caller: Caller,
) -> ApiResult<()> {
    require_login_session(&caller)?;
    let id = caller.id;
    services
        .db
        .transaction(move |conn| {
            super::deactivate_me(conn, &caller, sessions.as_ref().map(|s| s.get_ref()))
        })
        .await?;
    revocation::revoke_all_access(&services.cache, id, services.tokens.access_ttl).await
}

/// Changes the caller's profile, in one transaction.
pub async fn update_profile(db: &Db, caller: &Caller, patch: ProfilePatch) -> ApiResult<Profile> {
    let id = caller.id;
    db.transaction(move |conn| Ok(profile::update(conn, id, &patch)?))
        .await
}

/// Changes the caller's privacy and notification settings, in one transaction.
pub async fn update_settings(
    db: &Db,
    caller: &Caller,
    update: SettingsUpdate,
) -> ApiResult<Settings> {
    let id = caller.id;
    db.transaction(move |conn| super::update_settings(conn, id, &update))
        .await
}

/// Changes the caller's password (a login session only): the old one is checked and the new
/// one hashed outside any transaction; every access token issued so far is revoked; the new
/// hash, the log entry and the new session are one transaction.
pub async fn change_password(
    services: &Services,
    bcrypt_cost: u32,
    sessions: SessionsHook,
    caller: Caller,
    input: Body<PasswordChange>,
    client: ClientInfo,
) -> ApiResult<PasswordChanged> {
    let Services {
        db, cache, tokens, ..
    } = services;
    require_login_session(&caller)?;
    let input = input.parse()?;
    check_confirmation(
        "new_password_confirm",
        &input.new_password,
        input.new_password_confirm.as_deref(),
    )?;
    let id = caller.id;
    let user = db.run(move |conn| Ok(User::find(conn, id)?)).await?;
    if !verify_password_async(input.old_password.clone(), user.password.clone()).await? {
        return Err(ApiError::invalid_field(
            "old_password",
            "Your old password was entered incorrectly. Please enter it again.",
        ));
    }
    validate_new_password(&input.new_password, &user)?;
    let hash = hash_password_async(input.new_password, bcrypt_cost).await?;

    // Revoke every access token issued so far, then issue the new ones strictly later (the
    // revocation stamp has millisecond resolution).
    revocation::revoke_all_access(cache, id, tokens.access_ttl).await?;
    tokio::time::sleep(Duration::from_millis(3)).await;
    let codec = tokens.clone();
    let pair = db
        .transaction(move |conn| {
            super::set_password(conn, id, &hash)?;
            syslog::record(
                conn,
                &Event::new(
                    Level::Info,
                    "users",
                    "password_changed",
                    format!("{} changed their password", caller.username),
                )
                .user(id)
                .ip(client.ip.clone()),
            )?;
            match sessions.as_ref().map(|s| s.get_ref()) {
                Some(sessions) => {
                    sessions.revoke_all(conn, id, "password_changed")?;
                    let user = User::find(conn, id)?;
                    Ok(Some(sessions.open(conn, &codec, &user, &client)?))
                }
                None => Ok(None),
            }
        })
        .await?;
    let (access, refresh) = match pair {
        Some(pair) => (pair.access, Some(pair.refresh)),
        None => (tokens.issue_access(&user.token_subject())?.token, None),
    };
    Ok(PasswordChanged {
        detail: "Password changed. Other sessions have been signed out.".to_owned(),
        access,
        refresh,
    })
}

/// Stores a processed avatar's files, points the caller's account at them in one
/// transaction, then removes the files they replace (or, if the change failed, the new ones).
pub async fn replace_avatar(
    services: &Services,
    caller: &Caller,
    processed: Processed,
) -> ApiResult<AvatarOut> {
    let root = services.config.media_root.clone();
    let user_id = caller.id;
    let (path, thumb) =
        tokio::task::spawn_blocking(move || avatar::store(&root, user_id, &processed))
            .await?
            .map_err(ApiError::internal)?;
    let (new_path, new_thumb) = (path.clone(), thumb.clone());
    let replaced = services
        .db
        .transaction(move |conn| super::set_avatar(conn, user_id, Some((&new_path, &new_thumb))))
        .await;
    match replaced {
        Ok(old) => remove_files(services, old).await?,
        Err(err) => {
            // Nothing refers to the new files: remove them.
            remove_files(services, vec![path, thumb]).await?;
            return Err(err);
        }
    }
    Ok(AvatarOut {
        avatar: media_url(&path),
        avatar_thumbnail: media_url(&thumb),
    })
}

/// Clears the caller's avatar in one transaction, then removes its files.
pub async fn remove_avatar(services: &Services, caller: &Caller) -> ApiResult<()> {
    let user_id = caller.id;
    let old = services
        .db
        .transaction(move |conn| super::set_avatar(conn, user_id, None))
        .await?;
    remove_files(services, old).await
}

/// Removes media files (paths under `MEDIA_ROOT`) on the blocking pool.
async fn remove_files(services: &Services, files: Vec<String>) -> ApiResult<()> {
    if files.is_empty() {
        return Ok(());
    }
    let root = services.config.media_root.clone();
    tokio::task::spawn_blocking(move || avatar::remove(&root, &files)).await?;
    Ok(())
}

/// Writes the basic part of the caller's résumé (`full`: fields left out become empty;
/// otherwise they keep their value), in one transaction; says whether this created it.
pub async fn put_resume(
    db: &Db,
    caller: &Caller,
    basic: ResumeBasic,
    full: bool,
) -> ApiResult<(Resume, bool)> {
    let id = caller.id;
    db.transaction(move |conn| resume::put_basic(conn, id, &basic, full))
        .await
}

/// Adds a résumé entry of kind `S` for the caller.
pub async fn create_entry<S: Section>(
    db: &Db,
    caller: &Caller,
    input: S::Input,
) -> ApiResult<S::Item> {
    let id = caller.id;
    db.transaction(move |conn| resume::create_entry::<S>(conn, id, &input))
        .await
}

/// Changes one of the caller's résumé entries of kind `S`.
pub async fn update_entry<S: Section>(
    db: &Db,
    caller: &Caller,
    entry: i64,
    patch: S::Patch,
) -> ApiResult<S::Item> {
    let id = caller.id;
    db.transaction(move |conn| resume::update_entry::<S>(conn, id, entry, &patch))
        .await
}

/// Deletes one of the caller's résumé entries of kind `S`.
pub async fn delete_entry<S: Section>(db: &Db, caller: &Caller, entry: i64) -> ApiResult<()> {
    let id = caller.id;
    db.transaction(move |conn| resume::delete_entry::<S>(conn, id, entry))
        .await
}

/// Runs one action of the forum's résumé endpoints (create, update or delete, named in the
/// JSON `body`) on the caller's entries of kind `S`.
pub async fn resume_action<S: Section>(
    db: &Db,
    caller: &Caller,
    body: Vec<u8>,
) -> ApiResult<ActionOutcome<S::Item>> {
    let id = caller.id;
    db.transaction(move |conn| resume::run_action::<S>(conn, id, &body))
        .await
}
