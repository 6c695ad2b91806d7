//! An account's deletion takes its attachment rows with it (a cascade on `owner_id`); their
//! files under `MEDIA_ROOT` are removed by a job once the deletion has committed.

use diesel::prelude::*;
use plaza_kernel::db::DbConn;
use plaza_kernel::jobs::{enqueue, Job, JobContext, JobError, JobOptions, JobRegistry};
use plaza_kernel::schema::attachments;
use serde::{Deserialize, Serialize};

use super::storage;

/// Removes stored files whose rows are gone.
#[derive(Debug, Serialize, Deserialize)]
pub struct RemoveFiles {
    /// Paths relative to `MEDIA_ROOT` (`attachments/…`).
    pub paths: Vec<String>,
}

impl Job for RemoveFiles {
    const KIND: &'static str = "core.remove_files";
}

/// Files in one job, so a user with many uploads does not make one huge payload.
const PATHS_PER_JOB: usize = 500;

/// [`plaza_kernel::domain::Domain::before_user_delete`]: queues the removal of the files of
/// `user_id`'s attachments, in the deleting transaction.
pub fn before_user_delete(conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
    let paths: Vec<String> = attachments::table
        .filter(attachments::owner_id.eq(user_id))
        .select(attachments::path)
        .load(conn)?;
    for chunk in paths.chunks(PATHS_PER_JOB) {
        let job = RemoveFiles {
            paths: chunk.to_vec(),
        };
        enqueue(conn, &job, JobOptions::default())?;
    }
    Ok(())
}

/// Registers the handler of [`RemoveFiles`].
pub fn register_jobs(jobs: &mut JobRegistry) {
    jobs.handle(|ctx: JobContext, job: RemoveFiles| async move {
        let root = ctx.config.media_root.clone();
        for path in &job.paths {
            storage::remove(&root, path)
                .await
                .map_err(|e| JobError::retry(format!("removing {path}: {e}")))?;
        }
        Ok(())
    });
}
