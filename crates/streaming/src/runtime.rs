//! The streaming state of one process: its hub of stream rooms, the statistics of the
//! memberships it holds (counted in memory, never written per frame), and the task that
//! flushes them every `STREAM_STATS_FLUSH_INTERVAL` together with the heartbeat that tells the
//! reaper this process is alive.
//!
//! [`DOMAIN`](crate::DOMAIN)'s `start` creates it with the server ([`start`]), registers it as
//! app data and, at shutdown, flushes what is still buffered. Handlers take it as
//! [`ProcessRuntime`].

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use plaza_kernel::domain::{Running, StopFuture};
use plaza_kernel::realtime::{Hub, Outbound, OutboundCounters, SocketSettings};
use plaza_kernel::sync::lock;
use plaza_kernel::{ApiError, Cache, Db, Realtime, Services};
use std::collections::{BTreeMap, HashMap};
use std::future::{ready, Ready};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

use crate::model::StatsDelta;
use crate::service::{self, Flush};
use crate::settings::StreamingSettings;

/// The hub endpoint name (metrics label, bus topic prefix).
pub const ENDPOINT: &str = "webrtc";

/// The room of a stream.
pub fn room_name(stream_id: &str) -> String {
    format!("stream:{stream_id}")
}

/// Per-process streaming state; one per [`Realtime`].
pub struct Runtime {
    /// Stream rooms.
    pub hub: Hub,
    /// The database.
    pub db: Db,
    /// The cache, where abuse limits are counted across instances.
    pub cache: Cache,
    /// The settings it was started with.
    pub settings: web::Data<StreamingSettings>,
    /// Socket limits, from `settings`.
    pub socket: SocketSettings,
    memberships: Mutex<HashMap<i64, Arc<MembershipStats>>>,
    flusher_started: AtomicBool,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("hub", &self.hub)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Starts this process's runtime — one per [`Realtime`] — and its periodic flush; when it
    /// is already running, returns it. Needs a Tokio runtime (the flush is a task).
    pub fn start(
        realtime: &Realtime,
        db: &Db,
        cache: &Cache,
        settings: web::Data<StreamingSettings>,
    ) -> Arc<Self> {
        let runtime = realtime.state(|| Self {
            hub: realtime.hub(ENDPOINT),
            db: db.clone(),
            cache: cache.clone(),
            socket: settings.socket(),
            settings,
            memberships: Mutex::new(HashMap::new()),
            flusher_started: AtomicBool::new(false),
        });
        if !runtime.flusher_started.swap(true, Ordering::AcqRel) {
            tokio::spawn(flush_periodically(Arc::downgrade(&runtime)));
        }
        runtime
    }

    /// This process's id.
    pub fn instance_id(&self) -> Uuid {
        self.hub.instance()
    }

    /// Starts counting a membership.
    pub fn register(
        &self,
        connection_id: i64,
        stream_id: &str,
        outbound: &Outbound,
    ) -> Arc<MembershipStats> {
        let stats = Arc::new(MembershipStats {
            connection_id,
            stream_id: stream_id.to_owned(),
            frames_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            outbound: outbound.clone(),
            baseline: outbound.counters(),
            reported: Mutex::new(Totals::default()),
        });
        lock(&self.memberships).insert(connection_id, stats.clone());
        stats
    }

    /// Stops counting a membership (its last counters are written by the caller).
    pub fn unregister(&self, connection_id: i64) {
        lock(&self.memberships).remove(&connection_id);
    }

    /// Counters of a stream's memberships held here that are not written yet, by connection.
    pub fn unflushed_by_connection(&self, stream_id: &str) -> HashMap<i64, StatsDelta> {
        lock(&self.memberships)
            .values()
            .filter(|m| m.stream_id == stream_id)
            .map(|m| (m.connection_id, m.peek()))
            .collect()
    }

