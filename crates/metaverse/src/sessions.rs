//! Sessions: who is in a world. Entering locks the world row and counts the open sessions in
//! the same transaction, so `max_users` holds however many enter at once.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use plaza_kernel::time::{now, utc};
use plaza_kernel::{ApiError, ApiResult, Body, Caller, Db, DbConn, Page, PageRequest};

use crate::access;
use crate::avatars;
use crate::model::{Avatar, Session};
use crate::schema::{metaverse_avatars as avatars_t, metaverse_sessions as sessions};
use crate::types::{EnterWrite, SessionOut, Vec3, Visibility};
use crate::worlds::author;

/// What entering produced.
#[derive(Debug)]
pub struct Entered {
    /// The session.
    pub session: SessionOut,
    /// `false` when the caller was in the world already (the open session is returned).
    pub created: bool,
}

fn present(conn: &mut DbConn, rows: Vec<Session>) -> ApiResult<Vec<SessionOut>> {
    let user_ids: Vec<i64> = rows.iter().map(|s| s.user_id).collect();
    let authors = plaza_users::authors_by_id(conn, &user_ids)?;
    let avatar_ids: Vec<i64> = rows.iter().filter_map(|s| s.avatar_id).collect();
    let avatars: HashMap<i64, Avatar> = if avatar_ids.is_empty() {
        HashMap::new()
    } else {
        avatars_t::table
            .filter(avatars_t::id.eq_any(&avatar_ids))
            .select(Avatar::as_select())
            .load(conn)?
            .into_iter()
            .map(|a| (a.id, a))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|s| SessionOut {
            id: s.id,
            world_id: s.world_id,
            user: author(&authors, s.user_id),
            avatar: s
                .avatar_id
                .and_then(|id| avatars.get(&id).cloned())
                .map(avatars::present),
            position: s.position(),
            rotation: s.rotation(),
            connected: s.connection_id.is_some(),
            entered_at: utc(s.entered_at),
            last_seen_at: utc(s.last_seen_at),
            left_at: s.left_at.map(utc),
        })
        .collect())
}

/// The caller's open session in `world_id`, if any.
pub fn open_session(
    conn: &mut DbConn,
    world_id: i64,
    user_id: i64,
) -> QueryResult<Option<Session>> {
    sessions::table
        .filter(sessions::world_id.eq(world_id))
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::left_at.is_null())
        .order(sessions::id.desc())
        .select(Session::as_select())
        .first(conn)
        .optional()
}

/// Enters world `id`: 403 without the right to, 409 when it is full; the open session when
/// the caller is in already. Run it in a transaction (the world row is locked).
pub fn enter(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    input: impl Into<Body<EnterWrite>>,
) -> ApiResult<Entered> {
    let world = crate::model::lock_world(conn, id)?.ok_or_else(access::world_not_found)?;
    let access = access::of(conn, world, Some(caller))?;
    if !access.can_enter() {
        let detail = match access.visibility() {
            Visibility::Invite => "This world admits only invited users.",
            _ => "This world is private.",
        };
        return Err(ApiError::permission_denied(detail));
    }
    let input = &input.into().parse()?;
    if let Some(open) = open_session(conn, id, caller.id)? {
        let session = present(conn, vec![open])?
            .pop()
            .ok_or_else(|| ApiError::internal("session vanished"))?;
        return Ok(Entered {
            session,
            created: false,
        });
    }
    let avatar_id = match input.avatar_id {
        Some(avatar_id) => {
            let mine: Option<i64> = avatars_t::table
                .filter(avatars_t::id.eq(avatar_id))
                .filter(avatars_t::user_id.eq(caller.id))
                .select(avatars_t::id)
                .first(conn)
                .optional()?;
            Some(mine.ok_or_else(|| {
                ApiError::invalid_field("avatar_id", "You have no avatar with this id.")
            })?)
        }
        None => avatars_t::table
            .filter(avatars_t::user_id.eq(caller.id))
            .filter(avatars_t::is_default.eq(true))
            .select(avatars_t::id)
            .first(conn)
            .optional()?,
    };
    let inside: i64 = sessions::table
        .filter(sessions::world_id.eq(id))
        .filter(sessions::left_at.is_null())
        .count()
        .get_result(conn)?;
    if inside >= i64::from(access.world.max_users) {
        return Err(ApiError::conflict("This world is full."));
    }
    let at = now();
    diesel::insert_into(sessions::table)
        .values((
            sessions::world_id.eq(id),
            sessions::user_id.eq(caller.id),
            sessions::avatar_id.eq(avatar_id),
            sessions::pos_x.eq(0.0),
            sessions::pos_y.eq(0.0),
            sessions::pos_z.eq(0.0),
            sessions::rot_x.eq(0.0),
            sessions::rot_y.eq(0.0),
            sessions::rot_z.eq(0.0),
            sessions::entered_at.eq(at),
            sessions::last_seen_at.eq(at),
        ))
        .execute(conn)?;
    let open =
        open_session(conn, id, caller.id)?.ok_or_else(|| ApiError::internal("session vanished"))?;
    let session = present(conn, vec![open])?
        .pop()
        .ok_or_else(|| ApiError::internal("session vanished"))?;
    Ok(Entered {
        session,
        created: true,
    })
}

