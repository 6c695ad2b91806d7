//! The history of every change made in the console, kept in the system log (module `admin`):
//! who, what, which object, the changed fields with their old and new values. An object's
//! history page lists its entries, newest first.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use plaza_kernel::syslog::{self, Event, Level};
use plaza_kernel::ApiResult;
use serde::Serialize;

use crate::render::{ConsoleData, PageError};
use crate::session::Staff;

/// The module name of the console's entries in the system log.
pub const MODULE: &str = "admin";

/// How an object is named in the log: `{model}:{id}`.
pub fn object_key(model: &str, id: &str) -> String {
    format!("{model}:{id}")
}

/// One change to record.
#[derive(Debug)]
pub struct Change<'a> {
    /// `admin_change`, `admin_create`, `admin_delete`, `admin_action`.
    pub event: &'static str,
    /// The model.
    pub model: &'a str,
    /// The object.
    pub id: &'a str,
    /// A sentence.
    pub message: String,
    /// The changed fields (`{"title": {"from": …, "to": …}}`) or the action's details.
    pub changes: serde_json::Value,
}

/// The system-log entry of `change` made by `staff`.
pub fn event(staff: &Staff, change: Change<'_>) -> Event {
    let data = serde_json::json!({
        "by": staff.caller.id,
        "by_username": staff.caller.username,
        "model": change.model,
        "object": object_key(change.model, change.id),
        "changes": change.changes,
    });
    Event::new(Level::Info, MODULE, change.event, change.message)
        .user(staff.caller.id)
        .data(data)
}

/// Records `events` in one transaction of their own: for changes whose domain function did
/// not take them into its transaction (see [`plaza_kernel::admin::History`]).
pub async fn record_all(staff: &Staff, events: Vec<Event>) -> ApiResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    staff
        .services
        .db
        .transaction(move |conn| {
            for event in &events {
                syslog::record(conn, event)?;
            }
            Ok(())
        })
        .await
}

/// Records `change` made by `staff`, after the change.
pub async fn record(staff: &Staff, change: Change<'_>) -> ApiResult<()> {
    record_all(staff, vec![event(staff, change)]).await
}

#[derive(Serialize)]
struct Entry {
    at: String,
    who: String,
    event: String,
    message: String,
    fields: Vec<FieldChange>,
}

#[derive(Serialize)]
struct FieldChange {
    name: String,
    from: String,
    to: String,
}

fn text(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn entry(log: syslog::LogEntry) -> Entry {
    let data: serde_json::Value = serde_json::from_str(&log.data).unwrap_or_default();
    let fields = data
        .get("changes")
        .and_then(serde_json::Value::as_object)
        .map(|changes| {
            changes
                .iter()
                .map(|(name, change)| FieldChange {
                    name: name.clone(),
                    from: text(change.get("from")),
                    to: text(change.get("to")),
                })
                .collect()
        })
        .unwrap_or_default();
    Entry {
        at: log.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        who: text(data.get("by_username")),
        event: log.event,
        message: log.message,
        fields,
    }
}

/// `GET /admin/{model}/{id}/history/`.
pub async fn object_history(
    staff: Staff,
    console: ConsoleData,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (model_name, id) = path.into_inner();
    let model = console
        .registry
        .model(&model_name)
        .ok_or_else(|| PageError::Api(plaza_kernel::ApiError::not_found("No such model.")))?;
    let key = object_key(model.name, &id);
    let entries: Vec<Entry> = staff
        .services
        .db
        .run(move |conn| Ok(syslog::history(conn, MODULE, &key, 200)?))
        .await?
        .into_iter()
        .map(entry)
        .collect();
    console.page(
        StatusCode::OK,
        "history.html",
        Some(&staff),
        minijinja::context! {
            model => model.name,
            model_label => model.label,
            id => id,
            entries => entries,
        },
    )
}
