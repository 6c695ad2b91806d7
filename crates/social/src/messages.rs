//! Direct messages.
//!
//! - Only to friends, unless the recipient's privacy setting `allow_messages_from` (owned by
//!   the users domain) is `everyone`; never to or from someone across a block; never to
//!   oneself.
//! - Each message carries its pair (`low_id`, `high_id`), so a conversation's history is one
//!   index range, newest first, keyset on `id`.
//! - `social_conversations` holds one row per participant and partner with the last message
//!   and the participant's unread count, updated in the message's transaction; the
//!   conversations list is a keyset page of those rows, then one batch of messages and one of
//!   users: three queries whatever the page size.
//! - Reading message `n` marks it and every earlier unread message from the same sender read.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use plaza_kernel::db::{self, DbConn};
use plaza_kernel::time::{now, utc};
use plaza_kernel::{ApiError, ApiResult, Caller, CursorPage, CursorRequest};
use plaza_users::privacy::MessagePolicy;

use crate::graph::{self, card_of};
use crate::live::Push;
use crate::notifications;
use crate::schema::{social_conversations as cv, social_messages as m};
use crate::types::{ConversationOut, MessageOut, MessageWrite, ReadReceipt};

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = m)]
struct Row {
    id: i64,
    sender_id: i64,
    recipient_id: i64,
    content: String,
    read_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

fn present(conn: &mut DbConn, rows: Vec<Row>) -> QueryResult<Vec<MessageOut>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.sender_id).collect();
    let cards = plaza_users::authors_by_id(conn, &ids)?;
    Ok(rows.into_iter().map(|r| out(&cards, r)).collect())
}

fn out(cards: &HashMap<i64, plaza_users::Author>, r: Row) -> MessageOut {
    MessageOut {
        id: r.id,
        sender: card_of(cards, r.sender_id),
        recipient_id: r.recipient_id,
        content: r.content,
        is_read: r.read_at.is_some(),
        read_at: r.read_at.map(utc),
        created_at: utc(r.created_at),
    }
}

const RACED: &str = "The conversation is being started by both of you at once; retry.";

/// The error [`send`] answers when the first messages of a pair were sent at the same moment
/// (its transaction is rolled back, and may run again).
pub fn is_raced(err: &ApiError) -> bool {
    err.status().as_u16() == 409 && err.detail() == RACED
}

/// Sends a direct message; what to push comes with it.
pub fn send(
    conn: &mut DbConn,
    caller: &Caller,
    input: &MessageWrite,
) -> ApiResult<(MessageOut, Vec<Push>)> {
    let (me, to) = (caller.id, input.recipient_id);
    if me == to {
        return Err(ApiError::invalid_field(
            "recipient_id",
            "You cannot send a message to yourself.",
        ));
    }
    if graph::card(conn, to)?.is_none() {
        return Err(ApiError::invalid_field("recipient_id", "No such user."));
    }
    if graph::blocked_between(conn, me, to)? {
        return Err(ApiError::permission_denied(
            "You cannot send messages to this user.",
        ));
    }
    if !graph::are_friends(conn, me, to)? {
        let policy = plaza_users::User::find(conn, to)?
            .privacy()
            .allow_messages_from;
        if policy != MessagePolicy::Everyone {
            return Err(ApiError::permission_denied(
                "This user accepts messages from friends only.",
            ));
        }
    }
    let at = now();
    diesel::insert_into(m::table)
        .values((
            m::sender_id.eq(me),
            m::recipient_id.eq(to),
            m::low_id.eq(me.min(to)),
            m::high_id.eq(me.max(to)),
            m::content.eq(&input.content),
            m::created_at.eq(at),
        ))
        .execute(conn)?;
    let id = db::last_insert_id(conn)?;
    for (user, partner, unread) in [(me, to, 0_i64), (to, me, 1_i64)] {
        let updated = diesel::update(
            cv::table
                .filter(cv::user_id.eq(user))
                .filter(cv::partner_id.eq(partner)),
        )
        .set((
            cv::last_message_id.eq(id),
            cv::unread_count.eq(cv::unread_count + unread),
        ))
        .execute(conn)?;
        if updated == 0 {
            let inserted = diesel::insert_into(cv::table)
                .values((
                    cv::user_id.eq(user),
                    cv::partner_id.eq(partner),
                    cv::last_message_id.eq(id),
                    cv::unread_count.eq(unread),
                ))
                .execute(conn);
            match inserted {
                Ok(_) => {}
                Err(err) if db::is_unique_violation(&err) => return Err(ApiError::conflict(RACED)),
                Err(err) => return Err(err.into()),
            }
        }
    }
    let row = Row {
        id,
        sender_id: me,
        recipient_id: to,
        content: input.content.clone(),
        read_at: None,
        created_at: at,
    };
    let message = present(conn, vec![row])?
        .pop()
        .ok_or_else(|| ApiError::internal("the message just written"))?;
    let preview: String = input.content.chars().take(100).collect();
    let mut pushes = vec![Push::message(to, &message)];
    pushes.extend(notifications::create(
        conn,
        to,
        Some(me),
        "message",
        serde_json::json!({"message_id": id, "preview": preview}),
    )?);
    Ok((message, pushes))
}

