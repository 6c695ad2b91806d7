//! The AI domain in the staff console: its models (the prices staff set, whether clients are
//! offered them), and on the dashboard tokens and cost per day, from the daily roll-up
//! (`ai_daily_stats`, refreshed every 10 minutes, today included), so the dashboard never
//! scans the request log. Staff also see every user's conversations (facts and size, not the
//! messages; deletion) and every prompt template (search, public or not, sharing, deletion),
//! through [`crate::moderation`].

use actix_web::FromRequest;
use diesel::prelude::*;
use plaza_kernel::admin::{
    self, Admin, AdminContext, AdminFuture, AdminModel, Chart, Column, Delete, Field, FieldKind,
    Filter, ListPage, ListRequest, Point, Record, Row, Values, YES_NO,
};
use plaza_kernel::ApiError;
use plaza_users::authors_by_id;

use crate::moderation;
use crate::schema::ai_daily_stats;
use crate::service;
use crate::state::AiState;
use crate::types::ModelWrite;

/// The AI domain in the console.
pub const ADMIN: Admin = Admin {
    models: &[MODELS, CONVERSATIONS, TEMPLATES],
    charts: &[
        Chart {
            title: "AI tokens per day",
            unit: "tokens",
            series: tokens_per_day,
        },
        Chart {
            title: "AI cost per day",
            unit: "USD",
            series: cost_per_day,
        },
    ],
    gauges: &[],
};

/// Micro-units per US dollar (money is stored in micro-units).
const MICROS_PER_USD: f64 = 1_000_000.0;

/// Each day's rows of the roll-up since the window's first day: (day, tokens, cost in USD).
fn daily(ctx: AdminContext, days: u32) -> AdminFuture<Vec<(chrono::NaiveDate, f64, f64)>> {
    ctx.read(move |conn, _| {
        let (first, _) = admin::window(days);
        let rows: Vec<(chrono::NaiveDate, i64, i64, i64)> = ai_daily_stats::table
            .filter(ai_daily_stats::day.ge(first))
            .select((
                ai_daily_stats::day,
                ai_daily_stats::prompt_tokens,
                ai_daily_stats::completion_tokens,
                ai_daily_stats::cost,
            ))
            .load(conn)?;
        #[allow(clippy::cast_precision_loss)]
        let rows = rows
            .into_iter()
            .map(|(day, prompt, completion, cost)| {
                (
                    day,
                    (prompt + completion) as f64,
                    cost as f64 / MICROS_PER_USD,
                )
            })
            .collect();
        Ok(rows)
    })
}

fn series(days: u32, values: impl Iterator<Item = (chrono::NaiveDate, f64)>) -> Vec<Point> {
    let (first, _) = admin::window(days);
    let today = plaza_kernel::time::now().date();
    admin::per_day(
        first,
        today,
        values.map(|(day, v)| (day.and_time(chrono::NaiveTime::MIN), v)),
    )
}

fn tokens_per_day(ctx: AdminContext, days: u32) -> AdminFuture<Vec<Point>> {
    let rows = daily(ctx, days);
    Box::pin(async move {
        let rows = rows.await?;
        Ok(series(days, rows.into_iter().map(|(d, t, _)| (d, t))))
    })
}

fn cost_per_day(ctx: AdminContext, days: u32) -> AdminFuture<Vec<Point>> {
    let rows = daily(ctx, days);
    Box::pin(async move {
        let rows = rows.await?;
        Ok(series(days, rows.into_iter().map(|(d, _, c)| (d, c))))
    })
}

/// The models offered to clients, with their prices (micro-USD per 1000 tokens).
pub const MODELS: AdminModel = AdminModel {
    columns: &[
        Column::new("name", "Name"),
        Column::new("provider", "Provider"),
        Column::new("upstream_model", "Upstream model"),
        Column::new("input_price", "Input price"),
        Column::new("output_price", "Output price"),
        Column::new("is_active", "Offered"),
    ],
    fields: &[
        Field::new(
            "input_price",
            "Input price (micro-USD per 1000 prompt tokens)",
            FieldKind::Text,
        ),
        Field::new(
            "output_price",
            "Output price (micro-USD per 1000 completion tokens)",
            FieldKind::Text,
        ),
        Field::new("context_window", "Context window (tokens)", FieldKind::Text),
        Field::new("is_active", "Offered to clients", FieldKind::Bool),
    ],
    update: Some(update_model),
    ..AdminModel::new("ai-models", "AI models", list_models, get_model)
};