    /// Writes every membership's new counters and the heartbeat, in one transaction. Counters
    /// not written (the database failed) are kept for the next flush.
    pub async fn flush(&self) {
        let held: Vec<Arc<MembershipStats>> = lock(&self.memberships).values().cloned().collect();
        if held.is_empty() {
            return;
        }
        // Per stream, in one transaction each: its connections' new counters (claimed now,
        // handed back if the write fails) and the heartbeat of every connection held.
        type Claim = (Arc<MembershipStats>, StatsDelta);
        let mut streams: BTreeMap<&str, (Vec<Claim>, Vec<i64>)> = BTreeMap::new();
        for m in &held {
            let (claims, ids) = streams.entry(m.stream_id.as_str()).or_default();
            ids.push(m.connection_id);
            let delta = m.claim();
            if !delta.is_zero() {
                claims.push((m.clone(), delta));
            }
        }
        for (stream_id, (claims, ids)) in streams {
            let flushes: Vec<Flush> = claims
                .iter()
                .map(|(m, delta)| Flush {
                    connection_id: m.connection_id,
                    delta: *delta,
                })
                .collect();
            let id = stream_id.to_owned();
            let result = self
                .db
                .transaction(move |conn| {
                    service::flush(conn, &id, &flushes, &ids, plaza_kernel::time::now())
                })
                .await;
            if let Err(error) = result {
                tracing::warn!(%error, stream = %stream_id, "stream statistics flush failed; retrying next time");
                for (m, delta) in claims {
                    m.unclaim(delta);
                }
            }
        }
    }
}

async fn flush_periodically(runtime: std::sync::Weak<Runtime>) {
    let Some(interval) = runtime.upgrade().map(|r| r.settings.stats_flush_interval) else {
        return;
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(runtime) = runtime.upgrade() else {
            return;
        };
        runtime.flush().await;
    }
}

/// The streaming domain's `start`: this process's [`Runtime`], registered as app data and
/// flushed one last time at shutdown.
pub fn start(services: &Services) -> Option<Box<dyn Running>> {
    let settings = services.sections.get_or_default::<StreamingSettings>();
    let runtime = Runtime::start(&services.realtime, &services.db, &services.cache, settings);
    Some(Box::new(Started(runtime)))
}

/// The started runtime, as the domain contract holds it.
struct Started(Arc<Runtime>);

impl Running for Started {
    fn register(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::from(self.0.clone()));
    }

    fn stop<'a>(&'a self, _: &'a Services) -> StopFuture<'a> {
        // After the last request and the last departure: what the periodic flush has not
        // written yet would otherwise be lost with the process.
        Box::pin(self.0.flush())
    }
}

/// This process's [`Runtime`], as a handler argument: the one the domain's `start`
/// registered or, in an app that mounts [`configure`](crate::configure) without starting the
/// domain, the process's own, started on first use with the settings in app data (defaults
/// without them). Needs `Realtime` and `Db` in app data.
#[derive(Clone, Debug)]
pub struct ProcessRuntime(pub Arc<Runtime>);

impl std::ops::Deref for ProcessRuntime {
    type Target = Arc<Runtime>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl FromRequest for ProcessRuntime {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(runtime) = req.app_data::<web::Data<Runtime>>() {
            return ready(Ok(Self(runtime.clone().into_inner())));
        }
        let (Some(realtime), Some(db), Some(cache)) = (
            req.app_data::<web::Data<Realtime>>(),
            req.app_data::<web::Data<Db>>(),
            req.app_data::<web::Data<Cache>>(),
        ) else {
            return ready(Err(ApiError::internal(
                "plaza-streaming needs Realtime, Db and Cache in app data",
            )));
        };
        let runtime = Runtime::start(realtime, db, cache, StreamingSettings::of(req));
        ready(Ok(Self(runtime)))
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Totals {
    frames_sent: u64,
    bytes_sent: u64,
    frames_received: u64,
    bytes_received: u64,
    frames_dropped: u64,
}

/// The counters of one membership: what the peer sent (counted here), what it received and
/// lost (its outbound queue's counters since it joined).
pub struct MembershipStats {
    /// The connection row.
    pub connection_id: i64,
    /// The stream.
    pub stream_id: String,
    frames_sent: AtomicU64,
    bytes_sent: AtomicU64,
    outbound: Outbound,
    baseline: OutboundCounters,
    /// What has been written (or claimed by a write in progress).
    reported: Mutex<Totals>,
}

impl std::fmt::Debug for MembershipStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MembershipStats")
            .field("connection_id", &self.connection_id)
            .finish_non_exhaustive()
    }
}

