//! Request and response bodies of `/api/v1/ai/`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use plaza_kernel::time::utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use crate::model::{ConversationRow, MessageRow, ModelRow, RequestRow, StatsRow, TemplateRow};
use crate::provider::Usage;

/// The kinds a model may have.
pub const KINDS: [&str; 4] = ["text", "image", "speech", "embedding"];

fn error(code: &'static str, message: String) -> ValidationError {
    ValidationError::new(code).with_message(Cow::Owned(message))
}

fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(error("blank", "This field may not be blank.".to_owned()))
    } else {
        Ok(())
    }
}

fn model_kind(value: &str) -> Result<(), ValidationError> {
    if KINDS.contains(&value) {
        Ok(())
    } else {
        Err(error(
            "choice",
            format!("\"{value}\" is not a valid choice: text, image, speech, embedding."),
        ))
    }
}

fn json_object(value: &Value) -> Result<(), ValidationError> {
    if value.is_object() {
        Ok(())
    } else {
        Err(error("type", "Must be a JSON object.".to_owned()))
    }
}

fn no_spaces(value: &str) -> Result<(), ValidationError> {
    not_blank(value)?;
    if value.chars().any(char::is_whitespace) {
        return Err(error("format", "May not contain spaces.".to_owned()));
    }
    Ok(())
}

/// Token counts of an answer.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
pub struct UsageOut {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Completion tokens.
    pub completion_tokens: u32,
    /// Their sum.
    pub total_tokens: u32,
}

impl From<Usage> for UsageOut {
    fn from(u: Usage) -> Self {
        Self {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: u.prompt_tokens.saturating_add(u.completion_tokens),
        }
    }
}

/// A model of the registry.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelOut {
    /// Id.
    pub id: i64,
    /// The name clients ask for.
    pub name: String,
    /// The provider serving it (`openai`, `spark`, …).
    pub provider: String,
    /// Its name at the provider.
    pub upstream_model: String,
    /// `text`, `image`, `speech` or `embedding`.
    pub kind: String,
    /// Tokens of context.
    pub context_window: i32,
    /// Micro-USD per 1000 prompt tokens.
    pub input_price: i64,
    /// Micro-USD per 1000 completion tokens.
    pub output_price: i64,
    /// Offered to clients.
    pub is_active: bool,
    /// Parameters sent upstream unless a request sets them.
    #[schema(value_type = Object)]
    pub default_params: Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&ModelRow> for ModelOut {
    fn from(m: &ModelRow) -> Self {
        Self {
            id: m.id,
            name: m.name.clone(),
            provider: m.provider.clone(),
            upstream_model: m.upstream_model.clone(),
            kind: m.kind.clone(),
            context_window: m.context_window,
            input_price: m.input_price,
            output_price: m.output_price,
            is_active: m.is_active,
            default_params: serde_json::from_str(&m.default_params)
                .unwrap_or_else(|_| Value::Object(Default::default())),
            created_at: utc(m.created_at),
            updated_at: utc(m.updated_at),
        }
    }
}

/// A model to create (POST) or replace (PUT); PATCH takes any of these fields.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct ModelWrite {
    /// 1–100 characters, no spaces; unique.
    #[validate(length(min = 1, max = 100), custom(function = "no_spaces"))]
    pub name: Option<String>,
    /// A configured provider's name (1–50 characters).
    #[validate(length(min = 1, max = 50), custom(function = "no_spaces"))]
    pub provider: Option<String>,
    /// The upstream's name (1–100 characters).
    #[validate(length(min = 1, max = 100), custom(function = "not_blank"))]
    pub upstream_model: Option<String>,
    /// `text` (default), `image`, `speech` or `embedding`.
    #[validate(custom(function = "model_kind"))]
    pub kind: Option<String>,
    /// Tokens of context (1–10000000; default 8192).
    #[validate(range(min = 1, max = 10_000_000))]
    pub context_window: Option<i32>,
    /// Micro-USD per 1000 prompt tokens (≥ 0).
    #[validate(range(min = 0))]
    pub input_price: Option<i64>,
    /// Micro-USD per 1000 completion tokens (≥ 0).
    #[validate(range(min = 0))]
    pub output_price: Option<i64>,
    /// Offered to clients (default true).
    pub is_active: Option<bool>,
    /// A JSON object of parameters (`temperature`, `max_tokens`, …).
    #[validate(custom(function = "json_object"))]
    #[schema(value_type = Option<Object>)]
    pub default_params: Option<Value>,
}