// The signature is the console's; this list has no filters to take from the request.
#[allow(clippy::needless_pass_by_value)]
fn list_models(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    Box::pin(async move {
        let ai = AiState::extract(&ctx.request).await?;
        // A handful of rows, cached by the domain; paged here for the console's pages.
        let models = service::list_models(&ai, &ctx.caller).await?;
        let size = usize::try_from(request.page_size).unwrap_or(25);
        let skip = usize::try_from(request.page.max(1) - 1).unwrap_or(0) * size;
        Ok(ListPage {
            total: models.len() as u64,
            rows: models
                .into_iter()
                .skip(skip)
                .take(size)
                .map(|m| {
                    Row::new(m.id)
                        .cell("name", &m.name)
                        .cell("provider", &m.provider)
                        .cell("upstream_model", &m.upstream_model)
                        .cell("input_price", m.input_price)
                        .cell("output_price", m.output_price)
                        .cell("is_active", if m.is_active { "yes" } else { "no" })
                })
                .collect(),
        })
    })
}

fn get_model(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let m = crate::model::find_model(conn, admin::numeric_id(&id)?)?
            .ok_or_else(|| ApiError::not_found("Model not found."))?;
        Ok(Record::new(m.id, &m.name)
            .value("input_price", m.input_price)
            .value("output_price", m.output_price)
            .value("context_window", m.context_window)
            .value("is_active", m.is_active)
            .detail("Provider", &m.provider)
            .detail("Upstream model", &m.upstream_model)
            .detail("Kind", &m.kind)
            .detail("Default parameters", &m.default_params))
    })
}

/// A whole number typed in a form field, or that field's error.
fn number<T: std::str::FromStr>(values: &Values, field: &str) -> Result<Option<T>, ApiError> {
    values
        .text(field)
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|_| ApiError::invalid_field(field, "Enter a whole number."))
        })
        .transpose()
}

fn update_model(ctx: AdminContext, id: String, values: Values) -> AdminFuture<()> {
    Box::pin(async move {
        let id = admin::numeric_id(&id)?;
        let body = ModelWrite {
            input_price: number(&values, "input_price")?,
            output_price: number(&values, "output_price")?,
            context_window: number(&values, "context_window")?,
            is_active: values.flag("is_active"),
            ..ModelWrite::default()
        };
        plaza_kernel::extract::validate(&body)?;
        let ai = AiState::extract(&ctx.request).await?;
        service::write_model(&ai, &ctx.caller, Some(id), body, true)
            .await
            .map(drop)
    })
}

const TIME: &str = "%Y-%m-%d %H:%M";

fn username(cards: &std::collections::HashMap<i64, plaza_users::Author>, id: i64) -> String {
    cards
        .get(&id)
        .map_or_else(|| format!("#{id}"), |a| a.username.clone())
}

/// Every user's conversations with the assistant.
pub const CONVERSATIONS: AdminModel = AdminModel {
    columns: &[
        Column::new("title", "Title"),
        Column::new("user", "User"),
        Column::new("model", "Model"),
        Column::new("messages", "Messages"),
        Column::new("updated_at", "Last active"),
    ],
    search: Some("title"),
    orderings: &[("-id", "Newest")],
    delete: Some(Delete {
        preview: conversation_delete_preview,
        run: delete_conversation,
    }),
    ..AdminModel::new(
        "conversations",
        "AI conversations",
        list_conversations,
        get_conversation,
    )
};

fn list_conversations(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let page =
            moderation::conversations(conn, request.search.as_deref(), request.page_request())?;
        let ids: Vec<i64> = page.results.iter().map(|c| c.id).collect();
        let counts = moderation::message_counts(conn, &ids)?;
        let users: Vec<i64> = page.results.iter().map(|c| c.user_id).collect();
        let cards = authors_by_id(conn, &users)?;
        Ok(ListPage::from_page(page, |c| {
            Row::new(c.id)
                .cell("title", &c.title)
                .cell("user", username(&cards, c.user_id))
                .cell("model", c.model.as_deref().unwrap_or("(default)"))
                .cell("messages", counts.get(&c.id).copied().unwrap_or(0))
                .cell("updated_at", c.updated_at.format(TIME))
        }))
    })
}

