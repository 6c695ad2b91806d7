//! Core's models in the staff console: tags (list, form, create, delete with what loses the
//! tag), the background job queue (filter by status, retry or discard dead jobs; payloads
//! shown as their kind allows) and the system log (read-only: filter by level and module,
//! search, newest first). All go through this crate's services.

use actix_web::web;
use plaza_kernel::admin::{
    self, Action, Admin, AdminContext, AdminFuture, AdminModel, Column, Delete, Field, FieldKind,
    Filter, ListPage, ListRequest, Record, Row, Values,
};
use plaza_kernel::jobs::store::{self, JobFilter};
use plaza_kernel::jobs::{JobRegistry, JobStatus};
use plaza_kernel::{ApiError, Body};

use crate::logs::{self, LogQuery};
use crate::tags::service::{self as tags, requests, TagFilter, TagInput};

/// Core in the console.
pub const ADMIN: Admin = Admin {
    models: &[TAGS, JOBS, LOGS],
    charts: &[],
    gauges: &[],
};

/// Tags.
pub const TAGS: AdminModel = AdminModel {
    columns: &[
        Column::new("name", "Name"),
        Column::new("slug", "Slug"),
        Column::new("color", "Colour"),
        Column::new("usage_count", "Used by"),
    ],
    search: Some("name"),
    orderings: &[
        ("-usage_count", "Most used"),
        ("name", "Name"),
        ("-created_at", "Newest"),
    ],
    fields: &[
        Field::new("name", "Name", FieldKind::Text),
        Field::new("slug", "Slug (from the name when empty)", FieldKind::Text),
        Field::new("color", "Colour (#rrggbb)", FieldKind::Text),
        Field::new("description", "Description", FieldKind::LongText),
    ],
    create: Some(create_tag),
    update: Some(update_tag),
    delete: Some(Delete {
        preview: tag_delete_preview,
        run: delete_tag,
    }),
    ..AdminModel::new("tags", "Tags", list_tags, get_tag)
};

fn list_tags(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let filter = TagFilter {
            search: request.search.clone(),
            ordering: request.ordering.clone(),
        };
        let page = tags::list(conn, &filter, request.page_request())?;
        Ok(ListPage::from_page(page, |tag| {
            Row::new(tag.id)
                .cell("name", &tag.name)
                .cell("slug", &tag.slug)
                .cell("color", &tag.color)
                .cell("usage_count", tag.usage_count)
        }))
    })
}

fn get_tag(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let tag = tags::get(conn, admin::numeric_id(&id)?)?;
        Ok(Record::new(tag.id, &tag.name)
            .value("name", &tag.name)
            .value("slug", &tag.slug)
            .value("color", &tag.color)
            .value("description", &tag.description)
            .detail("Used by", tag.usage_count)
            .detail("Created", tag.created_at.format("%Y-%m-%d %H:%M:%S UTC")))
    })
}

/// The form's fields as the tag service takes them; an empty slug or colour means "derive"
/// or "keep the default".
fn tag_input(values: &Values) -> TagInput {
    let non_empty = |name: &str| values.text(name).filter(|v| !v.trim().is_empty());
    TagInput::raw(
        values.text("name"),
        non_empty("slug"),
        non_empty("color"),
        values.text("description"),
    )
}

fn create_tag(ctx: AdminContext, values: Values) -> AdminFuture<String> {
    Box::pin(async move {
        let ip = ctx.ip();
        let tag = requests::create_tag(
            &ctx.services.db,
            ctx.caller.clone(),
            Body::valid(tag_input(&values)),
            ip,
        )
        .await?;
        Ok(tag.id.to_string())
    })
}

fn update_tag(ctx: AdminContext, id: String, values: Values) -> AdminFuture<()> {
    Box::pin(async move {
        let id = admin::numeric_id(&id)?;
        requests::update_tag(
            &ctx.services.db,
            &ctx.caller,
            id,
            Body::valid(tag_input(&values)),
        )
        .await
        .map(drop)
    })
}

fn tag_delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, _| {
        let tag = tags::get(conn, admin::numeric_id(&id)?)?;
        Ok(vec![
            format!("The tag \"{}\"", tag.name),
            format!(
                "Its links to the {} posts and other things it labels (they stay, untagged)",
                tag.usage_count
            ),
        ])
    })
}

fn delete_tag(ctx: AdminContext, id: String) -> AdminFuture<()> {
    Box::pin(async move {
        let id = admin::numeric_id(&id)?;
        let ip = ctx.ip();
        requests::delete_tag(&ctx.services.db, ctx.caller.clone(), id, ip).await
    })
}

const STATUSES: &[admin::Choice] = &[
    ("queued", "Queued"),
    ("running", "Running"),
    ("succeeded", "Succeeded"),
    ("dead", "Dead"),
];

/// The background job queue.
pub const JOBS: AdminModel = AdminModel {
    columns: &[
        Column::new("kind", "Kind"),
        Column::new("status", "Status"),
        Column::new("attempts", "Attempts"),
        Column::new("run_at", "Run at"),
        Column::new("last_error", "Last error"),
    ],
    filters: &[Filter {
        key: "status",
        label: "Status",
        choices: STATUSES,
    }],
    orderings: &[("-id", "Newest")],
    actions: &[
        Action::new("retry", "Retry the selected dead jobs"),
        Action::new("discard", "Discard the selected dead jobs"),
    ],
    act: act_on_jobs,
    ..AdminModel::new("jobs", "Background jobs", list_jobs, get_job)
};

