//! ICE servers for clients: STUN from `STUN_URLS`, and TURN from `TURN_URLS` with time-limited
//! credentials derived from `TURN_SECRET` — the "TURN REST API" scheme that coturn accepts with
//! `use-auth-secret` / `static-auth-secret`: the username is `<expiry unix time>:<user>`, the
//! password `base64(HMAC-SHA1(secret, username))`. The TURN server checks the signature and the
//! expiry; Plaza never stores the credentials.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha1::Sha1;
use utoipa::ToSchema;

use crate::settings::StreamingSettings;

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct IceServer {
    /// `stun:` or `turn:`/`turns:` URLs.
    pub urls: Vec<String>,
    /// TURN only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN only: the password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// What `GET /api/v1/streams/ice-servers/` answers; pass `ice_servers` as
/// `new RTCPeerConnection({iceServers})`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct IceServers {
    /// STUN, then TURN (when configured).
    pub ice_servers: Vec<IceServer>,
    /// Seconds the TURN credentials stay valid; null without TURN.
    pub ttl: Option<u64>,
    /// When the TURN credentials expire; null without TURN.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The TURN REST API credentials for `user`, valid until `expires` (unix seconds).
pub fn turn_credentials(secret: &str, user: &str, expires: i64) -> (String, String) {
    let username = format!("{expires}:{user}");
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(username.as_bytes());
    let credential = STANDARD.encode(mac.finalize().into_bytes());
    (username, credential)
}

/// The ICE servers for `user` (a user id, or `anonymous`) at `now`.
pub fn ice_servers(config: &StreamingSettings, user: &str, now: DateTime<Utc>) -> IceServers {
    let mut servers = Vec::new();
    if !config.stun_urls.is_empty() {
        servers.push(IceServer {
            urls: config.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    let (mut ttl, mut expires_at) = (None, None);
    if let (false, Some(secret)) = (config.turn_urls.is_empty(), &config.turn_secret) {
        let lifetime = config.turn_ttl.max(Duration::from_secs(60));
        let expiry =
            now + chrono::Duration::seconds(i64::try_from(lifetime.as_secs()).unwrap_or(86_400));
        let (username, credential) = turn_credentials(secret, user, expiry.timestamp());
        servers.push(IceServer {
            urls: config.turn_urls.clone(),
            username: Some(username),
            credential: Some(credential),
        });
        ttl = Some(lifetime.as_secs());
        expires_at = Some(expiry);
    }
    IceServers {
        ice_servers: servers,
        ttl,
        expires_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_match_an_independent_hmac() {
        // printf '%s' "1700086400:42" | openssl dgst -sha1 -hmac north -binary | base64
        assert_eq!(
            turn_credentials("north", "42", 1_700_086_400),
            (
                "1700086400:42".to_owned(),
                "L2hcb1MC2B5KQuhQpPefyMtMg+A=".to_owned()
            )
        );
        assert_eq!(
            turn_credentials("north", "mbzrxpgjys", 1_433_895_918).1,
            "d2Q1V6JRLjCTMOhoc8cTgEoi7u0="
        );
    }

    fn config(turn: bool) -> StreamingSettings {
        let mut vars = std::collections::HashMap::new();
        vars.insert(
            "STUN_URLS".to_owned(),
            "stun:a:3478, stun:b:3478".to_owned(),
        );
        if turn {
            vars.insert(
                "TURN_URLS".to_owned(),
                "turn:t:3478?transport=udp".to_owned(),
            );
            vars.insert("TURN_SECRET".to_owned(), "north".to_owned());
            vars.insert("TURN_TTL".to_owned(), "1h".to_owned());
        }
        let mut env = plaza_kernel::settings::Env::new(&vars);
        let settings = <StreamingSettings as plaza_kernel::settings::Section>::from_env(&mut env);
        env.finish().unwrap();
        settings
    }

    #[test]
    fn stun_only_without_turn() {
        let servers = ice_servers(&config(false), "7", Utc::now());
        assert_eq!(servers.ice_servers.len(), 1);
        assert_eq!(
            servers.ice_servers[0].urls,
            vec!["stun:a:3478", "stun:b:3478"]
        );
        assert_eq!(servers.ttl, None);
    }

    #[test]
    fn turn_credentials_expire_after_the_ttl() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let servers = ice_servers(&config(true), "7", now);
        let turn = &servers.ice_servers[1];
        assert_eq!(turn.username.as_deref(), Some("1700003600:7"));
        assert_eq!(
            turn.credential,
            Some(turn_credentials("north", "7", 1_700_003_600).1)
        );
        assert_eq!(servers.ttl, Some(3600));
        assert_eq!(servers.expires_at.unwrap().timestamp(), 1_700_003_600);
    }
}
