//! Groups: public or private, with owner, admins and members.
//!
//! - Creating a group makes the caller its owner (an active member).
//! - Joining a public group makes an active member; joining a private one a pending member
//!   whom a group admin (owner or admin) approves — the admins are notified.
//! - Group admins edit the group, approve and remove members (an admin cannot remove another
//!   admin or the owner); only the owner changes roles, hands the group over
//!   (`role: owner`, the old owner becomes an admin) or deletes it.
//! - The owner cannot leave: they hand over or delete.
//! - `member_count` counts active members and changes in SQL.
//! - A private group's posts and members are for its active members only; to others a private
//!   group shows its name, description and size.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use plaza_kernel::db::{self, like, DbConn, MultiBackend};
use plaza_kernel::time::{now, utc};
use plaza_kernel::{ApiError, ApiResult, Body, Caller, Page, PageRequest};

use crate::graph::card_of;
use crate::home;
use crate::live::Push;
use crate::notifications;
use crate::schema::{social_group_members as gm, social_groups as g};
use crate::types::{GroupOut, GroupPatch, GroupWrite, MemberOut, MemberPatch};

/// Owner, admin or member.
pub const ROLES: &[&str] = &["owner", "admin", "member"];

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = g)]
struct GroupRow {
    id: i64,
    name: String,
    description: String,
    is_private: bool,
    owner_id: i64,
    member_count: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// A user's place in a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// `owner`, `admin` or `member`.
    pub role: String,
    /// `active` or `pending`.
    pub status: String,
}

impl Membership {
    /// An active member.
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }

    /// An active owner or admin.
    pub fn is_admin(&self) -> bool {
        self.is_active() && (self.role == "owner" || self.role == "admin")
    }
}

fn group_not_found() -> ApiError {
    ApiError::not_found("Group not found.")
}

fn find_row(conn: &mut DbConn, id: i64) -> ApiResult<GroupRow> {
    g::table
        .find(id)
        .select(GroupRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(group_not_found)
}

/// `user`'s membership of `group`, if any.
pub fn membership(conn: &mut DbConn, group: i64, user: i64) -> QueryResult<Option<Membership>> {
    Ok(gm::table
        .filter(gm::group_id.eq(group))
        .filter(gm::user_id.eq(user))
        .select((gm::role, gm::status))
        .first::<(String, String)>(conn)
        .optional()?
        .map(|(role, status)| Membership { role, status }))
}

/// Whether `user` may read `group`'s posts and members: a public group, or an active member.
/// `None` when the group does not exist.
pub fn readable(conn: &mut DbConn, group: i64, user: i64) -> QueryResult<Option<bool>> {
    let private: Option<bool> = g::table
        .find(group)
        .select(g::is_private)
        .first(conn)
        .optional()?;
    match private {
        None => Ok(None),
        Some(false) => Ok(Some(true)),
        Some(true) => Ok(Some(
            membership(conn, group, user)?.is_some_and(|m| m.is_active()),
        )),
    }
}

fn present(conn: &mut DbConn, me: i64, rows: Vec<GroupRow>) -> QueryResult<Vec<GroupOut>> {
    let owners: Vec<i64> = rows.iter().map(|r| r.owner_id).collect();
    let cards = plaza_users::authors_by_id(conn, &owners)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mine: std::collections::HashMap<i64, (String, String)> = if ids.is_empty() {
        Default::default()
    } else {
        gm::table
            .filter(gm::user_id.eq(me))
            .filter(db::ids_in(gm::group_id, &ids))
            .select((gm::group_id, gm::role, gm::status))
            .load::<(i64, String, String)>(conn)?
            .into_iter()
            .map(|(id, role, status)| (id, (role, status)))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let m = mine.get(&r.id);
            GroupOut {
                owner: card_of(&cards, r.owner_id),
                my_role: m.map(|m| m.0.clone()),
                my_status: m.map(|m| m.1.clone()),
                id: r.id,
                name: r.name,
                description: r.description,
                is_private: r.is_private,
                member_count: r.member_count,
                created_at: utc(r.created_at),
                updated_at: utc(r.updated_at),
            }
        })
        .collect())
}

