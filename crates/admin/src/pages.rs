//! The model pages: list (search, filters, ordering, pages, bulk actions), detail and edit
//! (the domain's validation errors beside the fields), create, and delete with a confirmation
//! listing what goes with the object. Each change is recorded in the history.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use plaza_kernel::admin::{
    AdminContext, AdminModel, FieldKind, History, ListRequest, Record, Values,
};
use plaza_kernel::ApiError;
use serde::Serialize;

use crate::forms::{form_fields, query_string, submitted};
use crate::history::{self, Change};
use crate::render::{redirect, ConsoleData, PageError};
use crate::session::Staff;

/// Rows per list page.
pub const PAGE_SIZE: u32 = 25;

fn find_model(console: &ConsoleData, name: &str) -> Result<&'static AdminModel, PageError> {
    console
        .registry
        .model(name)
        .ok_or_else(|| PageError::Api(ApiError::not_found("No such model.")))
}

fn context(staff: &Staff, req: &HttpRequest) -> AdminContext {
    AdminContext {
        services: staff.services.clone(),
        caller: staff.caller.clone(),
        request: req.clone(),
        history: History::default(),
    }
}

/// Runs a domain function with `change`'s history pending: written in the domain's
/// transaction when the function changes the object through `AdminContext::write`, or else
/// right after it returns successfully.
async fn with_history<T>(
    staff: &Staff,
    mut ctx: AdminContext,
    change: Change<'_>,
    run: impl FnOnce(AdminContext) -> plaza_kernel::admin::AdminFuture<T>,
) -> Result<T, ApiError> {
    let history = History::pending(vec![history::event(staff, change)]);
    ctx.history = history.clone();
    let value = run(ctx).await?;
    history::record_all(staff, history.take()).await?;
    Ok(value)
}

#[derive(Serialize)]
struct Link {
    label: String,
    url: String,
    active: bool,
}

#[derive(Serialize)]
struct FilterView {
    label: &'static str,
    options: Vec<Link>,
}

#[derive(Serialize)]
struct RowView {
    id: String,
    url: String,
    cells: Vec<String>,
}

/// The list's query: `q`, `o`, `page` and the model's filters.
struct ListQuery {
    pairs: Vec<(String, String)>,
}

impl ListQuery {
    fn parse(req: &HttpRequest) -> Self {
        let pairs = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        Self { pairs }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// This list's URL with `key` set to `value` (or removed), back on page 1.
    fn with(&self, model: &AdminModel, key: &str, value: Option<&str>) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let keep = ["q", "o"]
            .into_iter()
            .chain(model.filters.iter().map(|f| f.key));
        for k in keep {
            if k == key {
                continue;
            }
            if let Some(v) = self.get(k) {
                pairs.push((k, v));
            }
        }
        if let Some(v) = value {
            pairs.push((key, v));
        }
        let query = query_string(&pairs);
        if query.is_empty() {
            format!("/admin/{}/", model.name)
        } else {
            format!("/admin/{}/?{query}", model.name)
        }
    }

    fn request(&self, model: &AdminModel) -> ListRequest {
        let filters = model
            .filters
            .iter()
            .filter_map(|f| {
                self.get(f.key)
                    .filter(|v| f.choices.iter().any(|(c, _)| c == v))
                    .map(|v| (f.key.to_owned(), v.to_owned()))
            })
            .collect();
        let ordering = self
            .get("o")
            .filter(|o| model.orderings.iter().any(|(k, _)| k == o))
            .map(str::to_owned);
        ListRequest {
            search: model
                .search
                .and(self.get("q"))
                .map(|q| q.trim().to_owned())
                .filter(|q| !q.is_empty()),
            filters,
            ordering,
            page: self.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
            page_size: PAGE_SIZE,
        }
    }
}

