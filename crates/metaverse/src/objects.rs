//! The object catalogue (anyone reads; signed-in users create; the creator or staff change)
//! and instances of objects placed in worlds (builders and up place, move and remove them).

use diesel::prelude::*;
use plaza_kernel::db::{like, MultiBackend};
use plaza_kernel::pagination::parse_ordering;
use plaza_kernel::time::{now, utc};
use plaza_kernel::{ApiError, ApiResult, Body, Caller, Db, DbConn, Page, PageRequest};

use crate::access::{self, Level};
use crate::model::{Instance, Object};
use crate::schema::{metaverse_instances as instances, metaverse_objects as objects};
use crate::types::{
    InstanceOut, InstancePatch, InstanceWrite, ObjectOut, ObjectPatch, ObjectQuery, ObjectWrite,
    Rarity, Vec3, SCALE_MAX,
};
use crate::worlds::parse_json;

/// Fields `?ordering=` accepts on the catalogue.
pub const OBJECT_ORDERING: &[&str] = &["created_at", "name", "price"];

fn present(o: Object) -> ObjectOut {
    ObjectOut {
        id: o.id,
        creator_id: o.creator_id,
        name: o.name,
        kind: o.kind,
        model_url: o.model_url,
        properties: parse_json(&o.properties),
        price: o.price,
        rarity: Rarity::parse(&o.rarity),
        created_at: utc(o.created_at),
        updated_at: utc(o.updated_at),
    }
}

fn object_not_found() -> ApiError {
    ApiError::not_found("Object not found.")
}

fn find(conn: &mut DbConn, id: i64) -> ApiResult<Object> {
    objects::table
        .find(id)
        .select(Object::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(object_not_found)
}

/// A page of the catalogue.
pub fn list(
    conn: &mut DbConn,
    query: &ObjectQuery,
    page: PageRequest,
) -> ApiResult<Page<ObjectOut>> {
    let ordering = parse_ordering(query.ordering.as_deref(), OBJECT_ORDERING)?;
    let search = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(like::contains);
    let filtered = || {
        let mut q = objects::table.into_boxed::<MultiBackend>();
        if let Some(kind) = query.kind.as_deref() {
            q = q.filter(objects::kind.eq(kind.trim().to_owned()));
        }
        if let Some(rarity) = query.rarity {
            q = q.filter(objects::rarity.eq(rarity.as_str()));
        }
        if let Some(creator) = query.creator {
            q = q.filter(objects::creator_id.eq(creator));
        }
        if let Some(pattern) = &search {
            q = q.filter(objects::name.like(pattern.clone()).escape(like::ESCAPE));
        }
        q
    };
    let count: i64 = filtered().count().get_result(conn)?;
    page.paginate(count, |window| {
        let mut q = filtered();
        let descending_first = ordering.first().is_none_or(|o| o.descending);
        if ordering.is_empty() {
            q = q.order(objects::created_at.desc());
        }
        for o in &ordering {
            q = match (o.field, o.descending) {
                ("name", false) => q.then_order_by(objects::name.asc()),
                ("name", true) => q.then_order_by(objects::name.desc()),
                ("price", false) => q.then_order_by(objects::price.asc()),
                ("price", true) => q.then_order_by(objects::price.desc()),
                (_, false) => q.then_order_by(objects::created_at.asc()),
                (_, true) => q.then_order_by(objects::created_at.desc()),
            };
        }
        q = if descending_first {
            q.then_order_by(objects::id.desc())
        } else {
            q.then_order_by(objects::id.asc())
        };
        Ok(q.select(Object::as_select())
            .limit(window.limit)
            .offset(window.offset)
            .load(conn)?
            .into_iter()
            .map(present)
            .collect())
    })
}

/// One catalogue object.
pub fn get(conn: &mut DbConn, id: i64) -> ApiResult<ObjectOut> {
    find(conn, id).map(present)
}

/// Adds an object to the catalogue.
pub fn create(conn: &mut DbConn, caller: &Caller, input: &ObjectWrite) -> ApiResult<ObjectOut> {
    let at = now();
    diesel::insert_into(objects::table)
        .values((
            objects::creator_id.eq(caller.id),
            objects::name.eq(input.name.trim()),
            objects::kind.eq(input.kind.trim()),
            objects::model_url.eq(input.model_url.trim()),
            objects::properties.eq(input.properties.to_string()),
            objects::price.eq(input.price),
            objects::rarity.eq(input.rarity.as_str()),
            objects::created_at.eq(at),
            objects::updated_at.eq(at),
        ))
        .execute(conn)?;
    let id = plaza_kernel::db::last_insert_id(conn)?;
    get(conn, id)
}

fn ensure_can_change(caller: &Caller, object: &Object) -> ApiResult<()> {
    if caller.is(object.creator_id) || caller.is_staff() {
        Ok(())
    } else {
        Err(ApiError::permission_denied(
            "Only the creator or staff may change this object.",
        ))
    }
}

/// Changes a catalogue object (creator or staff).
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    patch: impl Into<Body<ObjectPatch>>,
) -> ApiResult<ObjectOut> {
    let object = find(conn, id)?;
    ensure_can_change(caller, &object)?;
    let patch = &patch.into().parse()?;
    diesel::update(objects::table.find(id))
        .set((
            patch
                .name
                .as_deref()
                .map(|v| objects::name.eq(v.trim().to_owned())),
            patch
                .kind
                .as_deref()
                .map(|v| objects::kind.eq(v.trim().to_owned())),
            patch
                .model_url
                .as_deref()
                .map(|v| objects::model_url.eq(v.trim().to_owned())),
            patch
                .properties
                .as_ref()
                .map(|v| objects::properties.eq(v.to_string())),
            patch.price.map(|v| objects::price.eq(v)),
            patch.rarity.map(|v| objects::rarity.eq(v.as_str())),
            objects::updated_at.eq(now()),
        ))
        .execute(conn)?;
    get(conn, id)
}

