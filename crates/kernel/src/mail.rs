//! Outgoing mail. Sending is always a job ([`Email`] is one), never done inside a request:
//! [`queue`] stores the message on the caller's connection, and a worker delivers it through
//! the configured backend (`EMAIL_BACKEND`: console, file or smtp).

use diesel::QueryResult;
use serde::{Deserialize, Serialize};

use crate::db::DbConn;
use crate::jobs::{enqueue, Enqueued, Job, JobOptions};

/// One message to one recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Subject (UTF-8).
    pub subject: String,
    /// Plain-text body (UTF-8).
    pub text: String,
    /// Optional HTML alternative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

impl Job for Email {
    const KIND: &'static str = "send_email";
}

/// Queues `email` for delivery, inside the caller's transaction if there is one.
pub fn queue(conn: &mut DbConn, email: &Email) -> QueryResult<Enqueued> {
    enqueue(conn, email, JobOptions::default().priority(10))
}