fn notice(query: &ListQuery, model: &AdminModel) -> Option<String> {
    if let Some(action) = query.get("done") {
        let label = model.action(action).map_or(action, |a| a.label);
        let n = query.get("n").unwrap_or("0");
        return Some(format!("{label}: {n} done."));
    }
    if query.get("deleted").is_some() {
        return Some("Deleted.".to_owned());
    }
    if query.get("none").is_some() {
        return Some("Select at least one row for an action.".to_owned());
    }
    None
}

/// `GET /admin/{model}/`.
pub async fn list(
    req: HttpRequest,
    staff: Staff,
    console: ConsoleData,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let model = find_model(&console, &path)?;
    let query = ListQuery::parse(&req);
    let request = query.request(model);
    let page_number = request.page.max(1);
    let page = (model.list)(context(&staff, &req), request.clone()).await?;

    let rows: Vec<RowView> = page
        .rows
        .into_iter()
        .map(|row| RowView {
            url: format!("/admin/{}/{}/", model.name, row.id),
            cells: model
                .columns
                .iter()
                .map(|c| row.cells.get(c.key).cloned().unwrap_or_default())
                .collect(),
            id: row.id,
        })
        .collect();
    let filters: Vec<FilterView> = model
        .filters
        .iter()
        .map(|f| {
            let current = request.filter(f.key);
            let mut options = vec![Link {
                label: "All".to_owned(),
                url: query.with(model, f.key, None),
                active: current.is_none(),
            }];
            options.extend(f.choices.iter().map(|(value, label)| Link {
                label: (*label).to_owned(),
                url: query.with(model, f.key, Some(value)),
                active: current == Some(*value),
            }));
            FilterView {
                label: f.label,
                options,
            }
        })
        .collect();
    let current_order = request
        .ordering
        .as_deref()
        .or(model.orderings.first().map(|(k, _)| *k));
    let orderings: Vec<Link> = model
        .orderings
        .iter()
        .map(|(key, label)| Link {
            label: (*label).to_owned(),
            url: query.with(model, "o", Some(key)),
            active: current_order == Some(*key),
        })
        .collect();
    let pages = page.total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let page_url = |n: u64| query.with(model, "page", Some(&n.to_string()));
    console.page(
        StatusCode::OK,
        "list.html",
        Some(&staff),
        minijinja::context! {
            model => model.name,
            label => model.label,
            columns => model.columns.iter().map(|c| c.label).collect::<Vec<_>>(),
            rows => rows,
            total => page.total,
            search => model.search,
            q => request.search,
            filters => filters,
            orderings => orderings,
            actions => model.actions.iter().map(|a| (a.key, a.label)).collect::<Vec<_>>(),
            page => page_number,
            pages => pages,
            previous => (page_number > 1).then(|| page_url(page_number - 1)),
            next => (page_number < pages).then(|| page_url(page_number + 1)),
            can_add => model.create.is_some(),
            notice => notice(&query, model),
        },
    )
}

#[derive(Serialize)]
struct Selected {
    id: String,
    title: String,
}

