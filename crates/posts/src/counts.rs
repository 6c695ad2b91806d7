//! What the forum contributes to `system/status` and to user stats (`plaza_kernel::counts`).

use diesel::prelude::*;
use plaza_kernel::counts::Counts;
use plaza_kernel::schema::{posts, replies};

/// Adds the forum's counts: system-wide `posts` and `replies`, and per user `posts` and
/// `replies` (deleted replies are not counted). Each is one indexed `COUNT(*)`, but the posts' total,
/// which is kept ([`crate::model::post_total`]).
pub fn add_counts(counts: Counts) -> Counts {
    counts
        .system("posts", crate::model::post_total)
        .system("replies", |conn| {
            replies::table
                .filter(replies::is_deleted.eq(false))
                .count()
                .get_result(conn)
        })
        .per_user("posts", |conn, user_id| {
            posts::table
                .filter(posts::author_id.eq(user_id))
                .count()
                .get_result(conn)
        })
        .per_user("replies", |conn, user_id| {
            replies::table
                .filter(replies::author_id.eq(user_id))
                .filter(replies::is_deleted.eq(false))
                .count()
                .get_result(conn)
        })
}
