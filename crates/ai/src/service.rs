//! The rules of `/api/v1/ai/`, callable without HTTP. Each function owns its transaction;
//! permissions are checked here (staff for the models registry, ownership for conversations
//! and templates, 404 for what the caller may not see).

use std::sync::Arc;

use chrono::{Duration as Days, NaiveDate, Utc};
use diesel::prelude::*;
use plaza_kernel::db::{self, DbConn};
use plaza_kernel::{
    ApiError, ApiResult, Body, Caller, CursorPage, CursorRequest, Db, Page, PageRequest,
};
use serde_json::Value;

use crate::call::{self, Prepared, Tap};
use crate::model::{self, ConversationRow, ModelFields, TemplateRow};
use crate::provider::ChatMessage;
use crate::schema::{ai_conversations, ai_messages, ai_models, ai_templates};
use crate::state::Ai;
use crate::templates;
use crate::tokens;
use crate::types::{
    AssistantMessage, ChatSend, ChatSendOut, ConversationDetail, ConversationOut,
    ConversationWrite, MessageOut, ModelOut, ModelWrite, RenderBody, RequestOut, StatsOut,
    StatsQuery, TemplateOut, TemplateQuery, TemplateWrite, UsageOut,
};

/// Messages of a conversation read to build the history sent upstream, at most.
const HISTORY_LIMIT: i64 = 200;

/// Longest stats range, in days.
const STATS_MAX_DAYS: i64 = 366;

fn not_found(what: &str) -> ApiError {
    ApiError::not_found(format!("{what} not found."))
}

fn name_taken(conn: &mut DbConn, name: &str, except: Option<i64>) -> QueryResult<bool> {
    let mut query = ai_models::table
        .filter(ai_models::name.eq(name))
        .into_boxed::<db::MultiBackend>();
    if let Some(id) = except {
        query = query.filter(ai_models::id.ne(id));
    }
    Ok(query.count().get_result::<i64>(conn)? > 0)
}

