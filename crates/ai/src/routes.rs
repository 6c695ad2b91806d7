//! `/api/v1/ai/`: handlers, thin over [`crate::service`].

use actix_web::{web, HttpResponse};
use bytes::Bytes;
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::{CursorParams, PageParams};
use plaza_kernel::{
    ApiResult, Body, Caller, CursorPage, CursorRequest, Db, Page, PageRequest, ValidJson,
    ValidQuery,
};
use serde_json::json;

use crate::call::Tap;
use crate::gateway::{event, sse};
use crate::provider::StreamEvent;
use crate::service;
use crate::state::AiState;
use crate::types::{
    ChatSend, ChatSendOut, ConversationDetail, ConversationOut, ConversationWrite, MessageOut,
    ModelOut, ModelWrite, RenderBody, RenderOut, RequestOut, StatsOut, StatsQuery, TemplateOut,
    TemplateQuery, TemplateWrite, UsageOut,
};

/// Lists the models (staff also see inactive ones).
#[utoipa::path(get, path = "/api/v1/ai/models/", tag = "ai",
    responses((status = 200, body = Vec<ModelOut>), (status = 401, body = ErrorBody)),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn list_models(ai: AiState, caller: Caller) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::list_models(&ai, &caller).await?))
}

/// Registers a model (staff).
#[utoipa::path(post, path = "/api/v1/ai/models/", tag = "ai", request_body = ModelWrite,
    responses((status = 201, body = ModelOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn create_model(
    ai: AiState,
    caller: Caller,
    body: Body<ModelWrite>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(service::write_model(&ai, &caller, None, body, false).await?))
}

/// One model.
#[utoipa::path(get, path = "/api/v1/ai/models/{id}/", tag = "ai", params(("id" = i64, Path)),
    responses((status = 200, body = ModelOut), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn get_model(ai: AiState, caller: Caller, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let found = service::list_models(&ai, &caller)
        .await?
        .into_iter()
        .find(|m| m.id == id);
    found.map_or_else(
        || Err(plaza_kernel::ApiError::not_found("Model not found.")),
        |m| Ok(HttpResponse::Ok().json(m)),
    )
}

/// Replaces a model (staff).
#[utoipa::path(put, path = "/api/v1/ai/models/{id}/", tag = "ai", params(("id" = i64, Path)), request_body = ModelWrite,
    responses((status = 200, body = ModelOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn replace_model(
    ai: AiState,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<ModelWrite>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(service::write_model(&ai, &caller, Some(id.into_inner()), body, false).await?))
}

/// Changes some fields of a model (staff).
#[utoipa::path(patch, path = "/api/v1/ai/models/{id}/", tag = "ai", params(("id" = i64, Path)), request_body = ModelWrite,
    responses((status = 200, body = ModelOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn update_model(
    ai: AiState,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<ModelWrite>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(service::write_model(&ai, &caller, Some(id.into_inner()), body, true).await?))
}

/// Deletes a model (staff).
#[utoipa::path(delete, path = "/api/v1/ai/models/{id}/", tag = "ai", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn delete_model(
    ai: AiState,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    service::delete_model(&ai, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's conversations, most recently active first.
#[utoipa::path(get, path = "/api/v1/ai/conversations/", tag = "ai", params(PageParams),
    responses((status = 200, body = Page<ConversationOut>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_conversations(
    db: web::Data<Db>,
    caller: Caller,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let page = db
        .run(move |conn| service::list_conversations(conn, &caller, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Starts a conversation.
#[utoipa::path(post, path = "/api/v1/ai/conversations/", tag = "ai", request_body = ConversationWrite,
    responses((status = 201, body = ConversationOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn create_conversation(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<ConversationWrite>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let out = db
        .write(move |conn| service::create_conversation(conn, &caller, &body))
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// One of the caller's conversations, with its messages.
#[utoipa::path(get, path = "/api/v1/ai/conversations/{id}/", tag = "ai", params(("id" = i64, Path)),
    responses((status = 200, body = ConversationDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn get_conversation(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(
        db.run(move |conn| service::get_conversation(conn, &caller, id))
            .await?,
    ))
}

/// Renames a conversation or changes its model.
#[utoipa::path(patch, path = "/api/v1/ai/conversations/{id}/", tag = "ai", params(("id" = i64, Path)), request_body = ConversationWrite,
    responses((status = 200, body = ConversationOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn update_conversation(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<ConversationWrite>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(
        db.write(move |conn| service::update_conversation(conn, &caller, id, body))
            .await?,
    ))
}

/// Deletes a conversation and its messages.
#[utoipa::path(delete, path = "/api/v1/ai/conversations/{id}/", tag = "ai", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn delete_conversation(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    db.write(move |conn| service::delete_conversation(conn, &caller, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A page of a conversation's messages, oldest first.
#[utoipa::path(get, path = "/api/v1/ai/conversations/{id}/messages/", tag = "ai", params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Page<MessageOut>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_messages(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(
        db.run(move |conn| service::list_messages(conn, &caller, id, page))
            .await?,
    ))
}

/// Templates the caller may read: their own and public ones.
#[utoipa::path(get, path = "/api/v1/ai/templates/", tag = "ai", params(PageParams, TemplateQuery),
    responses((status = 200, body = Page<TemplateOut>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn list_templates(
    db: web::Data<Db>,
    caller: Caller,
    query: ValidQuery<TemplateQuery>,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    Ok(HttpResponse::Ok().json(
        db.run(move |conn| service::list_templates(conn, &caller, &query, page))
            .await?,
    ))
}

/// Creates a template (its variables are read from it).
#[utoipa::path(post, path = "/api/v1/ai/templates/", tag = "ai", request_body = TemplateWrite,
    responses((status = 201, body = TemplateOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn create_template(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<TemplateWrite>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    Ok(HttpResponse::Created().json(
        db.write(move |conn| service::write_template(conn, &caller, None, body, false))
            .await?,
    ))
}

/// One template (yours, or public).
#[utoipa::path(get, path = "/api/v1/ai/templates/{id}/", tag = "ai", params(("id" = i64, Path)),
    responses((status = 200, body = TemplateOut), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn get_template(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(
        db.run(move |conn| service::get_template(conn, &caller, id))
            .await?,
    ))
}

/// Replaces a template you own.
#[utoipa::path(put, path = "/api/v1/ai/templates/{id}/", tag = "ai", params(("id" = i64, Path)), request_body = TemplateWrite,
    responses((status = 200, body = TemplateOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn replace_template(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<TemplateWrite>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(
        db.write(move |conn| service::write_template(conn, &caller, Some(id), body, false))
            .await?,
    ))
}

/// Changes some fields of a template you own.
#[utoipa::path(patch, path = "/api/v1/ai/templates/{id}/", tag = "ai", params(("id" = i64, Path)), request_body = TemplateWrite,
    responses((status = 200, body = TemplateOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn update_template(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<TemplateWrite>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(
        db.write(move |conn| service::write_template(conn, &caller, Some(id), body, true))
            .await?,
    ))
}

/// Deletes a template you own.
#[utoipa::path(delete, path = "/api/v1/ai/templates/{id}/", tag = "ai", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn delete_template(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    db.write(move |conn| service::delete_template(conn, &caller, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Renders a template with values for its variables; 400 names every missing one.
#[utoipa::path(post, path = "/api/v1/ai/templates/{id}/render/", tag = "ai", params(("id" = i64, Path)), request_body = RenderBody,
    responses((status = 200, body = RenderOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn render_template(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<RenderBody>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let prompt = db
        .run(move |conn| service::render_template(conn, &caller, id, body))
        .await?;
    Ok(HttpResponse::Ok().json(RenderOut { prompt }))
}

/// Sends a message and answers it: JSON, or with `stream: true` SSE `{"delta"}` events ending
/// with `{"done": true, "usage", "conversation_id", "message_id"}`.
#[utoipa::path(post, path = "/api/v1/ai/chat/send/", tag = "ai", request_body = ChatSend,
    responses(
        (status = 200, description = "The answer (or an SSE stream with `stream: true`)", body = ChatSendOut),
        (status = 400, description = "Invalid body, unknown or inactive model, missing template variable", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Conversation or template not found", body = ErrorBody),
        (status = 429, description = "Daily token quota spent, or too many open streams", body = ErrorBody),
        (status = 502, description = "The upstream failed", body = ErrorBody),
        (status = 503, description = "The model's provider is not configured", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn chat_send(
    ai: AiState,
    caller: Caller,
    body: ValidJson<ChatSend>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    if !body.stream {
        return Ok(HttpResponse::Ok().json(service::send(&ai, &caller, body).await?));
    }
    let (tap, conversation_id) = service::send_stream(ai.0.clone(), &caller, body).await?;
    let db = ai.db.clone();
    Ok(sse(futures_util::stream::unfold(Some(tap), move |tap| {
        let db = db.clone();
        async move {
            let mut tap: Tap = tap?;
            loop {
                match tap.next().await {
                    Some(Ok(StreamEvent::Delta(text))) => {
                        return Some((Ok(event(&json!({"delta": text}))), Some(tap)));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        tap.close().await;
                        let body =
                            json!({"error": error.public_message(), "code": "upstream_error"});
                        return Some((Ok(event(&body)), None));
                    }
                    None => {
                        let content = tap.completion().to_owned();
                        let settled = tap.close().await;
                        let message_id = service::store_answer(
                            &db,
                            conversation_id,
                            content,
                            settled.usage.completion_tokens,
                        )
                        .await
                        .ok();
                        let done = json!({
                            "done": true,
                            "usage": UsageOut::from(settled.usage),
                            "conversation_id": conversation_id,
                            "message_id": message_id,
                        });
                        return Some((Ok::<Bytes, actix_web::Error>(event(&done)), None));
                    }
                }
            }
        }
    })))
}

/// The caller's AI request log, newest first (keyset: `?cursor=`).
#[utoipa::path(get, path = "/api/v1/ai/requests/", tag = "ai", params(CursorParams),
    responses((status = 200, body = CursorPage<RequestOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn list_requests(
    db: web::Data<Db>,
    caller: Caller,
    cursor: CursorRequest,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        db.run(move |conn| service::list_requests(conn, &caller, cursor))
            .await?,
    ))
}

/// The caller's usage per model and per day, from the daily roll-up.
#[utoipa::path(get, path = "/api/v1/ai/stats/user/", tag = "ai", params(StatsQuery),
    responses((status = 200, body = StatsOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn user_stats(
    db: web::Data<Db>,
    caller: Caller,
    query: ValidQuery<StatsQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    Ok(HttpResponse::Ok().json(
        db.run(move |conn| service::stats(conn, &caller, false, &query))
            .await?,
    ))
}

/// Everyone's usage per model and per day, from the daily roll-up (staff).
#[utoipa::path(get, path = "/api/v1/ai/stats/", tag = "ai", params(StatsQuery),
    responses((status = 200, body = StatsOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("jwt" = [])))]
pub async fn all_stats(
    db: web::Data<Db>,
    caller: Caller,
    query: ValidQuery<StatsQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    Ok(HttpResponse::Ok().json(
        db.run(move |conn| service::stats(conn, &caller, true, &query))
            .await?,
    ))
}

/// Mounts the handlers of `/api/v1/ai/` (inside that scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/models/")
            .get(list_models)
            .post(create_model),
    )
    .service(
        web::resource("/models/{id}/")
            .get(get_model)
            .put(replace_model)
            .patch(update_model)
            .delete(delete_model),
    )
    .service(
        web::resource("/conversations/")
            .get(list_conversations)
            .post(create_conversation),
    )
    .service(
        web::resource("/conversations/{id}/")
            .get(get_conversation)
            .patch(update_conversation)
            .delete(delete_conversation),
    )
    .service(web::resource("/conversations/{id}/messages/").get(list_messages))
    .service(
        web::resource("/templates/")
            .get(list_templates)
            .post(create_template),
    )
    .service(
        web::resource("/templates/{id}/")
            .get(get_template)
            .put(replace_template)
            .patch(update_template)
            .delete(delete_template),
    )
    .service(web::resource("/templates/{id}/render/").post(render_template))
    .service(web::resource("/chat/send/").post(chat_send))
    .service(web::resource("/chat/completions/").post(crate::gateway::api_chat_completions))
    .service(web::resource("/requests/").get(list_requests))
    .service(web::resource("/stats/user/").get(user_stats))
    .service(web::resource("/stats/").get(all_stats));
}