/// `POST /admin/{model}/`: a bulk action on the ticked rows. Without `confirm=yes` it
/// answers the "Are you sure?" page listing the objects; with it, the action runs.
pub async fn bulk_action(
    req: HttpRequest,
    staff: Staff,
    console: ConsoleData,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let model = find_model(&console, &path)?;
    let form = staff.form(&body)?;
    let action = form
        .get("action")
        .and_then(|a| model.action(a))
        .ok_or_else(|| PageError::Api(ApiError::bad_request("Choose an action.")))?;
    let mut ids = form.all("ids");
    // Each object once, however often the form names it (`dedup` alone keeps non-adjacent repeats).
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    if ids.is_empty() {
        return Ok(redirect(&format!("/admin/{}/?none=1", model.name)));
    }
    // The rows of one list page at most, so the confirmation reads a bounded number of rows.
    if ids.len() > PAGE_SIZE as usize {
        return Err(PageError::Api(ApiError::bad_request(format!(
            "Select at most {PAGE_SIZE} rows for an action."
        ))));
    }
    if form.get("confirm") != Some("yes") {
        let ctx = context(&staff, &req);
        let mut objects = Vec::with_capacity(ids.len());
        for id in ids {
            let record = (model.get)(ctx.clone(), id.clone()).await?;
            objects.push(Selected {
                id,
                title: record.title,
            });
        }
        return console.page(
            StatusCode::OK,
            "confirm_action.html",
            Some(&staff),
            minijinja::context! {
                model => model.name,
                label => model.label,
                action => action.key,
                action_label => action.label,
                objects => objects,
            },
        );
    }
    let done = (model.act)(context(&staff, &req), action.key.to_owned(), ids.clone()).await?;
    // After the action: it changes each object through the domain's services, often one
    // transaction per object, so the entries cannot share one transaction with the change.
    let events = ids
        .iter()
        .map(|id| {
            history::event(
                &staff,
                Change {
                    event: "admin_action",
                    model: model.name,
                    id,
                    message: format!(
                        "{} ran \"{}\" on {} {id}",
                        staff.caller.username, action.label, model.name
                    ),
                    changes: serde_json::json!({ "action": { "from": "", "to": action.key } }),
                },
            )
        })
        .collect();
    history::record_all(&staff, events).await?;
    let query = query_string(&[("done", action.key), ("n", &done.to_string())]);
    Ok(redirect(&format!("/admin/{}/?{query}", model.name)))
}

#[derive(Serialize)]
struct FieldView {
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    value: String,
    checked: bool,
    choices: Vec<(&'static str, &'static str)>,
    readonly: bool,
    errors: Vec<String>,
}

fn field_views(
    model: &AdminModel,
    creating: bool,
    superuser: bool,
    values: &BTreeMap<String, String>,
    errors: &BTreeMap<String, Vec<String>>,
) -> Vec<FieldView> {
    form_fields(model, creating)
        .map(|f| {
            let value = values.get(f.name).cloned().unwrap_or_default();
            let (kind, choices) = match f.kind {
                FieldKind::Text => (
                    if f.name == "password" {
                        "password"
                    } else {
                        "text"
                    },
                    Vec::new(),
                ),
                FieldKind::LongText => ("longtext", Vec::new()),
                FieldKind::Bool => ("bool", Vec::new()),
                FieldKind::Choice(choices) => ("choice", choices.to_vec()),
            };
            FieldView {
                name: f.name,
                label: f.label,
                kind,
                checked: value == "true",
                value,
                choices,
                readonly: f.superuser_only && !superuser,
                errors: errors.get(f.name).cloned().unwrap_or_default(),
            }
        })
        .collect()
}

fn record_values(record: &Record) -> BTreeMap<String, String> {
    record
        .values
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// Field errors that belong to no field of the form, shown above it.
fn other_errors(model: &AdminModel, error: &ApiError) -> Vec<String> {
    let mut out = Vec::new();
    match error.errors() {
        Some(errors) => {
            for (field, messages) in errors {
                if !model.fields.iter().any(|f| f.name == field) {
                    out.extend(messages.iter().map(|m| format!("{field}: {m}")));
                }
            }
        }
        None => out.push(error.detail().to_owned()),
    }
    out
}

/// What a detail or create form shows.
struct FormState<'a> {
    model: &'a AdminModel,
    /// The object, or `None` on the create form.
    record: Option<&'a Record>,
    /// The values in the inputs.
    values: &'a BTreeMap<String, String>,
    /// Why the last submission was refused.
    error: Option<&'a ApiError>,
    /// What the last submission did.
    notice: Option<&'a str>,
}

