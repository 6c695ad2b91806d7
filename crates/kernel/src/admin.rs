//! How a domain describes its models to the staff console (`plaza-admin`, at `/admin/`).
//!
//! A domain lists its [`AdminModel`]s and [`Chart`]s in its [`crate::domain::Domain`]'s
//! `admin` field. A model is declarative — columns, search, filters, orderings, the fields a
//! form edits — plus a few functions that call the domain's own services (the console never
//! writes SQL against a domain's tables). Every function takes an [`AdminContext`]: the shared
//! services, the signed-in staff member as a [`Caller`] (so the domain's own permission rules
//! apply), and the request (for app data such as the sessions hook).
//!
//! ```
//! use plaza_kernel::admin::{AdminContext, AdminModel, Column, ListPage, ListRequest, Record};
//!
//! fn list(ctx: AdminContext, _request: ListRequest) -> plaza_kernel::admin::AdminFuture<ListPage> {
//!     ctx.read(move |_conn, _caller| Ok(ListPage { total: 0, rows: Vec::new() }))
//! }
//!
//! fn get(ctx: AdminContext, _id: String) -> plaza_kernel::admin::AdminFuture<Record> {
//!     ctx.read(move |_conn, _caller| Err(plaza_kernel::ApiError::not_found("No widget.")))
//! }
//!
//! /// Widgets in the console: a list and a read-only page.
//! pub const WIDGETS: AdminModel = AdminModel {
//!     columns: &[Column::new("name", "Name")],
//!     ..AdminModel::new("widgets", "Widgets", list, get)
//! };
//! # assert_eq!(WIDGETS.name, "widgets");
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use actix_web::HttpRequest;
use chrono::NaiveDate;

use crate::auth::Caller;
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult};
use crate::pagination::PageRequest;
use crate::services::Services;
use crate::syslog::{self, Event};

/// What every console function returns: a future on the request's worker (not `Send`, since
/// it may hold the request).
pub type AdminFuture<T> = Pin<Box<dyn Future<Output = ApiResult<T>>>>;

/// A model function's surroundings: the services, the staff member, the request.
#[derive(Clone)]
pub struct AdminContext {
    /// The shared services.
    pub services: Services,
    /// The signed-in staff member (credential [`crate::auth::Credential::Console`]).
    pub caller: Caller,
    /// The console request, for app data (`req.app_data::<web::Data<…>>()`) and the address.
    pub request: HttpRequest,
    /// The history entry of the change the console is making, written by [`Self::write`]
    /// in the change's own transaction (empty when the console records nothing).
    pub history: History,
}

/// The system-log entries the console wants written with a change: the first
/// [`AdminContext::write`] transaction that commits takes them, so the change and its history
/// commit together. Entries no `write` took are recorded by the console after the change.
#[derive(Clone, Debug, Default)]
pub struct History(Arc<Mutex<Vec<Event>>>);

impl History {
    /// History holding `events`, to be written with the change.
    pub fn pending(events: Vec<Event>) -> Self {
        Self(Arc::new(Mutex::new(events)))
    }

    /// Takes the entries not written yet (none once a `write` has taken them).
    pub fn take(&self) -> Vec<Event> {
        self.0
            .lock()
            .map(|mut events| std::mem::take(&mut *events))
            .unwrap_or_default()
    }

    /// Puts entries back (the transaction that took them rolled back).
    fn restore(&self, events: Vec<Event>) {
        if let Ok(mut pending) = self.0.lock() {
            pending.extend(events);
        }
    }
}

impl std::fmt::Debug for AdminContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminContext")
            .field("caller", &self.caller.username)
            .finish_non_exhaustive()
    }
}

impl AdminContext {
    /// Runs `f` on the blocking pool with a connection and the staff caller.
    pub fn read<T, F>(self, f: F) -> AdminFuture<T>
    where
        F: FnOnce(&mut DbConn, &Caller) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (db, caller) = (self.services.db, self.caller);
        Box::pin(async move { db.run(move |conn| f(conn, &caller)).await })
    }

    /// Runs `f` in one transaction on the blocking pool with the staff caller, and writes the
    /// console's pending [`History`] in that same transaction once `f` has succeeded.
    pub fn write<T, F>(self, f: F) -> AdminFuture<T>
    where
        F: FnOnce(&mut DbConn, &Caller) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (db, caller, history) = (self.services.db, self.caller, self.history);
        let events = history.take();
        let kept = events.clone();
        Box::pin(async move {
            let result = db
                .transaction(move |conn| {
                    let value = f(conn, &caller)?;
                    for event in &events {
                        syslog::record(conn, event)?;
                    }
                    Ok(value)
                })
                .await;
            if result.is_err() {
                history.restore(kept);
            }
            result
        })
    }

    /// The client's address, for the domain's own logs.
    pub fn ip(&self) -> Option<String> {
        crate::http::client_ip(&self.request)
    }
}

