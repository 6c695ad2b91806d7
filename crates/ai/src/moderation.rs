//! What staff see of the AI domain that the API shows only to its owners, for the console:
//! every user's conversations (their facts and size — staff moderate conversations, they do
//! not read them) and every prompt template, public or private. Each page is a count, a page
//! of rows on the primary key or the `(is_public, id)` index, and one grouped count of the
//! page's messages. Deleting needs a moderator.

use std::collections::HashMap;

use diesel::prelude::*;
use plaza_kernel::db::{like, DbConn, MultiBackend};
use plaza_kernel::{ApiError, ApiResult, Caller, Page, PageRequest};

use crate::model::{ConversationRow, TemplateRow};
use crate::schema::{ai_conversations as conversations, ai_messages as messages, ai_templates};

/// Every user's conversations, newest first: those whose title contains `search`.
pub fn conversations(
    conn: &mut DbConn,
    search: Option<&str>,
    page: PageRequest,
) -> ApiResult<Page<ConversationRow>> {
    let query = || {
        let mut query = conversations::table.into_boxed::<MultiBackend>();
        if let Some(search) = search {
            query = query.filter(
                conversations::title
                    .like(like::contains(search))
                    .escape(like::ESCAPE),
            );
        }
        query
    };
    let count: i64 = query().count().get_result(conn)?;
    page.paginate(count, |w| {
        Ok(query()
            .order(conversations::id.desc())
            .limit(w.limit)
            .offset(w.offset)
            .select(ConversationRow::as_select())
            .load(conn)?)
    })
}

/// The number of messages of each of `ids`, in one grouped statement on the
/// `(conversation_id, id)` index.
pub fn message_counts(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, i64>> {
    Ok(messages::table
        .filter(messages::conversation_id.eq_any(ids))
        .group_by(messages::conversation_id)
        .select((messages::conversation_id, diesel::dsl::count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect())
}

/// One conversation, whoever owns it.
pub fn conversation(conn: &mut DbConn, id: i64) -> ApiResult<ConversationRow> {
    conversations::table
        .find(id)
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("Conversation not found."))
}

/// Deletes anyone's conversation with its messages (the foreign key cascades); moderators.
pub fn delete_conversation(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.require_moderator()?;
    conversation(conn, id)?;
    diesel::delete(conversations::table.find(id)).execute(conn)?;
    Ok(())
}

/// Every prompt template, newest first: those whose name contains `search`, public or not.
pub fn templates(
    conn: &mut DbConn,
    search: Option<&str>,
    public: Option<bool>,
    page: PageRequest,
) -> ApiResult<Page<TemplateRow>> {
    let query = || {
        let mut query = ai_templates::table.into_boxed::<MultiBackend>();
        if let Some(public) = public {
            query = query.filter(ai_templates::is_public.eq(public));
        }
        if let Some(search) = search {
            query = query.filter(
                ai_templates::name
                    .like(like::contains(search))
                    .escape(like::ESCAPE),
            );
        }
        query
    };
    let count: i64 = query().count().get_result(conn)?;
    page.paginate(count, |w| {
        Ok(query()
            .order(ai_templates::id.desc())
            .limit(w.limit)
            .offset(w.offset)
            .select(TemplateRow::as_select())
            .load(conn)?)
    })
}

/// One template, whoever owns it.
pub fn template(conn: &mut DbConn, id: i64) -> ApiResult<TemplateRow> {
    ai_templates::table
        .find(id)
        .select(TemplateRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("Template not found."))
}

/// Stops sharing a template, or shares it (moderators): the flag its owner sets in the API.
pub fn set_public(conn: &mut DbConn, caller: &Caller, id: i64, public: bool) -> ApiResult<()> {
    caller.require_moderator()?;
    template(conn, id)?;
    diesel::update(ai_templates::table.find(id))
        .set((
            ai_templates::is_public.eq(public),
            ai_templates::updated_at.eq(plaza_kernel::time::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes anyone's template; moderators only.
pub fn delete_template(conn: &mut DbConn, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.require_moderator()?;
    template(conn, id)?;
    diesel::delete(ai_templates::table.find(id)).execute(conn)?;
    Ok(())
}
