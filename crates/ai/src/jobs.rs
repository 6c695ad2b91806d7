//! The periodic roll-up of the request log into `ai_daily_stats` (`ai.roll_up_stats`, every
//! 10 minutes): today's and every day since the last roll-up, each recomputed from the log
//! in two statements, so `stats/` never scans the raw log.

use plaza_kernel::jobs::{Job, JobContext, JobError, JobRegistry, Schedule};
use serde::{Deserialize, Serialize};

use crate::service;

/// Rolls the request log up into daily stats.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RollUpStats {}

impl Job for RollUpStats {
    const KIND: &'static str = "ai.roll_up_stats";
}

/// Registers the roll-up's handler and schedule.
pub fn register_jobs(registry: &mut JobRegistry) {
    registry.handle(run_roll_up).max_attempts(3);
    registry.periodic(
        "ai.roll_up_stats",
        Schedule::every_minutes(10),
        &RollUpStats {},
    );
}

async fn run_roll_up(ctx: JobContext, _: RollUpStats) -> Result<(), JobError> {
    let today = chrono::Utc::now().date_naive();
    let rows = ctx
        .db
        .run(move |conn| service::roll_up(conn, today))
        .await?;
    tracing::debug!(rows, "rolled up AI usage");
    Ok(())
}