/// A conversation in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationOut {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// The model it talks to, if chosen.
    pub model: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last message.
    pub updated_at: DateTime<Utc>,
}

impl From<ConversationRow> for ConversationOut {
    fn from(c: ConversationRow) -> Self {
        Self {
            id: c.id,
            title: c.title,
            model: c.model,
            created_at: utc(c.created_at),
            updated_at: utc(c.updated_at),
        }
    }
}

/// A conversation with its messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationDetail {
    /// The conversation.
    #[serde(flatten)]
    pub conversation: ConversationOut,
    /// Its messages, oldest first.
    pub messages: Vec<MessageOut>,
}

/// A new conversation, or some of its fields (PATCH).
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct ConversationWrite {
    /// 1–200 characters (default "New conversation").
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub title: Option<String>,
    /// A model's name.
    #[validate(length(min = 1, max = 100))]
    pub model: Option<String>,
}

/// A message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    /// Id.
    pub id: i64,
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// Text.
    pub content: String,
    /// Tokens.
    pub tokens: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<MessageRow> for MessageOut {
    fn from(m: MessageRow) -> Self {
        Self {
            id: m.id,
            role: m.role,
            content: m.content,
            tokens: m.tokens,
            created_at: utc(m.created_at),
        }
    }
}

/// A prompt template.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateOut {
    /// Id.
    pub id: i64,
    /// Owner's user id.
    pub owner_id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Category.
    pub category: String,
    /// The template (`… {{ var }} …`, Jinja syntax).
    pub template: String,
    /// The variables it uses, sorted.
    pub variables: Vec<String>,
    /// Readable by everyone.
    pub is_public: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<TemplateRow> for TemplateOut {
    fn from(t: TemplateRow) -> Self {
        Self {
            id: t.id,
            owner_id: t.owner_id,
            name: t.name,
            description: t.description,
            category: t.category,
            variables: serde_json::from_str(&t.variables).unwrap_or_default(),
            template: t.template,
            is_public: t.is_public,
            created_at: utc(t.created_at),
            updated_at: utc(t.updated_at),
        }
    }
}

/// A template to create (POST) or replace (PUT); PATCH takes any of these fields. Its
/// `variables` are read from the template itself.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct TemplateWrite {
    /// 1–100 characters.
    #[validate(length(min = 1, max = 100), custom(function = "not_blank"))]
    pub name: Option<String>,
    /// Up to 500 characters.
    #[validate(length(max = 500))]
    pub description: Option<String>,
    /// Up to 50 characters.
    #[validate(length(max = 50))]
    pub category: Option<String>,
    /// 1–20000 characters of Jinja (`{{ var }}`).
    #[validate(length(min = 1, max = 20000), custom(function = "not_blank"))]
    pub template: Option<String>,
    /// Readable by everyone (default false).
    pub is_public: Option<bool>,
}

/// Templates filter.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
pub struct TemplateQuery {
    /// Only this category.
    pub category: Option<String>,
    /// `true`: only the caller's own.
    pub mine: Option<bool>,
}

/// Values for a template's variables.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct RenderBody {
    /// Name → value.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub variables: BTreeMap<String, Value>,
}

/// A rendered template.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenderOut {
    /// The prompt.
    pub prompt: String,
}

/// A message to send (POST `chat/send/`).
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct ChatSend {
    /// The user's message (1–100000 characters); optional with `template_id`, appended to
    /// the rendered template when both are given.
    #[validate(length(min = 1, max = 100_000))]
    pub message: Option<String>,
    /// Continue this conversation (yours); a new one is created without it.
    pub conversation_id: Option<i64>,
    /// A model's name (default: the conversation's, else the default model).
    #[validate(length(min = 1, max = 100))]
    pub model: Option<String>,
    /// Render this template (yours or public) as the message.
    pub template_id: Option<i64>,
    /// The template's variables.
    #[schema(value_type = Option<Object>)]
    pub variables: Option<BTreeMap<String, Value>>,
    /// Answer as an SSE stream of `{"delta"}` events ending with `{"done": true, "usage"}`.
    #[serde(default)]
    pub stream: bool,
}

