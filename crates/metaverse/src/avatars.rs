//! Avatars: each user's own; exactly one of them is the default while they have any.

use diesel::prelude::*;
use plaza_kernel::time::{now, utc};
use plaza_kernel::{ApiError, ApiResult, Body, Caller, Db, DbConn, Page, PageRequest};

use crate::model::Avatar;
use crate::schema::metaverse_avatars as avatars;
use crate::types::{AvatarOut, AvatarPatch, AvatarWrite};
use crate::worlds::parse_json;

/// An avatar as shown.
pub fn present(a: Avatar) -> AvatarOut {
    AvatarOut {
        id: a.id,
        name: a.name,
        model_url: a.model_url,
        appearance: parse_json(&a.appearance),
        is_default: a.is_default,
        created_at: utc(a.created_at),
        updated_at: utc(a.updated_at),
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("Avatar not found.")
}

fn mine(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<Avatar> {
    avatars::table
        .filter(avatars::id.eq(id))
        .filter(avatars::user_id.eq(caller.id))
        .select(Avatar::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)
}

/// The caller's avatars, oldest first.
pub fn list(conn: &mut DbConn, caller: &Caller, page: PageRequest) -> ApiResult<Page<AvatarOut>> {
    let count: i64 = avatars::table
        .filter(avatars::user_id.eq(caller.id))
        .count()
        .get_result(conn)?;
    page.paginate(count, |window| {
        Ok(avatars::table
            .filter(avatars::user_id.eq(caller.id))
            .order(avatars::id.asc())
            .select(Avatar::as_select())
            .limit(window.limit)
            .offset(window.offset)
            .load(conn)?
            .into_iter()
            .map(present)
            .collect())
    })
}

/// One of the caller's avatars (404 for anyone else's).
pub fn get(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<AvatarOut> {
    mine(conn, caller, id).map(present)
}

fn clear_default(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::update(
        avatars::table
            .filter(avatars::user_id.eq(user_id))
            .filter(avatars::is_default.eq(true)),
    )
    .set(avatars::is_default.eq(false))
    .execute(conn)
}

/// Creates an avatar; the first one, or one asked to be, becomes the default.
pub fn create(conn: &mut DbConn, caller: &Caller, input: &AvatarWrite) -> ApiResult<AvatarOut> {
    let has_any: i64 = avatars::table
        .filter(avatars::user_id.eq(caller.id))
        .count()
        .get_result(conn)?;
    let is_default = input.is_default || has_any == 0;
    if is_default {
        clear_default(conn, caller.id)?;
    }
    let at = now();
    diesel::insert_into(avatars::table)
        .values((
            avatars::user_id.eq(caller.id),
            avatars::name.eq(input.name.trim()),
            avatars::model_url.eq(input.model_url.trim()),
            avatars::appearance.eq(input.appearance.to_string()),
            avatars::is_default.eq(is_default),
            avatars::created_at.eq(at),
            avatars::updated_at.eq(at),
        ))
        .execute(conn)?;
    let id = plaza_kernel::db::last_insert_id(conn)?;
    get(conn, caller, id)
}

/// Changes one of the caller's avatars.
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    patch: impl Into<Body<AvatarPatch>>,
) -> ApiResult<AvatarOut> {
    let avatar = mine(conn, caller, id)?;
    let patch = &patch.into().parse()?;
    if patch.is_default == Some(false) && avatar.is_default {
        return Err(ApiError::invalid_field(
            "is_default",
            "Make another avatar the default instead.",
        ));
    }
    if patch.is_default == Some(true) && !avatar.is_default {
        clear_default(conn, caller.id)?;
    }
    diesel::update(avatars::table.find(id))
        .set((
            patch
                .name
                .as_deref()
                .map(|v| avatars::name.eq(v.trim().to_owned())),
            patch
                .model_url
                .as_deref()
                .map(|v| avatars::model_url.eq(v.trim().to_owned())),
            patch
                .appearance
                .as_ref()
                .map(|v| avatars::appearance.eq(v.to_string())),
            (patch.is_default == Some(true)).then_some(avatars::is_default.eq(true)),
            avatars::updated_at.eq(now()),
        ))
        .execute(conn)?;
    get(conn, caller, id)
}

/// Deletes one of the caller's avatars; when it was the default, their oldest remaining one
/// becomes the default. Sessions wearing it continue without one.
pub fn delete(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    let avatar = mine(conn, caller, id)?;
    remove(conn, &avatar)
}

/// Deletes `avatar`, handing the default to its owner's oldest remaining one.
pub(crate) fn remove(conn: &mut DbConn, avatar: &Avatar) -> ApiResult<()> {
    diesel::delete(avatars::table.find(avatar.id)).execute(conn)?;
    if avatar.is_default {
        let next: Option<i64> = avatars::table
            .filter(avatars::user_id.eq(avatar.user_id))
            .order(avatars::id.asc())
            .select(avatars::id)
            .first(conn)
            .optional()?;
        if let Some(next) = next {
            diesel::update(avatars::table.find(next))
                .set(avatars::is_default.eq(true))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Avatars as a request changes them (one transaction each).
pub mod requests {
    use super::*;

    /// Creates an avatar.
    pub async fn create(db: &Db, caller: Caller, input: AvatarWrite) -> ApiResult<AvatarOut> {
        db.transaction(move |conn| super::create(conn, &caller, &input))
            .await
    }

    /// Changes an avatar.
    pub async fn update(
        db: &Db,
        caller: Caller,
        id: i64,
        patch: impl Into<Body<AvatarPatch>>,
    ) -> ApiResult<AvatarOut> {
        let patch = patch.into();
        db.transaction(move |conn| super::update(conn, &caller, id, patch))
            .await
    }

    /// Deletes an avatar.
    pub async fn delete(db: &Db, caller: Caller, id: i64) -> ApiResult<()> {
        db.transaction(move |conn| super::delete(conn, &caller, id))
            .await
    }
}