fn present_one(conn: &mut DbConn, me: i64, id: i64) -> ApiResult<GroupOut> {
    let row = find_row(conn, id)?;
    present(conn, me, vec![row])?
        .pop()
        .ok_or_else(group_not_found)
}

/// Creates a group owned by the caller.
pub fn create(conn: &mut DbConn, me: i64, input: &GroupWrite) -> ApiResult<GroupOut> {
    let at = now();
    diesel::insert_into(g::table)
        .values((
            g::name.eq(input.name.trim()),
            g::description.eq(input.description.as_deref().unwrap_or("")),
            g::is_private.eq(input.is_private.unwrap_or(false)),
            g::owner_id.eq(me),
            g::member_count.eq(1_i64),
            g::created_at.eq(at),
            g::updated_at.eq(at),
        ))
        .execute(conn)?;
    let id = db::last_insert_id(conn)?;
    insert_member(conn, id, me, "owner", "active")?;
    present_one(conn, me, id)
}

fn insert_member(
    conn: &mut DbConn,
    group: i64,
    user: i64,
    role: &str,
    status: &str,
) -> QueryResult<usize> {
    diesel::insert_into(gm::table)
        .values((
            gm::group_id.eq(group),
            gm::user_id.eq(user),
            gm::role.eq(role),
            gm::status.eq(status),
            gm::created_at.eq(now()),
        ))
        .execute(conn)
}

/// One group.
pub fn get(conn: &mut DbConn, me: i64, id: i64) -> ApiResult<GroupOut> {
    present_one(conn, me, id)
}

/// Groups, newest first; `search` on the name, `mine` for the caller's active memberships.
pub fn list(
    conn: &mut DbConn,
    me: i64,
    search: Option<&str>,
    mine: bool,
    page: PageRequest,
) -> ApiResult<Page<GroupOut>> {
    let search = search
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(like::contains);
    let filtered = || {
        let mut q = g::table.into_boxed::<MultiBackend>();
        if let Some(pattern) = &search {
            q = q.filter(g::name.like(pattern.clone()).escape(like::ESCAPE));
        }
        if mine {
            q = q.filter(
                g::id.eq_any(
                    gm::table
                        .filter(gm::user_id.eq(me))
                        .filter(gm::status.eq("active"))
                        .select(gm::group_id),
                ),
            );
        }
        q
    };
    let count: i64 = filtered().count().get_result(conn)?;
    page.paginate(count, |w| {
        let rows: Vec<GroupRow> = filtered()
            .order((g::created_at.desc(), g::id.desc()))
            .limit(w.limit)
            .offset(w.offset)
            .select(GroupRow::as_select())
            .load(conn)?;
        Ok(present(conn, me, rows)?)
    })
}

fn require_admin(conn: &mut DbConn, caller: &Caller, group: i64) -> ApiResult<Option<Membership>> {
    let m = membership(conn, group, caller.id)?;
    if m.as_ref().is_some_and(Membership::is_admin) || caller.is_staff() {
        Ok(m)
    } else {
        Err(ApiError::permission_denied(
            "Only the group's owner and admins may do this.",
        ))
    }
}

/// Changes a group (its admins, or staff).
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    patch: impl Into<Body<GroupPatch>>,
) -> ApiResult<GroupOut> {
    find_row(conn, id)?;
    require_admin(conn, caller, id)?;
    let patch = &patch.into().parse()?;
    diesel::update(g::table.find(id))
        .set((
            patch
                .name
                .as_deref()
                .map(|n| g::name.eq(n.trim().to_owned())),
            patch.description.clone().map(|d| g::description.eq(d)),
            patch.is_private.map(|p| g::is_private.eq(p)),
            g::updated_at.eq(now()),
        ))
        .execute(conn)?;
    present_one(conn, caller.id, id)
}

/// Deletes a group with its memberships and posts (its owner, or staff).
pub fn delete(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    let row = find_row(conn, id)?;
    if row.owner_id != caller.id && !caller.is_staff() {
        return Err(ApiError::permission_denied(
            "Only the group's owner may delete it.",
        ));
    }
    diesel::delete(g::table.find(id)).execute(conn)?;
    Ok(())
}

