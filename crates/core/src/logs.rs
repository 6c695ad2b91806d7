//! `GET /api/v1/core/logs/`: the system log (security and admin events any domain records
//! with `plaza_kernel::syslog::record`), for staff, newest first, with keyset paging.
//!
//! The cursor is the last row's `(created_at, id)`, matching the `(level|module, created_at)`
//! and `created_at` indexes (InnoDB and SQLite both append the primary key to a secondary
//! index), so a deep page costs what the first does.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use plaza_kernel::db::{like, DbConn, MultiBackend};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::CursorParams;
use plaza_kernel::schema::system_logs;
use plaza_kernel::syslog::Level;
use plaza_kernel::{
    ApiError, ApiResult, Caller, CursorPage, CursorRequest, Db, Page, PageRequest, ValidQuery,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// One recorded event.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogEntry {
    /// Id.
    pub id: i64,
    /// `debug`, `info`, `warning`, `error` or `critical`.
    pub level: String,
    /// The domain that recorded it (`authentication`, `core`, `posts`, …).
    pub module: String,
    /// A stable event name (`login_locked`, `tag_deleted`, …).
    pub event: String,
    /// A sentence for humans.
    pub message: String,
    /// The user concerned, if any.
    pub user_id: Option<i64>,
    /// Client address, if known.
    pub ip_address: Option<String>,
    /// Client user agent, if known.
    pub user_agent: Option<String>,
    /// Request id, if any.
    pub request_id: Option<String>,
    /// Structured details.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = system_logs)]
struct LogRow {
    id: i64,
    level: String,
    module: String,
    event: String,
    message: String,
    user_id: Option<i64>,
    ip_address: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    data: String,
    created_at: NaiveDateTime,
}

impl From<LogRow> for LogEntry {
    fn from(row: LogRow) -> Self {
        Self {
            id: row.id,
            level: row.level,
            module: row.module,
            event: row.event,
            message: row.message,
            user_id: row.user_id,
            ip_address: row.ip_address,
            user_agent: row.user_agent,
            request_id: row.request_id,
            // Written by the kernel as JSON; anything else is shown as a string.
            data: serde_json::from_str(&row.data).unwrap_or(serde_json::Value::String(row.data)),
            created_at: plaza_kernel::time::utc(row.created_at),
        }
    }
}

/// Filters of the system log.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// One level or several, comma separated (`error,critical`).
    pub level: Option<String>,
    /// The recording domain, exactly.
    pub module: Option<String>,
    /// The event name, exactly.
    pub event: Option<String>,
    /// The user concerned.
    pub user: Option<i64>,
    /// At or after this time (RFC 3339, or a date: its start, UTC).
    pub since: Option<String>,
    /// At or before this time (RFC 3339, or a date: its end, UTC).
    pub until: Option<String>,
    /// Part of the message or event name.
    pub search: Option<String>,
}

/// The position after which a page starts.
#[derive(Debug, Serialize, Deserialize)]
struct Position {
    /// `created_at` in microseconds since the epoch.
    t: i64,
    id: i64,
}

/// The filters, checked.
#[derive(Debug, Default)]
struct Filter {
    levels: Vec<&'static str>,
    module: Option<String>,
    event: Option<String>,
    user: Option<i64>,
    since: Option<NaiveDateTime>,
    /// Exclusive upper bound for a date, inclusive for a time.
    until: Option<(NaiveDateTime, bool)>,
    search: Option<String>,
}

impl Filter {
    fn parse(query: LogQuery) -> ApiResult<Self> {
        let mut levels = Vec::new();
        for name in query
            .level
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
        {
            if name.is_empty() {
                continue;
            }
            let level = Level::parse(&name.to_ascii_lowercase()).ok_or_else(|| {
                ApiError::invalid_field(
                    "level",
                    format!("\"{name}\" is not one of: debug, info, warning, error, critical."),
                )
            })?;
            levels.push(level.as_str());
        }
        let since = query
            .since
            .as_deref()
            .map(|s| parse_time("since", s, false))
            .transpose()?
            .map(|(t, _)| t);
        let until = query
            .until
            .as_deref()
            .map(|s| parse_time("until", s, true))
            .transpose()?;
        if let (Some(since), Some((until, inclusive))) = (since, until) {
            if since > until || (since == until && !inclusive) {
                return Err(ApiError::invalid_field(
                    "until",
                    "Must not be earlier than since.",
                ));
            }
        }
        let blank_to_none =
            |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(Self {
            levels,
            module: blank_to_none(query.module),
            event: blank_to_none(query.event),
            user: query.user,
            since,
            until,
            search: blank_to_none(query.search),
        })
    }
}

/// A time bound: RFC 3339, or a date (its start; for an upper bound, the next day's start,
/// exclusive). Returns the time and whether the bound is inclusive.
fn parse_time(field: &str, raw: &str, upper: bool) -> ApiResult<(NaiveDateTime, bool)> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok((t.with_timezone(&Utc).naive_utc(), true));
    }
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let day = if upper {
            date.succ_opt().unwrap_or(date)
        } else {
            date
        };
        return Ok((day.and_time(chrono::NaiveTime::MIN), !upper));
    }
    Err(ApiError::invalid_field(
        field,
        "Enter a date (2026-11-20) or an RFC 3339 time (2026-11-20T08:00:00Z).",
    ))
}

type Filtered = system_logs::BoxedQuery<'static, MultiBackend>;

