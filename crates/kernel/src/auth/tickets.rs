//! One-time WebSocket tickets: a short random string standing for the caller for 30 seconds,
//! so browsers need not put a JWT in a URL. Stored hashed in the [`Cache`] and consumed on use.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Caller, Credential, Role};
use crate::cache::Cache;
use crate::crypto::{random_token, sha256_hex};
use crate::error::ApiError;

/// How long a ticket is valid.
pub const TICKET_TTL: Duration = Duration::from_secs(30);

#[derive(Serialize, Deserialize)]
struct TicketBody {
    user_id: i64,
    username: String,
    role: Role,
    is_staff: bool,
    is_superuser: bool,
}

fn key(ticket: &str) -> String {
    format!("auth:ticket:{}", sha256_hex(ticket))
}

/// Issues a ticket for `caller`.
pub async fn issue(cache: &Cache, caller: &Caller) -> Result<String, ApiError> {
    let ticket = random_token(24);
    let body = TicketBody {
        user_id: caller.id,
        username: caller.username.clone(),
        role: caller.role,
        is_staff: caller.is_staff,
        is_superuser: caller.is_superuser,
    };
    let json = serde_json::to_string(&body).map_err(ApiError::internal)?;
    cache.set(&key(&ticket), &json, Some(TICKET_TTL)).await?;
    Ok(ticket)
}

/// Consumes a ticket: the caller it stood for, once; `None` if unknown, used or expired.
pub async fn redeem(cache: &Cache, ticket: &str) -> Result<Option<Caller>, ApiError> {
    let Some(json) = cache.take(&key(ticket)).await? else {
        return Ok(None);
    };
    let body: TicketBody = serde_json::from_str(&json).map_err(ApiError::internal)?;
    Ok(Some(Caller {
        id: body.user_id,
        username: body.username,
        role: body.role,
        is_staff: body.is_staff,
        is_superuser: body.is_superuser,
        credential: Credential::Ticket,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_ticket_works_once() {
        let cache = Cache::in_memory();
        let caller = Caller {
            id: 3,
            username: "bob".into(),
            role: Role::User,
            is_staff: false,
            is_superuser: false,
            credential: Credential::Ticket,
        };
        let ticket = issue(&cache, &caller).await.unwrap();
        assert_eq!(redeem(&cache, &ticket).await.unwrap().unwrap().id, 3);
        assert!(redeem(&cache, &ticket).await.unwrap().is_none());
        assert!(redeem(&cache, "forged").await.unwrap().is_none());
    }
}