fn form_page(
    console: &ConsoleData,
    staff: &Staff,
    status: StatusCode,
    form: &FormState<'_>,
) -> Result<HttpResponse, PageError> {
    let FormState {
        model,
        record,
        values,
        error,
        notice,
    } = *form;
    let creating = record.is_none();
    let empty = BTreeMap::new();
    let errors = error.and_then(ApiError::errors).unwrap_or(&empty);
    let fields = field_views(model, creating, staff.caller.is_superuser, values, errors);
    console.page(
        status,
        "form.html",
        Some(staff),
        minijinja::context! {
            model => model.name,
            label => model.label,
            creating => creating,
            id => record.map(|r| r.id.clone()),
            title => record.map_or_else(|| format!("Add to {}", model.label), |r| r.title.clone()),
            fields => fields,
            details => record.map(|r| r.details.clone()).unwrap_or_default(),
            editable => if creating { model.create.is_some() } else { model.update.is_some() },
            can_delete => !creating && model.delete.is_some(),
            errors => error.map(|e| other_errors(model, e)).unwrap_or_default(),
            notice => notice,
        },
    )
}

/// `GET /admin/{model}/{id}/`.
pub async fn detail(
    req: HttpRequest,
    staff: Staff,
    console: ConsoleData,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (name, id) = path.into_inner();
    let model = find_model(&console, &name)?;
    let record = (model.get)(context(&staff, &req), id).await?;
    let notice = match ListQuery::parse(&req).get("saved") {
        Some("1") => Some("Saved."),
        Some("0") => Some("Nothing changed."),
        Some("new") => Some("Created."),
        _ => None,
    };
    form_page(
        &console,
        &staff,
        StatusCode::OK,
        &FormState {
            model,
            record: Some(&record),
            values: &record_values(&record),
            error: None,
            notice,
        },
    )
}

