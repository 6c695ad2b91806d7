//! An account's deletion takes the user's event participations with it (a cascade), so the
//! `participant_count` of other organisers' events goes stale: the deleting transaction notes
//! those events and a job ([`UserDeleted`]) recounts them once the deletion has committed.
//! (Sessions go too; a world's current user count is read from the open sessions, not kept.)

use diesel::prelude::*;
use plaza_kernel::db::{id_list, DbConn};
use plaza_kernel::jobs::{enqueue, Job, JobContext, JobOptions, JobRegistry};
use serde::{Deserialize, Serialize};

use crate::schema::{metaverse_event_participants as ep, metaverse_events as e};

/// Recounts events after an account's deletion.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDeleted {
    /// Other organisers' events the user had joined.
    pub events: Vec<i64>,
}

impl Job for UserDeleted {
    const KIND: &'static str = "metaverse.user_deleted";
}

/// [`plaza_kernel::domain::Domain::before_user_delete`]: notes, in the deleting transaction,
/// the events whose count the cascade will leave stale (no job when none).
pub fn before_user_delete(conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
    let events: Vec<i64> = ep::table
        .inner_join(e::table)
        .filter(ep::user_id.eq(user_id))
        .filter(e::organizer_id.ne(user_id))
        .select(ep::event_id)
        .load(conn)?;
    if events.is_empty() {
        return Ok(());
    }
    enqueue(conn, &UserDeleted { events }, JobOptions::default()).map(drop)
}

/// Events recounted per statement.
const EVENTS_PER_STATEMENT: usize = 500;

/// Sets each event's `participant_count` from its participants, in SQL, a statement per few
/// hundred events, in one transaction.
pub fn bring_up_to_date(conn: &mut DbConn, job: &UserDeleted) -> QueryResult<()> {
    plaza_kernel::db::transaction(conn, |conn| {
        for chunk in job.events.chunks(EVENTS_PER_STATEMENT) {
            let list = id_list(chunk);
            diesel::sql_query(format!(
                "UPDATE metaverse_events SET participant_count = (SELECT COUNT(*) \
                 FROM metaverse_event_participants p WHERE p.event_id = metaverse_events.id) \
                 WHERE id IN ({list})"
            ))
            .execute(conn)?;
        }
        Ok(())
    })
}

/// Registers the handler of [`UserDeleted`].
pub fn register_jobs(registry: &mut JobRegistry) {
    registry.handle(|ctx: JobContext, job: UserDeleted| async move {
        ctx.db
            .run(move |conn| Ok(bring_up_to_date(conn, &job)?))
            .await?;
        Ok(())
    });
}
