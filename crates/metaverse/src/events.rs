//! Events in worlds: created and changed by the world's moderators and up, joined by anyone
//! who may see the world. Joining locks the event row and checks its capacity in the same
//! transaction, so `max_participants` holds under concurrency.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use plaza_kernel::db::{like, MultiBackend};
use plaza_kernel::ids::UserId;
use plaza_kernel::notices::{self, Notice};
use plaza_kernel::pagination::parse_ordering;
use plaza_kernel::time::{now, utc};
use plaza_kernel::{ApiError, ApiResult, Body, Caller, Db, DbConn, Page, PageRequest};

use crate::access::{self, Level};
use crate::model::{self, Event};
use crate::schema::{
    metaverse_event_participants as participants, metaverse_events as events,
    metaverse_world_permissions as perms, metaverse_worlds as worlds,
};
use crate::types::{EventOut, EventPatch, EventQuery, EventWrite, ParticipantOut, Visibility};
use crate::worlds::author;

/// Fields `?ordering=` accepts on the event list.
pub const EVENT_ORDERING: &[&str] = &["start_at", "created_at"];

/// The kind of the notice each participant gets before an event starts.
pub const REMINDER_KIND: &str = "event_reminder";

/// The Bus topic a reminder is published on (JSON: `event_id`, `world_id`, `title`,
/// `start_at`, `participants`).
pub const REMINDER_TOPIC: &str = "metaverse.event_reminder";

fn not_found() -> ApiError {
    ApiError::not_found("Event not found.")
}

fn present(conn: &mut DbConn, rows: Vec<Event>) -> ApiResult<Vec<EventOut>> {
    let ids: Vec<i64> = rows.iter().map(|e| e.organizer_id).collect();
    let authors = plaza_users::authors_by_id(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|e| EventOut {
            organizer: author(&authors, e.organizer_id),
            id: e.id,
            world_id: e.world_id,
            title: e.title,
            description: e.description,
            start_at: utc(e.start_at),
            end_at: utc(e.end_at),
            max_participants: e.max_participants,
            participant_count: e.participant_count,
            created_at: utc(e.created_at),
            updated_at: utc(e.updated_at),
        })
        .collect())
}

fn present_one(conn: &mut DbConn, event: Event) -> ApiResult<EventOut> {
    present(conn, vec![event])?.pop().ok_or_else(not_found)
}

fn find(conn: &mut DbConn, id: i64) -> ApiResult<Event> {
    events::table
        .find(id)
        .select(Event::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)
}

/// Event `id` with the caller's access to its world; 404 when the world is not visible.
fn visible(
    conn: &mut DbConn,
    caller: Option<&Caller>,
    id: i64,
) -> ApiResult<(Event, access::Access)> {
    let event = find(conn, id)?;
    let access = access::visible(conn, event.world_id, caller).map_err(|_| not_found())?;
    Ok((event, access))
}

