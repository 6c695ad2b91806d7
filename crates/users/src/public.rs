//! What other domains may know of a user: the public card shown beside their content.

use std::collections::HashMap;

use diesel::prelude::*;
use plaza_kernel::schema::users;
use plaza_kernel::DbConn;
use serde::Serialize;
use utoipa::ToSchema;

/// A user as shown beside a post, reply or message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Author {
    /// Id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// URL path of the avatar thumbnail (or avatar), if any.
    pub avatar: Option<String>,
}

/// The public cards of `ids`, in one query (ids that do not exist are absent).
pub fn authors_by_id(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, Author>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // A cached statement per size of the list (plaza_kernel::db::ids_in).
    let rows: Vec<(i64, String, Option<String>, Option<String>)> = users::table
        .filter(plaza_kernel::db::ids_in(users::id, ids))
        .select((
            users::id,
            users::username,
            users::avatar_thumbnail,
            users::avatar,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, username, thumbnail, avatar)| {
            let avatar = thumbnail.or(avatar).map(|path| media_url(&path));
            (
                id,
                Author {
                    id,
                    username,
                    avatar,
                },
            )
        })
        .collect())
}

/// The URL path a file stored under `MEDIA_ROOT` is served at.
pub fn media_url(path: &str) -> String {
    format!("/media/{}", path.trim_start_matches('/'))
}

/// Whether user `id` has a premium account (higher quotas elsewhere); `false` for an id that
/// does not exist.
pub fn is_premium(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    Ok(users::table
        .find(id)
        .select(users::is_premium)
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false))
}