fn get_conversation(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let c = moderation::conversation(conn, admin::numeric_id(&id)?)?;
        let counts = moderation::message_counts(conn, &[c.id])?;
        let cards = authors_by_id(conn, &[c.user_id])?;
        Ok(Record::new(c.id, &c.title)
            .detail(
                "User",
                format!("{} (#{})", username(&cards, c.user_id), c.user_id),
            )
            .detail("Model", c.model.as_deref().unwrap_or("(default)"))
            .detail("Messages", counts.get(&c.id).copied().unwrap_or(0))
            .detail("Started", c.created_at.format(TIME))
            .detail("Last active", c.updated_at.format(TIME)))
    })
}

fn conversation_delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, _| {
        let c = moderation::conversation(conn, admin::numeric_id(&id)?)?;
        let counts = moderation::message_counts(conn, &[c.id])?;
        Ok(vec![
            format!("The conversation \"{}\"", c.title),
            format!("Its {} messages", counts.get(&c.id).copied().unwrap_or(0)),
        ])
    })
}

fn delete_conversation(ctx: AdminContext, id: String) -> AdminFuture<()> {
    ctx.write(move |conn, caller| {
        moderation::delete_conversation(conn, caller, admin::numeric_id(&id)?)
    })
}

/// Every prompt template.
pub const TEMPLATES: AdminModel = AdminModel {
    columns: &[
        Column::new("name", "Name"),
        Column::new("owner", "Owner"),
        Column::new("category", "Category"),
        Column::new("is_public", "Public"),
        Column::new("updated_at", "Changed"),
    ],
    search: Some("name"),
    filters: &[Filter {
        key: "is_public",
        label: "Public",
        choices: YES_NO,
    }],
    orderings: &[("-id", "Newest")],
    fields: &[Field::new(
        "is_public",
        "Shared with everyone",
        FieldKind::Bool,
    )],
    update: Some(update_template),
    delete: Some(Delete {
        preview: template_delete_preview,
        run: delete_template,
    }),
    ..AdminModel::new(
        "templates",
        "Prompt templates",
        list_templates,
        get_template,
    )
};

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

fn list_templates(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let page = moderation::templates(
            conn,
            request.search.as_deref(),
            request.flag("is_public"),
            request.page_request(),
        )?;
        let owners: Vec<i64> = page.results.iter().map(|t| t.owner_id).collect();
        let cards = authors_by_id(conn, &owners)?;
        Ok(ListPage::from_page(page, |t| {
            Row::new(t.id)
                .cell("name", &t.name)
                .cell("owner", username(&cards, t.owner_id))
                .cell("category", &t.category)
                .cell("is_public", yes_no(t.is_public))
                .cell("updated_at", t.updated_at.format(TIME))
        }))
    })
}

fn get_template(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let t = moderation::template(conn, admin::numeric_id(&id)?)?;
        let cards = authors_by_id(conn, &[t.owner_id])?;
        Ok(Record::new(t.id, &t.name)
            .value("is_public", t.is_public)
            .detail(
                "Owner",
                format!("{} (#{})", username(&cards, t.owner_id), t.owner_id),
            )
            .detail("Description", &t.description)
            .detail("Category", &t.category)
            .detail("Template", &t.template)
            .detail("Variables", &t.variables)
            .detail("Created", t.created_at.format(TIME))
            .detail("Changed", t.updated_at.format(TIME)))
    })
}

fn update_template(ctx: AdminContext, id: String, values: Values) -> AdminFuture<()> {
    Box::pin(async move {
        let id = admin::numeric_id(&id)?;
        let public = values
            .flag("is_public")
            .ok_or_else(|| ApiError::invalid_field("is_public", "Tick or untick the box."))?;
        ctx.write(move |conn, caller| moderation::set_public(conn, caller, id, public))
            .await
    })
}

fn template_delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    ctx.read(move |conn, _| {
        let t = moderation::template(conn, admin::numeric_id(&id)?)?;
        Ok(vec![format!("The prompt template \"{}\"", t.name)])
    })
}

fn delete_template(ctx: AdminContext, id: String) -> AdminFuture<()> {
    ctx.write(move |conn, caller| {
        moderation::delete_template(conn, caller, admin::numeric_id(&id)?)
    })
}
