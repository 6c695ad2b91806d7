//! The metaverse's periodic jobs: closing sessions whose user vanished, and reminding event
//! participants before the start.

use std::time::Duration;

use plaza_kernel::jobs::{Job, JobContext, JobError, JobRegistry, Schedule};
use plaza_kernel::realtime::Hub;
use plaza_kernel::settings::{Env, Section};
use plaza_kernel::time::now;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::{self, REMINDER_TOPIC};
use crate::presence::{self, ENDPOINT};
use crate::sessions;
use crate::settings::MetaverseSettings;

/// Most sessions or events one run handles; the next run takes the rest.
const BATCH: i64 = 500;

/// Closes open sessions with no socket and no heartbeat for `METAVERSE_SESSION_TIMEOUT`, and
/// tells the rooms they were in (`user_left`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CloseStaleSessions {}

impl Job for CloseStaleSessions {
    const KIND: &'static str = "metaverse_close_stale_sessions";
}

/// Reminds the participants of events starting within `METAVERSE_REMINDER_LEAD`: one
/// `event_reminder` notice each (the social domain turns them into notifications), once per
/// event (its `reminded_at`), and one announcement on the Bus topic
/// [`REMINDER_TOPIC`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RemindEvents {}

impl Job for RemindEvents {
    const KIND: &'static str = "metaverse_remind_events";
}

/// Registers both jobs, each every minute.
pub fn register_jobs(registry: &mut JobRegistry) {
    registry.handle(close_stale_sessions).max_attempts(1);
    registry.handle(remind_events).max_attempts(3);
    registry.periodic(
        "metaverse.close_stale_sessions",
        Schedule::every_minutes(1),
        &CloseStaleSessions {},
    );
    registry.periodic(
        "metaverse.remind_events",
        Schedule::every_minutes(1),
        &RemindEvents {},
    );
}

fn settings(ctx: &JobContext) -> MetaverseSettings {
    MetaverseSettings::from_env(&mut Env::new(ctx.config.vars()))
}

async fn close_stale_sessions(ctx: JobContext, _: CloseStaleSessions) -> Result<(), JobError> {
    let timeout = settings(&ctx).session_timeout;
    let closed = close_stale(&ctx, timeout).await?;
    if closed > 0 {
        tracing::info!(closed, "closed stale metaverse sessions");
    }
    Ok(())
}

/// Closes the sessions not seen for `timeout`; returns how many.
pub async fn close_stale(ctx: &JobContext, timeout: Duration) -> Result<usize, JobError> {
    let before = now() - chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::MAX);
    let stale = ctx
        .db
        .transaction(move |conn| {
            let rows = sessions::stale(conn, before, BATCH)?;
            let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
            sessions::close(conn, &ids)?;
            Ok(rows)
        })
        .await
        .map_err(|e| JobError::retry(e.detail()))?;
    // The worker may run without sockets: a hub of its own only publishes.
    let hub = Hub::new(
        ENDPOINT,
        Uuid::new_v4(),
        ctx.bus.get_ref().clone(),
        &ctx.metrics,
    );
    for session in &stale {
        presence::session_closed_on(&hub, session).await;
    }
    Ok(stale.len())
}

async fn remind_events(ctx: JobContext, _: RemindEvents) -> Result<(), JobError> {
    let lead = settings(&ctx).reminder_lead;
    remind(&ctx, lead).await.map(drop)
}

/// Sends the reminders of events starting within `lead`; returns how many events.
pub async fn remind(ctx: &JobContext, lead: Duration) -> Result<usize, JobError> {
    let lead = chrono::Duration::from_std(lead).unwrap_or(chrono::Duration::MAX);
    let due = ctx
        .db
        .run(move |conn| Ok(events::due_reminders(conn, lead, BATCH)?))
        .await
        .map_err(|e| JobError::retry(e.detail()))?;
    let mut sent = 0;
    for id in due {
        // One transaction per event: its claim and its notices commit together.
        let reminded = ctx
            .db
            .transaction(move |conn| Ok(events::remind(conn, id)?))
            .await
            .map_err(|e| JobError::retry(e.detail()))?;
        if let Some(reminded) = reminded {
            sent += 1;
            if let Ok(payload) = serde_json::to_vec(&reminded) {
                if let Err(e) = ctx.bus.publish(REMINDER_TOPIC, payload.into()).await {
                    tracing::warn!(error = %e, "event reminder not announced");
                }
            }
        }
    }
    Ok(sent)
}
