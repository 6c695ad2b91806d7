//! Authentication in the staff console: login sessions (every user's, by state, one user's
//! through the search box; revoked in bulk, their access tokens with them) and API keys
//! (listed by prefix only — the hashes are never shown; revoked in bulk). Both through this
//! crate's services; a page costs a fixed number of statements (count, rows, owners).

use std::collections::HashMap;

use plaza_kernel::admin::{
    self, Action, Admin, AdminContext, AdminFuture, AdminModel, Column, Filter, ListPage,
    ListRequest, Record, Row,
};
use plaza_kernel::{ApiError, ApiResult, DbConn};
use plaza_users::{authors_by_id, User};

use crate::api_keys;
use crate::sessions::{self, revoke_access_tokens, SessionState};

/// Authentication in the console.
pub const ADMIN: Admin = Admin {
    models: &[SESSIONS, API_KEYS],
    charts: &[],
    gauges: &[],
};

const SEARCH: &str = "username or email (exact)";

/// Login sessions.
pub const SESSIONS: AdminModel = AdminModel {
    columns: &[
        Column::new("user", "User"),
        Column::new("device", "Device"),
        Column::new("ip_address", "Address"),
        Column::new("created_at", "Signed in"),
        Column::new("last_used_at", "Last used"),
        Column::new("state", "State"),
    ],
    search: Some(SEARCH),
    filters: &[Filter {
        key: "state",
        label: "State",
        choices: &[
            ("live", "Live"),
            ("revoked", "Revoked"),
            ("expired", "Expired"),
        ],
    }],
    orderings: &[("-id", "Newest")],
    actions: &[Action::new("revoke", "Revoke the selected sessions")],
    act: revoke_sessions,
    ..AdminModel::new("sessions", "Login sessions", list_sessions, get_session)
};

/// API keys.
pub const API_KEYS: AdminModel = AdminModel {
    columns: &[
        Column::new("name", "Name"),
        Column::new("user", "Owner"),
        Column::new("prefix", "Key starts"),
        Column::new("created_at", "Created"),
        Column::new("last_used_at", "Last used"),
        Column::new("state", "State"),
    ],
    search: Some(SEARCH),
    filters: &[Filter {
        key: "revoked",
        label: "Revoked",
        choices: admin::YES_NO,
    }],
    orderings: &[("-id", "Newest")],
    actions: &[Action::new("revoke", "Revoke the selected API keys")],
    act: revoke_keys,
    ..AdminModel::new("api-keys", "API keys", list_keys, get_key)
};

const TIME: &str = "%Y-%m-%d %H:%M";

fn time(t: Option<chrono::NaiveDateTime>) -> String {
    t.map_or_else(|| "—".to_owned(), |t| t.format(TIME).to_string())
}

/// The user the search box names (a username or an email, as the login takes it): `None`
/// for no search, `Some(None)` when nobody matches.
fn searched_user(conn: &mut DbConn, request: &ListRequest) -> ApiResult<Option<Option<i64>>> {
    match &request.search {
        Some(login) => Ok(Some(User::find_by_login(conn, login)?.map(|u| u.id))),
        None => Ok(None),
    }
}

/// The usernames of `ids`, in one statement through the users domain.
fn usernames(conn: &mut DbConn, ids: &[i64]) -> ApiResult<HashMap<i64, String>> {
    Ok(authors_by_id(conn, ids)?
        .into_iter()
        .map(|(id, a)| (id, a.username))
        .collect())
}

fn owner(names: &HashMap<i64, String>, id: i64) -> String {
    names
        .get(&id)
        .map_or_else(|| format!("#{id}"), |name| format!("{name} (#{id})"))
}

fn list_sessions(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let user = match searched_user(conn, &request)? {
            Some(None) => return Ok(ListPage::default()),
            Some(found) => found,
            None => None,
        };
        let state = request.filter("state").and_then(SessionState::parse);
        let page = sessions::list_all(conn, user, state, request.page_request())?;
        let ids: Vec<i64> = page.results.iter().map(|s| s.user_id).collect();
        let names = usernames(conn, &ids)?;
        Ok(ListPage::from_page(page, |s| {
            Row::new(s.id)
                .cell("user", owner(&names, s.user_id))
                .cell("device", &s.device)
                .cell("ip_address", s.ip_address.as_deref().unwrap_or("—"))
                .cell("created_at", s.created_at.format(TIME))
                .cell("last_used_at", s.last_used_at.format(TIME))
                .cell("state", SessionState::of(&s).as_str())
        }))
    })
}

