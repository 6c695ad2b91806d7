//! Notifications: stored per recipient, listed newest first (keyset on id), counted unread,
//! pushed to the recipient's sockets.
//!
//! The social domain creates its own (friend request and acceptance, new follower, like,
//! comment, message, group join request) inside the transaction of the event, so a
//! notification exists exactly when its cause was committed, and is pushed right after the
//! commit with no worker in between. Other domains send a [`Notice`] job
//! ([`plaza_kernel::notices`]); [`register_jobs`] handles it the same way. Either way a
//! notification whose actor is its recipient, or across a block, is dropped.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use plaza_kernel::db::{self, DbConn, MultiBackend};
use plaza_kernel::jobs::{JobContext, JobError, JobRegistry};
use plaza_kernel::notices::Notice;
use plaza_kernel::time::{now, utc};
use plaza_kernel::{ApiError, ApiResult, CursorPage, CursorRequest};

use crate::graph;
use crate::live::{self, Push};
use crate::schema::social_notifications as n;
use crate::types::{AuthorCard, NotificationOut};

/// Longest kind stored.
pub const KIND_MAX: usize = 32;

#[derive(Queryable, Selectable)]
#[diesel(table_name = n)]
struct Row {
    id: i64,
    actor_id: Option<i64>,
    kind: String,
    data: String,
    is_read: bool,
    created_at: NaiveDateTime,
}

/// Stores a notification for `recipient` and returns what to push, or `None` when it is
/// dropped (the actor is the recipient, or one blocked the other).
pub fn create(
    conn: &mut DbConn,
    recipient: i64,
    actor: Option<i64>,
    kind: &str,
    data: serde_json::Value,
) -> ApiResult<Option<Push>> {
    if let Some(actor) = actor {
        if actor == recipient || graph::blocked_between(conn, actor, recipient)? {
            return Ok(None);
        }
    }
    let kind: String = kind.chars().take(KIND_MAX).collect();
    let data = if data.is_object() {
        data
    } else {
        serde_json::json!({})
    };
    let at = now();
    diesel::insert_into(n::table)
        .values((
            n::recipient_id.eq(recipient),
            n::actor_id.eq(actor),
            n::kind.eq(&kind),
            n::data.eq(data.to_string()),
            n::is_read.eq(false),
            n::created_at.eq(at),
        ))
        .execute(conn)?;
    let id = db::last_insert_id(conn)?;
    let actor = match actor {
        Some(actor) => plaza_users::authors_by_id(conn, &[actor])?
            .remove(&actor)
            .map(AuthorCard::from),
        None => None,
    };
    let out = NotificationOut {
        id,
        kind,
        actor,
        data,
        is_read: false,
        created_at: utc(at),
    };
    Ok(Some(Push::notification(recipient, &out)))
}

/// Stores `notice` as a notification (see [`create`]).
pub fn from_notice(conn: &mut DbConn, notice: &Notice) -> ApiResult<Option<Push>> {
    create(
        conn,
        notice.recipient.0,
        notice.actor.map(|a| a.0),
        &notice.kind,
        notice.data.clone(),
    )
}

/// Registers the handler of [`Notice`] jobs: store, then push.
pub fn register_jobs(registry: &mut JobRegistry) {
    registry.handle(deliver_notice);
}

async fn deliver_notice(ctx: JobContext, notice: Notice) -> Result<(), JobError> {
    let push = ctx
        .db
        .transaction(move |conn| from_notice(conn, &notice))
        .await
        .map_err(|e| JobError::retry(e.detail()))?;
    live::publish(&ctx.bus, push.into_iter().collect()).await;
    Ok(())
}

fn present(conn: &mut DbConn, rows: Vec<Row>) -> ApiResult<Vec<NotificationOut>> {
    let actor_ids: Vec<i64> = rows.iter().filter_map(|r| r.actor_id).collect();
    let actors = plaza_users::authors_by_id(conn, &actor_ids)?;
    Ok(rows
        .into_iter()
        .map(|r| NotificationOut {
            id: r.id,
            actor: r
                .actor_id
                .and_then(|a| actors.get(&a).cloned())
                .map(AuthorCard::from),
            kind: r.kind,
            data: serde_json::from_str(&r.data).unwrap_or_else(|_| serde_json::json!({})),
            is_read: r.is_read,
            created_at: utc(r.created_at),
        })
        .collect())
}

/// The caller's notifications, newest first; `unread` keeps the unread ones.
pub fn list(
    conn: &mut DbConn,
    me: i64,
    unread: bool,
    page: CursorRequest,
) -> ApiResult<CursorPage<NotificationOut>> {
    let after: Option<i64> = page.position()?;
    let mut query = n::table
        .filter(n::recipient_id.eq(me))
        .into_boxed::<MultiBackend>();
    if unread {
        query = query.filter(n::is_read.eq(false));
    }
    if let Some(after) = after {
        query = query.filter(n::id.lt(after));
    }
    let rows: Vec<Row> = query
        .order(n::id.desc())
        .limit(page.fetch_limit())
        .select(Row::as_select())
        .load(conn)?;
    let page = page.into_page(rows, |r| r.id);
    let results = present(conn, page.results)?;
    Ok(CursorPage {
        next_cursor: page.next_cursor,
        results,
    })
}

/// The caller's unread notifications.
pub fn unread_count(conn: &mut DbConn, me: i64) -> ApiResult<i64> {
    Ok(n::table
        .filter(n::recipient_id.eq(me))
        .filter(n::is_read.eq(false))
        .count()
        .get_result(conn)?)
}

fn not_found() -> ApiError {
    ApiError::not_found("Notification not found.")
}

/// Marks one of the caller's notifications read (404 for anyone else's).
pub fn mark_read(conn: &mut DbConn, me: i64, id: i64) -> ApiResult<NotificationOut> {
    let updated = diesel::update(n::table.find(id).filter(n::recipient_id.eq(me)))
        .set(n::is_read.eq(true))
        .execute(conn)?;
    if updated == 0 {
        return Err(not_found());
    }
    let row: Row = n::table.find(id).select(Row::as_select()).first(conn)?;
    present(conn, vec![row])?.pop().ok_or_else(not_found)
}

/// Marks every notification of the caller read; how many changed.
pub fn mark_all_read(conn: &mut DbConn, me: i64) -> ApiResult<i64> {
    let updated = diesel::update(
        n::table
            .filter(n::recipient_id.eq(me))
            .filter(n::is_read.eq(false)),
    )
    .set(n::is_read.eq(true))
    .execute(conn)?;
    Ok(i64::try_from(updated).unwrap_or(i64::MAX))
}

/// Deletes one of the caller's notifications (404 for anyone else's).
pub fn delete(conn: &mut DbConn, me: i64, id: i64) -> ApiResult<()> {
    let deleted = diesel::delete(n::table.find(id).filter(n::recipient_id.eq(me))).execute(conn)?;
    if deleted == 0 {
        return Err(not_found());
    }
    Ok(())
}
