//! The streaming domain's background work: reaping streams and connections left behind by a
//! process that stopped, every minute.

use plaza_kernel::jobs::{Job, JobContext, JobError, JobRegistry, Schedule};
use plaza_kernel::realtime::Hub;
use plaza_kernel::settings::{Env, Section};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::reaper;
use crate::runtime::ENDPOINT;
use crate::settings::StreamingSettings;

/// Closes connections whose process stopped sending heartbeats, ends live streams whose
/// creator is gone, and tells the peers still connected (see [`reaper`]).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ReapStreams {}

impl Job for ReapStreams {
    const KIND: &'static str = "streaming_reap";
}

/// Registers the reaper and its schedule (every minute).
pub fn register_jobs(registry: &mut JobRegistry) {
    registry.handle(reap_streams).max_attempts(1);
    registry.periodic(
        "streaming.reap_streams",
        Schedule::every_minutes(1),
        &ReapStreams {},
    );
}

async fn reap_streams(ctx: JobContext, _: ReapStreams) -> Result<(), JobError> {
    // The worker may run in a process without WebSockets (`plaza worker`): a hub of its own
    // only publishes, and every process with peers of a reaped stream applies it.
    let hub = Hub::new(
        ENDPOINT,
        Uuid::new_v4(),
        ctx.bus.get_ref().clone(),
        &ctx.metrics,
    );
    // Jobs see the kernel's services, not the sections: the section is read again from the
    // variables the configuration came from (checked at start, so any problem was reported).
    let settings = StreamingSettings::from_env(&mut Env::new(ctx.config.vars()));
    reaper::reap(&ctx.db, &hub, reaper::stale_after(&settings))
        .await
        .map_err(|e| JobError::retry(e.detail()))?;
    Ok(())
}
