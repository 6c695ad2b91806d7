//! API keys: `plz_` and 40 random URL-safe characters, shown once at creation and stored as
//! SHA-256. A key works until it is revoked or expires, as long as its owner is active; it
//! stands for its owner with the owner's role. [`ApiKeys`] is the kernel's `ApiKeyResolver`,
//! so every domain accepts keys (`Authorization: Api-Key …`, `X-API-Key`, `Bearer plz_…`).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use plaza_kernel::auth::{ApiKeyResolver, BoxFuture, Credential, API_KEY_PREFIX};
use plaza_kernel::crypto::{random_token, sha256_hex};
use plaza_kernel::schema::api_keys;
use plaza_kernel::time::{utc, utc_opt};
use plaza_kernel::{ApiError, ApiResult, Caller, Db, DbConn, Page, PageRequest};
use plaza_users::User;

use crate::types::{ApiKeyView, CreatedApiKey};

/// Characters of a key shown in lists (`plz_` and 8 more).
const PREFIX_LEN: usize = 12;
/// Live (unrevoked) keys one user may hold.
pub const MAX_KEYS_PER_USER: i64 = 50;
/// `last_used_at` is written at most this often per key.
const LAST_USED_RESOLUTION: chrono::Duration = chrono::Duration::seconds(60);

/// A row of `api_keys`.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Name.
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    /// SHA-256 of the key.
    pub key_hash: String,
    /// Creation.
    pub created_at: NaiveDateTime,
    /// Expiry.
    pub expires_at: Option<NaiveDateTime>,
    /// Last use.
    pub last_used_at: Option<NaiveDateTime>,
    /// Revocation.
    pub revoked_at: Option<NaiveDateTime>,
}

/// Creates a key for `user_id`; the answer is the only time the key is seen.
pub fn create(
    conn: &mut DbConn,
    user_id: i64,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> ApiResult<CreatedApiKey> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid_field(
            "name",
            "This field may not be blank.",
        ));
    }
    let now = plaza_kernel::time::now();
    let expires = expires_at.map(|t| t.naive_utc());
    if expires.is_some_and(|t| t <= now) {
        return Err(ApiError::invalid_field(
            "expires_at",
            "The expiry must be in the future.",
        ));
    }
    if expires.is_some_and(|t| !plaza_kernel::time::storable(t)) {
        return Err(ApiError::invalid_field(
            "expires_at",
            plaza_kernel::time::UNSTORABLE,
        ));
    }
    let live: i64 = api_keys::table
        .filter(api_keys::user_id.eq(user_id))
        .filter(api_keys::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    if live >= MAX_KEYS_PER_USER {
        return Err(ApiError::bad_request(format!(
            "You have {MAX_KEYS_PER_USER} API keys; revoke one first."
        )));
    }
    let key = format!("{API_KEY_PREFIX}{}", random_token(30));
    let prefix: String = key.chars().take(PREFIX_LEN).collect();
    let expires = expires.map(|t| {
        use chrono::SubsecRound;
        t.trunc_subsecs(6)
    });
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::user_id.eq(user_id),
            api_keys::name.eq(name),
            api_keys::prefix.eq(&prefix),
            api_keys::key_hash.eq(sha256_hex(&key)),
            api_keys::created_at.eq(now),
            api_keys::expires_at.eq(expires),
        ))
        .execute(conn)?;
    let id = plaza_kernel::db::last_insert_id(conn)?;
    Ok(CreatedApiKey {
        id,
        name: name.to_owned(),
        prefix,
        key,
        created_at: utc(now),
        expires_at: utc_opt(expires),
    })
}

/// The caller's keys that were not revoked, newest first.
pub fn list(conn: &mut DbConn, user_id: i64, page: PageRequest) -> ApiResult<Page<ApiKeyView>> {
    let mine = || {
        api_keys::table
            .filter(api_keys::user_id.eq(user_id))
            .filter(api_keys::revoked_at.is_null())
    };
    let count: i64 = mine().count().get_result(conn)?;
    page.paginate(count, |window| {
        let rows: Vec<ApiKeyRow> = mine()
            .order((api_keys::created_at.desc(), api_keys::id.desc()))
            .limit(window.limit)
            .offset(window.offset)
            .select(ApiKeyRow::as_select())
            .load(conn)?;
        let now = plaza_kernel::time::now();
        Ok(rows
            .into_iter()
            .map(|row| ApiKeyView {
                id: row.id,
                name: row.name,
                prefix: row.prefix,
                created_at: utc(row.created_at),
                expires_at: utc_opt(row.expires_at),
                last_used_at: utc_opt(row.last_used_at),
                is_expired: row.expires_at.is_some_and(|t| t <= now),
            })
            .collect())
    })
}

