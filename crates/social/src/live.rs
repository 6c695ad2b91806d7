//! Realtime delivery: one Bus topic per user, `social.user.<id>`.
//!
//! A write that tells a user something (a notification, a message) collects [`Push`]es while
//! its transaction runs and publishes them once it committed ([`publish`]). Every open
//! `/ws/notifications/` connection of the user, in whichever process, holds a subscription to
//! the user's topic (the Bus keeps one Redis subscription per topic per process and fans out
//! locally) and queues what arrives on its bounded outbound queue. A process publishing to a
//! topic receives its own publication like any subscriber, so local and remote sockets are
//! served the same way and nothing is delivered twice.

use bytes::Bytes;
use plaza_kernel::Bus;
use serde::Serialize;

use crate::types::{MessageOut, NotificationOut};

/// The Bus topic of `user_id`'s sockets.
pub fn topic(user_id: i64) -> String {
    format!("social.user.{user_id}")
}

/// Something to push to one user's sockets once the transaction that made it committed.
#[derive(Clone, Debug)]
pub struct Push {
    /// Whose sockets.
    pub recipient: i64,
    /// The JSON text frame.
    pub payload: Bytes,
}

#[derive(Serialize)]
struct NotificationFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    notification: &'a NotificationOut,
}

#[derive(Serialize)]
struct MessageFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a MessageOut,
}

impl Push {
    /// `{"type":"notification","notification":{…}}` for its recipient.
    pub fn notification(recipient: i64, notification: &NotificationOut) -> Self {
        Self::frame(
            recipient,
            &NotificationFrame {
                kind: "notification",
                notification,
            },
        )
    }

    /// `{"type":"message","message":{…}}` for `recipient`.
    pub fn message(recipient: i64, message: &MessageOut) -> Self {
        Self::frame(
            recipient,
            &MessageFrame {
                kind: "message",
                message,
            },
        )
    }

    fn frame(recipient: i64, frame: &impl Serialize) -> Self {
        // Serialising these plain structs cannot fail.
        let payload = Bytes::from(serde_json::to_vec(frame).unwrap_or_default());
        Self { recipient, payload }
    }
}

/// A result and what to push once it is committed.
#[derive(Debug)]
pub struct WithPushes<T> {
    /// What the write produced.
    pub value: T,
    /// What its recipients' sockets should receive.
    pub pushes: Vec<Push>,
}

impl<T> WithPushes<T> {
    /// A result with nothing to push.
    pub fn quiet(value: T) -> Self {
        Self {
            value,
            pushes: Vec::new(),
        }
    }
}

/// Publishes `pushes` on the Bus. A Bus failure is logged, never the caller's error: the
/// notification is stored, and the client sees it on its next list.
pub async fn publish(bus: &Bus, pushes: Vec<Push>) {
    for push in pushes {
        if let Err(err) = bus.publish(&topic(push.recipient), push.payload).await {
            tracing::warn!(recipient = push.recipient, error = %err, "social push not published");
        }
    }
}
