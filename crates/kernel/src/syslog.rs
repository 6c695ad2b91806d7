//! The system log: security and admin events any domain records (lockouts, token reuse,
//! permission changes, errors), listed by staff at `/api/v1/core/logs/`.
//!
//! [`record`] takes the caller's connection, so an event written inside a transaction commits
//! or rolls back with the change it describes.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::schema::system_logs;

/// Severity, as Python's logging levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Diagnostic detail.
    Debug,
    /// Normal events worth keeping (logins by staff, settings changed).
    Info,
    /// Something suspicious or refused (lockout, permission change).
    Warning,
    /// A failure.
    Error,
    /// A security incident (refresh-token reuse).
    Critical,
}

impl Level {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "debug" => Self::Debug,
            "info" => Self::Info,
            "warning" => Self::Warning,
            "error" => Self::Error,
            "critical" => Self::Critical,
            _ => return None,
        })
    }
}

/// One event to record.
#[derive(Clone, Debug)]
pub struct Event {
    /// Severity.
    pub level: Level,
    /// The domain that records it (`authentication`, `users`, …).
    pub module: &'static str,
    /// A stable event name (`login_locked`, `refresh_token_reuse`, …).
    pub event: &'static str,
    /// A sentence for humans. Never secrets.
    pub message: String,
    /// The user concerned, if any.
    pub user_id: Option<i64>,
    /// Client IP, if known.
    pub ip_address: Option<String>,
    /// Client user agent, if known.
    pub user_agent: Option<String>,
    /// The request id, if any.
    pub request_id: Option<String>,
    /// Structured details.
    pub data: serde_json::Value,
}

impl Event {
    /// An event with no user, request or details.
    pub fn new(
        level: Level,
        module: &'static str,
        event: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            level,
            module,
            event,
            message: message.into(),
            user_id: None,
            ip_address: None,
            user_agent: None,
            request_id: None,
            data: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Names the user concerned.
    #[must_use]
    pub fn user(mut self, user_id: i64) -> Self {
        self.user_id = Some(user_id);
        self
    }

    /// Adds the client's address.
    #[must_use]
    pub fn ip(mut self, ip: Option<String>) -> Self {
        self.ip_address = ip;
        self
    }

    /// Adds structured details.
    #[must_use]
    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

#[derive(Insertable)]
#[diesel(table_name = system_logs)]
struct NewLog<'a> {
    level: &'a str,
    module: &'a str,
    event: &'a str,
    message: &'a str,
    user_id: Option<i64>,
    ip_address: Option<&'a str>,
    user_agent: Option<&'a str>,
    request_id: Option<&'a str>,
    data: String,
    created_at: chrono::NaiveDateTime,
}

/// Writes `event` to the system log (and to the process log).
pub fn record(conn: &mut DbConn, event: &Event) -> QueryResult<()> {
    tracing::info!(
        level = event.level.as_str(),
        module = event.module,
        event = event.event,
        user_id = event.user_id,
        "{}",
        event.message
    );
    let user_agent = event.user_agent.as_deref().map(|ua| truncate(ua, 255));
    diesel::insert_into(system_logs::table)
        .values(NewLog {
            level: event.level.as_str(),
            module: event.module,
            event: event.event,
            message: &event.message,
            user_id: event.user_id,
            ip_address: event.ip_address.as_deref().map(|ip| truncate(ip, 45)),
            user_agent,
            request_id: event.request_id.as_deref().map(|id| truncate(id, 64)),
            data: event.data.to_string(),
            created_at: crate::time::now(),
        })
        .execute(conn)
        .map(drop)
}

/// `s` cut to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A recorded event, as a history page lists it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = system_logs)]
pub struct LogEntry {
    /// Id.
    pub id: i64,
    /// Stable event name.
    pub event: String,
    /// The sentence recorded.
    pub message: String,
    /// The user concerned.
    pub user_id: Option<i64>,
    /// Structured details, as JSON text.
    pub data: String,
    /// When.
    pub created_at: chrono::NaiveDateTime,
}

/// The latest (at most `limit`) events of `module` whose details carry `"object":"{object}"`,
/// newest first: the history of one object, as the staff console records it. The module's
/// index narrows the scan; the object is matched in the details' text.
pub fn history(
    conn: &mut DbConn,
    module: &str,
    object: &str,
    limit: i64,
) -> QueryResult<Vec<LogEntry>> {
    let needle = serde_json::json!({ "object": object }).to_string();
    // `{"object":"posts:1"}` → `"object":"posts:1"`, as it appears inside any details object.
    let inner = needle.trim_start_matches('{').trim_end_matches('}');
    let pattern = format!("%{}%", crate::db::like::escape(inner));
    system_logs::table
        .filter(system_logs::module.eq(module))
        .filter(
            system_logs::data
                .like(pattern)
                .escape(crate::db::like::ESCAPE),
        )
        .order((system_logs::created_at.desc(), system_logs::id.desc()))
        .limit(limit)
        .select(LogEntry::as_select())
        .load(conn)
}
