//! Locking helpers shared by the crates.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, going on past poisoning: the state behind Plaza's mutexes (maps, counters,
/// queues) stays consistent between statements, so a panic in another holder leaves it usable
/// and one failed request must not wedge every later one.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