/// The assistant's message in a chat answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssistantMessage {
    /// Id.
    pub id: i64,
    /// Always `assistant`.
    pub role: &'static str,
    /// The answer.
    pub content: String,
}

/// A chat answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatSendOut {
    /// The conversation (new or continued).
    pub conversation_id: i64,
    /// The answer.
    pub message: AssistantMessage,
    /// Token counts.
    pub usage: UsageOut,
}

/// One logged AI call.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestOut {
    /// Id.
    pub id: i64,
    /// Model.
    pub model: String,
    /// Provider.
    pub provider: String,
    /// `gateway`, `chat` or `forum`.
    pub endpoint: String,
    /// Streamed.
    pub stream: bool,
    /// Prompt tokens.
    pub prompt_tokens: i32,
    /// Completion tokens.
    pub completion_tokens: i32,
    /// Counted here because the upstream gave no usage.
    pub tokens_estimated: bool,
    /// Cost in micro-USD.
    pub cost: i64,
    /// Total time, ms.
    pub latency_ms: i32,
    /// Time to first token, ms (streams).
    pub ttft_ms: Option<i32>,
    /// `ok`, `upstream_error`, `timeout` or `client_disconnect`.
    pub status: String,
    /// What went wrong.
    pub error: Option<String>,
    /// When the call started.
    pub created_at: DateTime<Utc>,
}

impl From<RequestRow> for RequestOut {
    fn from(r: RequestRow) -> Self {
        Self {
            id: r.id,
            model: r.model,
            provider: r.provider,
            endpoint: r.endpoint,
            stream: r.stream,
            prompt_tokens: r.prompt_tokens,
            completion_tokens: r.completion_tokens,
            tokens_estimated: r.tokens_estimated,
            cost: r.cost,
            latency_ms: r.latency_ms,
            ttft_ms: r.ttft_ms,
            status: r.status,
            error: r.error,
            created_at: utc(r.created_at),
        }
    }
}

/// The range of a stats query.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
pub struct StatsQuery {
    /// First day (`YYYY-MM-DD`, UTC); default 30 days before `to`.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Last day (`YYYY-MM-DD`, UTC); default today.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
}

/// Totals of a group.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct Totals {
    /// Calls.
    pub requests: i64,
    /// Failed calls.
    pub errors: i64,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Micro-USD.
    pub cost: i64,
}

impl Totals {
    fn add(&mut self, row: &StatsRow) {
        self.requests += row.requests;
        self.errors += row.errors;
        self.prompt_tokens += row.prompt_tokens;
        self.completion_tokens += row.completion_tokens;
        self.cost += row.cost;
    }
}

/// Totals of one model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelTotals {
    /// Model.
    pub model: String,
    /// Its totals.
    #[serde(flatten)]
    pub totals: Totals,
}

/// Totals of one day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayTotals {
    /// Day (UTC).
    pub day: NaiveDate,
    /// Its totals.
    #[serde(flatten)]
    pub totals: Totals,
}

/// Usage statistics from the daily roll-up.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOut {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Everything in the range.
    pub totals: Totals,
    /// Per model.
    pub per_model: Vec<ModelTotals>,
    /// Per day.
    pub per_day: Vec<DayTotals>,
}

impl StatsOut {
    /// Sums the roll-up's rows.
    pub fn from_rows(from: NaiveDate, to: NaiveDate, rows: &[StatsRow]) -> Self {
        let mut totals = Totals::default();
        let mut models: BTreeMap<String, Totals> = BTreeMap::new();
        let mut days: BTreeMap<NaiveDate, Totals> = BTreeMap::new();
        for row in rows {
            totals.add(row);
            models.entry(row.model.clone()).or_default().add(row);
            days.entry(row.day).or_default().add(row);
        }
        Self {
            from,
            to,
            totals,
            per_model: models
                .into_iter()
                .map(|(model, totals)| ModelTotals { model, totals })
                .collect(),
            per_day: days
                .into_iter()
                .map(|(day, totals)| DayTotals { day, totals })
                .collect(),
        }
    }
}
