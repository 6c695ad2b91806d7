//! Worlds and their permissions: the rules, callable without HTTP. Sync functions take
//! `&mut DbConn`; the async ones at the end pick their transaction.
//!
//! Lists run a fixed number of queries whatever the page size: the count, the page, then one
//! batch each for owners, the caller's roles and the user counts.

use std::collections::HashMap;

use diesel::prelude::*;
use plaza_kernel::db::{like, MultiBackend};
use plaza_kernel::pagination::{parse_ordering, OrderBy};
use plaza_kernel::syslog::{self, Level as LogLevel};
use plaza_kernel::time::{now, utc};
use plaza_kernel::{ApiError, ApiResult, Body, Caller, Db, DbConn, Page, PageRequest};
use plaza_users::Author;

use crate::access::{self, Access, Level};
use crate::model::{self, NewWorld, Permission, World};
use crate::schema::{metaverse_world_permissions as perms, metaverse_worlds as worlds};
use crate::types::{
    empty_object, PermissionOut, PermissionWrite, Visibility, WorldOut, WorldPatch, WorldQuery,
    WorldRole, WorldWrite,
};

/// Fields `?ordering=` accepts on the world list (each has an index).
pub const WORLD_ORDERING: &[&str] = &["created_at", "updated_at", "name"];

/// A stored JSON object, or `{}` when unreadable.
pub(crate) fn parse_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| empty_object())
}

pub(crate) fn author(authors: &HashMap<i64, Author>, id: i64) -> Author {
    authors.get(&id).cloned().unwrap_or(Author {
        id,
        username: String::new(),
        avatar: None,
    })
}

/// Worlds as shown to `caller`, in three batch queries.
fn present(
    conn: &mut DbConn,
    rows: Vec<World>,
    caller: Option<&Caller>,
) -> ApiResult<Vec<WorldOut>> {
    let ids: Vec<i64> = rows.iter().map(|w| w.id).collect();
    let owners: Vec<i64> = rows.iter().map(|w| w.owner_id).collect();
    let authors = plaza_users::authors_by_id(conn, &owners)?;
    let counts: HashMap<i64, i64> = model::user_counts(conn, &ids)?.into_iter().collect();
    let roles: HashMap<i64, String> = match caller {
        Some(c) => model::roles_in(conn, c.id, &ids)?.into_iter().collect(),
        None => HashMap::new(),
    };
    Ok(rows
        .into_iter()
        .map(|w| {
            let my_role = match caller {
                Some(c) if c.is(w.owner_id) => Some("owner".to_owned()),
                _ => roles.get(&w.id).cloned(),
            };
            WorldOut {
                owner: author(&authors, w.owner_id),
                user_count: counts.get(&w.id).copied().unwrap_or(0),
                my_role,
                id: w.id,
                name: w.name,
                description: w.description,
                visibility: Visibility::parse(&w.visibility),
                max_users: w.max_users,
                scene_url: w.scene_url,
                settings: parse_json(&w.settings),
                bounds: w.bounds,
                thumbnail: w.thumbnail_id,
                created_at: utc(w.created_at),
                updated_at: utc(w.updated_at),
            }
        })
        .collect())
}

fn present_one(conn: &mut DbConn, world: World, caller: Option<&Caller>) -> ApiResult<WorldOut> {
    present(conn, vec![world], caller)?
        .pop()
        .ok_or_else(access::world_not_found)
}

