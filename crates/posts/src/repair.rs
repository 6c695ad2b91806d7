//! A nightly repair of the forum's counters, as a periodic job (`posts.repair_counters`,
//! 03:30 UTC).
//!
//! The counters are exact under everything the forum does itself: they change in SQL in the
//! transaction that changes what they count. What the forum does not see is a foreign-key
//! cascade from another domain: deleting a user (plaza-users) removes their posts, replies and
//! the answers under their replies in the database, and no `reply_count` or
//! `tags.usage_count` hears of it. The repair recounts from the rows themselves:
//!
//! - `posts.reply_count` := live replies of the post, by `UPDATE … SET reply_count =
//!   (SELECT COUNT(*) …)` statements over id ranges of 2000 posts (each atomic against
//!   concurrent replies, none holding many rows for long);
//! - `tags.usage_count` := links in `post_tags`, through plaza-core's `recount_usage`, which
//!   locks the tags first;
//! - tombstones left without answers are removed, as deleting their last answer would have;
//! - the posts' total (`post_totals`, kept by triggers that a cascade does not fire on MySQL)
//!   := `COUNT(*)` of the posts, with its slots locked so no create or delete lands between.

use std::collections::HashMap;

use diesel::dsl::{count_star, max};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use plaza_core::tags::service as tags;
use plaza_kernel::db::{self, DbConn};
use plaza_kernel::jobs::{Job, JobContext, JobError, JobRegistry, Schedule};
use plaza_kernel::schema::{post_tags, post_totals, posts, replies};
use plaza_kernel::ApiResult;
use serde::{Deserialize, Serialize};

/// Posts (in an id range) whose `reply_count` differs from their live replies get the right
/// number.
const RECOUNT_REPLIES: &str = "UPDATE posts SET reply_count = \
     (SELECT COUNT(*) FROM replies WHERE replies.post_id = posts.id AND replies.is_deleted = 0) \
     WHERE posts.id > ? AND posts.id <= ? AND reply_count <> \
     (SELECT COUNT(*) FROM replies WHERE replies.post_id = posts.id AND replies.is_deleted = 0)";

/// Posts recounted per statement (and transaction), so replies never wait long on the repair.
const POSTS_PER_BATCH: i64 = 2000;

/// Tombstones nobody answers any more.
const ORPHAN_TOMBSTONES: &str = "SELECT r.id AS id FROM replies r WHERE r.is_deleted = 1 \
     AND NOT EXISTS (SELECT 1 FROM replies c WHERE c.parent_id = r.id)";

/// What a repair changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Repaired {
    /// Posts whose `reply_count` was wrong.
    pub posts: usize,
    /// Tags whose `usage_count` was wrong.
    pub tags: usize,
    /// Tombstones removed because nothing answered them any more.
    pub tombstones: usize,
    /// Whether the posts' total was wrong.
    pub total: bool,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Recounts every forum counter from the rows; each part in its own short transaction.
pub fn repair_counters(conn: &mut DbConn) -> ApiResult<Repaired> {
    let tombstones = db::transaction(conn, |conn| {
        let ids: Vec<i64> = diesel::sql_query(ORPHAN_TOMBSTONES)
            .load::<IdRow>(conn)?
            .into_iter()
            .map(|row| row.id)
            .collect();
        if ids.is_empty() {
            return Ok::<_, diesel::result::Error>(0);
        }
        diesel::delete(
            replies::table
                .filter(replies::id.eq_any(&ids))
                .filter(replies::is_deleted.eq(true)),
        )
        .execute(conn)
    })?;
    let last_id: Option<i64> = posts::table.select(max(posts::id)).first(conn)?;
    let mut posts = 0;
    let mut from = 0;
    while from < last_id.unwrap_or(0) {
        let to = from.saturating_add(POSTS_PER_BATCH);
        posts += db::transaction(conn, |conn| {
            diesel::sql_query(RECOUNT_REPLIES)
                .bind::<BigInt, _>(from)
                .bind::<BigInt, _>(to)
                .execute(conn)
        })?;
        from = to;
    }
    let tags = db::transaction(conn, |conn| {
        tags::recount_usage(conn, |conn| {
            let links: Vec<(i64, i64)> = post_tags::table
                .group_by(post_tags::tag_id)
                .select((post_tags::tag_id, count_star()))
                .load(conn)?;
            Ok(links.into_iter().collect::<HashMap<i64, i64>>())
        })
    })?;
    let total = db::transaction(conn, recount_total)?;
    Ok(Repaired {
        posts,
        tags,
        tombstones,
        total,
    })
}

/// Sets the posts' total to `COUNT(*)`; whether it was wrong. The slots are locked first (on
/// SQLite the transaction holds the write lock), so every create or delete either committed
/// before the count, which sees it, or waits to change its slot after this commits.
fn recount_total(conn: &mut DbConn) -> QueryResult<bool> {
    let slots: Vec<i64> = match conn {
        DbConn::Mysql(c) => post_totals::table
            .select(post_totals::total)
            .for_update()
            .load(c)?,
        DbConn::Sqlite(_) => post_totals::table.select(post_totals::total).load(conn)?,
    };
    let kept: i64 = slots.iter().sum();
    let counted: i64 = posts::table.count().get_result(conn)?;
    if kept == counted {
        return Ok(false);
    }
    // Only the sum means something: the whole count goes to slot 0.
    diesel::update(post_totals::table)
        .set(post_totals::total.eq(0))
        .execute(conn)?;
    diesel::update(post_totals::table.find(0))
        .set(post_totals::total.eq(counted))
        .execute(conn)?;
    Ok(true)
}

/// The nightly job.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RepairCounters {}

impl Job for RepairCounters {
    const KIND: &'static str = "posts.repair_counters";
}

/// Registers the repair's handler and its daily schedule (03:30 UTC).
pub fn register_jobs(registry: &mut JobRegistry) {
    registry.handle(run_repair).max_attempts(3);
    registry.periodic(
        "posts.repair_counters",
        Schedule::daily_at(3, 30),
        &RepairCounters {},
    );
}

async fn run_repair(ctx: JobContext, _: RepairCounters) -> Result<(), JobError> {
    let repaired = ctx.db.run(repair_counters).await?;
    if repaired != Repaired::default() {
        tracing::warn!(
            posts = repaired.posts,
            tags = repaired.tags,
            tombstones = repaired.tombstones,
            total = repaired.total,
            "repaired forum counters that had drifted"
        );
    }
    Ok(())
}
