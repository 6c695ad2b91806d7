//! The kernel's own periodic job: pruning finished jobs so the queue table stays small.

use std::time::Duration;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::context::JobContext;
use super::error::JobError;
use super::registry::JobRegistry;
use super::schedule::Schedule;
use super::{store, Job, JobStatus};

/// Rows deleted per statement.
const BATCH: i64 = 500;

/// Deletes succeeded jobs older than `JOBS_RETENTION` and dead ones older than
/// `JOBS_DEAD_RETENTION` — never sooner than twice the longest period of a periodic job, whose
/// unique keys must outlive their period. Runs hourly.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PruneJobs {}

impl Job for PruneJobs {
    const KIND: &'static str = "prune_jobs";
}

/// Registers the pruning handler and its hourly schedule.
pub(crate) fn register_jobs(registry: &mut JobRegistry) {
    registry.handle(prune_jobs).max_attempts(3);
    registry.periodic("kernel.prune_jobs", Schedule::hourly(), &PruneJobs {});
}

async fn prune_jobs(ctx: JobContext, _: PruneJobs) -> Result<(), JobError> {
    let floor = ctx.registry.longest_period().saturating_mul(2);
    let now = crate::time::now();
    let cutoff =
        |keep: Duration| now - TimeDelta::from_std(keep.max(floor)).unwrap_or(TimeDelta::MAX / 2);
    let succeeded_before = cutoff(ctx.config.jobs.retention);
    let dead_before = cutoff(ctx.config.jobs.dead_retention);
    let (succeeded, dead) = ctx
        .db
        .run(move |conn| {
            let mut deleted = [0usize; 2];
            for (slot, status, before) in [
                (0, JobStatus::Succeeded, succeeded_before),
                (1, JobStatus::Dead, dead_before),
            ] {
                loop {
                    let n = store::prune(conn, status, before, BATCH)?;
                    deleted[slot] += n;
                    if i64::try_from(n).unwrap_or(0) < BATCH {
                        break;
                    }
                }
            }
            Ok((deleted[0], deleted[1]))
        })
        .await?;
    if succeeded + dead > 0 {
        tracing::info!(succeeded, dead, "pruned finished jobs");
    }
    Ok(())
}