/// The caller's conversations, latest activity first (keyset on the last message's id).
pub fn conversations(
    conn: &mut DbConn,
    me: i64,
    page: CursorRequest,
) -> ApiResult<CursorPage<ConversationOut>> {
    let after: Option<i64> = page.position()?;
    let mut query = cv::table.filter(cv::user_id.eq(me)).into_boxed();
    if let Some(after) = after {
        query = query.filter(cv::last_message_id.lt(after));
    }
    let rows: Vec<(i64, i64, i64)> = query
        .order(cv::last_message_id.desc())
        .limit(page.fetch_limit())
        .select((cv::partner_id, cv::last_message_id, cv::unread_count))
        .load(conn)?;
    let page = page.into_page(rows, |r| r.1);
    let message_ids: Vec<i64> = page.results.iter().map(|r| r.1).collect();
    let messages: HashMap<i64, Row> = if message_ids.is_empty() {
        HashMap::new()
    } else {
        m::table
            .filter(db::ids_in(m::id, &message_ids))
            .select(Row::as_select())
            .load::<Row>(conn)?
            .into_iter()
            .map(|r| (r.id, r))
            .collect()
    };
    let users: Vec<i64> = page
        .results
        .iter()
        .map(|r| r.0)
        .chain(messages.values().map(|r| r.sender_id))
        .collect();
    let cards = plaza_users::authors_by_id(conn, &users)?;
    let results = page
        .results
        .into_iter()
        .filter_map(|(partner, last, unread)| {
            let message = messages.get(&last)?.clone();
            Some(ConversationOut {
                partner: card_of(&cards, partner),
                last_message: out(&cards, message),
                unread_count: unread,
            })
        })
        .collect();
    Ok(CursorPage {
        next_cursor: page.next_cursor,
        results,
    })
}

/// The messages between the caller and `other`, newest first.
pub fn history(
    conn: &mut DbConn,
    me: i64,
    other: i64,
    page: CursorRequest,
) -> ApiResult<CursorPage<MessageOut>> {
    let after: Option<i64> = page.position()?;
    let mut query = m::table
        .filter(m::low_id.eq(me.min(other)))
        .filter(m::high_id.eq(me.max(other)))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(m::id.lt(after));
    }
    let rows: Vec<Row> = query
        .order(m::id.desc())
        .limit(page.fetch_limit())
        .select(Row::as_select())
        .load(conn)?;
    let page = page.into_page(rows, |r| r.id);
    let results = present(conn, page.results)?;
    Ok(CursorPage {
        next_cursor: page.next_cursor,
        results,
    })
}

/// Marks message `id` (sent to the caller; 404 otherwise) and every earlier unread message
/// from its sender read.
pub fn mark_read(conn: &mut DbConn, me: i64, id: i64) -> ApiResult<ReadReceipt> {
    let sender: i64 = m::table
        .find(id)
        .filter(m::recipient_id.eq(me))
        .select(m::sender_id)
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("Message not found."))?;
    let unread = || {
        m::table
            .filter(m::recipient_id.eq(me))
            .filter(m::sender_id.eq(sender))
            .filter(m::read_at.is_null())
    };
    let marked = diesel::update(unread().filter(m::id.le(id)))
        .set(m::read_at.eq(Some(now())))
        .execute(conn)?;
    let left: i64 = unread().count().get_result(conn)?;
    diesel::update(
        cv::table
            .filter(cv::user_id.eq(me))
            .filter(cv::partner_id.eq(sender)),
    )
    .set(cv::unread_count.eq(left))
    .execute(conn)?;
    Ok(ReadReceipt {
        marked: i64::try_from(marked).unwrap_or(i64::MAX),
        unread_count: left,
    })
}