/// A page of the worlds `caller` may see.
pub fn list(
    conn: &mut DbConn,
    caller: Option<&Caller>,
    query: &WorldQuery,
    page: PageRequest,
) -> ApiResult<Page<WorldOut>> {
    let ordering = parse_ordering(query.ordering.as_deref(), WORLD_ORDERING)?;
    let search = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(like::contains);
    let viewer = caller.map(|c| (c.id, c.is_staff()));
    let filtered = || {
        let mut q = worlds::table.into_boxed::<MultiBackend>();
        match viewer {
            Some((_, true)) => {}
            Some((id, false)) => {
                q = q.filter(
                    worlds::visibility
                        .ne(Visibility::Private.as_str())
                        .or(worlds::owner_id.eq(id))
                        .or(worlds::id.eq_any(
                            perms::table
                                .filter(perms::user_id.eq(id))
                                .select(perms::world_id),
                        )),
                );
            }
            None => q = q.filter(worlds::visibility.ne(Visibility::Private.as_str())),
        }
        if let Some(owner) = query.owner {
            q = q.filter(worlds::owner_id.eq(owner));
        }
        if let Some(v) = query.visibility {
            q = q.filter(worlds::visibility.eq(v.as_str()));
        }
        if let Some(pattern) = &search {
            q = q.filter(
                worlds::name
                    .like(pattern.clone())
                    .escape(like::ESCAPE)
                    .or(worlds::description
                        .like(pattern.clone())
                        .escape(like::ESCAPE)),
            );
        }
        q
    };
    let count: i64 = filtered().count().get_result(conn)?;
    page.paginate(count, |window| {
        let rows: Vec<World> = order(filtered(), &ordering)
            .select(World::as_select())
            .limit(window.limit)
            .offset(window.offset)
            .load(conn)?;
        present(conn, rows, caller)
    })
}

fn order<'a>(
    mut q: worlds::BoxedQuery<'a, MultiBackend>,
    ordering: &[OrderBy],
) -> worlds::BoxedQuery<'a, MultiBackend> {
    let default = [OrderBy {
        field: "created_at",
        descending: true,
    }];
    let ordering = if ordering.is_empty() {
        &default[..]
    } else {
        ordering
    };
    for o in ordering {
        q = match (o.field, o.descending) {
            ("updated_at", false) => q.then_order_by(worlds::updated_at.asc()),
            ("updated_at", true) => q.then_order_by(worlds::updated_at.desc()),
            ("name", false) => q.then_order_by(worlds::name.asc()),
            ("name", true) => q.then_order_by(worlds::name.desc()),
            (_, false) => q.then_order_by(worlds::created_at.asc()),
            (_, true) => q.then_order_by(worlds::created_at.desc()),
        };
    }
    if ordering[0].descending {
        q.then_order_by(worlds::id.desc())
    } else {
        q.then_order_by(worlds::id.asc())
    }
}

/// One world, as `caller` sees it (404 when private to others).
pub fn get(conn: &mut DbConn, id: i64, caller: Option<&Caller>) -> ApiResult<WorldOut> {
    let access = access::visible(conn, id, caller)?;
    present_one(conn, access.world, caller)
}

/// 400 on `thumbnail` unless it is an attachment the caller may read (plaza-core decides).
fn check_thumbnail(conn: &mut DbConn, caller: &Caller, id: Option<i64>) -> ApiResult<()> {
    if let Some(id) = id {
        plaza_core::attachments::service::get_visible(conn, id, Some(caller)).map_err(|_| {
            ApiError::invalid_field("thumbnail", "No attachment with this id that you may use.")
        })?;
    }
    Ok(())
}

/// Creates a world owned by the caller.
pub fn create(conn: &mut DbConn, caller: &Caller, input: &WorldWrite) -> ApiResult<WorldOut> {
    check_thumbnail(conn, caller, input.thumbnail)?;
    let at = now();
    diesel::insert_into(worlds::table)
        .values(&NewWorld {
            owner_id: caller.id,
            name: input.name.trim(),
            description: &input.description,
            visibility: input.visibility.as_str(),
            max_users: input.max_users,
            scene_url: input.scene_url.trim(),
            settings: input.settings.to_string(),
            bounds: input.bounds,
            thumbnail_id: input.thumbnail,
            created_at: at,
            updated_at: at,
        })
        .execute(conn)?;
    let id = plaza_kernel::db::last_insert_id(conn)?;
    let world = model::find_world(conn, id)?.ok_or_else(access::world_not_found)?;
    present_one(conn, world, Some(caller))
}