/// A list column: the key a [`Row`] fills, and its heading.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// Key.
    pub key: &'static str,
    /// Heading.
    pub label: &'static str,
}

impl Column {
    /// A column.
    pub const fn new(key: &'static str, label: &'static str) -> Self {
        Self { key, label }
    }
}

/// A value and its label, for filters and choice fields.
pub type Choice = (&'static str, &'static str);

/// The yes/no choices of a boolean filter.
pub const YES_NO: &[Choice] = &[("true", "Yes"), ("false", "No")];

/// A list filter: `?{key}={value}` with one of `choices`.
#[derive(Clone, Copy, Debug)]
pub struct Filter {
    /// Query key.
    pub key: &'static str,
    /// Label.
    pub label: &'static str,
    /// The values offered.
    pub choices: &'static [Choice],
}

/// A list ordering: `?o={key}` (a leading `-` is descending), with its label.
pub type Ordering = (&'static str, &'static str);

/// What a form field edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// Several lines.
    LongText,
    /// A checkbox.
    Bool,
    /// One of the choices.
    Choice(&'static [Choice]),
}

/// A field the detail form edits (and the create form asks for).
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// Name (the key of [`Record::values`] and of the submitted [`Values`]).
    pub name: &'static str,
    /// Label.
    pub label: &'static str,
    /// Kind of input.
    pub kind: FieldKind,
    /// Only superusers may change it (roles, staff flags); others see it read-only.
    pub superuser_only: bool,
    /// Shown on the create form only (a password, say); never on the detail form.
    pub create_only: bool,
}

impl Field {
    /// A field anyone on the staff may change.
    pub const fn new(name: &'static str, label: &'static str, kind: FieldKind) -> Self {
        Self {
            name,
            label,
            kind,
            superuser_only: false,
            create_only: false,
        }
    }

    /// A field only superusers may change.
    pub const fn superuser(name: &'static str, label: &'static str, kind: FieldKind) -> Self {
        Self {
            superuser_only: true,
            ..Self::new(name, label, kind)
        }
    }

    /// A field of the create form only.
    pub const fn on_create(name: &'static str, label: &'static str, kind: FieldKind) -> Self {
        Self {
            create_only: true,
            ..Self::new(name, label, kind)
        }
    }
}

/// A bulk action on the selected rows of a list.
#[derive(Clone, Copy, Debug)]
pub struct Action {
    /// Key, as posted.
    pub key: &'static str,
    /// Label.
    pub label: &'static str,
}

impl Action {
    /// An action.
    pub const fn new(key: &'static str, label: &'static str) -> Self {
        Self { key, label }
    }
}

/// What a list page asks the domain for.
#[derive(Clone, Debug, Default)]
pub struct ListRequest {
    /// `?q=`, trimmed; `None` when empty.
    pub search: Option<String>,
    /// The chosen filters (key → value), only keys the model declares.
    pub filters: BTreeMap<String, String>,
    /// The chosen ordering key (one the model declares), or `None` for the domain's default.
    pub ordering: Option<String>,
    /// 1-based page.
    pub page: u64,
    /// Rows per page.
    pub page_size: u32,
}

impl ListRequest {
    /// The page as the domain's list services take it.
    pub fn page_request(&self) -> PageRequest {
        PageRequest::new(self.page.max(1), self.page_size, "/admin/")
    }

    /// A filter's value.
    pub fn filter(&self, key: &str) -> Option<&str> {
        self.filters.get(key).map(String::as_str)
    }

    /// A yes/no filter's value.
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.filter(key).and_then(parse_bool)
    }
}

/// One row of a list: its id and a cell per column key.
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// Id (as in the object's URL).
    pub id: String,
    /// Column key → text.
    pub cells: BTreeMap<&'static str, String>,
}

// The builders take values and references alike (`user.id`, `&user.name`) for short call sites.
#[allow(clippy::needless_pass_by_value)]
impl Row {
    /// A row with no cells yet.
    pub fn new(id: impl ToString) -> Self {
        Self {
            id: id.to_string(),
            cells: BTreeMap::new(),
        }
    }

    /// Adds a cell.
    #[must_use]
    pub fn cell(mut self, key: &'static str, value: impl ToString) -> Self {
        self.cells.insert(key, value.to_string());
        self
    }
}

/// A page of a list.
#[derive(Clone, Debug, Default)]
pub struct ListPage {
    /// Rows across every page.
    pub total: u64,
    /// This page.
    pub rows: Vec<Row>,
}

impl ListPage {
    /// A domain page converted row by row.
    pub fn from_page<T>(page: crate::Page<T>, row: impl FnMut(T) -> Row) -> Self {
        Self {
            total: page.count,
            rows: page.results.into_iter().map(row).collect(),
        }
    }
}