/// A page of the events in worlds the caller may see (soonest first by default).
pub fn list(
    conn: &mut DbConn,
    caller: Option<&Caller>,
    query: &EventQuery,
    page: PageRequest,
) -> ApiResult<Page<EventOut>> {
    let ordering = parse_ordering(query.ordering.as_deref(), EVENT_ORDERING)?;
    let search = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(like::contains);
    let viewer = caller.map(|c| (c.id, c.is_staff()));
    let at = now();
    let filtered = || {
        let mut q = events::table.into_boxed::<MultiBackend>();
        match viewer {
            Some((_, true)) => {}
            Some((id, false)) => {
                q = q.filter(
                    events::world_id.eq_any(
                        worlds::table
                            .filter(
                                worlds::visibility
                                    .ne(Visibility::Private.as_str())
                                    .or(worlds::owner_id.eq(id))
                                    .or(worlds::id.eq_any(
                                        perms::table
                                            .filter(perms::user_id.eq(id))
                                            .select(perms::world_id),
                                    )),
                            )
                            .select(worlds::id),
                    ),
                );
            }
            None => {
                q = q.filter(
                    events::world_id.eq_any(
                        worlds::table
                            .filter(worlds::visibility.ne(Visibility::Private.as_str()))
                            .select(worlds::id),
                    ),
                );
            }
        }
        if let Some(world) = query.world {
            q = q.filter(events::world_id.eq(world));
        }
        if query.upcoming == Some(true) {
            q = q.filter(events::end_at.gt(at));
        }
        if let Some(pattern) = &search {
            q = q.filter(events::title.like(pattern.clone()).escape(like::ESCAPE));
        }
        q
    };
    let count: i64 = filtered().count().get_result(conn)?;
    page.paginate(count, |window| {
        let mut q = filtered();
        if ordering.is_empty() {
            q = q.order(events::start_at.asc());
        }
        for o in &ordering {
            q = match (o.field, o.descending) {
                ("created_at", false) => q.then_order_by(events::created_at.asc()),
                ("created_at", true) => q.then_order_by(events::created_at.desc()),
                (_, false) => q.then_order_by(events::start_at.asc()),
                (_, true) => q.then_order_by(events::start_at.desc()),
            };
        }
        q = if ordering.first().is_some_and(|o| o.descending) {
            q.then_order_by(events::id.desc())
        } else {
            q.then_order_by(events::id.asc())
        };
        let rows: Vec<Event> = q
            .select(Event::as_select())
            .limit(window.limit)
            .offset(window.offset)
            .load(conn)?;
        present(conn, rows)
    })
}

/// One event.
pub fn get(conn: &mut DbConn, caller: Option<&Caller>, id: i64) -> ApiResult<EventOut> {
    let (event, _) = visible(conn, caller, id)?;
    present_one(conn, event)
}

