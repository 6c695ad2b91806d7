//! Rows of the metaverse's tables, and the few queries every part shares.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use plaza_kernel::DbConn;

use crate::schema::{
    metaverse_avatars, metaverse_events, metaverse_instances, metaverse_objects,
    metaverse_sessions, metaverse_world_permissions, metaverse_worlds,
};
use crate::types::Vec3;

/// A world row.
#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = metaverse_worlds)]
pub struct World {
    /// Id.
    pub id: i64,
    /// Owner.
    pub owner_id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// `public`, `private`, `invite`.
    pub visibility: String,
    /// Cap on open sessions.
    pub max_users: i32,
    /// Scene URL.
    pub scene_url: String,
    /// JSON object.
    pub settings: String,
    /// Coordinate bound.
    pub bounds: f64,
    /// Attachment id.
    pub thumbnail_id: Option<i64>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Changed.
    pub updated_at: NaiveDateTime,
}

/// A new world.
#[derive(Debug, Insertable)]
#[diesel(table_name = metaverse_worlds)]
pub struct NewWorld<'a> {
    /// Owner.
    pub owner_id: i64,
    /// Name.
    pub name: &'a str,
    /// Description.
    pub description: &'a str,
    /// Visibility.
    pub visibility: &'a str,
    /// Cap.
    pub max_users: i32,
    /// Scene URL.
    pub scene_url: &'a str,
    /// JSON.
    pub settings: String,
    /// Bound.
    pub bounds: f64,
    /// Thumbnail.
    pub thumbnail_id: Option<i64>,
    /// Now.
    pub created_at: NaiveDateTime,
    /// Now.
    pub updated_at: NaiveDateTime,
}

/// A permission row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = metaverse_world_permissions)]
pub struct Permission {
    /// Id.
    pub id: i64,
    /// World.
    pub world_id: i64,
    /// User.
    pub user_id: i64,
    /// Role name.
    pub role: String,
    /// Granter.
    pub granted_by: Option<i64>,
    /// Granted.
    pub created_at: NaiveDateTime,
}

/// An avatar row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = metaverse_avatars)]
pub struct Avatar {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Name.
    pub name: String,
    /// Model.
    pub model_url: String,
    /// JSON.
    pub appearance: String,
    /// Default.
    pub is_default: bool,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Changed.
    pub updated_at: NaiveDateTime,
}

/// A session row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = metaverse_sessions)]
pub struct Session {
    /// Id.
    pub id: i64,
    /// World.
    pub world_id: i64,
    /// User.
    pub user_id: i64,
    /// Avatar.
    pub avatar_id: Option<i64>,
    /// Position.
    pub pos_x: f64,
    /// Position.
    pub pos_y: f64,
    /// Position.
    pub pos_z: f64,
    /// Rotation.
    pub rot_x: f64,
    /// Rotation.
    pub rot_y: f64,
    /// Rotation.
    pub rot_z: f64,
    /// The WebSocket connection's member id, while connected.
    pub connection_id: Option<String>,
    /// The process holding that connection.
    pub instance_id: Option<String>,
    /// Entered.
    pub entered_at: NaiveDateTime,
    /// Last heartbeat.
    pub last_seen_at: NaiveDateTime,
    /// Left.
    pub left_at: Option<NaiveDateTime>,
}

impl Session {
    /// Position.
    pub fn position(&self) -> Vec3 {
        Vec3::new(self.pos_x, self.pos_y, self.pos_z)
    }

    /// Rotation.
    pub fn rotation(&self) -> Vec3 {
        Vec3::new(self.rot_x, self.rot_y, self.rot_z)
    }
}

/// A catalogue object row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = metaverse_objects)]
pub struct Object {
    /// Id.
    pub id: i64,
    /// Creator.
    pub creator_id: i64,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Model.
    pub model_url: String,
    /// JSON.
    pub properties: String,
    /// Price.
    pub price: i64,
    /// Rarity.
    pub rarity: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Changed.
    pub updated_at: NaiveDateTime,
}

