//! What staff see of the metaverse that the API shows only to its owners: every user's
//! avatars and every world's placed instances, for the console. Each page is a count and a
//! page of rows on the primary key (or the `(user_id, created_at)` index for one user's).

use diesel::prelude::*;
use plaza_kernel::db::{like, DbConn, MultiBackend};
use plaza_kernel::{ApiError, ApiResult, Caller, Page, PageRequest};

use crate::model::{Avatar, Instance};
use crate::schema::{
    metaverse_avatars as avatars, metaverse_instances as instances, metaverse_objects as objects,
    metaverse_worlds as worlds,
};

/// Every user's avatars, newest first: those whose name contains `search`.
pub fn avatars(
    conn: &mut DbConn,
    search: Option<&str>,
    page: PageRequest,
) -> ApiResult<Page<Avatar>> {
    let query = || {
        let mut query = avatars::table.into_boxed::<MultiBackend>();
        if let Some(search) = search {
            query = query.filter(
                avatars::name
                    .like(like::contains(search))
                    .escape(like::ESCAPE),
            );
        }
        query
    };
    let count: i64 = query().count().get_result(conn)?;
    page.paginate(count, |w| {
        Ok(query()
            .order(avatars::id.desc())
            .limit(w.limit)
            .offset(w.offset)
            .select(Avatar::as_select())
            .load(conn)?)
    })
}

/// One avatar, whoever owns it.
pub fn avatar(conn: &mut DbConn, id: i64) -> ApiResult<Avatar> {
    avatars::table
        .find(id)
        .select(Avatar::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("Avatar not found."))
}

/// Deletes anyone's avatar (moderators): as its owner's deletion does, the owner's oldest
/// remaining avatar becomes the default; sessions wearing it continue without one.
pub fn delete_avatar(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.require_moderator()?;
    let avatar = avatar(conn, id)?;
    crate::avatars::remove(conn, &avatar)
}

/// Every placed instance, newest first, optionally one world's.
pub fn instances(
    conn: &mut DbConn,
    world: Option<i64>,
    page: PageRequest,
) -> ApiResult<Page<Instance>> {
    let query = || {
        let mut query = instances::table.into_boxed::<MultiBackend>();
        if let Some(world) = world {
            query = query.filter(instances::world_id.eq(world));
        }
        query
    };
    let count: i64 = query().count().get_result(conn)?;
    page.paginate(count, |w| {
        Ok(query()
            .order(instances::id.desc())
            .limit(w.limit)
            .offset(w.offset)
            .select(Instance::as_select())
            .load(conn)?)
    })
}

/// One instance, in any world.
pub fn instance(conn: &mut DbConn, id: i64) -> ApiResult<Instance> {
    instances::table
        .find(id)
        .select(Instance::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("Instance not found."))
}

/// The names of worlds `world_ids` and of objects `object_ids`: two statements on primary
/// keys, for a page of instances.
pub fn names(
    conn: &mut DbConn,
    world_ids: &[i64],
    object_ids: &[i64],
) -> QueryResult<(
    std::collections::HashMap<i64, String>,
    std::collections::HashMap<i64, String>,
)> {
    let worlds = worlds::table
        .filter(worlds::id.eq_any(world_ids))
        .select((worlds::id, worlds::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let objects = objects::table
        .filter(objects::id.eq_any(object_ids))
        .select((objects::id, objects::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    Ok((worlds, objects))
}
