//! The metaverse's settings section, `METAVERSE_*` (docs/configuration.md lists them).
//!
//! The server parses it through [`DOMAIN`](crate::DOMAIN); handlers read it with the kernel's
//! `Settings<MetaverseSettings>` extractor, which falls back to the defaults in an app that
//! never registered the section. Jobs read it again from the configuration's variables.

use std::time::Duration;

use plaza_kernel::realtime::SocketSettings;
use plaza_kernel::settings::{Env, Section};

/// Virtual world settings (`METAVERSE_*`).
#[derive(Clone, Debug)]
pub struct MetaverseSettings {
    /// `METAVERSE_MAX_MESSAGE_BYTES` (default 16 KiB): the largest presence message accepted.
    pub max_message_bytes: usize,
    /// `METAVERSE_OUTBOUND_QUEUE` (default 256): messages buffered per presence connection.
    pub outbound_queue: usize,
    /// `METAVERSE_SLOW_CONSUMER_TIMEOUT` (default 30 s): how long a queue may stay full of
    /// messages that must not be lost before the connection is closed.
    pub slow_consumer_timeout: Duration,
    /// `METAVERSE_HEARTBEAT_INTERVAL` (default 15 s): server pings.
    pub heartbeat_interval: Duration,
    /// `METAVERSE_CLIENT_TIMEOUT` (default 45 s): no traffic for this long closes a socket.
    pub client_timeout: Duration,
    /// `METAVERSE_MOVES_PER_SECOND` (default 20): moves accepted per connection per second
    /// (bursts up to the same number); more are refused with an `error`.
    pub moves_per_second: u32,
    /// `METAVERSE_CHAT_MAX_CHARS` (default 500).
    pub chat_max_chars: usize,
    /// `METAVERSE_SESSION_TIMEOUT` (default 120 s): an open session without a socket and
    /// without a heartbeat for this long is closed by the stale-session job.
    pub session_timeout: Duration,
    /// `METAVERSE_REMINDER_LEAD` (default 15 min): how long before an event starts its
    /// participants are reminded.
    pub reminder_lead: Duration,
}

impl Section for MetaverseSettings {
    fn from_env(env: &mut Env<'_>) -> Self {
        Self {
            max_message_bytes: env.number("METAVERSE_MAX_MESSAGE_BYTES", 16 << 10, 512, 1 << 20),
            outbound_queue: env.number("METAVERSE_OUTBOUND_QUEUE", 256, 8, 1 << 16),
            slow_consumer_timeout: env
                .duration("METAVERSE_SLOW_CONSUMER_TIMEOUT", Duration::from_secs(30)),
            heartbeat_interval: env
                .duration("METAVERSE_HEARTBEAT_INTERVAL", Duration::from_secs(15)),
            client_timeout: env.duration("METAVERSE_CLIENT_TIMEOUT", Duration::from_secs(45)),
            moves_per_second: env.number("METAVERSE_MOVES_PER_SECOND", 20, 1, 1000),
            chat_max_chars: env.number("METAVERSE_CHAT_MAX_CHARS", 500, 1, 10_000),
            session_timeout: env.duration("METAVERSE_SESSION_TIMEOUT", Duration::from_secs(120)),
            reminder_lead: env.duration("METAVERSE_REMINDER_LEAD", Duration::from_secs(15 * 60)),
        }
    }
}

impl MetaverseSettings {
    /// Every variable unset.
    pub fn defaults() -> Self {
        <Self as Section>::defaults()
    }

    /// The limits of a presence socket.
    pub fn socket(&self) -> SocketSettings {
        SocketSettings::new(
            self.max_message_bytes,
            self.outbound_queue,
            self.slow_consumer_timeout,
            self.heartbeat_interval,
            self.client_timeout,
        )
    }

    /// How often a connected session records its heartbeat and pose: a quarter of the
    /// session timeout, at least a second.
    pub fn touch_interval(&self) -> Duration {
        (self.session_timeout / 4).max(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let s = MetaverseSettings::defaults();
        assert_eq!(s.moves_per_second, 20);
        assert_eq!(s.session_timeout, Duration::from_secs(120));
        assert_eq!(s.touch_interval(), Duration::from_secs(30));
        let vars = HashMap::from([
            ("METAVERSE_MOVES_PER_SECOND".to_owned(), "5".to_owned()),
            ("METAVERSE_SESSION_TIMEOUT".to_owned(), "2".to_owned()),
        ]);
        let s = MetaverseSettings::from_env(&mut Env::new(&vars));
        assert_eq!(s.moves_per_second, 5);
        assert_eq!(s.touch_interval(), Duration::from_secs(1));
    }
}
