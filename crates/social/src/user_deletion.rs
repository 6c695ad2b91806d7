//! An account's deletion cascades through the social tables: the user's likes, comments and
//! memberships go, and with them part of what other users' posts and groups count. The deleting
//! transaction notes which posts and groups those are, and a job ([`UserDeleted`]) recounts
//! their `like_count`, `comment_count` and `member_count` once the deletion has committed. (The
//! user's own posts and groups go whole; conversations with them go with their messages.)

use diesel::prelude::*;
use plaza_kernel::db::{id_list, DbConn};
use plaza_kernel::jobs::{enqueue, Job, JobContext, JobOptions, JobRegistry};
use serde::{Deserialize, Serialize};

use crate::schema::{
    social_comments as c, social_group_members as gm, social_groups as g, social_likes as l,
    social_posts as p,
};

/// Recounts other users' posts and groups after an account's deletion.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDeleted {
    /// Posts of others the user liked or commented on.
    pub posts: Vec<i64>,
    /// Groups of others the user was an active member of.
    pub groups: Vec<i64>,
}

impl Job for UserDeleted {
    const KIND: &'static str = "social.user_deleted";
}

/// [`plaza_kernel::domain::Domain::before_user_delete`]: notes, in the deleting transaction,
/// which counters the cascade will leave stale (no job when none).
pub fn before_user_delete(conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
    let mut posts: Vec<i64> = l::table
        .inner_join(p::table)
        .filter(l::user_id.eq(user_id))
        .filter(p::author_id.ne(user_id))
        .select(l::post_id)
        .load(conn)?;
    posts.extend(
        c::table
            .inner_join(p::table)
            .filter(c::author_id.eq(user_id))
            .filter(p::author_id.ne(user_id))
            .select(c::post_id)
            .distinct()
            .load::<i64>(conn)?,
    );
    posts.sort_unstable();
    posts.dedup();
    let groups: Vec<i64> = gm::table
        .inner_join(g::table)
        .filter(gm::user_id.eq(user_id))
        .filter(gm::status.eq("active"))
        .filter(g::owner_id.ne(user_id))
        .select(gm::group_id)
        .load(conn)?;
    if posts.is_empty() && groups.is_empty() {
        return Ok(());
    }
    enqueue(conn, &UserDeleted { posts, groups }, JobOptions::default()).map(drop)
}

/// Rows recounted per statement.
const IDS_PER_STATEMENT: usize = 500;

/// Recounts what `job` names, in one transaction: each counter set from its rows in SQL, a
/// statement per few hundred posts or groups (not per row).
pub fn bring_up_to_date(conn: &mut DbConn, job: &UserDeleted) -> QueryResult<()> {
    plaza_kernel::db::transaction(conn, |conn| {
        for chunk in job.posts.chunks(IDS_PER_STATEMENT) {
            let list = id_list(chunk);
            diesel::sql_query(format!(
                "UPDATE social_posts SET \
                 like_count = (SELECT COUNT(*) FROM social_likes l WHERE l.post_id = social_posts.id), \
                 comment_count = (SELECT COUNT(*) FROM social_comments c WHERE c.post_id = social_posts.id) \
                 WHERE id IN ({list})"
            ))
            .execute(conn)?;
        }
        for chunk in job.groups.chunks(IDS_PER_STATEMENT) {
            let list = id_list(chunk);
            diesel::sql_query(format!(
                "UPDATE social_groups SET member_count = (SELECT COUNT(*) FROM social_group_members m \
                 WHERE m.group_id = social_groups.id AND m.status = 'active') WHERE id IN ({list})"
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
