//! Buffered view counts: a detail view adds one in memory, and a periodic flush writes each
//! post's views in one `UPDATE … SET view_count = view_count + n` (all posts in one
//! transaction), so a popular post costs one write per flush, not one per reader.
//!
//! Counts stay exact in this process: a detail response shows what the database held when the
//! post was read, minus what this process had flushed by then, plus every view added since.
//! [`ViewCounter::reading`] holds the flush off while a post is read, so the database value
//! and the flushed tally always describe the same moment. Another instance's unflushed views
//! appear after its next flush. A failed flush keeps its counts for the next one; a process
//! killed without its shutdown flush loses at most one interval of views.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard};

use diesel::prelude::*;
use plaza_kernel::DbConn;

/// Views not yet written, per post; shared by the HTTP workers (app data).
#[derive(Debug, Default)]
pub struct ViewCounter {
    tallies: Mutex<Tallies>,
    /// Held shared while a post is read, exclusively while a flush writes.
    flushing: RwLock<()>,
}

#[derive(Debug, Default)]
struct Tallies {
    posts: HashMap<i64, Tally>,
    /// Bumped whenever idle tallies are forgotten, so older snapshots stop matching.
    epoch: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    /// Views added in this process (since the tally was created).
    added: u64,
    /// Of those, how many a flush has written.
    flushed: u64,
    /// Viewed since the last flush.
    touched: bool,
}

/// What this process had flushed for a post at the moment its row was read; see
/// [`ViewCounter::snapshot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    flushed: u64,
    epoch: u64,
}

impl ViewCounter {
    /// An empty counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hold this while reading a post's row and taking its [`snapshot`](Self::snapshot): no
    /// flush can land in between.
    pub fn reading(&self) -> RwLockReadGuard<'_, ()> {
        self.flushing.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// What has been flushed for `post_id` so far (take it under [`reading`](Self::reading)).
    pub fn snapshot(&self, post_id: i64) -> Snapshot {
        let tallies = self.lock();
        Snapshot {
            flushed: tallies.posts.get(&post_id).map_or(0, |t| t.flushed),
            epoch: tallies.epoch,
        }
    }

    /// Counts one view of `post_id`.
    pub fn add(&self, post_id: i64) {
        let mut tallies = self.lock();
        let tally = tallies.posts.entry(post_id).or_default();
        tally.added += 1;
        tally.touched = true;
    }

    /// The count to show for `post_id`, given the `stored` count read together with
    /// `snapshot`; `None` when a flush has forgotten tallies since (read the post again).
    pub fn shown(&self, post_id: i64, stored: i64, snapshot: Snapshot) -> Option<i64> {
        let tallies = self.lock();
        if tallies.epoch != snapshot.epoch {
            return None;
        }
        let added = tallies.posts.get(&post_id).map_or(0, |t| t.added);
        let unseen = added.saturating_sub(snapshot.flushed);
        Some(stored.saturating_add(i64::try_from(unseen).unwrap_or(i64::MAX)))
    }

    /// `true` when no post has a tally (nothing to write or forget).
    pub fn is_empty(&self) -> bool {
        self.lock().posts.is_empty()
    }

    /// Views added but not written yet, over all posts.
    pub fn pending(&self) -> u64 {
        self.lock()
            .posts
            .values()
            .map(|t| t.added - t.flushed)
            .sum()
    }

    /// Writes every pending view (one statement per post, one transaction), then forgets
    /// posts nobody viewed since the previous flush. Returns how many views were written; on
    /// an error nothing is marked written and the next flush retries.
    pub fn flush(&self, conn: &mut DbConn) -> QueryResult<u64> {
        let _exclusive = self
            .flushing
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // (post, views added so far, of which not yet written); only a flush moves
        // `flushed`, and flushes exclude each other.
        let due: Vec<(i64, u64, u64)> = self
            .lock()
            .posts
            .iter()
            .filter(|(_, t)| t.added > t.flushed)
            .map(|(id, t)| (*id, t.added, t.added - t.flushed))
            .collect();
        if !due.is_empty() {
            // One statement per chunk, not one per post: readers of uncached details wait for
            // the flush, and on MySQL hundreds of round trips made that wait ~0.1 s each second.
            plaza_kernel::db::transaction(conn, |conn| {
                for chunk in due.chunks(FLUSH_CHUNK) {
                    diesel::sql_query(add_views_sql(chunk)).execute(conn)?;
                }
                Ok::<_, diesel::result::Error>(())
            })?;
        }
        let mut tallies = self.lock();
        for (id, added, _) in &due {
            if let Some(tally) = tallies.posts.get_mut(id) {
                tally.flushed = *added;
            }
        }
        let written = due.iter().map(|(_, _, pending)| pending).sum();
        let before = tallies.posts.len();
        tallies
            .posts
            .retain(|_, t| std::mem::take(&mut t.touched) || t.added > t.flushed);
        if tallies.posts.len() != before {
            tallies.epoch += 1;
        }
        Ok(written)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tallies> {
        // Tallies are plain numbers; a panic elsewhere leaves them usable.
        self.tallies.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Posts whose views one statement adds.
const FLUSH_CHUNK: usize = 500;

/// `UPDATE posts SET view_count = view_count + CASE id WHEN … END WHERE id IN (…)` for
/// `(post, _, pending)` tallies. Every value is an integer this process counted, written as a
/// literal: nothing from a client reaches the text.
fn add_views_sql(due: &[(i64, u64, u64)]) -> String {
    use std::fmt::Write;
    let mut cases = String::new();
    let mut ids = String::new();
    for (id, _, pending) in due {
        let n = i64::try_from(*pending).unwrap_or(i64::MAX);
        let _ = write!(cases, " WHEN {id} THEN {n}");
        if !ids.is_empty() {
            ids.push(',');
        }
        let _ = write!(ids, "{id}");
    }
    format!(
        "UPDATE posts SET view_count = view_count + CASE id{cases} ELSE 0 END WHERE id IN ({ids})"
    )
}

#[cfg(test)]
mod tests {
    use super::add_views_sql;

    #[test]
    fn one_statement_adds_every_posts_views() {
        assert_eq!(
            add_views_sql(&[(7, 10, 3), (12, 1, 1)]),
            "UPDATE posts SET view_count = view_count + CASE id WHEN 7 THEN 3 WHEN 12 THEN 1 \
             ELSE 0 END WHERE id IN (7,12)"
        );
    }
}