/// Joins a group: active in a public one, pending in a private one (its admins are told).
/// `true` in the second field when the membership is new.
pub fn join(conn: &mut DbConn, me: i64, id: i64) -> ApiResult<(MemberOut, bool, Vec<Push>)> {
    let row = find_row(conn, id)?;
    if membership(conn, id, me)?.is_some() {
        return Ok((present_member(conn, id, me)?, false, Vec::new()));
    }
    let status = if row.is_private { "pending" } else { "active" };
    match insert_member(conn, id, me, "member", status) {
        Ok(_) => {}
        Err(err) if db::is_unique_violation(&err) => {
            return Ok((present_member(conn, id, me)?, false, Vec::new()))
        }
        Err(err) => return Err(err.into()),
    }
    if !row.is_private {
        home::refresh_group(conn, me, id)?;
    }
    let mut pushes = Vec::new();
    if row.is_private {
        let admins: Vec<i64> = gm::table
            .filter(gm::group_id.eq(id))
            .filter(gm::status.eq("active"))
            .filter(gm::role.eq_any(["owner", "admin"]))
            .select(gm::user_id)
            .load(conn)?;
        for admin in admins {
            pushes.extend(notifications::create(
                conn,
                admin,
                Some(me),
                "group_join_request",
                serde_json::json!({"group_id": id, "group_name": row.name, "user_id": me}),
            )?);
        }
    } else {
        add_members(conn, id, 1)?;
    }
    Ok((present_member(conn, id, me)?, true, pushes))
}

fn add_members(conn: &mut DbConn, group: i64, delta: i64) -> QueryResult<usize> {
    diesel::update(g::table.find(group))
        .set(g::member_count.eq(g::member_count + delta))
        .execute(conn)
}

/// Leaves a group (or withdraws a pending request). The owner hands over or deletes instead.
pub fn leave(conn: &mut DbConn, me: i64, id: i64) -> ApiResult<()> {
    find_row(conn, id)?;
    let m = membership(conn, id, me)?
        .ok_or_else(|| ApiError::not_found("You are not a member of this group."))?;
    if m.role == "owner" {
        return Err(ApiError::bad_request(
            "The owner cannot leave: hand the group over to another member or delete it.",
        ));
    }
    remove_row(conn, id, me, &m)
}

fn remove_row(conn: &mut DbConn, group: i64, user: i64, m: &Membership) -> ApiResult<()> {
    diesel::delete(
        gm::table
            .filter(gm::group_id.eq(group))
            .filter(gm::user_id.eq(user)),
    )
    .execute(conn)?;
    if m.is_active() {
        add_members(conn, group, -1)?;
        home::refresh_group(conn, user, group)?;
    }
    Ok(())
}

#[derive(Queryable)]
struct MemberRow {
    user_id: i64,
    role: String,
    status: String,
    created_at: NaiveDateTime,
}

fn present_members(conn: &mut DbConn, rows: Vec<MemberRow>) -> QueryResult<Vec<MemberOut>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
    let cards = plaza_users::authors_by_id(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| MemberOut {
            user: card_of(&cards, r.user_id),
            role: r.role,
            status: r.status,
            joined_at: utc(r.created_at),
        })
        .collect())
}

fn member_not_found() -> ApiError {
    ApiError::not_found("Member not found.")
}

fn present_member(conn: &mut DbConn, group: i64, user: i64) -> ApiResult<MemberOut> {
    let row: MemberRow = gm::table
        .filter(gm::group_id.eq(group))
        .filter(gm::user_id.eq(user))
        .select((gm::user_id, gm::role, gm::status, gm::created_at))
        .first(conn)
        .optional()?
        .ok_or_else(member_not_found)?;
    present_members(conn, vec![row])?
        .pop()
        .ok_or_else(member_not_found)
}

