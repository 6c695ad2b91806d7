//! Notices: one domain tells a user something that another domain delivers.
//!
//! The forum tells a post's author about a reply; the metaverse tells an event's participants
//! that it starts soon; the social domain turns each notice into a notification (stored, counted
//! as unread, pushed to the user's open sockets). The sender does not depend on the receiver:
//! it enqueues a [`Notice`] job on its own connection — inside its own transaction, so a notice
//! exists exactly when the change that caused it was committed — and whichever domain delivers
//! notifications registers the handler for [`Notice::KIND`].
//!
//! In an app where no domain handles notices (a domain mounted alone), the jobs stay queued
//! and nothing else happens; mounting the social domain later delivers them.
//!
//! ```ignore
//! plaza_kernel::notices::send(conn, &Notice::new(author, "forum_reply")
//!     .actor(replier)
//!     .data(serde_json::json!({"post_id": 7, "reply_id": 42})))?;
//! ```

use diesel::QueryResult;
use serde::{Deserialize, Serialize};

use crate::db::DbConn;
use crate::ids::UserId;
use crate::jobs::{self, Enqueued, Job, JobOptions};

/// Something to tell one user, as the sending domain describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// Who is told.
    pub recipient: UserId,
    /// Who caused it, when a user did (the replier, the new follower).
    #[serde(default)]
    pub actor: Option<UserId>,
    /// A stable name for the kind of notice: `forum_reply`, `event_reminder`, … (≤ 32 characters).
    pub kind: String,
    /// What the client needs to show and link it (ids, a title); a JSON object.
    #[serde(default)]
    pub data: serde_json::Value,
}

impl Notice {
    /// A notice of `kind` for `recipient`, with no actor and empty data.
    pub fn new(recipient: UserId, kind: impl Into<String>) -> Self {
        Self {
            recipient,
            actor: None,
            kind: kind.into(),
            data: serde_json::Value::Object(Default::default()),
        }
    }

    /// Names the user who caused it.
    #[must_use]
    pub fn actor(mut self, actor: UserId) -> Self {
        self.actor = Some(actor);
        self
    }

    /// Attaches what the client shows.
    #[must_use]
    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

impl Job for Notice {
    const KIND: &'static str = "notice";
}

/// Enqueues `notice` on `conn` (inside the caller's transaction, if any). Telling users about
/// their own actions is the caller's to avoid; the receiver also drops a notice whose actor is
/// its recipient.
pub fn send(conn: &mut DbConn, notice: &Notice) -> QueryResult<Enqueued> {
    jobs::enqueue(conn, notice, JobOptions::default())
}

/// Enqueues several notices, one job each, on `conn`, in one statement
/// ([`jobs::enqueue_all`]).
pub fn send_all<'a>(
    conn: &mut DbConn,
    notices: impl IntoIterator<Item = &'a Notice>,
) -> QueryResult<()> {
    jobs::enqueue_all(conn, notices)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_round_trips_as_its_job_payload() {
        let notice = Notice::new(UserId(3), "forum_reply")
            .actor(UserId(4))
            .data(serde_json::json!({"post_id": 7}));
        let json = serde_json::to_string(&notice).unwrap();
        assert_eq!(
            json,
            r#"{"recipient":3,"actor":4,"kind":"forum_reply","data":{"post_id":7}}"#
        );
        assert_eq!(serde_json::from_str::<Notice>(&json).unwrap(), notice);
        let bare: Notice = serde_json::from_str(r#"{"recipient":3,"kind":"x"}"#).unwrap();
        assert_eq!(bare.actor, None);
    }
}
