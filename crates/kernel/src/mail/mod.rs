//! Outgoing mail. Sending is always a job ([`Email`] is one), never done inside a request:
//! [`queue`] stores the message on the caller's connection, and a worker delivers it through
//! the [`Mailer`] `EMAIL_BACKEND` names — `console` (logs it), `file` (one `.eml` per message
//! in `EMAIL_FILE_DIR`) or `smtp` (lettre, with STARTTLS or TLS and authentication).

mod mailer;

use diesel::QueryResult;
use serde::{Deserialize, Serialize};

pub use mailer::{MailError, Mailer};

use crate::db::DbConn;
use crate::jobs::{enqueue, Enqueued, Job, JobContext, JobError, JobOptions, JobRegistry};

/// Attempts a mail gets: with the default backoff (10 s doubling up to an hour) an SMTP
/// outage of about three hours loses nothing.
pub const MAIL_MAX_ATTEMPTS: u32 = 10;

/// One message to one recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// Recipient address (`a@example.com` or `Name <a@example.com>`).
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

    /// Bodies carry one-time links (verification, password reset): staff see who got what
    /// subject, not the links.
    fn redact(payload: &mut serde_json::Value) {
        if let Some(fields) = payload.as_object_mut() {
            for body in ["text", "html"] {
                if let Some(value) = fields.get_mut(body) {
                    if !value.is_null() {
                        *value = serde_json::Value::String("[redacted]".to_owned());
                    }
                }
            }
        }
    }
}

/// Queues `email` for delivery, inside the caller's transaction if there is one.
pub fn queue(conn: &mut DbConn, email: &Email) -> QueryResult<Enqueued> {
    enqueue(conn, email, JobOptions::default().priority(10))
}

/// Registers the `send_email` handler.
pub(crate) fn register_jobs(registry: &mut JobRegistry) {
    registry.handle(send_email).max_attempts(MAIL_MAX_ATTEMPTS);
}

/// Delivers one queued message through the worker's mailer.
async fn send_email(ctx: JobContext, email: Email) -> Result<(), JobError> {
    match ctx.mailer.send(&email).await {
        Ok(()) => Ok(()),
        // A bad address or a 5xx answer will not change on retry.
        Err(err) if err.is_permanent() => Err(JobError::permanent(err)),
        Err(err) => Err(JobError::retry(err)),
    }
}