fn check_times(start: NaiveDateTime, end: NaiveDateTime) -> ApiResult<()> {
    let mut errors = plaza_kernel::error::FieldErrors::new();
    for (field, t) in [("start_at", start), ("end_at", end)] {
        if !plaza_kernel::time::storable(t) {
            errors.insert(
                field.to_owned(),
                vec![plaza_kernel::time::UNSTORABLE.to_owned()],
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if end <= start {
        return Err(ApiError::invalid_field("end_at", "Must be after start_at."));
    }
    Ok(())
}

/// Creates an event in a world the caller moderates.
pub fn create(conn: &mut DbConn, caller: &Caller, input: &EventWrite) -> ApiResult<EventOut> {
    let access = access::visible(conn, input.world_id, Some(caller))
        .map_err(|_| ApiError::invalid_field("world_id", "No world with this id."))?;
    access.require(Level::Moderator, "organise events")?;
    let (start, end) = (input.start_at.naive_utc(), input.end_at.naive_utc());
    check_times(start, end)?;
    let at = now();
    diesel::insert_into(events::table)
        .values((
            events::world_id.eq(input.world_id),
            events::organizer_id.eq(caller.id),
            events::title.eq(input.title.trim()),
            events::description.eq(&input.description),
            events::start_at.eq(start),
            events::end_at.eq(end),
            events::max_participants.eq(input.max_participants),
            events::participant_count.eq(0),
            events::created_at.eq(at),
            events::updated_at.eq(at),
        ))
        .execute(conn)?;
    let id = plaza_kernel::db::last_insert_id(conn)?;
    let event = find(conn, id)?;
    present_one(conn, event)
}

/// Changes an event (the world's moderators and up). A new start time re-arms the reminder.
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    patch: impl Into<Body<EventPatch>>,
) -> ApiResult<EventOut> {
    let event = model::lock_event(conn, id)?.ok_or_else(not_found)?;
    let access = access::visible(conn, event.world_id, Some(caller)).map_err(|_| not_found())?;
    access.require(Level::Moderator, "change events")?;
    let patch = &patch.into().parse()?;
    patch.check()?;
    let start = patch.start_at.map_or(event.start_at, |t| t.naive_utc());
    let end = patch.end_at.map_or(event.end_at, |t| t.naive_utc());
    check_times(start, end)?;
    if let Some(Some(cap)) = patch.max_participants {
        if cap < event.participant_count {
            return Err(ApiError::invalid_field(
                "max_participants",
                format!("{} have joined already.", event.participant_count),
            ));
        }
    }
    let rearm = start != event.start_at;
    diesel::update(events::table.find(id))
        .set((
            patch
                .title
                .as_deref()
                .map(|v| events::title.eq(v.trim().to_owned())),
            patch.description.clone().map(|v| events::description.eq(v)),
            events::start_at.eq(start),
            events::end_at.eq(end),
            patch
                .max_participants
                .map(|v| events::max_participants.eq(v)),
            rearm.then_some(events::reminded_at.eq(None::<NaiveDateTime>)),
            events::updated_at.eq(now()),
        ))
        .execute(conn)?;
    let event = find(conn, id)?;
    present_one(conn, event)
}

/// Deletes an event (the world's moderators and up).
pub fn delete(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    let (_, access) = visible(conn, Some(caller), id)?;
    access.require(Level::Moderator, "delete events")?;
    diesel::delete(events::table.find(id)).execute(conn)?;
    Ok(())
}

/// Joins an event: 409 when it is full or over; joining twice changes nothing.
pub fn join(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<(EventOut, bool)> {
    let event = model::lock_event(conn, id)?.ok_or_else(not_found)?;
    access::visible(conn, event.world_id, Some(caller)).map_err(|_| not_found())?;
    let already: i64 = participants::table
        .filter(participants::event_id.eq(id))
        .filter(participants::user_id.eq(caller.id))
        .count()
        .get_result(conn)?;
    if already > 0 {
        return Ok((present_one(conn, event)?, false));
    }
    if event.end_at <= now() {
        return Err(ApiError::conflict("This event is over."));
    }
    if event
        .max_participants
        .is_some_and(|cap| event.participant_count >= cap)
    {
        return Err(ApiError::conflict("This event is full."));
    }
    diesel::insert_into(participants::table)
        .values((
            participants::event_id.eq(id),
            participants::user_id.eq(caller.id),
            participants::joined_at.eq(now()),
        ))
        .execute(conn)?;
    diesel::update(events::table.find(id))
        .set(events::participant_count.eq(events::participant_count + 1))
        .execute(conn)?;
    let event = find(conn, id)?;
    Ok((present_one(conn, event)?, true))
}

/// Leaves an event (404 when the caller had not joined).
pub fn leave(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<EventOut> {
    let event = model::lock_event(conn, id)?.ok_or_else(not_found)?;
    access::visible(conn, event.world_id, Some(caller)).map_err(|_| not_found())?;
    let removed = diesel::delete(
        participants::table
            .filter(participants::event_id.eq(id))
            .filter(participants::user_id.eq(caller.id)),
    )
    .execute(conn)?;
    if removed == 0 {
        return Err(ApiError::not_found("You have not joined this event."));
    }
    diesel::update(events::table.find(id))
        .set(events::participant_count.eq(events::participant_count - 1))
        .execute(conn)?;
    let event = find(conn, id)?;
    present_one(conn, event)
}

/// The participants of an event, first joined first.
pub fn list_participants(
    conn: &mut DbConn,
    caller: Option<&Caller>,
    id: i64,
    page: PageRequest,
) -> ApiResult<Page<ParticipantOut>> {
    visible(conn, caller, id)?;
    let count: i64 = participants::table
        .filter(participants::event_id.eq(id))
        .count()
        .get_result(conn)?;
    page.paginate(count, |window| {
        let rows: Vec<(i64, NaiveDateTime)> = participants::table
            .filter(participants::event_id.eq(id))
            .order((participants::joined_at.asc(), participants::user_id.asc()))
            .select((participants::user_id, participants::joined_at))
            .limit(window.limit)
            .offset(window.offset)
            .load(conn)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let authors = plaza_users::authors_by_id(conn, &ids)?;
        Ok(rows
            .into_iter()
            .map(|(user_id, joined_at)| ParticipantOut {
                user: author(&authors, user_id),
                joined_at: utc(joined_at),
            })
            .collect())
    })
}

/// A reminder sent: what the Bus announcement carries.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Reminded {
    /// The event.
    pub event_id: i64,
    /// Its world.
    pub world_id: i64,
    /// Its title.
    pub title: String,
    /// Its start.
    pub start_at: chrono::DateTime<chrono::Utc>,
    /// Notices enqueued (one per participant).
    pub participants: usize,
}

/// Events starting within `lead` from now that have not been reminded: at most `limit` ids.
pub fn due_reminders(
    conn: &mut DbConn,
    lead: chrono::Duration,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    let at = now();
    events::table
        .filter(events::reminded_at.is_null())
        .filter(events::start_at.gt(at))
        .filter(events::start_at.le(at + lead))
        .order(events::start_at.asc())
        .select(events::id)
        .limit(limit)
        .load(conn)
}

/// Claims event `id`'s reminder (once ever per start time) and enqueues one notice per
/// participant, in the caller's transaction. `None` when another worker claimed it first.
pub fn remind(conn: &mut DbConn, id: i64) -> QueryResult<Option<Reminded>> {
    let claimed = diesel::update(
        events::table
            .filter(events::id.eq(id))
            .filter(events::reminded_at.is_null()),
    )
    .set(events::reminded_at.eq(Some(now())))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    let event: Event = events::table
        .find(id)
        .select(Event::as_select())
        .first(conn)?;
    let users: Vec<i64> = participants::table
        .filter(participants::event_id.eq(id))
        .select(participants::user_id)
        .load(conn)?;
    let start = utc(event.start_at);
    let data = serde_json::json!({
        "event_id": event.id,
        "title": event.title,
        "world_id": event.world_id,
        "start_at": start,
    });
    let batch: Vec<Notice> = users
        .iter()
        .map(|u| Notice::new(UserId(*u), REMINDER_KIND).data(data.clone()))
        .collect();
    notices::send_all(conn, &batch)?;
    Ok(Some(Reminded {
        event_id: event.id,
        world_id: event.world_id,
        title: event.title,
        start_at: start,
        participants: users.len(),
    }))
}

/// Events as a request changes them.
pub mod requests {
    use super::*;

    /// Creates an event.
    pub async fn create(db: &Db, caller: Caller, input: EventWrite) -> ApiResult<EventOut> {
        db.transaction(move |conn| super::create(conn, &caller, &input))
            .await
    }

    /// Changes an event.
    pub async fn update(
        db: &Db,
        caller: Caller,
        id: i64,
        patch: impl Into<Body<EventPatch>>,
    ) -> ApiResult<EventOut> {
        let patch = patch.into();
        db.transaction(move |conn| super::update(conn, &caller, id, patch))
            .await
    }

    /// Deletes an event.
    pub async fn delete(db: &Db, caller: Caller, id: i64) -> ApiResult<()> {
        db.transaction(move |conn| super::delete(conn, &caller, id))
            .await
    }

    /// Joins an event, with the event row locked.
    pub async fn join(db: &Db, caller: Caller, id: i64) -> ApiResult<(EventOut, bool)> {
        db.transaction(move |conn| super::join(conn, &caller, id))
            .await
    }

    /// Leaves an event.
    pub async fn leave(db: &Db, caller: Caller, id: i64) -> ApiResult<EventOut> {
        db.transaction(move |conn| super::leave(conn, &caller, id))
            .await
    }
}