/// Revokes one of the caller's keys (404 for anyone else's, or one already revoked).
pub fn revoke(conn: &mut DbConn, user_id: i64, id: i64) -> ApiResult<()> {
    let revoked = diesel::update(
        api_keys::table
            .find(id)
            .filter(api_keys::user_id.eq(user_id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(plaza_kernel::time::now()))
    .execute(conn)?;
    if revoked == 0 {
        return Err(ApiError::not_found("No API key of yours with this id."));
    }
    Ok(())
}

/// Every user's keys for staff, newest first: optionally one user's, optionally only the
/// live (unrevoked) ones or only the revoked ones. Two statements (count and page); the
/// rows carry the key's hash, which callers must never show.
pub fn list_all(
    conn: &mut DbConn,
    user_id: Option<i64>,
    revoked: Option<bool>,
    page: PageRequest,
) -> ApiResult<Page<ApiKeyRow>> {
    let query = || {
        let mut query = api_keys::table.into_boxed::<plaza_kernel::db::MultiBackend>();
        if let Some(user_id) = user_id {
            query = query.filter(api_keys::user_id.eq(user_id));
        }
        match revoked {
            Some(true) => query = query.filter(api_keys::revoked_at.is_not_null()),
            Some(false) => query = query.filter(api_keys::revoked_at.is_null()),
            None => {}
        }
        query
    };
    let count: i64 = query().count().get_result(conn)?;
    page.paginate(count, |window| {
        Ok(query()
            .order(api_keys::id.desc())
            .limit(window.limit)
            .offset(window.offset)
            .select(ApiKeyRow::as_select())
            .load(conn)?)
    })
}

/// One key, for staff (its row carries the hash: never show it).
pub fn get(conn: &mut DbConn, id: i64) -> ApiResult<ApiKeyRow> {
    api_keys::table
        .find(id)
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("No API key with this id."))
}

/// Staff revoke keys `ids` (any user's; those already revoked are left alone): how many.
/// A revoked key stops working at its next use, since every use reads its row.
pub fn revoke_by_staff(conn: &mut DbConn, ids: &[i64]) -> QueryResult<usize> {
    diesel::update(
        api_keys::table
            .filter(api_keys::id.eq_any(ids))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(plaza_kernel::time::now()))
    .execute(conn)
}

/// The caller a key stands for, if it is live and its owner active. The owner is read
/// through the users domain ([`User::active_subject`]), not by joining its table.
pub fn resolve(conn: &mut DbConn, key: &str) -> QueryResult<Option<Caller>> {
    let now = plaza_kernel::time::now();
    let found: Option<(i64, Option<NaiveDateTime>, i64)> = api_keys::table
        .filter(api_keys::key_hash.eq(sha256_hex(key)))
        .filter(api_keys::revoked_at.is_null())
        .filter(
            api_keys::expires_at
                .is_null()
                .or(api_keys::expires_at.gt(now)),
        )
        .select((api_keys::id, api_keys::last_used_at, api_keys::user_id))
        .first(conn)
        .optional()?;
    let Some((key_id, last_used_at, user_id)) = found else {
        return Ok(None);
    };
    let Some(owner) = User::active_subject(conn, user_id)? else {
        return Ok(None);
    };
    if last_used_at.is_none_or(|t| now - t >= LAST_USED_RESOLUTION) {
        diesel::update(api_keys::table.find(key_id))
            .set(api_keys::last_used_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some(Caller {
        id: owner.user_id,
        username: owner.username,
        role: owner.role,
        is_staff: owner.is_staff,
        is_superuser: owner.is_superuser,
        credential: Credential::ApiKey { key_id },
    }))
}

/// The kernel's API-key resolver, backed by `api_keys`.
#[derive(Debug, Default)]
pub struct ApiKeys;

impl ApiKeyResolver for ApiKeys {
    fn resolve<'a>(
        &'a self,
        db: &'a Db,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Caller>, ApiError>> {
        Box::pin(async move {
            // Not the shape of one of our keys: no need to ask the database.
            if !key.starts_with(API_KEY_PREFIX) || key.len() > 128 {
                return Ok(None);
            }
            let key = key.to_owned();
            db.run(move |conn| Ok(resolve(conn, &key)?)).await
        })
    }
}
