//! Counts that domains contribute to shared views without the views knowing their tables:
//! system-wide counts for staff `system/status` (users, posts, live streams, …) and per-user
//! counts for `users/{id}/stats/` (posts, replies, friends, …).
//!
//! Each domain exposes a function adding its counts; the server builds one [`Counts`] from all
//! of them and registers it as `web::Data<Counts>`:
//!
//! ```ignore
//! let counts = Counts::default()
//!     .system("users", |conn| users::table.count().get_result(conn))
//!     .per_user("posts", |conn, user_id| posts::table.filter(posts::author_id.eq(user_id)).count().get_result(conn));
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use diesel::QueryResult;

use crate::db::DbConn;

type SystemFn = Arc<dyn Fn(&mut DbConn) -> QueryResult<i64> + Send + Sync>;
type UserFn = Arc<dyn Fn(&mut DbConn, i64) -> QueryResult<i64> + Send + Sync>;

/// Named counts contributed by the domains.
#[derive(Clone, Default)]
pub struct Counts {
    system: Vec<(&'static str, SystemFn)>,
    per_user: Vec<(&'static str, UserFn)>,
}

impl std::fmt::Debug for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let system: Vec<_> = self.system.iter().map(|(n, _)| *n).collect();
        let per_user: Vec<_> = self.per_user.iter().map(|(n, _)| *n).collect();
        f.debug_struct("Counts")
            .field("system", &system)
            .field("per_user", &per_user)
            .finish()
    }
}

impl Counts {
    /// Adds a system-wide count.
    #[must_use]
    pub fn system(
        mut self,
        name: &'static str,
        count: impl Fn(&mut DbConn) -> QueryResult<i64> + Send + Sync + 'static,
    ) -> Self {
        self.system.push((name, Arc::new(count)));
        self
    }

    /// Adds a count about one user.
    #[must_use]
    pub fn per_user(
        mut self,
        name: &'static str,
        count: impl Fn(&mut DbConn, i64) -> QueryResult<i64> + Send + Sync + 'static,
    ) -> Self {
        self.per_user.push((name, Arc::new(count)));
        self
    }

    /// Every system-wide count, by name.
    pub fn count_system(&self, conn: &mut DbConn) -> QueryResult<BTreeMap<&'static str, i64>> {
        self.system
            .iter()
            .map(|(name, f)| Ok((*name, f(conn)?)))
            .collect()
    }

    /// Every count about `user_id`, by name.
    pub fn count_user(
        &self,
        conn: &mut DbConn,
        user_id: i64,
    ) -> QueryResult<BTreeMap<&'static str, i64>> {
        self.per_user
            .iter()
            .map(|(name, f)| Ok((*name, f(conn, user_id)?)))
            .collect()
    }
}
