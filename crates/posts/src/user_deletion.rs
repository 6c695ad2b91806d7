//! An account's deletion cascades through the forum: the user's posts go with their replies and
//! tag links (the posts deleted by [`before_user_delete`] itself, so the posts' total stays
//! exact), and the user's replies elsewhere go with the answers under them. No counter sees
//! a cascade, so the deleting transaction notes what it leaves stale and a job
//! ([`UserDeleted`]) brings it up to date once the deletion has committed: the `reply_count` of
//! the other threads the user replied in, the `usage_count` of the tags on the user's posts,
//! tombstones left without answers in those threads, and every instance's read cache. The
//! nightly repair ([`crate::repair`]) remains for drift from anything else.

use std::collections::HashMap;

use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use plaza_core::tags::service as tags;
use plaza_kernel::db::DbConn;
use plaza_kernel::jobs::{enqueue, Job, JobContext, JobError, JobOptions, JobRegistry};
use plaza_kernel::schema::{post_tags, posts, replies};
use serde::{Deserialize, Serialize};

use plaza_kernel::settings::Sections;

use crate::cache::{bump, Change};
use crate::settings::PostsSettings;

/// Brings the forum up to date after an account's deletion.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDeleted {
    /// Other users' posts the deleted user replied in.
    pub threads: Vec<i64>,
    /// Tags of the deleted user's posts.
    pub tags: Vec<i64>,
}

impl Job for UserDeleted {
    const KIND: &'static str = "posts.user_deleted";
}

/// Threads recounted per statement.
const THREADS_PER_STATEMENT: usize = 500;

/// [`plaza_kernel::domain::Domain::before_user_delete`]: notes, in the deleting transaction,
/// what the cascade will leave stale, as a [`UserDeleted`] job (none when the user never
/// wrote in the forum).
pub fn before_user_delete(conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
    let threads: Vec<i64> = replies::table
        .inner_join(posts::table)
        .filter(replies::author_id.eq(user_id))
        .filter(posts::author_id.ne(user_id))
        .select(replies::post_id)
        .distinct()
        .load(conn)?;
    let tags: Vec<i64> = post_tags::table
        .inner_join(posts::table)
        .filter(posts::author_id.eq(user_id))
        .select(post_tags::tag_id)
        .distinct()
        .load(conn)?;
    // The user's posts go here rather than by the users row's cascade, which MySQL runs
    // without firing triggers: the posts' total (`post_totals`) stays exact in this
    // transaction. Their replies and tag links still go by cascade.
    let wrote_posts =
        diesel::delete(posts::table.filter(posts::author_id.eq(user_id))).execute(conn)?;
    if threads.is_empty() && wrote_posts == 0 {
        return Ok(());
    }
    enqueue(conn, &UserDeleted { threads, tags }, JobOptions::default()).map(drop)
}

/// Recounts what `job` names, in one transaction.
pub fn bring_up_to_date(conn: &mut DbConn, job: &UserDeleted) -> QueryResult<()> {
    plaza_kernel::db::transaction(conn, |conn| {
        for chunk in job.threads.chunks(THREADS_PER_STATEMENT) {
            let list = plaza_kernel::db::id_list(chunk);
            remove_orphan_tombstones(conn, &list)?;
            diesel::sql_query(format!(
                "UPDATE posts SET reply_count = (SELECT COUNT(*) FROM replies \
                 WHERE replies.post_id = posts.id AND replies.is_deleted = 0) \
                 WHERE posts.id IN ({list})"
            ))
            .execute(conn)?;
        }
        let ids = job.tags.clone();
        tags::recount_usage_of(conn, &job.tags, move |conn| {
            let links: Vec<(i64, i64)> = post_tags::table
                .filter(post_tags::tag_id.eq_any(&ids))
                .group_by(post_tags::tag_id)
                .select((post_tags::tag_id, count_star()))
                .load(conn)?;
            Ok(links.into_iter().collect::<HashMap<i64, i64>>())
        })?;
        Ok(())
    })
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Tombstones in the threads `list` that nothing answers any more (their answers were the
/// deleted user's).
fn remove_orphan_tombstones(conn: &mut DbConn, list: &str) -> QueryResult<()> {
    let ids: Vec<i64> = diesel::sql_query(format!(
        "SELECT r.id AS id FROM replies r WHERE r.post_id IN ({list}) AND r.is_deleted = 1 \
         AND NOT EXISTS (SELECT 1 FROM replies c WHERE c.parent_id = r.id)"
    ))
    .load::<IdRow>(conn)?
    .into_iter()
    .map(|row| row.id)
    .collect();
    if !ids.is_empty() {
        diesel::delete(
            replies::table
                .filter(replies::id.eq_any(&ids))
                .filter(replies::is_deleted.eq(true)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// Registers the handler of [`UserDeleted`].
pub fn register_jobs(registry: &mut JobRegistry) {
    registry.handle(|ctx: JobContext, job: UserDeleted| async move {
        let threads = job.threads.clone();
        ctx.db
            .run(move |conn| Ok(bring_up_to_date(conn, &job)?))
            .await?;
        // Every instance's cached lists (the user's posts left them) and the threads the user
        // replied in are stale from now on, as after a forum write.
        let ttl = Sections::from_vars(ctx.config.shared_vars())
            .get_or_default::<PostsSettings>()
            .cache_ttl;
        let changes = std::iter::once(Change::Lists).chain(threads.into_iter().map(Change::Thread));
        for change in changes {
            bump(&ctx.cache, ttl, change)
                .await
                .map_err(|e| JobError::retry(e.to_string()))?;
        }
        Ok(())
    });
}
