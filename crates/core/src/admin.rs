//! Core's models in the staff console: tags (list, form, create, delete with what loses the
//! tag) and the background job queue (filter by status, retry or discard dead jobs; payloads
//! shown as their kind allows). Both go through this crate's services.

use actix_web::web;
use plaza_kernel::admin::{
    self, Action, Admin, AdminContext, AdminFuture, AdminModel, Column, Delete, Field, FieldKind,
    Filter, ListPage, ListRequest, Record, Row, Values,
};
use plaza_kernel::jobs::store::{self, JobFilter};
use plaza_kernel::jobs::{JobRegistry, JobStatus};
use plaza_kernel::{ApiError, Body};

use crate::tags::service::{self as tags, requests, TagFilter, TagInput};

/// Core in the console.
pub const ADMIN: Admin = Admin {
    models: &[TAGS, JOBS],
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
