//! Streaming's settings section: `STREAM_*`, `STUN_URLS` and `TURN_*`, parsed and checked at
//! start with the kernel's [`Env`] like every other section (docs/configuration.md lists them).
//!
//! The server parses it through [`DOMAIN`](crate::DOMAIN) and registers it as app data;
//! handlers read `web::Data<StreamingSettings>`. An app that mounts the crate alone registers
//! its own (`.app_data(web::Data::new(StreamingSettings::defaults()))`, or through the
//! kernel's `Sections`); without one, the defaults apply.

use std::time::Duration;

use actix_web::{web, HttpRequest};
use plaza_kernel::realtime::SocketSettings;
use plaza_kernel::settings::{Env, Section};
use plaza_kernel::throttle::Limit;

/// Live video signalling settings (`STREAM_*`, `STUN_URLS`, `TURN_*`).
#[derive(Clone, Debug)]
pub struct StreamingSettings {
    /// `STREAM_MAX_MESSAGE_BYTES`.
    pub max_message_bytes: usize,
    /// `STREAM_ALLOW_ANONYMOUS`: anonymous viewers may join public streams.
    pub allow_anonymous: bool,
    /// `STREAM_OUTBOUND_QUEUE`: messages buffered per connection.
    pub outbound_queue: usize,
    /// `STREAM_SLOW_CONSUMER_TIMEOUT`: how long a connection may stay full before it is closed.
    pub slow_consumer_timeout: Duration,
    /// `STREAM_HEARTBEAT_INTERVAL`.
    pub heartbeat_interval: Duration,
    /// `STREAM_CLIENT_TIMEOUT`: no traffic for this long closes the connection.
    pub client_timeout: Duration,
    /// `STREAM_STATS_FLUSH_INTERVAL`.
    pub stats_flush_interval: Duration,
    /// `STUN_URLS`.
    pub stun_urls: Vec<String>,
    /// `TURN_URLS`.
    pub turn_urls: Vec<String>,
    /// `TURN_SECRET` (coturn's `static-auth-secret`).
    pub turn_secret: Option<String>,
    /// `TURN_TTL`.
    pub turn_ttl: Duration,
    /// `THROTTLE_STREAM_CREATE` (default `20/m`): streams one user may create, across instances.
    pub create_limit: Option<Limit>,
    /// `THROTTLE_STREAM_JOIN` (default `120/m`): joins by one user (or one address, for
    /// anonymous viewers), across instances.
    pub join_limit: Option<Limit>,
}

/// The STUN server used when `STUN_URLS` is unset.
const DEFAULT_STUN: &str = "stun:stun.l.google.com:19302";

impl Section for StreamingSettings {
    fn from_env(env: &mut Env<'_>) -> Self {
        let settings = Self {
            max_message_bytes: env.number("STREAM_MAX_MESSAGE_BYTES", 2 << 20, 1024, 64 << 20),
            allow_anonymous: env.bool("STREAM_ALLOW_ANONYMOUS", false),
            outbound_queue: env.number("STREAM_OUTBOUND_QUEUE", 256, 8, 1 << 16),
            slow_consumer_timeout: env
                .duration("STREAM_SLOW_CONSUMER_TIMEOUT", Duration::from_secs(10)),
            heartbeat_interval: env.duration("STREAM_HEARTBEAT_INTERVAL", Duration::from_secs(15)),
            client_timeout: env.duration("STREAM_CLIENT_TIMEOUT", Duration::from_secs(45)),
            stats_flush_interval: env
                .duration("STREAM_STATS_FLUSH_INTERVAL", Duration::from_secs(5)),
            stun_urls: if env.optional("STUN_URLS").is_some() {
                env.list("STUN_URLS")
            } else {
                vec![DEFAULT_STUN.to_owned()]
            },
            turn_urls: env.list("TURN_URLS"),
            turn_secret: env.optional("TURN_SECRET"),
            turn_ttl: env.duration("TURN_TTL", Duration::from_secs(24 * 3600)),
            create_limit: env.limit("THROTTLE_STREAM_CREATE", "stream_create", "20/m"),
            join_limit: env.limit("THROTTLE_STREAM_JOIN", "stream_join", "120/m"),
        };
        if !settings.turn_urls.is_empty() && settings.turn_secret.is_none() {
            env.problem("TURN_SECRET: required when TURN_URLS is set".to_owned());
        }
        settings
    }
}

