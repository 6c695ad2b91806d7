//! Counting enqueued jobs for `plaza_jobs_enqueued_total`.
//!
//! [`enqueue`](super::enqueue) runs on a bare connection, often inside the caller's
//! transaction, where no `Metrics` is at hand and the job may still roll back. So it notes the
//! kind here, on the blocking thread it runs on; [`db::transaction`](crate::db::transaction)
//! forgets what a rolled-back transaction noted, and [`Db::run`](crate::db::Db::run) (which
//! every request and job goes through) counts what is left once its work is done — exactly the
//! jobs that committed. Work done outside `Db::run` (the CLI) is not counted.

use std::cell::RefCell;

/// Notes kept per thread at most: work outside `Db::run` on a long-lived thread never
/// grows memory without bound (its jobs go uncounted instead).
const MAX_NOTED: usize = 4096;

thread_local! {
    static ENQUEUED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Notes one enqueued job of `kind`.
pub(crate) fn enqueued(kind: &str) {
    ENQUEUED.with(|e| {
        let mut noted = e.borrow_mut();
        if noted.len() < MAX_NOTED {
            noted.push(kind.to_owned());
        }
    });
}

/// How many jobs are noted so far, to forget those of a transaction that rolls back.
pub(crate) fn mark() -> usize {
    ENQUEUED.with(|e| e.borrow().len())
}

/// Forgets what was noted after `mark`.
pub(crate) fn rollback_to(mark: usize) {
    ENQUEUED.with(|e| e.borrow_mut().truncate(mark));
}

/// Starts a unit of work with nothing noted.
pub(crate) fn begin() {
    ENQUEUED.with(|e| e.borrow_mut().clear());
}

/// Takes what was noted since [`begin`].
pub(crate) fn take() -> Vec<String> {
    ENQUEUED.with(|e| std::mem::take(&mut *e.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rolled_back_mark_forgets_later_notes() {
        begin();
        enqueued("a");
        let mark = mark();
        enqueued("b");
        rollback_to(mark);
        enqueued("c");
        assert_eq!(take(), vec!["a".to_owned(), "c".to_owned()]);
        assert!(take().is_empty());
    }
}