/// Changes a world (its admins, owner, staff).
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    patch: impl Into<Body<WorldPatch>>,
) -> ApiResult<WorldOut> {
    let access = access::locked(conn, id, caller)?;
    access.require(Level::Admin, "change the settings")?;
    let patch = &patch.into().parse()?;
    if let Some(thumbnail) = patch.thumbnail {
        if thumbnail != access.world.thumbnail_id {
            check_thumbnail(conn, caller, thumbnail)?;
        }
    }
    diesel::update(worlds::table.find(id))
        .set((
            patch
                .name
                .as_deref()
                .map(|v| worlds::name.eq(v.trim().to_owned())),
            patch.description.clone().map(|v| worlds::description.eq(v)),
            patch.visibility.map(|v| worlds::visibility.eq(v.as_str())),
            patch.max_users.map(|v| worlds::max_users.eq(v)),
            patch
                .scene_url
                .as_deref()
                .map(|v| worlds::scene_url.eq(v.trim().to_owned())),
            patch
                .settings
                .as_ref()
                .map(|v| worlds::settings.eq(v.to_string())),
            patch.bounds.map(|v| worlds::bounds.eq(v)),
            patch.thumbnail.map(|v| worlds::thumbnail_id.eq(v)),
            worlds::updated_at.eq(now()),
        ))
        .execute(conn)?;
    let world = model::find_world(conn, id)?.ok_or_else(access::world_not_found)?;
    present_one(conn, world, Some(caller))
}

/// Deletes a world with everything in it (owner or staff).
pub fn delete(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    let access = access::locked(conn, id, caller)?;
    access.require(Level::Owner, "delete the world")?;
    diesel::delete(worlds::table.find(id)).execute(conn)?;
    if !caller.is(access.world.owner_id) {
        syslog::record(
            conn,
            &syslog::Event::new(
                LogLevel::Info,
                "metaverse",
                "world_deleted_by_staff",
                format!(
                    "{} deleted world {id} of user {}",
                    caller.username, access.world.owner_id
                ),
            )
            .user(caller.id)
            .data(serde_json::json!({"world_id": id, "owner_id": access.world.owner_id})),
        )?;
    }
    Ok(())
}

fn present_permissions(conn: &mut DbConn, rows: Vec<Permission>) -> ApiResult<Vec<PermissionOut>> {
    let ids: Vec<i64> = rows.iter().map(|p| p.user_id).collect();
    let authors = plaza_users::authors_by_id(conn, &ids)?;
    Ok(rows
        .into_iter()
        .filter_map(|p| {
            Some(PermissionOut {
                role: WorldRole::parse(&p.role)?,
                user: author(&authors, p.user_id),
                granted_by: p.granted_by,
                created_at: utc(p.created_at),
            })
        })
        .collect())
}

/// The permissions of a world (its moderators and up).
pub fn list_permissions(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    page: PageRequest,
) -> ApiResult<Page<PermissionOut>> {
    let access = access::visible(conn, id, Some(caller))?;
    access.require(Level::Moderator, "see the permissions")?;
    let count: i64 = perms::table
        .filter(perms::world_id.eq(id))
        .count()
        .get_result(conn)?;
    page.paginate(count, |window| {
        let rows: Vec<Permission> = perms::table
            .filter(perms::world_id.eq(id))
            .order(perms::id.asc())
            .select(Permission::as_select())
            .limit(window.limit)
            .offset(window.offset)
            .load(conn)?;
        present_permissions(conn, rows)
    })
}