impl StreamingSettings {
    /// Every variable unset: the defaults (also what an app that registers no section gets).
    pub fn defaults() -> Self {
        <Self as Section>::defaults()
    }

    /// The section registered in the app serving `req`, or the defaults when there is none
    /// (the crate mounted alone without it).
    pub fn of(req: &HttpRequest) -> web::Data<Self> {
        req.app_data::<web::Data<Self>>()
            .cloned()
            .unwrap_or_else(|| web::Data::new(Self::defaults()))
    }

    /// The limits of a signalling socket: `STREAM_MAX_MESSAGE_BYTES`, `STREAM_OUTBOUND_QUEUE`,
    /// `STREAM_SLOW_CONSUMER_TIMEOUT`, `STREAM_HEARTBEAT_INTERVAL`, `STREAM_CLIENT_TIMEOUT`.
    pub fn socket(&self) -> SocketSettings {
        SocketSettings::new(
            self.max_message_bytes,
            self.outbound_queue,
            self.slow_consumer_timeout,
            self.heartbeat_interval,
            self.client_timeout,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults() {
        let settings = StreamingSettings::defaults();
        assert_eq!(settings.max_message_bytes, 2 << 20);
        assert!(!settings.allow_anonymous);
        assert_eq!(settings.outbound_queue, 256);
        assert_eq!(settings.stats_flush_interval, Duration::from_secs(5));
        assert_eq!(settings.stun_urls, vec![DEFAULT_STUN]);
        assert!(settings.turn_urls.is_empty() && settings.turn_secret.is_none());
        let socket = settings.socket();
        assert_eq!(socket.queue.bytes, 16 << 20, "at least 16 MiB");
        assert_eq!(socket.client_timeout, Duration::from_secs(45));
    }

    #[test]
    fn values_are_read_and_lists_split() {
        let vars = vars(&[
            ("STREAM_MAX_MESSAGE_BYTES", "4194304"),
            ("STREAM_ALLOW_ANONYMOUS", "yes"),
            ("STUN_URLS", "stun:a:3478, ,stun:b:3478"),
            ("TURN_URLS", "turn:t:3478"),
            ("TURN_SECRET", "north"),
            ("TURN_TTL", "1h"),
        ]);
        let mut env = Env::new(&vars);
        let settings = StreamingSettings::from_env(&mut env);
        assert!(env.finish().is_ok());
        assert!(settings.allow_anonymous);
        assert_eq!(settings.stun_urls, vec!["stun:a:3478", "stun:b:3478"]);
        assert_eq!(settings.turn_ttl, Duration::from_secs(3600));
        assert_eq!(settings.socket().queue.bytes, 32 << 20, "eight messages");
    }

    #[test]
    fn every_problem_is_one_line() {
        let vars = vars(&[
            ("STREAM_OUTBOUND_QUEUE", "2"),
            ("STREAM_HEARTBEAT_INTERVAL", "soon"),
            ("TURN_URLS", "turn:t:3478"),
        ]);
        let mut env = Env::new(&vars);
        StreamingSettings::from_env(&mut env);
        let err = env.finish().unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 3, "{text}");
        for key in [
            "STREAM_OUTBOUND_QUEUE",
            "STREAM_HEARTBEAT_INTERVAL",
            "TURN_SECRET",
        ] {
            assert!(
                text.contains(&format!("- {key}:")),
                "{key} missing:\n{text}"
            );
        }
        assert!(text.contains("TURN_SECRET: required when TURN_URLS is set"));
    }
}