/// One object as its detail page shows it.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// Id.
    pub id: String,
    /// What to call it ("alice", "Post 12: Hello").
    pub title: String,
    /// The current value of every field the form edits, as text (`true`/`false` for flags).
    pub values: BTreeMap<&'static str, String>,
    /// Read-only facts shown beside the form (never secrets).
    pub details: Vec<(&'static str, String)>,
}

#[allow(clippy::needless_pass_by_value)]
impl Record {
    /// A record with no values yet.
    pub fn new(id: impl ToString, title: impl Into<String>) -> Self {
        Self {
            id: id.to_string(),
            title: title.into(),
            ..Self::default()
        }
    }

    /// Adds a field's current value.
    #[must_use]
    pub fn value(mut self, name: &'static str, value: impl ToString) -> Self {
        self.values.insert(name, value.to_string());
        self
    }

    /// Adds a read-only fact.
    #[must_use]
    pub fn detail(mut self, label: &'static str, value: impl ToString) -> Self {
        self.details.push((label, value.to_string()));
        self
    }
}

/// The fields a form submitted (only the model's editable ones; flags as `true`/`false`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values(pub BTreeMap<String, String>);

impl Values {
    /// A field's text.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    /// A flag.
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(|v| parse_bool(v))
    }
}

/// `true`/`false` (and `on`, as a checkbox posts it).
pub fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "true" | "on" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A numeric id from the URL, or a 404 as for an unknown one.
pub fn numeric_id(id: &str) -> ApiResult<i64> {
    id.parse()
        .map_err(|_| ApiError::not_found("No object with this id."))
}

/// Deleting one object: what goes with it, then the deletion.
#[derive(Clone, Copy)]
pub struct Delete {
    /// Sentences naming what the deletion takes with it ("3 replies").
    pub preview: fn(AdminContext, String) -> AdminFuture<Vec<String>>,
    /// Deletes it.
    pub run: fn(AdminContext, String) -> AdminFuture<()>,
}

/// A model's list function.
pub type ListFn = fn(AdminContext, ListRequest) -> AdminFuture<ListPage>;
/// A model's detail function.
pub type GetFn = fn(AdminContext, String) -> AdminFuture<Record>;
/// A model's create function; the new object's id.
pub type CreateFn = fn(AdminContext, Values) -> AdminFuture<String>;
/// A model's update function.
pub type UpdateFn = fn(AdminContext, String, Values) -> AdminFuture<()>;
/// A model's bulk-action function; how many objects changed.
pub type ActFn = fn(AdminContext, String, Vec<String>) -> AdminFuture<usize>;

/// One model of a domain, as the console presents it.
#[derive(Clone, Copy)]
pub struct AdminModel {
    /// URL name, unique across domains (`users`, `posts`, `jobs`).
    pub name: &'static str,
    /// Plural label.
    pub label: &'static str,
    /// The list's columns.
    pub columns: &'static [Column],
    /// What `?q=` searches, as the search box's hint; `None`: no search box.
    pub search: Option<&'static str>,
    /// The list's filters.
    pub filters: &'static [Filter],
    /// The list's orderings; the first is the default.
    pub orderings: &'static [Ordering],
    /// The fields the detail and create forms edit.
    pub fields: &'static [Field],
    /// Bulk actions on the list.
    pub actions: &'static [Action],
    /// A page of the list.
    pub list: ListFn,
    /// One object.
    pub get: GetFn,
    /// Creates an object from the form; its id.
    pub create: Option<CreateFn>,
    /// Changes an object with the domain's validation (errors per field).
    pub update: Option<UpdateFn>,
    /// Deletes an object.
    pub delete: Option<Delete>,
    /// Runs a bulk action on ids; how many objects it changed.
    pub act: ActFn,
}

impl std::fmt::Debug for AdminModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminModel")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl AdminModel {
    /// A read-only model with a list and detail page; fill the rest with struct update syntax.
    pub const fn new(name: &'static str, label: &'static str, list: ListFn, get: GetFn) -> Self {
        Self {
            name,
            label,
            columns: &[],
            search: None,
            filters: &[],
            orderings: &[],
            fields: &[],
            actions: &[],
            list,
            get,
            create: None,
            update: None,
            delete: None,
            act: no_actions,
        }
    }

    /// The declared action named `key`.
    pub fn action(&self, key: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.key == key)
    }
}

/// The `act` of a model with no bulk actions.
pub fn no_actions(_: AdminContext, action: String, _: Vec<String>) -> AdminFuture<usize> {
    Box::pin(async move { Err(ApiError::bad_request(format!("No action \"{action}\"."))) })
}

/// One point of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// The day.
    pub day: NaiveDate,
    /// The value.
    pub value: f64,
}