fn short(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn list_jobs(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let status = match request.filter("status") {
            Some(s) => Some(
                JobStatus::parse(s)
                    .ok_or_else(|| ApiError::invalid_field("status", "Unknown status."))?,
            ),
            None => None,
        };
        let filter = JobFilter { status, kind: None };
        let page = request.page_request();
        let count = store::count(conn, &filter)?;
        let page = page.paginate(count, |window| {
            Ok(store::list(conn, &filter, window.limit, window.offset)?)
        })?;
        Ok(ListPage::from_page(page, |job| {
            Row::new(job.id)
                .cell("kind", &job.kind)
                .cell("status", &job.status)
                .cell("attempts", job.attempts)
                .cell("run_at", job.run_at.format("%Y-%m-%d %H:%M:%S"))
                .cell(
                    "last_error",
                    short(job.last_error.as_deref().unwrap_or(""), 80),
                )
        }))
    })
}

fn get_job(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    let registry = ctx.request.app_data::<web::Data<JobRegistry>>().cloned();
    ctx.read(move |conn, _| {
        let job = store::find(conn, admin::numeric_id(&id)?)?;
        // Secrets in payloads (mail bodies, tokens) stay hidden as the API hides them.
        let payload = registry.map_or_else(
            || "(hidden)".to_owned(),
            |r| r.redacted_payload(&job.kind, &job.payload).to_string(),
        );
        Ok(
            Record::new(job.id, format!("Job {} ({})", job.id, job.kind))
                .detail("Kind", &job.kind)
                .detail("Status", &job.status)
                .detail("Attempts", job.attempts)
                .detail("Run at", job.run_at.format("%Y-%m-%d %H:%M:%S UTC"))
                .detail("Last error", job.last_error.as_deref().unwrap_or("—"))
                .detail("Payload", payload)
                .detail("Created", job.created_at.format("%Y-%m-%d %H:%M:%S UTC")),
        )
    })
}

fn act_on_jobs(ctx: AdminContext, action: String, ids: Vec<String>) -> AdminFuture<usize> {
    Box::pin(async move {
        let mut done = 0;
        for id in &ids {
            let id = admin::numeric_id(id)?;
            match action.as_str() {
                "retry" => {
                    crate::jobs::retry_dead_job(&ctx.services.db, &ctx.caller, id, ctx.ip(), None)
                        .await
                        .map(drop)?;
                }
                "discard" => {
                    crate::jobs::discard_dead_job(&ctx.services.db, &ctx.caller, id, ctx.ip())
                        .await?;
                }
                _ => return Err(ApiError::bad_request(format!("No action \"{action}\"."))),
            }
            done += 1;
        }
        Ok(done)
    })
}

const LEVELS: &[admin::Choice] = &[
    ("debug", "Debug"),
    ("info", "Info"),
    ("warning", "Warning"),
    ("error", "Error"),
    ("critical", "Critical"),
];

/// The modules that record events: the domains, and the console's own history.
const MODULES: &[admin::Choice] = &[
    ("admin", "Console"),
    ("authentication", "Authentication"),
    ("users", "Users"),
    ("core", "Core"),
    ("posts", "Posts"),
    ("streaming", "Streaming"),
    ("ai", "AI"),
    ("social", "Social"),
    ("metaverse", "Metaverse"),
];

/// The system log, read-only.
pub const LOGS: AdminModel = AdminModel {
    columns: &[
        Column::new("created_at", "When"),
        Column::new("level", "Level"),
        Column::new("module", "Module"),
        Column::new("event", "Event"),
        Column::new("message", "Message"),
        Column::new("user_id", "User"),
    ],
    search: Some("message or event"),
    filters: &[
        Filter {
            key: "level",
            label: "Level",
            choices: LEVELS,
        },
        Filter {
            key: "module",
            label: "Module",
            choices: MODULES,
        },
    ],
    orderings: &[("-created_at", "Newest")],
    ..AdminModel::new("logs", "System logs", list_logs, get_log)
};

fn list_logs(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let query = LogQuery {
            level: request.filter("level").map(str::to_owned),
            module: request.filter("module").map(str::to_owned),
            search: request.search.clone(),
            ..LogQuery::default()
        };
        let page = logs::numbered_page(conn, query, request.page_request())?;
        Ok(ListPage::from_page(page, |e| {
            Row::new(e.id)
                .cell("created_at", e.created_at.format("%Y-%m-%d %H:%M:%S"))
                .cell("level", &e.level)
                .cell("module", &e.module)
                .cell("event", &e.event)
                .cell("message", short(&e.message, 120))
                .cell(
                    "user_id",
                    e.user_id.map_or_else(String::new, |id| id.to_string()),
                )
        }))
    })
}

fn get_log(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let e = logs::get(conn, admin::numeric_id(&id)?)?;
        let none = || "—".to_owned();
        Ok(Record::new(e.id, format!("{} ({})", e.event, e.module))
            .detail("When", e.created_at.format("%Y-%m-%d %H:%M:%S UTC"))
            .detail("Level", &e.level)
            .detail("Module", &e.module)
            .detail("Event", &e.event)
            .detail("Message", &e.message)
            .detail("User", e.user_id.map_or_else(none, |id| id.to_string()))
            .detail("Address", e.ip_address.unwrap_or_else(none))
            .detail("User agent", e.user_agent.unwrap_or_else(none))
            .detail("Request", e.request_id.unwrap_or_else(none))
            .detail("Details", e.data.to_string()))
    })
}