/// Grants (or changes) a permission. Admins grant up to moderator; the owner and staff grant
/// `admin` and change admins.
pub fn grant(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    input: impl Into<Body<PermissionWrite>>,
) -> ApiResult<(PermissionOut, bool)> {
    let access = access::locked(conn, id, caller)?;
    access.require(Level::Admin, "grant permissions")?;
    let input = &input.into().parse()?;
    if plaza_users::authors_by_id(conn, &[input.user_id])?.is_empty() {
        return Err(ApiError::invalid_field("user_id", "No user with this id."));
    }
    if input.user_id == access.world.owner_id {
        return Err(ApiError::invalid_field(
            "user_id",
            "The owner holds every right already.",
        ));
    }
    let existing: Option<Permission> = perms::table
        .filter(perms::world_id.eq(id))
        .filter(perms::user_id.eq(input.user_id))
        .select(Permission::as_select())
        .first(conn)
        .optional()?;
    let touches_admin = input.role == WorldRole::Admin
        || existing
            .as_ref()
            .is_some_and(|p| p.role == WorldRole::Admin.as_str());
    if touches_admin && !access.at_least(Level::Owner) {
        return Err(ApiError::permission_denied(
            "Only the owner may grant or change the admin role.",
        ));
    }
    let created = existing.is_none();
    match existing {
        Some(p) => {
            diesel::update(perms::table.find(p.id))
                .set((
                    perms::role.eq(input.role.as_str()),
                    perms::granted_by.eq(Some(caller.id)),
                ))
                .execute(conn)?;
        }
        None => {
            diesel::insert_into(perms::table)
                .values((
                    perms::world_id.eq(id),
                    perms::user_id.eq(input.user_id),
                    perms::role.eq(input.role.as_str()),
                    perms::granted_by.eq(Some(caller.id)),
                    perms::created_at.eq(now()),
                ))
                .execute(conn)?;
        }
    }
    syslog::record(
        conn,
        &syslog::Event::new(
            LogLevel::Info,
            "metaverse",
            "world_permission_granted",
            format!(
                "{} granted {} in world {id} to user {}",
                caller.username,
                input.role.as_str(),
                input.user_id
            ),
        )
        .user(caller.id)
        .data(serde_json::json!({"world_id": id, "user_id": input.user_id, "role": input.role.as_str()})),
    )?;
    let row: Permission = perms::table
        .filter(perms::world_id.eq(id))
        .filter(perms::user_id.eq(input.user_id))
        .select(Permission::as_select())
        .first(conn)?;
    let out = present_permissions(conn, vec![row])?
        .pop()
        .ok_or_else(|| ApiError::internal("permission vanished"))?;
    Ok((out, created))
}

/// Revokes a permission (admins; only the owner and staff revoke an admin).
pub fn revoke(conn: &mut DbConn, caller: &Caller, id: i64, user_id: i64) -> ApiResult<()> {
    let access = access::locked(conn, id, caller)?;
    access.require(Level::Admin, "revoke permissions")?;
    let existing: Permission = perms::table
        .filter(perms::world_id.eq(id))
        .filter(perms::user_id.eq(user_id))
        .select(Permission::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("This user holds no permission in this world."))?;
    if existing.role == WorldRole::Admin.as_str() && !access.at_least(Level::Owner) {
        return Err(ApiError::permission_denied(
            "Only the owner may revoke an admin.",
        ));
    }
    diesel::delete(perms::table.find(existing.id)).execute(conn)?;
    syslog::record(
        conn,
        &syslog::Event::new(
            LogLevel::Info,
            "metaverse",
            "world_permission_revoked",
            format!(
                "{} revoked {} in world {id} from user {user_id}",
                caller.username, existing.role
            ),
        )
        .user(caller.id)
        .data(serde_json::json!({"world_id": id, "user_id": user_id, "role": existing.role})),
    )?;
    Ok(())
}

/// The caller's access to world `id` for a write (404 when it may not see it).
pub fn access_for(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<Access> {
    access::visible(conn, id, Some(caller))
}

/// Worlds as a request changes them: each write is one transaction.
pub mod requests {
    use super::*;

    /// Creates a world.
    pub async fn create(db: &Db, caller: Caller, input: WorldWrite) -> ApiResult<WorldOut> {
        db.transaction(move |conn| super::create(conn, &caller, &input))
            .await
    }

    /// Changes a world.
    pub async fn update(
        db: &Db,
        caller: Caller,
        id: i64,
        patch: impl Into<Body<WorldPatch>>,
    ) -> ApiResult<WorldOut> {
        let patch = patch.into();
        db.transaction(move |conn| super::update(conn, &caller, id, patch))
            .await
    }

    /// Deletes a world.
    pub async fn delete(db: &Db, caller: Caller, id: i64) -> ApiResult<()> {
        db.transaction(move |conn| super::delete(conn, &caller, id))
            .await
    }

    /// Grants a permission; `true` when it is new.
    pub async fn grant(
        db: &Db,
        caller: Caller,
        id: i64,
        input: impl Into<Body<PermissionWrite>>,
    ) -> ApiResult<(PermissionOut, bool)> {
        let input = input.into();
        db.transaction(move |conn| super::grant(conn, &caller, id, input))
            .await
    }

    /// Revokes a permission.
    pub async fn revoke(db: &Db, caller: Caller, id: i64, user_id: i64) -> ApiResult<()> {
        db.transaction(move |conn| super::revoke(conn, &caller, id, user_id))
            .await
    }
}