impl MembershipStats {
    /// The peer sent a frame of `bytes`.
    pub fn count_sent(&self, bytes: usize) {
        self.frames_sent.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    fn totals(&self) -> Totals {
        let now = self.outbound.counters();
        Totals {
            frames_sent: self.frames_sent.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            frames_received: now.lossy_messages - self.baseline.lossy_messages,
            bytes_received: now.lossy_bytes - self.baseline.lossy_bytes,
            frames_dropped: now.dropped - self.baseline.dropped,
        }
    }

    fn delta(current: Totals, reported: Totals) -> StatsDelta {
        let d = |a: u64, b: u64| i64::try_from(a.saturating_sub(b)).unwrap_or(i64::MAX);
        StatsDelta {
            frames_sent: d(current.frames_sent, reported.frames_sent),
            bytes_sent: d(current.bytes_sent, reported.bytes_sent),
            frames_received: d(current.frames_received, reported.frames_received),
            bytes_received: d(current.bytes_received, reported.bytes_received),
            frames_dropped: d(current.frames_dropped, reported.frames_dropped),
        }
    }

    /// What is not written yet, without claiming it.
    pub fn peek(&self) -> StatsDelta {
        let reported = *lock(&self.reported);
        Self::delta(self.totals(), reported)
    }

    /// Claims what is not written yet: no other writer will write it again.
    pub fn claim(&self) -> StatsDelta {
        let mut reported = lock(&self.reported);
        let current = self.totals();
        let delta = Self::delta(current, *reported);
        *reported = current;
        delta
    }

    /// Gives back a claim whose write failed.
    pub fn unclaim(&self, delta: StatsDelta) {
        let mut reported = lock(&self.reported);
        let back = |v: &mut u64, by: i64| *v = v.saturating_sub(u64::try_from(by).unwrap_or(0));
        back(&mut reported.frames_sent, delta.frames_sent);
        back(&mut reported.bytes_sent, delta.bytes_sent);
        back(&mut reported.frames_received, delta.frames_received);
        back(&mut reported.bytes_received, delta.bytes_received);
        back(&mut reported.frames_dropped, delta.frames_dropped);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use plaza_kernel::realtime::{Delivery, OutMessage, QueueLimits};

    #[test]
    fn claims_are_written_once_and_given_back_on_failure() {
        let outbound = Outbound::new(QueueLimits {
            messages: 1,
            bytes: 1 << 20,
            slow_consumer_timeout: Duration::from_secs(60),
        });
        outbound.push(OutMessage::text("before joining"), Delivery::Droppable);
        let stats = MembershipStats {
            connection_id: 1,
            stream_id: "s".into(),
            frames_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            baseline: outbound.counters(),
            outbound: outbound.clone(),
            reported: Mutex::new(Totals::default()),
        };
        stats.count_sent(10);
        outbound.push(OutMessage::text("dropped"), Delivery::Droppable);
        let first = stats.claim();
        assert_eq!(
            first,
            StatsDelta {
                frames_sent: 1,
                bytes_sent: 10,
                frames_dropped: 1,
                ..StatsDelta::default()
            }
        );
        assert!(stats.claim().is_zero(), "claimed once");
        stats.unclaim(first);
        assert_eq!(stats.peek(), first, "a failed write is retried");
    }
}