/// An instance row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = metaverse_instances)]
pub struct Instance {
    /// Id.
    pub id: i64,
    /// World.
    pub world_id: i64,
    /// Object.
    pub object_id: i64,
    /// Placer.
    pub placed_by: Option<i64>,
    /// Position.
    pub pos_x: f64,
    /// Position.
    pub pos_y: f64,
    /// Position.
    pub pos_z: f64,
    /// Rotation.
    pub rot_x: f64,
    /// Rotation.
    pub rot_y: f64,
    /// Rotation.
    pub rot_z: f64,
    /// Scale.
    pub scale_x: f64,
    /// Scale.
    pub scale_y: f64,
    /// Scale.
    pub scale_z: f64,
    /// JSON.
    pub state: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Changed.
    pub updated_at: NaiveDateTime,
}

/// An event row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = metaverse_events)]
pub struct Event {
    /// Id.
    pub id: i64,
    /// World.
    pub world_id: i64,
    /// Organiser.
    pub organizer_id: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Start.
    pub start_at: NaiveDateTime,
    /// End.
    pub end_at: NaiveDateTime,
    /// Capacity.
    pub max_participants: Option<i32>,
    /// Participants.
    pub participant_count: i32,
    /// When the reminder went out.
    pub reminded_at: Option<NaiveDateTime>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Changed.
    pub updated_at: NaiveDateTime,
}

/// World `id`.
pub fn find_world(conn: &mut DbConn, id: i64) -> QueryResult<Option<World>> {
    metaverse_worlds::table
        .find(id)
        .select(World::as_select())
        .first(conn)
        .optional()
}

/// World `id`, locked for the rest of the transaction: `FOR UPDATE` on MySQL; on SQLite the
/// transaction already holds the write lock (`BEGIN IMMEDIATE`, see the kernel's `Db`).
pub fn lock_world(conn: &mut DbConn, id: i64) -> QueryResult<Option<World>> {
    match conn {
        DbConn::Mysql(c) => metaverse_worlds::table
            .find(id)
            .select(World::as_select())
            .for_update()
            .first(c)
            .optional(),
        DbConn::Sqlite(_) => find_world(conn, id),
    }
}

/// Event `id`, locked like [`lock_world`].
pub fn lock_event(conn: &mut DbConn, id: i64) -> QueryResult<Option<Event>> {
    match conn {
        DbConn::Mysql(c) => metaverse_events::table
            .find(id)
            .select(Event::as_select())
            .for_update()
            .first(c)
            .optional(),
        DbConn::Sqlite(_) => metaverse_events::table
            .find(id)
            .select(Event::as_select())
            .first(conn)
            .optional(),
    }
}

/// The role rows of `user_id` in `world_ids`, in one query.
pub fn roles_in(
    conn: &mut DbConn,
    user_id: i64,
    world_ids: &[i64],
) -> QueryResult<Vec<(i64, String)>> {
    if world_ids.is_empty() {
        return Ok(Vec::new());
    }
    metaverse_world_permissions::table
        .filter(metaverse_world_permissions::user_id.eq(user_id))
        .filter(metaverse_world_permissions::world_id.eq_any(world_ids))
        .select((
            metaverse_world_permissions::world_id,
            metaverse_world_permissions::role,
        ))
        .load(conn)
}

/// Open sessions per world of `world_ids`, in one grouped query.
pub fn user_counts(conn: &mut DbConn, world_ids: &[i64]) -> QueryResult<Vec<(i64, i64)>> {
    if world_ids.is_empty() {
        return Ok(Vec::new());
    }
    metaverse_sessions::table
        .filter(metaverse_sessions::world_id.eq_any(world_ids))
        .filter(metaverse_sessions::left_at.is_null())
        .group_by(metaverse_sessions::world_id)
        .select((metaverse_sessions::world_id, diesel::dsl::count_star()))
        .load(conn)
}