/// The fields of `after` whose value differs from `before`, as history records them.
fn changed(before: &BTreeMap<String, String>, after: &Values) -> Values {
    Values(
        after
            .0
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// `POST /admin/{model}/{id}/`: saves the changed fields through the domain.
pub async fn update(
    req: HttpRequest,
    staff: Staff,
    console: ConsoleData,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (name, id) = path.into_inner();
    let model = find_model(&console, &name)?;
    let form = staff.form(&body)?;
    let update = model
        .update
        .ok_or_else(|| PageError::Api(ApiError::method_not_allowed("POST")))?;
    let ctx = context(&staff, &req);
    let record = (model.get)(ctx.clone(), id.clone()).await?;
    let before = record_values(&record);
    let values = submitted(model, &form, false, staff.caller.is_superuser);
    let changes = changed(&before, &values);
    if changes.0.is_empty() {
        return Ok(redirect(&format!("/admin/{}/{id}/?saved=0", model.name)));
    }
    let diff: serde_json::Map<String, serde_json::Value> = changes
        .0
        .iter()
        .map(|(k, v)| {
            let from = record.values.get(k.as_str()).cloned().unwrap_or_default();
            (k.clone(), serde_json::json!({ "from": from, "to": v }))
        })
        .collect();
    let change = Change {
        event: "admin_change",
        model: model.name,
        id: &id,
        message: format!(
            "{} changed {} of {} {id}",
            staff.caller.username,
            changes.0.keys().cloned().collect::<Vec<_>>().join(", "),
            model.name
        ),
        changes: serde_json::Value::Object(diff),
    };
    let result = with_history(&staff, ctx, change, |ctx| {
        update(ctx, id.clone(), changes.clone())
    })
    .await;
    match result {
        Ok(()) => {}
        Err(error) if error.status().is_client_error() => {
            let mut shown = before;
            shown.extend(values.0);
            return form_page(
                &console,
                &staff,
                error.status(),
                &FormState {
                    model,
                    record: Some(&record),
                    values: &shown,
                    error: Some(&error),
                    notice: None,
                },
            );
        }
        Err(error) => return Err(error.into()),
    }
    Ok(redirect(&format!("/admin/{}/{id}/?saved=1", model.name)))
}

/// `GET /admin/{model}/add/`.
pub async fn create_form(
    staff: Staff,
    console: ConsoleData,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let model = find_model(&console, &path)?;
    if model.create.is_none() {
        return Err(PageError::Api(ApiError::not_found(
            "This model cannot be added to here.",
        )));
    }
    form_page(
        &console,
        &staff,
        StatusCode::OK,
        &FormState {
            model,
            record: None,
            values: &BTreeMap::new(),
            error: None,
            notice: None,
        },
    )
}

/// `POST /admin/{model}/add/`.
pub async fn create(
    req: HttpRequest,
    staff: Staff,
    console: ConsoleData,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let model = find_model(&console, &path)?;
    let form = staff.form(&body)?;
    let create = model.create.ok_or_else(|| {
        PageError::Api(ApiError::not_found("This model cannot be added to here."))
    })?;
    let values = submitted(model, &form, true, staff.caller.is_superuser);
    let id = match create(context(&staff, &req), values.clone()).await {
        Ok(id) => id,
        Err(error) if error.status().is_client_error() => {
            let mut shown = values.0;
            shown.remove("password");
            return form_page(
                &console,
                &staff,
                error.status(),
                &FormState {
                    model,
                    record: None,
                    values: &shown,
                    error: Some(&error),
                    notice: None,
                },
            );
        }
        Err(error) => return Err(error.into()),
    };
    // Recorded after the creation: the entry names the new object's id, known only once the
    // domain's create has committed. Create-only fields (a password) are named, never recorded.
    let fields: serde_json::Map<String, serde_json::Value> = form_fields(model, true)
        .filter_map(|f| values.0.get(f.name).map(|v| (f, v)))
        .map(|(f, v)| {
            let to = if f.create_only {
                "(set)".to_owned()
            } else {
                v.clone()
            };
            (
                f.name.to_owned(),
                serde_json::json!({ "from": "", "to": to }),
            )
        })
        .collect();
    history::record(
        &staff,
        Change {
            event: "admin_create",
            model: model.name,
            id: &id,
            message: format!("{} added {} {id}", staff.caller.username, model.name),
            changes: serde_json::Value::Object(fields),
        },
    )
    .await?;
    Ok(redirect(&format!("/admin/{}/{id}/?saved=new", model.name)))
}

/// `GET /admin/{model}/{id}/delete/`: what the deletion takes with it, and the confirmation.
pub async fn delete_form(
    req: HttpRequest,
    staff: Staff,
    console: ConsoleData,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (name, id) = path.into_inner();
    let model = find_model(&console, &name)?;
    let delete = model
        .delete
        .ok_or_else(|| PageError::Api(ApiError::not_found("This model cannot be deleted here.")))?;
    let ctx = context(&staff, &req);
    let record = (model.get)(ctx.clone(), id.clone()).await?;
    let goes = (delete.preview)(ctx, id.clone()).await?;
    console.page(
        StatusCode::OK,
        "delete.html",
        Some(&staff),
        minijinja::context! {
            model => model.name,
            label => model.label,
            id => id,
            title => record.title,
            goes => goes,
        },
    )
}

/// `POST /admin/{model}/{id}/delete/`.
pub async fn delete(
    req: HttpRequest,
    staff: Staff,
    console: ConsoleData,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (name, id) = path.into_inner();
    let model = find_model(&console, &name)?;
    staff.form(&body)?;
    let delete = model
        .delete
        .ok_or_else(|| PageError::Api(ApiError::not_found("This model cannot be deleted here.")))?;
    let ctx = context(&staff, &req);
    let record = (model.get)(ctx.clone(), id.clone()).await?;
    let change = Change {
        event: "admin_delete",
        model: model.name,
        id: &id,
        message: format!(
            "{} deleted {} {id} ({})",
            staff.caller.username, model.name, record.title
        ),
        changes: serde_json::json!({}),
    };
    with_history(&staff, ctx, change, |ctx| (delete.run)(ctx, id.clone())).await?;
    Ok(redirect(&format!("/admin/{}/?deleted=1", model.name)))
}