/// A per-day series a domain draws on the dashboard (sign-ups, posts, AI tokens).
#[derive(Clone, Copy)]
pub struct Chart {
    /// Title.
    pub title: &'static str,
    /// The unit of the values ("users", "tokens", "USD").
    pub unit: &'static str,
    /// The value of each of the last `days` days (UTC), oldest first, one per day.
    pub series: fn(AdminContext, u32) -> AdminFuture<Vec<Point>>,
}

impl std::fmt::Debug for Chart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chart")
            .field("title", &self.title)
            .finish_non_exhaustive()
    }
}

/// A figure "now" a domain shows on the dashboard (live streams).
#[derive(Clone, Copy)]
pub struct Gauge {
    /// Label.
    pub label: &'static str,
    /// The value now.
    pub value: fn(AdminContext) -> AdminFuture<i64>,
}

impl std::fmt::Debug for Gauge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gauge")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// Everything a domain shows in the console.
#[derive(Clone, Copy, Debug)]
pub struct Admin {
    /// Its models.
    pub models: &'static [AdminModel],
    /// Its per-day charts on the dashboard.
    pub charts: &'static [Chart],
    /// Its figures "now" on the dashboard.
    pub gauges: &'static [Gauge],
}

impl Admin {
    /// Nothing in the console.
    pub const NONE: Self = Self {
        models: &[],
        charts: &[],
        gauges: &[],
    };
}

/// The days `start..=end` with the sum of the values of `times` on each (UTC), oldest first,
/// every day present (0 when nothing happened): fills a series read per day.
pub fn per_day(
    start: NaiveDate,
    end: NaiveDate,
    times: impl IntoIterator<Item = (chrono::NaiveDateTime, f64)>,
) -> Vec<Point> {
    let mut days: BTreeMap<NaiveDate, f64> = start
        .iter_days()
        .take_while(|d| *d <= end)
        .map(|d| (d, 0.0))
        .collect();
    for (at, value) in times {
        if let Some(sum) = days.get_mut(&at.date()) {
            *sum += value;
        }
    }
    days.into_iter()
        .map(|(day, value)| Point { day, value })
        .collect()
}

/// One day's count, as [`count_per_day`] reads it.
#[derive(diesel::QueryableByName)]
struct DayCount {
    /// `YYYY-MM-DD` (cast to text so SQLite's and MySQL's `DATE()` read alike).
    #[diesel(sql_type = diesel::sql_types::Text)]
    day: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The rows of `table` per day of `column` (a timestamp, UTC) over the last `days` days,
/// oldest first, one point per day: counted in SQL (`GROUP BY` the day, one statement over
/// the range of `column`'s index), so a chart reads at most `days` rows whatever the traffic.
/// `table` and `column` are the calling domain's own names, never input.
pub fn count_per_day(
    conn: &mut DbConn,
    table: &'static str,
    column: &'static str,
    days: u32,
) -> diesel::QueryResult<Vec<Point>> {
    use diesel::RunQueryDsl;
    let (first, since) = window(days);
    let sql = format!(
        "SELECT CAST(DATE({column}) AS CHAR) AS day, COUNT(*) AS n FROM {table} \
         WHERE {column} >= ? GROUP BY 1"
    );
    let rows: Vec<DayCount> = diesel::sql_query(sql)
        .bind::<diesel::sql_types::Timestamp, _>(since)
        .load(conn)?;
    #[allow(clippy::cast_precision_loss)]
    let counts = rows.into_iter().filter_map(|row| {
        let day = NaiveDate::parse_from_str(&row.day, "%Y-%m-%d").ok()?;
        Some((day.and_time(chrono::NaiveTime::MIN), row.n as f64))
    });
    Ok(per_day(first, crate::time::now().date(), counts))
}

/// The first day and the start of the window of the last `days` days, today included.
pub fn window(days: u32) -> (NaiveDate, chrono::NaiveDateTime) {
    let today = crate::time::now().date();
    let start = today - chrono::Days::new(u64::from(days.max(1) - 1));
    (start, start.and_time(chrono::NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_day_fills_empty_days_and_sums() {
        let d = |n| NaiveDate::from_ymd_opt(2026, 1, n).unwrap_or_default();
        let at = |n, h| d(n).and_hms_opt(h, 0, 0).unwrap_or_default();
        let points = per_day(
            d(1),
            d(3),
            [
                (at(1, 5), 1.0),
                (at(3, 1), 2.0),
                (at(3, 2), 0.5),
                (at(9, 0), 7.0),
            ],
        );
        let values: Vec<f64> = points.iter().map(|p| p.value).collect();
        assert_eq!(values, vec![1.0, 0.0, 2.5]);
    }

    #[test]
    fn flags_read_checkboxes() {
        assert_eq!(parse_bool("on"), Some(true));
        assert_eq!(parse_bool("false"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