/// A group's members (active by default; pending ones for its admins), oldest first.
pub fn list_members(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    pending: bool,
    page: PageRequest,
) -> ApiResult<Page<MemberOut>> {
    if !readable(conn, id, caller.id)?.ok_or_else(group_not_found)? {
        return Err(group_not_found());
    }
    if pending {
        require_admin(conn, caller, id)?;
    }
    let status = if pending { "pending" } else { "active" };
    let count: i64 = gm::table
        .filter(gm::group_id.eq(id))
        .filter(gm::status.eq(status))
        .count()
        .get_result(conn)?;
    page.paginate(count, |w| {
        let rows: Vec<MemberRow> = gm::table
            .filter(gm::group_id.eq(id))
            .filter(gm::status.eq(status))
            .order((gm::created_at.asc(), gm::user_id.asc()))
            .limit(w.limit)
            .offset(w.offset)
            .select((gm::user_id, gm::role, gm::status, gm::created_at))
            .load(conn)?;
        Ok(present_members(conn, rows)?)
    })
}

/// Approves a pending member (group admins) and/or changes a role (owner only; `owner` hands
/// the group over, the old owner becoming an admin).
pub fn update_member(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    user: i64,
    patch: impl Into<Body<MemberPatch>>,
) -> ApiResult<MemberOut> {
    let row = find_row(conn, id)?;
    require_admin(conn, caller, id)?;
    let patch = &patch.into().parse()?;
    let mut errors = Vec::new();
    if let Some(role) = patch.role.as_deref() {
        if !ROLES.contains(&role) {
            errors.push(("role", "Must be one of owner, admin, member."));
        }
    }
    if let Some(status) = patch.status.as_deref() {
        if status != "active" {
            errors.push(("status", "Only \"active\" (approve) may be set."));
        }
    }
    if !errors.is_empty() {
        let mut fields = plaza_kernel::error::FieldErrors::new();
        for (field, message) in errors {
            fields
                .entry(field.to_owned())
                .or_default()
                .push(message.to_owned());
        }
        return Err(ApiError::validation(fields));
    }
    let target = membership(conn, id, user)?.ok_or_else(member_not_found)?;
    if patch.status.is_some() && target.status == "pending" {
        diesel::update(
            gm::table
                .filter(gm::group_id.eq(id))
                .filter(gm::user_id.eq(user))
                .filter(gm::status.eq("pending")),
        )
        .set(gm::status.eq("active"))
        .execute(conn)?;
        add_members(conn, id, 1)?;
        home::refresh_group(conn, user, id)?;
    }
    if let Some(role) = patch.role.as_deref() {
        if row.owner_id != caller.id && !caller.is_staff() {
            return Err(ApiError::permission_denied(
                "Only the group's owner may change roles.",
            ));
        }
        if target.status != "active" && patch.status.is_none() {
            return Err(ApiError::invalid_field(
                "role",
                "Approve the member before giving them a role.",
            ));
        }
        if user == row.owner_id {
            return Err(ApiError::invalid_field(
                "role",
                "The owner's role changes only by handing the group over.",
            ));
        }
        let set_role = |conn: &mut DbConn, who: i64, role: &str| {
            diesel::update(
                gm::table
                    .filter(gm::group_id.eq(id))
                    .filter(gm::user_id.eq(who)),
            )
            .set(gm::role.eq(role.to_owned()))
            .execute(conn)
        };
        set_role(conn, user, role)?;
        if role == "owner" {
            set_role(conn, row.owner_id, "admin")?;
            diesel::update(g::table.find(id))
                .set((g::owner_id.eq(user), g::updated_at.eq(now())))
                .execute(conn)?;
        }
    }
    present_member(conn, id, user)
}

/// Removes a member or rejects a pending one (group admins; an admin may not remove another
/// admin or the owner).
pub fn remove_member(conn: &mut DbConn, caller: &Caller, id: i64, user: i64) -> ApiResult<()> {
    let row = find_row(conn, id)?;
    let mine = require_admin(conn, caller, id)?;
    let target = membership(conn, id, user)?.ok_or_else(member_not_found)?;
    if user == row.owner_id {
        return Err(ApiError::bad_request(
            "The owner cannot be removed: they hand the group over or delete it.",
        ));
    }
    let caller_is_owner = mine.as_ref().is_some_and(|m| m.role == "owner");
    if target.role == "admin" && !caller_is_owner && !caller.is_staff() && user != caller.id {
        return Err(ApiError::permission_denied(
            "Only the owner may remove an admin.",
        ));
    }
    remove_row(conn, id, user, &target)
}