/// The rows `filter` lets through, unordered.
fn filtered(filter: &Filter) -> Filtered {
    let mut query = system_logs::table.into_boxed::<MultiBackend>();
    if !filter.levels.is_empty() {
        query = query.filter(system_logs::level.eq_any(filter.levels.clone()));
    }
    if let Some(module) = &filter.module {
        query = query.filter(system_logs::module.eq(module.clone()));
    }
    if let Some(event) = &filter.event {
        query = query.filter(system_logs::event.eq(event.clone()));
    }
    if let Some(user) = filter.user {
        query = query.filter(system_logs::user_id.eq(user));
    }
    if let Some(since) = filter.since {
        query = query.filter(system_logs::created_at.ge(since));
    }
    match filter.until {
        Some((until, true)) => query = query.filter(system_logs::created_at.le(until)),
        Some((until, false)) => query = query.filter(system_logs::created_at.lt(until)),
        None => {}
    }
    if let Some(search) = &filter.search {
        let pattern = like::contains(search);
        query = query.filter(
            system_logs::message
                .like(pattern.clone())
                .escape(like::ESCAPE)
                .or(system_logs::event.like(pattern).escape(like::ESCAPE)),
        );
    }
    query
}

/// A page of the log, newest first.
fn list(
    conn: &mut DbConn,
    filter: &Filter,
    page: CursorRequest,
) -> ApiResult<CursorPage<LogEntry>> {
    let position: Option<Position> = page.position()?;
    let mut query = filtered(filter);
    if let Some(position) = position {
        let t = DateTime::<Utc>::from_timestamp_micros(position.t)
            .ok_or_else(|| ApiError::invalid_field("cursor", "Invalid cursor."))?
            .naive_utc();
        query = query.filter(
            system_logs::created_at.lt(t).or(system_logs::created_at
                .eq(t)
                .and(system_logs::id.lt(position.id))),
        );
    }
    let rows: Vec<LogRow> = query
        .order((system_logs::created_at.desc(), system_logs::id.desc()))
        .select(LogRow::as_select())
        .limit(page.fetch_limit())
        .load(conn)?;
    let page = page.into_page(rows, |row| Position {
        t: row.created_at.and_utc().timestamp_micros(),
        id: row.id,
    });
    Ok(page.map(LogEntry::from))
}

/// A numbered page of the log for the staff console, newest first: the same filters as the
/// API (checked alike), a count and the page's rows (two statements on the indexes above).
pub fn numbered_page(
    conn: &mut DbConn,
    query: LogQuery,
    page: PageRequest,
) -> ApiResult<Page<LogEntry>> {
    let filter = Filter::parse(query)?;
    let count: i64 = filtered(&filter).count().get_result(conn)?;
    page.paginate(count, |window| {
        let rows: Vec<LogRow> = filtered(&filter)
            .order((system_logs::created_at.desc(), system_logs::id.desc()))
            .select(LogRow::as_select())
            .limit(window.limit)
            .offset(window.offset)
            .load(conn)?;
        Ok(rows.into_iter().map(LogEntry::from).collect())
    })
}

/// One entry of the log.
pub fn get(conn: &mut DbConn, id: i64) -> ApiResult<LogEntry> {
    system_logs::table
        .find(id)
        .select(LogRow::as_select())
        .first(conn)
        .optional()?
        .map(LogEntry::from)
        .ok_or_else(|| ApiError::not_found("No log entry with this id."))
}

/// The system log, newest first (staff).
#[utoipa::path(
    get,
    path = "/api/v1/core/logs/",
    tag = "core",
    params(CursorParams, LogQuery),
    responses(
        (status = 200, description = "A page of events", body = CursorPage<LogEntry>),
        (status = 400, description = "Invalid filter or cursor", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not staff", body = ErrorBody),
    ),
    security(("jwt" = []))
)]
pub async fn list_logs(
    db: web::Data<Db>,
    caller: Caller,
    page: CursorRequest,
    query: ValidQuery<LogQuery>,
) -> ApiResult<HttpResponse> {
    caller.require_staff()?;
    let filter = Filter::parse(query.into_inner())?;
    let page = db.run(move |conn| list(conn, &filter, page)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Mounts `/logs/` inside `/api/v1/core`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/logs/").get(list_logs));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bounds() {
        let (t, inclusive) = parse_time("since", "2026-11-20", false).unwrap();
        assert_eq!(t.to_string(), "2026-11-20 00:00:00");
        assert!(inclusive);
        let (t, inclusive) = parse_time("until", "2026-11-20", true).unwrap();
        assert_eq!(t.to_string(), "2026-11-21 00:00:00");
        assert!(!inclusive);
        let (t, _) = parse_time("until", "2026-11-20T10:00:00+02:00", true).unwrap();
        assert_eq!(t.to_string(), "2026-11-20 08:00:00");
        let err = parse_time("since", "yesterday", false).unwrap_err();
        assert!(err.errors().unwrap().contains_key("since"));
    }

    #[test]
    fn levels_are_checked() {
        let filter = Filter::parse(LogQuery {
            level: Some("Error, critical".into()),
            ..LogQuery::default()
        })
        .unwrap();
        assert_eq!(filter.levels, vec!["error", "critical"]);
        let err = Filter::parse(LogQuery {
            level: Some("loud".into()),
            ..LogQuery::default()
        })
        .unwrap_err();
        assert!(err.errors().unwrap().contains_key("level"));
    }
}
