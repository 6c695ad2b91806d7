//! Rows and queries, synchronous over `&mut DbConn` so they compose inside one transaction.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Timestamp};
use plaza_kernel::db::{self, DbConn, MultiBackend};

use crate::schema::{
    ai_conversations, ai_daily_stats, ai_messages, ai_models, ai_requests, ai_templates,
};

/// A model of the registry.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ai_models)]
pub struct ModelRow {
    /// Id.
    pub id: i64,
    /// Plaza's name, what clients ask for (`gpt-4o-mini`, `spark`).
    pub name: String,
    /// The provider that serves it.
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
    /// Parameters sent upstream unless the request sets them (JSON object).
    pub default_params: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// Fields of a model, for insert and update.
#[derive(Clone, Debug, Insertable, AsChangeset)]
#[diesel(table_name = ai_models)]
pub struct ModelFields {
    /// Name.
    pub name: String,
    /// Provider.
    pub provider: String,
    /// Upstream name.
    pub upstream_model: String,
    /// Kind.
    pub kind: String,
    /// Context window.
    pub context_window: i32,
    /// Input price.
    pub input_price: i64,
    /// Output price.
    pub output_price: i64,
    /// Active.
    pub is_active: bool,
    /// Default parameters (JSON).
    pub default_params: String,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// Every model, by name (the registry is small).
pub fn all_models(conn: &mut DbConn) -> QueryResult<Vec<ModelRow>> {
    ai_models::table
        .order(ai_models::name.asc())
        .select(ModelRow::as_select())
        .load(conn)
}

/// One model by id.
pub fn find_model(conn: &mut DbConn, id: i64) -> QueryResult<Option<ModelRow>> {
    ai_models::table
        .find(id)
        .select(ModelRow::as_select())
        .first(conn)
        .optional()
}

/// Inserts a model and returns it.
pub fn insert_model(
    conn: &mut DbConn,
    fields: &ModelFields,
    now: NaiveDateTime,
) -> QueryResult<ModelRow> {
    diesel::insert_into(ai_models::table)
        .values((fields, ai_models::created_at.eq(now)))
        .execute(conn)?;
    let id = db::last_insert_id(conn)?;
    ai_models::table
        .find(id)
        .select(ModelRow::as_select())
        .first(conn)
}

/// Inserts each model whose name is not registered yet (staff edits of existing ones stay).
pub fn register_models(
    conn: &mut DbConn,
    models: &[ModelFields],
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let mut added = 0;
    for fields in models {
        let exists: i64 = ai_models::table
            .filter(ai_models::name.eq(&fields.name))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            match diesel::insert_into(ai_models::table)
                .values((fields, ai_models::created_at.eq(now)))
                .execute(conn)
            {
                Ok(_) => added += 1,
                // Another instance registered it first.
                Err(e) if db::is_unique_violation(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(added)
}

/// A conversation.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = ai_conversations)]
pub struct ConversationRow {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Title.
    pub title: String,
    /// The model it talks to, if chosen.
    pub model: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last message.
    pub updated_at: NaiveDateTime,
}

/// Creates a conversation and returns it.
pub fn insert_conversation(
    conn: &mut DbConn,
    user_id: i64,
    title: &str,
    model: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<ConversationRow> {
    diesel::insert_into(ai_conversations::table)
        .values((
            ai_conversations::user_id.eq(user_id),
            ai_conversations::title.eq(title),
            ai_conversations::model.eq(model),
            ai_conversations::created_at.eq(now),
            ai_conversations::updated_at.eq(now),
        ))
        .execute(conn)?;
    let id = db::last_insert_id(conn)?;
    ai_conversations::table
        .find(id)
        .select(ConversationRow::as_select())
        .first(conn)
}

/// The conversation `id` if `user_id` owns it.
pub fn owned_conversation(
    conn: &mut DbConn,
    id: i64,
    user_id: i64,
) -> QueryResult<Option<ConversationRow>> {
    ai_conversations::table
        .find(id)
        .filter(ai_conversations::user_id.eq(user_id))
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()
}

/// A message.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = ai_messages)]
pub struct MessageRow {
    /// Id.
    pub id: i64,
    /// Conversation.
    pub conversation_id: i64,
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// Text.
    pub content: String,
    /// Tokens (counted or reported).
    pub tokens: i32,
    /// Created.
    pub created_at: NaiveDateTime,
}

/// Adds a message and touches its conversation; returns the message's id.
pub fn insert_message(
    conn: &mut DbConn,
    conversation_id: i64,
    role: &str,
    content: &str,
    tokens: i32,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(ai_messages::table)
        .values((
            ai_messages::conversation_id.eq(conversation_id),
            ai_messages::role.eq(role),
            ai_messages::content.eq(content),
            ai_messages::tokens.eq(tokens),
            ai_messages::created_at.eq(now),
        ))
        .execute(conn)?;
    let id = db::last_insert_id(conn)?;
    diesel::update(ai_conversations::table.find(conversation_id))
        .set(ai_conversations::updated_at.eq(now))
        .execute(conn)?;
    Ok(id)
}

/// The newest `limit` messages of a conversation, oldest first.
pub fn recent_messages(
    conn: &mut DbConn,
    conversation_id: i64,
    limit: i64,
) -> QueryResult<Vec<MessageRow>> {
    let mut rows: Vec<MessageRow> = ai_messages::table
        .filter(ai_messages::conversation_id.eq(conversation_id))
        .order(ai_messages::id.desc())
        .limit(limit)
        .select(MessageRow::as_select())
        .load(conn)?;
    rows.reverse();
    Ok(rows)
}

/// A prompt template.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = ai_templates)]
pub struct TemplateRow {
    /// Id.
    pub id: i64,
    /// Owner.
    pub owner_id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Category.
    pub category: String,
    /// The template text (`… {{ var }} …`).
    pub template: String,
    /// Its variables (JSON array of names).
    pub variables: String,
    /// Readable by everyone.
    pub is_public: bool,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// The template `id` if `user_id` may read it (owner, or public).
pub fn readable_template(
    conn: &mut DbConn,
    id: i64,
    user_id: i64,
) -> QueryResult<Option<TemplateRow>> {
    ai_templates::table
        .find(id)
        .filter(
            ai_templates::owner_id
                .eq(user_id)
                .or(ai_templates::is_public.eq(true)),
        )
        .select(TemplateRow::as_select())
        .first(conn)
        .optional()
}

/// A request row, as the accounting flusher writes it.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = ai_requests)]
pub struct NewRequestRow {
    /// Caller.
    pub user_id: i64,
    /// Model name.
    pub model: String,
    /// Provider name.
    pub provider: String,
    /// `gateway`, `chat`, `forum`.
    pub endpoint: &'static str,
    /// Streamed.
    pub stream: bool,
    /// Prompt tokens.
    pub prompt_tokens: i32,
    /// Completion tokens.
    pub completion_tokens: i32,
    /// Counted here, the upstream gave none.
    pub tokens_estimated: bool,
    /// Micro-USD.
    pub cost: i64,
    /// Total time, ms.
    pub latency_ms: i32,
    /// Time to first token, ms (streams).
    pub ttft_ms: Option<i32>,
    /// `ok`, `upstream_error`, `timeout`, `client_disconnect`.
    pub status: &'static str,
    /// What went wrong (safe text).
    pub error: Option<String>,
    /// When the call started.
    pub created_at: NaiveDateTime,
}

/// Writes request rows in one statement.
pub fn insert_requests(conn: &mut DbConn, rows: &[NewRequestRow]) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let insert = diesel::insert_into(ai_requests::table).values(rows);
    match conn {
        DbConn::Mysql(c) => insert.execute(c),
        DbConn::Sqlite(c) => insert.execute(c),
    }
}

/// A logged request.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = ai_requests)]
pub struct RequestRow {
    /// Id.
    pub id: i64,
    /// Caller.
    pub user_id: i64,
    /// Model name.
    pub model: String,
    /// Provider name.
    pub provider: String,
    /// Endpoint.
    pub endpoint: String,
    /// Streamed.
    pub stream: bool,
    /// Prompt tokens.
    pub prompt_tokens: i32,
    /// Completion tokens.
    pub completion_tokens: i32,
    /// Estimated here.
    pub tokens_estimated: bool,
    /// Micro-USD.
    pub cost: i64,
    /// Total ms.
    pub latency_ms: i32,
    /// First token ms.
    pub ttft_ms: Option<i32>,
    /// Status.
    pub status: String,
    /// Error.
    pub error: Option<String>,
    /// Started.
    pub created_at: NaiveDateTime,
}

/// A user's requests, newest first, after `before` (an id), at most `limit`.
pub fn user_requests(
    conn: &mut DbConn,
    user_id: i64,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<RequestRow>> {
    let mut query = ai_requests::table
        .filter(ai_requests::user_id.eq(user_id))
        .order(ai_requests::id.desc())
        .limit(limit)
        .select(RequestRow::as_select())
        .into_boxed::<MultiBackend>();
    if let Some(before) = before {
        query = query.filter(ai_requests::id.lt(before));
    }
    query.load(conn)
}

/// Rolls `day` up from the request log into `ai_daily_stats` (replacing that day's rows), in
/// one transaction: two statements whatever the day's volume.
pub fn roll_up_day(conn: &mut DbConn, day: NaiveDate) -> QueryResult<usize> {
    let start = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    let end = start + chrono::Duration::days(1);
    db::transaction(conn, |conn| {
        diesel::delete(ai_daily_stats::table.filter(ai_daily_stats::day.eq(day))).execute(conn)?;
        diesel::sql_query(
            "INSERT INTO ai_daily_stats (day, user_id, model, requests, errors, prompt_tokens, \
             completion_tokens, cost, latency_ms) \
             SELECT ?, user_id, model, COUNT(*), \
             SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END), \
             SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(latency_ms) \
             FROM ai_requests WHERE created_at >= ? AND created_at < ? GROUP BY user_id, model",
        )
        .bind::<Date, _>(day)
        .bind::<Timestamp, _>(start)
        .bind::<Timestamp, _>(end)
        .execute(conn)
    })
}

/// The first day of the request log, if any.
pub fn first_request_day(conn: &mut DbConn) -> QueryResult<Option<NaiveDate>> {
    let first: Option<NaiveDateTime> = ai_requests::table
        .select(diesel::dsl::min(ai_requests::created_at))
        .first(conn)?;
    Ok(first.map(|t| t.date()))
}

/// The last day rolled up, if any.
pub fn last_rolled_day(conn: &mut DbConn) -> QueryResult<Option<NaiveDate>> {
    ai_daily_stats::table
        .select(diesel::dsl::max(ai_daily_stats::day))
        .first(conn)
}

/// One row of the roll-up, summed per day and model.
#[derive(Clone, Debug, QueryableByName)]
pub struct StatsRow {
    /// Day.
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
    /// Model.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub model: String,
    /// Calls.
    #[diesel(sql_type = BigInt)]
    pub requests: i64,
    /// Failed calls.
    #[diesel(sql_type = BigInt)]
    pub errors: i64,
    /// Prompt tokens.
    #[diesel(sql_type = BigInt)]
    pub prompt_tokens: i64,
    /// Completion tokens.
    #[diesel(sql_type = BigInt)]
    pub completion_tokens: i64,
    /// Micro-USD.
    #[diesel(sql_type = BigInt)]
    pub cost: i64,
}

/// The roll-up's rows between `from` and `to` (inclusive), of one user or everyone, summed
/// per day and model, in one query over the `(day, …)` or `(user_id, day)` index.
pub fn stats_rows(
    conn: &mut DbConn,
    user_id: Option<i64>,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<StatsRow>> {
    // MySQL sums BIGINT as DECIMAL; SQLite as INTEGER.
    let total = |column: &str| match conn {
        DbConn::Mysql(_) => format!("CAST(SUM({column}) AS SIGNED) AS {column}"),
        DbConn::Sqlite(_) => format!("SUM({column}) AS {column}"),
    };
    let columns = [
        "requests",
        "errors",
        "prompt_tokens",
        "completion_tokens",
        "cost",
    ]
    .map(total)
    .join(", ");
    let user_filter = if user_id.is_some() {
        " AND user_id = ?"
    } else {
        ""
    };
    let sql = format!(
        "SELECT day, model, {columns} FROM ai_daily_stats WHERE day >= ? AND day <= ?{user_filter} \
         GROUP BY day, model ORDER BY day, model"
    );
    let query = diesel::sql_query(sql)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to);
    match user_id {
        Some(user_id) => query.bind::<BigInt, _>(user_id).load(conn),
        None => query.load(conn),
    }
}