fn get_session(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let s = sessions::get(conn, admin::numeric_id(&id)?)?;
        let names = usernames(conn, &[s.user_id])?;
        Ok(Record::new(
            s.id,
            format!("Session {} of {}", s.id, owner(&names, s.user_id)),
        )
        .detail("User", owner(&names, s.user_id))
        .detail("State", SessionState::of(&s).as_str())
        .detail("Device", &s.device)
        .detail("Address", s.ip_address.as_deref().unwrap_or("—"))
        .detail("Signed in", s.created_at.format(TIME))
        .detail("Last used", s.last_used_at.format(TIME))
        .detail("Expires", s.expires_at.format(TIME))
        .detail("Revoked", time(s.revoked_at))
        .detail("Why", s.revoked_reason.as_deref().unwrap_or("—")))
    })
}

fn numeric_ids(ids: &[String]) -> ApiResult<Vec<i64>> {
    ids.iter().map(|id| admin::numeric_id(id)).collect()
}

fn unknown(action: &str) -> ApiError {
    ApiError::bad_request(format!("No action \"{action}\"."))
}

fn revoke_sessions(ctx: AdminContext, action: String, ids: Vec<String>) -> AdminFuture<usize> {
    Box::pin(async move {
        if action != "revoke" {
            return Err(unknown(&action));
        }
        let ids = numeric_ids(&ids)?;
        let cache = ctx.services.cache.clone();
        let (ended, tokens) = ctx
            .write(move |conn, _| Ok(sessions::revoke_by_staff(conn, &ids)?))
            .await?;
        // Access tokens already issued stop at once, not at their expiry.
        revoke_access_tokens(&cache, &tokens).await?;
        Ok(ended)
    })
}

fn list_keys(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, _| {
        let user = match searched_user(conn, &request)? {
            Some(None) => return Ok(ListPage::default()),
            Some(found) => found,
            None => None,
        };
        let page = api_keys::list_all(conn, user, request.flag("revoked"), request.page_request())?;
        let ids: Vec<i64> = page.results.iter().map(|k| k.user_id).collect();
        let names = usernames(conn, &ids)?;
        let now = plaza_kernel::time::now();
        Ok(ListPage::from_page(page, |k| {
            Row::new(k.id)
                .cell("name", &k.name)
                .cell("user", owner(&names, k.user_id))
                .cell("prefix", format!("{}…", k.prefix))
                .cell("created_at", k.created_at.format(TIME))
                .cell("last_used_at", time(k.last_used_at))
                .cell("state", key_state(&k, now))
        }))
    })
}

fn key_state(key: &api_keys::ApiKeyRow, now: chrono::NaiveDateTime) -> &'static str {
    if key.revoked_at.is_some() {
        "revoked"
    } else if key.expires_at.is_some_and(|t| t <= now) {
        "expired"
    } else {
        "live"
    }
}

fn get_key(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, _| {
        let k = api_keys::get(conn, admin::numeric_id(&id)?)?;
        let names = usernames(conn, &[k.user_id])?;
        // The hash stays in the row: only the prefix the owner was shown is.
        Ok(Record::new(k.id, format!("API key \"{}\"", k.name))
            .detail("Owner", owner(&names, k.user_id))
            .detail("Key starts", format!("{}…", k.prefix))
            .detail("State", key_state(&k, plaza_kernel::time::now()))
            .detail("Created", k.created_at.format(TIME))
            .detail("Expires", time(k.expires_at))
            .detail("Last used", time(k.last_used_at))
            .detail("Revoked", time(k.revoked_at)))
    })
}

fn revoke_keys(ctx: AdminContext, action: String, ids: Vec<String>) -> AdminFuture<usize> {
    Box::pin(async move {
        if action != "revoke" {
            return Err(unknown(&action));
        }
        let ids = numeric_ids(&ids)?;
        ctx.write(move |conn, _| Ok(api_keys::revoke_by_staff(conn, &ids)?))
            .await
    })
}
