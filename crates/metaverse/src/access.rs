//! Who may do what in a world.
//!
//! A caller's *level* in a world is the strongest of: the owner (every right), site staff (as
//! the owner), and the role a permission row gives them (visitor < builder < moderator <
//! admin). Public and invite worlds are readable by anyone; private worlds only by callers with
//! a level there. Public worlds admit every signed-in user; private and invite worlds only
//! those with a level (a permission of any role, the owner, staff).

use plaza_kernel::{ApiError, ApiResult, Caller, DbConn};

use crate::model::{self, World};
use crate::types::{Visibility, WorldRole};

/// A caller's strength in one world, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Holds `visitor`.
    Visitor,
    /// Holds `builder`.
    Builder,
    /// Holds `moderator`.
    Moderator,
    /// Holds `admin`.
    Admin,
    /// Owns the world (or is site staff).
    Owner,
}

impl From<WorldRole> for Level {
    fn from(role: WorldRole) -> Self {
        match role {
            WorldRole::Visitor => Self::Visitor,
            WorldRole::Builder => Self::Builder,
            WorldRole::Moderator => Self::Moderator,
            WorldRole::Admin => Self::Admin,
        }
    }
}

/// A world with what the caller may do in it.
#[derive(Clone, Debug)]
pub struct Access {
    /// The world.
    pub world: World,
    /// The caller's level, if any.
    pub level: Option<Level>,
    /// The caller's own role as shown (`owner` or a permission's role), staff aside.
    pub role_name: Option<&'static str>,
}

impl Access {
    /// The world's visibility.
    pub fn visibility(&self) -> Visibility {
        Visibility::parse(&self.world.visibility)
    }

    /// The caller may read the world and what is in it.
    pub fn can_see(&self) -> bool {
        self.visibility() != Visibility::Private || self.level.is_some()
    }

    /// The caller may enter.
    pub fn can_enter(&self) -> bool {
        self.visibility() == Visibility::Public || self.level.is_some()
    }

    /// The caller holds at least `level`.
    pub fn at_least(&self, level: Level) -> bool {
        self.level.is_some_and(|l| l >= level)
    }

    /// 403 unless the caller holds at least `level` (`what` names the action).
    pub fn require(&self, level: Level, what: &str) -> ApiResult<()> {
        if self.at_least(level) {
            Ok(())
        } else {
            Err(ApiError::permission_denied(format!(
                "You may not {what} in this world."
            )))
        }
    }
}

/// 404 for a world that does not exist.
pub fn world_not_found() -> ApiError {
    ApiError::not_found("World not found.")
}

/// What `caller` may do in `world`.
pub fn of(conn: &mut DbConn, world: World, caller: Option<&Caller>) -> ApiResult<Access> {
    let Some(caller) = caller else {
        return Ok(Access {
            world,
            level: None,
            role_name: None,
        });
    };
    if caller.is(world.owner_id) {
        return Ok(Access {
            world,
            level: Some(Level::Owner),
            role_name: Some("owner"),
        });
    }
    let role = model::roles_in(conn, caller.id, &[world.id])?
        .into_iter()
        .find_map(|(_, r)| WorldRole::parse(&r));
    let level = if caller.is_staff() {
        Some(Level::Owner)
    } else {
        role.map(Level::from)
    };
    Ok(Access {
        world,
        level,
        role_name: role.map(WorldRole::as_str),
    })
}

/// World `id` as `caller` sees it: 404 when it does not exist or is private to others.
pub fn visible(conn: &mut DbConn, id: i64, caller: Option<&Caller>) -> ApiResult<Access> {
    let world = model::find_world(conn, id)?.ok_or_else(world_not_found)?;
    let access = of(conn, world, caller)?;
    if access.can_see() {
        Ok(access)
    } else {
        Err(world_not_found())
    }
}

/// World `id` locked for the transaction, as `caller` sees it (404 as [`visible`]).
pub fn locked(conn: &mut DbConn, id: i64, caller: &Caller) -> ApiResult<Access> {
    let world = model::lock_world(conn, id)?.ok_or_else(world_not_found)?;
    let access = of(conn, world, Some(caller))?;
    if access.can_see() {
        Ok(access)
    } else {
        Err(world_not_found())
    }
}