/// Removes a catalogue object and its instances (creator or staff).
pub fn delete(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    let object = find(conn, id)?;
    ensure_can_change(caller, &object)?;
    diesel::delete(objects::table.find(id)).execute(conn)?;
    Ok(())
}

/// An instance as shown.
pub fn present_instance(i: &Instance) -> InstanceOut {
    InstanceOut {
        id: i.id,
        world_id: i.world_id,
        object_id: i.object_id,
        placed_by: i.placed_by,
        position: Vec3::new(i.pos_x, i.pos_y, i.pos_z),
        rotation: Vec3::new(i.rot_x, i.rot_y, i.rot_z),
        scale: Vec3::new(i.scale_x, i.scale_y, i.scale_z),
        state: parse_json(&i.state),
        created_at: utc(i.created_at),
        updated_at: utc(i.updated_at),
    }
}

fn instance_not_found() -> ApiError {
    ApiError::not_found("Instance not found.")
}

/// Every error of a pose at once: positions within the world's bounds, scales in (0, 1000].
fn check_pose(bounds: f64, position: Option<&Vec3>, scale: Option<&Vec3>) -> ApiResult<()> {
    let mut errors = plaza_kernel::error::FieldErrors::new();
    if let Some(p) = position {
        if !p.within(bounds) {
            errors.insert(
                "position".to_owned(),
                vec![format!(
                    "Each coordinate must lie within ±{bounds} (the world's bounds)."
                )],
            );
        }
    }
    if let Some(s) = scale {
        if ![s.x, s.y, s.z].iter().all(|v| *v > 0.0 && *v <= SCALE_MAX) {
            errors.insert(
                "scale".to_owned(),
                vec![format!(
                    "Each scale factor must be above 0 and at most {SCALE_MAX}."
                )],
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// The instances of world `id`, oldest first.
pub fn list_instances(
    conn: &mut DbConn,
    caller: Option<&Caller>,
    id: i64,
    page: PageRequest,
) -> ApiResult<Page<InstanceOut>> {
    access::visible(conn, id, caller)?;
    let count: i64 = instances::table
        .filter(instances::world_id.eq(id))
        .count()
        .get_result(conn)?;
    page.paginate(count, |window| {
        Ok(instances::table
            .filter(instances::world_id.eq(id))
            .order(instances::id.asc())
            .select(Instance::as_select())
            .limit(window.limit)
            .offset(window.offset)
            .load(conn)?
            .into_iter()
            .map(|i| present_instance(&i))
            .collect())
    })
}

/// Places an object in world `id` (builders and up).
pub fn place(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    input: impl Into<Body<InstanceWrite>>,
) -> ApiResult<InstanceOut> {
    let access = access::visible(conn, id, Some(caller))?;
    access.require(Level::Builder, "place objects")?;
    let input = &input.into().parse()?;
    check_pose(
        access.world.bounds,
        Some(&input.position),
        Some(&input.scale),
    )?;
    let exists: i64 = objects::table
        .filter(objects::id.eq(input.object_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        return Err(ApiError::invalid_field(
            "object_id",
            "No object with this id.",
        ));
    }
    let at = now();
    let (p, r, s) = (input.position, input.rotation, input.scale);
    diesel::insert_into(instances::table)
        .values((
            instances::world_id.eq(id),
            instances::object_id.eq(input.object_id),
            instances::placed_by.eq(Some(caller.id)),
            (
                instances::pos_x.eq(p.x),
                instances::pos_y.eq(p.y),
                instances::pos_z.eq(p.z),
            ),
            (
                instances::rot_x.eq(r.x),
                instances::rot_y.eq(r.y),
                instances::rot_z.eq(r.z),
            ),
            (
                instances::scale_x.eq(s.x),
                instances::scale_y.eq(s.y),
                instances::scale_z.eq(s.z),
            ),
            instances::state.eq(input.state.to_string()),
            instances::created_at.eq(at),
            instances::updated_at.eq(at),
        ))
        .execute(conn)?;
    let new_id = plaza_kernel::db::last_insert_id(conn)?;
    find_instance(conn, new_id).map(|i| present_instance(&i))
}

fn find_instance(conn: &mut DbConn, id: i64) -> ApiResult<Instance> {
    instances::table
        .find(id)
        .select(Instance::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(instance_not_found)
}

/// Instance `id` and the caller's access to its world: 404 when the world is not visible.
fn instance_access(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
) -> ApiResult<(Instance, access::Access)> {
    let instance = find_instance(conn, id)?;
    let access =
        access::visible(conn, instance.world_id, Some(caller)).map_err(|_| instance_not_found())?;
    Ok((instance, access))
}

/// One instance.
pub fn get_instance(conn: &mut DbConn, caller: Option<&Caller>, id: i64) -> ApiResult<InstanceOut> {
    let instance = find_instance(conn, id)?;
    access::visible(conn, instance.world_id, caller).map_err(|_| instance_not_found())?;
    Ok(present_instance(&instance))
}

/// Moves or changes an instance (builders and up in its world).
pub fn update_instance(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    patch: impl Into<Body<InstancePatch>>,
) -> ApiResult<InstanceOut> {
    let (_, access) = instance_access(conn, caller, id)?;
    access.require(Level::Builder, "move objects")?;
    let patch = &patch.into().parse()?;
    check_pose(
        access.world.bounds,
        patch.position.as_ref(),
        patch.scale.as_ref(),
    )?;
    let (p, r, s) = (patch.position, patch.rotation, patch.scale);
    diesel::update(instances::table.find(id))
        .set((
            p.map(|p| {
                (
                    instances::pos_x.eq(p.x),
                    instances::pos_y.eq(p.y),
                    instances::pos_z.eq(p.z),
                )
            }),
            r.map(|r| {
                (
                    instances::rot_x.eq(r.x),
                    instances::rot_y.eq(r.y),
                    instances::rot_z.eq(r.z),
                )
            }),
            s.map(|s| {
                (
                    instances::scale_x.eq(s.x),
                    instances::scale_y.eq(s.y),
                    instances::scale_z.eq(s.z),
                )
            }),
            patch
                .state
                .as_ref()
                .map(|v| instances::state.eq(v.to_string())),
            instances::updated_at.eq(now()),
        ))
        .execute(conn)?;
    find_instance(conn, id).map(|i| present_instance(&i))
}

/// Removes an instance (builders and up in its world); returns it as it was.
pub fn delete_instance(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<Instance> {
    let (instance, access) = instance_access(conn, caller, id)?;
    access.require(Level::Builder, "remove objects")?;
    diesel::delete(instances::table.find(id)).execute(conn)?;
    Ok(instance)
}

/// Catalogue and instance writes as a request makes them.
pub mod requests {
    use super::*;

    /// Adds to the catalogue.
    pub async fn create(db: &Db, caller: Caller, input: ObjectWrite) -> ApiResult<ObjectOut> {
        db.transaction(move |conn| super::create(conn, &caller, &input))
            .await
    }

    /// Changes a catalogue object.
    pub async fn update(
        db: &Db,
        caller: Caller,
        id: i64,
        patch: impl Into<Body<ObjectPatch>>,
    ) -> ApiResult<ObjectOut> {
        let patch = patch.into();
        db.transaction(move |conn| super::update(conn, &caller, id, patch))
            .await
    }

    /// Removes a catalogue object.
    pub async fn delete(db: &Db, caller: Caller, id: i64) -> ApiResult<()> {
        db.transaction(move |conn| super::delete(conn, &caller, id))
            .await
    }

    /// Places an instance.
    pub async fn place(
        db: &Db,
        caller: Caller,
        world_id: i64,
        input: impl Into<Body<InstanceWrite>>,
    ) -> ApiResult<InstanceOut> {
        let input = input.into();
        db.transaction(move |conn| super::place(conn, &caller, world_id, input))
            .await
    }

    /// Changes an instance.
    pub async fn update_instance(
        db: &Db,
        caller: Caller,
        id: i64,
        patch: impl Into<Body<InstancePatch>>,
    ) -> ApiResult<InstanceOut> {
        let patch = patch.into();
        db.transaction(move |conn| super::update_instance(conn, &caller, id, patch))
            .await
    }

    /// Removes an instance.
    pub async fn delete_instance(db: &Db, caller: Caller, id: i64) -> ApiResult<Instance> {
        db.transaction(move |conn| super::delete_instance(conn, &caller, id))
            .await
    }
}