fn required_fields(body: &ModelWrite) -> ApiResult<()> {
    let mut errors = plaza_kernel::error::FieldErrors::new();
    for (field, present) in [
        ("name", body.name.is_some()),
        ("provider", body.provider.is_some()),
        ("upstream_model", body.upstream_model.is_some()),
    ] {
        if !present {
            errors.insert(field.to_owned(), vec!["This field is required.".to_owned()]);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Every model (staff see inactive ones too).
pub async fn list_models(ai: &Ai, caller: &Caller) -> ApiResult<Vec<ModelOut>> {
    let staff = caller.is_staff();
    Ok(ai
        .models()
        .await?
        .iter()
        .filter(|m| staff || m.is_active)
        .map(|m| ModelOut::from(m.as_ref()))
        .collect())
}

/// Creates a model (staff); `replace` a whole one (PUT) or `patch` some fields.
pub async fn write_model(
    ai: &Ai,
    caller: &Caller,
    id: Option<i64>,
    body: impl Into<Body<ModelWrite>>,
    partial: bool,
) -> ApiResult<ModelOut> {
    caller.require_staff()?;
    let body = body.into();
    let row = ai
        .db
        .transaction(move |conn| {
            let existing = match id {
                Some(id) => Some(model::find_model(conn, id)?.ok_or_else(|| not_found("Model"))?),
                None => None,
            };
            // DRF's order: staff (403), then the model (404), then the body (400).
            let body = body.parse()?;
            if !partial {
                required_fields(&body)?;
            }
            let now = plaza_kernel::time::now();
            let base = existing.as_ref();
            let pick = |new: Option<String>, old: Option<&String>, default: &str| {
                new.map(|s| s.trim().to_owned())
                    .or_else(|| if partial { old.cloned() } else { None })
                    .unwrap_or_else(|| default.to_owned())
            };
            let fields = ModelFields {
                name: pick(body.name, base.map(|m| &m.name), ""),
                provider: pick(body.provider, base.map(|m| &m.provider), ""),
                upstream_model: pick(body.upstream_model, base.map(|m| &m.upstream_model), ""),
                kind: pick(body.kind, base.map(|m| &m.kind), "text"),
                context_window: body
                    .context_window
                    .or(partial.then(|| base.map(|m| m.context_window)).flatten())
                    .unwrap_or(8192),
                input_price: body
                    .input_price
                    .or(partial.then(|| base.map(|m| m.input_price)).flatten())
                    .unwrap_or(0),
                output_price: body
                    .output_price
                    .or(partial.then(|| base.map(|m| m.output_price)).flatten())
                    .unwrap_or(0),
                is_active: body
                    .is_active
                    .or(partial.then(|| base.map(|m| m.is_active)).flatten())
                    .unwrap_or(true),
                default_params: body
                    .default_params
                    .map(|v| v.to_string())
                    .or_else(|| {
                        if partial {
                            base.map(|m| m.default_params.clone())
                        } else {
                            None
                        }
                    })
                    .unwrap_or_else(|| "{}".to_owned()),
                updated_at: now,
            };
            if name_taken(conn, &fields.name, id)? {
                return Err(ApiError::invalid_field(
                    "name",
                    "A model with this name already exists.",
                ));
            }
            match id {
                Some(id) => {
                    diesel::update(ai_models::table.find(id))
                        .set(&fields)
                        .execute(conn)?;
                    model::find_model(conn, id)?.ok_or_else(|| not_found("Model"))
                }
                None => Ok(model::insert_model(conn, &fields, now)?),
            }
        })
        .await?;
    ai.invalidate_models();
    Ok(ModelOut::from(&row))
}

/// Deletes a model (staff). Its request log stays (rows name the model).
pub async fn delete_model(ai: &Ai, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.require_staff()?;
    let deleted = ai
        .db
        .write(move |conn| Ok(diesel::delete(ai_models::table.find(id)).execute(conn)?))
        .await?;
    ai.invalidate_models();
    if deleted == 0 {
        return Err(not_found("Model"));
    }
    Ok(())
}

/// The caller's conversations, most recently active first.
pub fn list_conversations(
    conn: &mut DbConn,
    caller: &Caller,
    page: PageRequest,
) -> ApiResult<Page<ConversationOut>> {
    let mine = || ai_conversations::table.filter(ai_conversations::user_id.eq(caller.id));
    let count: i64 = mine().count().get_result(conn)?;
    page.paginate(count, |window| {
        let rows: Vec<ConversationRow> = mine()
            .order((
                ai_conversations::updated_at.desc(),
                ai_conversations::id.desc(),
            ))
            .limit(window.limit)
            .offset(window.offset)
            .select(ConversationRow::as_select())
            .load(conn)?;
        Ok(rows.into_iter().map(ConversationOut::from).collect())
    })
}

fn owned(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<ConversationRow> {
    model::owned_conversation(conn, id, caller.id)?.ok_or_else(|| not_found("Conversation"))
}

/// Starts a conversation.
pub fn create_conversation(
    conn: &mut DbConn,
    caller: &Caller,
    body: &ConversationWrite,
) -> ApiResult<ConversationOut> {
    let title = body.title.as_deref().map_or("New conversation", str::trim);
    let row = model::insert_conversation(
        conn,
        caller.id,
        title,
        body.model.as_deref(),
        plaza_kernel::time::now(),
    )?;
    Ok(row.into())
}

/// One of the caller's conversations with its messages (404 for anyone else's).
pub fn get_conversation(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
) -> ApiResult<ConversationDetail> {
    let conversation = owned(conn, caller, id)?;
    let messages = ai_messages::table
        .filter(ai_messages::conversation_id.eq(id))
        .order(ai_messages::id.asc())
        .select(model::MessageRow::as_select())
        .load(conn)?;
    Ok(ConversationDetail {
        conversation: conversation.into(),
        messages: messages.into_iter().map(MessageOut::from).collect(),
    })
}

/// Renames a conversation or changes its model.
pub fn update_conversation(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    body: impl Into<Body<ConversationWrite>>,
) -> ApiResult<ConversationOut> {
    db::transaction(conn, |conn| {
        owned(conn, caller, id)?;
        let body = body.into().parse()?;
        let now = plaza_kernel::time::now();
        if let Some(title) = &body.title {
            diesel::update(ai_conversations::table.find(id))
                .set((
                    ai_conversations::title.eq(title.trim()),
                    ai_conversations::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        if let Some(model_name) = &body.model {
            diesel::update(ai_conversations::table.find(id))
                .set((
                    ai_conversations::model.eq(model_name),
                    ai_conversations::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(owned(conn, caller, id)?.into())
    })
}

/// Deletes a conversation and its messages.
pub fn delete_conversation(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    let deleted = diesel::delete(
        ai_conversations::table
            .filter(ai_conversations::id.eq(id))
            .filter(ai_conversations::user_id.eq(caller.id)),
    )
    .execute(conn)?;
    if deleted == 0 {
        return Err(not_found("Conversation"));
    }
    Ok(())
}

/// A page of a conversation's messages, oldest first.
pub fn list_messages(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    page: PageRequest,
) -> ApiResult<Page<MessageOut>> {
    owned(conn, caller, id)?;
    let of = || ai_messages::table.filter(ai_messages::conversation_id.eq(id));
    let count: i64 = of().count().get_result(conn)?;
    page.paginate(count, |window| {
        let rows = of()
            .order(ai_messages::id.asc())
            .limit(window.limit)
            .offset(window.offset)
            .select(model::MessageRow::as_select())
            .load(conn)?;
        Ok(rows.into_iter().map(MessageOut::from).collect())
    })
}

/// Templates the caller may read: their own and public ones (`?mine=true`: their own only).
pub fn list_templates(
    conn: &mut DbConn,
    caller: &Caller,
    query: &TemplateQuery,
    page: PageRequest,
) -> ApiResult<Page<TemplateOut>> {
    let mine_only = query.mine.unwrap_or(false);
    let filtered = || {
        let mut q = ai_templates::table.into_boxed::<db::MultiBackend>();
        q = if mine_only {
            q.filter(ai_templates::owner_id.eq(caller.id))
        } else {
            q.filter(
                ai_templates::owner_id
                    .eq(caller.id)
                    .or(ai_templates::is_public.eq(true)),
            )
        };
        if let Some(category) = &query.category {
            q = q.filter(ai_templates::category.eq(category.clone()));
        }
        q
    };
    let count: i64 = filtered().count().get_result(conn)?;
    page.paginate(count, |window| {
        let rows: Vec<TemplateRow> = filtered()
            .order(ai_templates::id.desc())
            .limit(window.limit)
            .offset(window.offset)
            .select(TemplateRow::as_select())
            .load(conn)?;
        Ok(rows.into_iter().map(TemplateOut::from).collect())
    })
}

fn readable(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<TemplateRow> {
    model::readable_template(conn, id, caller.id)?.ok_or_else(|| not_found("Template"))
}

/// One template (the caller's own, or public).
pub fn get_template(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<TemplateOut> {
    Ok(readable(conn, caller, id)?.into())
}

/// Creates a template, or replaces (PUT) or changes (PATCH) one the caller owns.
pub fn write_template(
    conn: &mut DbConn,
    caller: &Caller,
    id: Option<i64>,
    body: impl Into<Body<TemplateWrite>>,
    partial: bool,
) -> ApiResult<TemplateOut> {
    // DRF's order: the template (404) and its owner (403) before the body (400).
    if let Some(id) = id {
        let existing = readable(conn, caller, id)?;
        caller.require_owner_or_moderator(existing.owner_id)?;
    }
    let body = &body.into().parse()?;
    if !partial {
        let mut errors = plaza_kernel::error::FieldErrors::new();
        for (field, present) in [
            ("name", body.name.is_some()),
            ("template", body.template.is_some()),
        ] {
            if !present {
                errors.insert(field.to_owned(), vec!["This field is required.".to_owned()]);
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
    }
    let variables = body
        .template
        .as_deref()
        .map(templates::variables)
        .transpose()?;
    db::transaction(conn, |conn| {
        let now = plaza_kernel::time::now();
        let id = match id {
            Some(id) => {
                let existing = readable(conn, caller, id)?;
                caller.require_owner_or_moderator(existing.owner_id)?;
                let base = if partial { Some(&existing) } else { None };
                let variables = variables.map_or_else(
                    || base.map_or_else(|| "[]".to_owned(), |b| b.variables.clone()),
                    |v| Value::from(v).to_string(),
                );
                diesel::update(ai_templates::table.find(id))
                    .set((
                        ai_templates::name.eq(body
                            .name
                            .as_deref()
                            .map(str::trim)
                            .or(base.map(|b| b.name.as_str()))
                            .unwrap_or_default()),
                        ai_templates::description.eq(body
                            .description
                            .as_deref()
                            .or(base.map(|b| b.description.as_str()))
                            .unwrap_or_default()),
                        ai_templates::category.eq(body
                            .category
                            .as_deref()
                            .or(base.map(|b| b.category.as_str()))
                            .unwrap_or_default()),
                        ai_templates::template.eq(body
                            .template
                            .as_deref()
                            .or(base.map(|b| b.template.as_str()))
                            .unwrap_or_default()),
                        ai_templates::variables.eq(variables),
                        ai_templates::is_public.eq(body
                            .is_public
                            .or(base.map(|b| b.is_public))
                            .unwrap_or(false)),
                        ai_templates::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                id
            }
            None => {
                diesel::insert_into(ai_templates::table)
                    .values((
                        ai_templates::owner_id.eq(caller.id),
                        ai_templates::name.eq(body
                            .name
                            .as_deref()
                            .map(str::trim)
                            .unwrap_or_default()),
                        ai_templates::description
                            .eq(body.description.as_deref().unwrap_or_default()),
                        ai_templates::category.eq(body.category.as_deref().unwrap_or_default()),
                        ai_templates::template.eq(body.template.as_deref().unwrap_or_default()),
                        ai_templates::variables
                            .eq(Value::from(variables.unwrap_or_default()).to_string()),
                        ai_templates::is_public.eq(body.is_public.unwrap_or(false)),
                        ai_templates::created_at.eq(now),
                        ai_templates::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                db::last_insert_id(conn)?
            }
        };
        Ok(readable(conn, caller, id)?.into())
    })
}

/// Deletes a template the caller owns (moderators may delete any they can see).
pub fn delete_template(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    db::transaction(conn, |conn| {
        let existing = readable(conn, caller, id)?;
        caller.require_owner_or_moderator(existing.owner_id)?;
        diesel::delete(ai_templates::table.find(id)).execute(conn)?;
        Ok(())
    })
}

/// Renders a template the caller may read.
pub fn render_template(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    body: impl Into<Body<RenderBody>>,
) -> ApiResult<String> {
    let template = readable(conn, caller, id)?;
    templates::render(&template.template, &body.into().parse()?.variables)
}

/// The caller's request log, newest first (keyset on id).
pub fn list_requests(
    conn: &mut DbConn,
    caller: &Caller,
    cursor: CursorRequest,
) -> ApiResult<CursorPage<RequestOut>> {
    let before: Option<i64> = cursor.position()?;
    let rows = model::user_requests(conn, caller.id, before, cursor.fetch_limit())?;
    Ok(cursor.into_page(rows, |r| r.id).map(RequestOut::from))
}

/// Usage from the daily roll-up, of the caller or (`everyone`, staff) of all users.
pub fn stats(
    conn: &mut DbConn,
    caller: &Caller,
    everyone: bool,
    query: &StatsQuery,
) -> ApiResult<StatsOut> {
    if everyone {
        caller.require_staff()?;
    }
    let to = query.to.unwrap_or_else(|| Utc::now().date_naive());
    let from = query.from.unwrap_or(to - Days::days(29));
    if from > to {
        return Err(ApiError::invalid_field("from", "Must not be after `to`."));
    }
    if (to - from).num_days() >= STATS_MAX_DAYS {
        return Err(ApiError::invalid_field(
            "from",
            format!("The range may span at most {STATS_MAX_DAYS} days."),
        ));
    }
    let rows = model::stats_rows(conn, (!everyone).then_some(caller.id), from, to)?;
    Ok(StatsOut::from_rows(from, to, &rows))
}

/// Rolls up every day from the last one rolled (or the log's first) to today.
pub fn roll_up(conn: &mut DbConn, today: NaiveDate) -> ApiResult<usize> {
    let start = match model::last_rolled_day(conn)? {
        Some(day) => day.min(today - Days::days(1)),
        None => match model::first_request_day(conn)? {
            Some(day) => day,
            None => return Ok(0),
        },
    };
    let mut day = start;
    let mut rows = 0;
    while day <= today {
        rows += model::roll_up_day(conn, day)?;
        day += Days::days(1);
    }
    Ok(rows)
}

/// What `chat/send/` resolved: the conversation, the prompt, the call.
pub struct ChatTurn {
    /// The conversation.
    pub conversation_id: i64,
    /// The call to make.
    pub prepared: Prepared,
}

impl std::fmt::Debug for ChatTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTurn")
            .field("conversation_id", &self.conversation_id)
            .finish_non_exhaustive()
    }
}

/// The history that fits the model's context window with room for the answer, dropping the
/// oldest turns first; the newest message always stays (400 if it alone is too long).
pub fn fit_history(
    history: Vec<(ChatMessage, u32)>,
    context_window: i32,
    reserve: u32,
) -> ApiResult<Vec<ChatMessage>> {
    let budget = u32::try_from(context_window)
        .unwrap_or(0)
        .saturating_sub(reserve);
    let mut kept = Vec::new();
    let mut used = 3u32;
    for (index, (message, tokens)) in history.into_iter().rev().enumerate() {
        let cost = tokens.saturating_add(4);
        if used.saturating_add(cost) > budget {
            if index == 0 {
                return Err(ApiError::invalid_field(
                    "message",
                    "The message is too long for the model's context window.",
                ));
            }
            break;
        }
        used += cost;
        kept.push(message);
    }
    kept.reverse();
    Ok(kept)
}

/// Resolves a `chat/send/`: the message (rendered from a template when asked), the
/// conversation (the caller's, or a new one), the user message stored, the history fitted.
pub async fn start_turn(ai: &Ai, caller: &Caller, body: ChatSend) -> ApiResult<ChatTurn> {
    if body.message.is_none() && body.template_id.is_none() {
        return Err(ApiError::invalid_field(
            "message",
            "This field is required.",
        ));
    }
    let db: Db = ai.db.clone();
    let caller_c = caller.clone();
    let (template_id, variables, message, conversation_id, model_name) = (
        body.template_id,
        body.variables.unwrap_or_default(),
        body.message,
        body.conversation_id,
        body.model,
    );
    // Reads first: the template, the conversation.
    let (text, conversation) = db
        .run(move |conn| {
            let mut text = match template_id {
                Some(id) => render_template(conn, &caller_c, id, RenderBody { variables })?,
                None => String::new(),
            };
            if let Some(message) = message {
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str(&message);
            }
            let conversation = conversation_id
                .map(|id| owned(conn, &caller_c, id))
                .transpose()?;
            Ok((text, conversation))
        })
        .await?;
    let name = model_name.or_else(|| conversation.as_ref().and_then(|c| c.model.clone()));
    let (model, _) = call::resolve_model(ai, name.as_deref()).await?;
    let params: serde_json::Map<String, Value> =
        serde_json::from_str(&model.default_params).unwrap_or_default();
    let reserve = params
        .get("max_tokens")
        .and_then(Value::as_u64)
        .map_or_else(
            || {
                u32::try_from(model.context_window / 4)
                    .unwrap_or(0)
                    .min(1024)
            },
            |n| u32::try_from(n).unwrap_or(u32::MAX),
        );
    let tokens = tokens::count(&text);
    // Refused before anything is stored: the new message alone must fit.
    fit_history(
        vec![(
            ChatMessage {
                role: "user".to_owned(),
                content: String::new(),
            },
            tokens,
        )],
        model.context_window,
        reserve,
    )?;
    let user_id = caller.id;
    let model_for_new = model.name.clone();
    let title: String = text.chars().take(50).collect();
    let (conversation_id, history) = db
        .transaction(move |conn| {
            let now = plaza_kernel::time::now();
            let id = match conversation {
                Some(c) => c.id,
                None => {
                    model::insert_conversation(
                        conn,
                        user_id,
                        title.trim(),
                        Some(&model_for_new),
                        now,
                    )?
                    .id
                }
            };
            model::insert_message(
                conn,
                id,
                "user",
                &text,
                i32::try_from(tokens).unwrap_or(i32::MAX),
                now,
            )?;
            let history = model::recent_messages(conn, id, HISTORY_LIMIT)?;
            Ok((id, history))
        })
        .await?;
    let history: Vec<(ChatMessage, u32)> = history
        .into_iter()
        .map(|m| {
            let tokens = u32::try_from(m.tokens).unwrap_or(0);
            (
                ChatMessage {
                    role: m.role,
                    content: m.content,
                },
                tokens,
            )
        })
        .collect();
    let messages = fit_history(history, model.context_window, reserve)?;
    let prepared = call::prepare(
        ai,
        caller.id,
        Some(&model.name),
        messages,
        serde_json::Map::new(),
        "chat",
    )
    .await?;
    Ok(ChatTurn {
        conversation_id,
        prepared,
    })
}

/// Stores the assistant's answer; returns its id.
pub async fn store_answer(
    db: &Db,
    conversation_id: i64,
    content: String,
    tokens: u32,
) -> ApiResult<i64> {
    db.transaction(move |conn| {
        Ok(model::insert_message(
            conn,
            conversation_id,
            "assistant",
            &content,
            i32::try_from(tokens).unwrap_or(i32::MAX),
            plaza_kernel::time::now(),
        )?)
    })
    .await
}

/// `chat/send/` answered whole.
pub async fn send(ai: &Ai, caller: &Caller, body: ChatSend) -> ApiResult<ChatSendOut> {
    let turn = start_turn(ai, caller, body).await?;
    let (completion, settled) = call::complete(ai, turn.prepared).await?;
    let id = store_answer(
        &ai.db,
        turn.conversation_id,
        completion.content.clone(),
        settled.usage.completion_tokens,
    )
    .await?;
    Ok(ChatSendOut {
        conversation_id: turn.conversation_id,
        message: AssistantMessage {
            id,
            role: "assistant",
            content: completion.content,
        },
        usage: UsageOut::from(settled.usage),
    })
}

/// `chat/send/` streamed: the tap, and the conversation to store the answer in.
pub async fn send_stream(ai: Arc<Ai>, caller: &Caller, body: ChatSend) -> ApiResult<(Tap, i64)> {
    let turn = start_turn(&ai, caller, body).await?;
    let tap = call::open_stream(ai, turn.prepared).await?;
    Ok((tap, turn.conversation_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(content: &str) -> ChatMessage {
        ChatMessage {
            role: "user".to_owned(),
            content: content.to_owned(),
        }
    }

    #[test]
    fn history_drops_oldest_first() {
        let history = vec![(m("old"), 100), (m("middle"), 100), (m("new"), 100)];
        // 3 + 3 * 104 = 315 fits 400; 2 turns (211) fit 300.
        assert_eq!(
            fit_history(history.clone(), 400, 0)
                .unwrap_or_default()
                .len(),
            3
        );
        let kept = fit_history(history.clone(), 300, 0).unwrap_or_default();
        assert_eq!(kept, vec![m("middle"), m("new")]);
        assert_eq!(
            fit_history(history.clone(), 300, 150).unwrap_or_default(),
            vec![m("new")]
        );
        assert!(
            fit_history(history, 100, 0).is_err(),
            "the newest alone does not fit"
        );
    }
}