/// Leaves world `id`; returns the closed session (its `connection_id` was the presence
/// socket's member id, if connected). 404 when the caller is not in it.
pub fn leave(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<Session> {
    access::visible(conn, id, Some(caller))?;
    let open = open_session(conn, id, caller.id)?
        .ok_or_else(|| ApiError::not_found("You are not in this world."))?;
    close(conn, &[open.id])?;
    Ok(open)
}

/// Closes sessions `ids`.
pub fn close(conn: &mut DbConn, ids: &[i64]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::update(
        sessions::table
            .filter(sessions::id.eq_any(ids))
            .filter(sessions::left_at.is_null()),
    )
    .set((
        sessions::left_at.eq(Some(now())),
        sessions::connection_id.eq(None::<String>),
        sessions::instance_id.eq(None::<String>),
    ))
    .execute(conn)
}

/// Who is in world `id` now, first come first.
pub fn list(
    conn: &mut DbConn,
    caller: Option<&Caller>,
    id: i64,
    page: PageRequest,
) -> ApiResult<Page<SessionOut>> {
    access::visible(conn, id, caller)?;
    let open = || {
        sessions::table
            .filter(sessions::world_id.eq(id))
            .filter(sessions::left_at.is_null())
    };
    let count: i64 = open().count().get_result(conn)?;
    page.paginate(count, |window| {
        let rows: Vec<Session> = open()
            .order((sessions::entered_at.asc(), sessions::id.asc()))
            .select(Session::as_select())
            .limit(window.limit)
            .offset(window.offset)
            .load(conn)?;
        present(conn, rows)
    })
}

/// The presence socket of `session_id` connected as `connection_id` in process `instance`.
pub fn connect(
    conn: &mut DbConn,
    session_id: i64,
    connection_id: &str,
    instance: &str,
) -> QueryResult<bool> {
    diesel::update(
        sessions::table
            .filter(sessions::id.eq(session_id))
            .filter(sessions::left_at.is_null()),
    )
    .set((
        sessions::connection_id.eq(Some(connection_id)),
        sessions::instance_id.eq(Some(instance)),
        sessions::last_seen_at.eq(now()),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// The presence socket `connection_id` of `session_id` closed: the session stays open (a
/// reconnect finds it) with its last position; the stale-session job closes it later if
/// nobody comes back.
pub fn disconnect(
    conn: &mut DbConn,
    session_id: i64,
    connection_id: &str,
    pose: Option<(Vec3, Vec3)>,
) -> QueryResult<()> {
    let target = sessions::table
        .filter(sessions::id.eq(session_id))
        .filter(sessions::connection_id.eq(connection_id));
    diesel::update(target)
        .set((
            sessions::connection_id.eq(None::<String>),
            sessions::instance_id.eq(None::<String>),
            sessions::last_seen_at.eq(now()),
        ))
        .execute(conn)?;
    if let Some((p, r)) = pose {
        save_pose(conn, session_id, p, r)?;
    }
    Ok(())
}

/// Heartbeat of connected sessions `ids`, with their latest poses.
pub fn touch(conn: &mut DbConn, ids: &[i64]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::update(
        sessions::table
            .filter(sessions::id.eq_any(ids))
            .filter(sessions::left_at.is_null()),
    )
    .set(sessions::last_seen_at.eq(now()))
    .execute(conn)
}

/// Stores a session's last position and rotation.
pub fn save_pose(conn: &mut DbConn, session_id: i64, p: Vec3, r: Vec3) -> QueryResult<usize> {
    diesel::update(sessions::table.find(session_id))
        .set((
            sessions::pos_x.eq(p.x),
            sessions::pos_y.eq(p.y),
            sessions::pos_z.eq(p.z),
            sessions::rot_x.eq(r.x),
            sessions::rot_y.eq(r.y),
            sessions::rot_z.eq(r.z),
        ))
        .execute(conn)
}

/// Open sessions not seen since `before` (no socket and no heartbeat): at most `limit`.
pub fn stale(conn: &mut DbConn, before: NaiveDateTime, limit: i64) -> QueryResult<Vec<Session>> {
    sessions::table
        .filter(sessions::left_at.is_null())
        .filter(sessions::last_seen_at.lt(before))
        .order(sessions::last_seen_at.asc())
        .limit(limit)
        .select(Session::as_select())
        .load(conn)
}

/// Sessions as a request changes them.
pub mod requests {
    use super::*;

    /// Enters a world, in one transaction with the world row locked.
    pub async fn enter(
        db: &Db,
        caller: Caller,
        id: i64,
        input: impl Into<Body<EnterWrite>>,
    ) -> ApiResult<Entered> {
        let input = input.into();
        db.transaction(move |conn| super::enter(conn, &caller, id, input))
            .await
    }

    /// Leaves a world.
    pub async fn leave(db: &Db, caller: Caller, id: i64) -> ApiResult<Session> {
        db.transaction(move |conn| super::leave(conn, &caller, id))
            .await
    }
}
