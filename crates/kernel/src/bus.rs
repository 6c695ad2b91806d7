//! Publish/subscribe on named topics: Redis pub/sub when `REDIS_URL` is set (so several
//! `plaza serve` processes behave as one), an in-process broadcast otherwise.
//!
//! Each process holds one Redis subscription connection, whatever the number of local
//! subscribers: a table of topics (bounded broadcast channels) is shared by the handles and one
//! dispatcher task, which subscribes a topic on Redis when its first local subscriber arrives,
//! unsubscribes when the last one leaves, and fans incoming messages out to local subscribers.
//! A subscriber that falls more than [`TOPIC_CAPACITY`] messages behind loses the oldest and is
//! told how many ([`RecvError::Lagged`]); nothing buffers without bound.
//!
//! A message reaches the subscribers of its own process at once, without a round trip through
//! Redis: Redis carries it to the other processes, tagged with its origin so that the copy
//! coming back is skipped. So while Redis is unreachable, peers on one instance keep talking
//! (publishing logs the lost cross-instance delivery and succeeds), and new subscribers are
//! served locally until the dispatcher has reconnected and resubscribed every topic.

use crate::sync::lock;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use deadpool_redis::redis;
use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::error::ApiError;

/// Messages buffered per topic for the slowest local subscriber.
pub const TOPIC_CAPACITY: usize = 1024;

/// The bus could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("bus unavailable: {0}")]
pub struct BusError(String);

impl From<BusError> for ApiError {
    fn from(err: BusError) -> Self {
        ApiError::unavailable("The message bus is unavailable; retry shortly.", err)
    }
}

impl From<redis::RedisError> for BusError {
    fn from(err: redis::RedisError) -> Self {
        Self(err.to_string())
    }
}

/// Why [`Subscription::recv`] returned no message.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// This subscriber fell behind and lost the given number of messages; it may go on.
    #[error("lagged behind by {0} messages")]
    Lagged(u64),
    /// The bus is gone.
    #[error("bus closed")]
    Closed,
}

/// The bus; cheap to clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bus({})", self.kind())
    }
}

/// The local subscribers of each topic.
type Topics = Arc<Mutex<HashMap<String, broadcast::Sender<Bytes>>>>;

/// The bytes that tag a message published on Redis with the process that sent it.
const ORIGIN_LEN: usize = 16;

enum Inner {
    Memory(Topics),
    Redis {
        pool: deadpool_redis::Pool,
        prefix: String,
        topics: Topics,
        /// This process's tag, random per `Bus`.
        origin: [u8; ORIGIN_LEN],
        /// Whether the subscription connection is up (a new topic then waits for Redis to
        /// confirm its subscription; else it is served locally until the reconnect).
        connected: Arc<AtomicBool>,
        commands: mpsc::UnboundedSender<Command>,
    },
}

enum Command {
    /// Subscribe `topic` on Redis (it is in the table), unless done already, and say when.
    Subscribe {
        topic: String,
        reply: oneshot::Sender<Result<(), BusError>>,
    },
    /// Unsubscribe `topic` on Redis unless it is back in the table.
    Release { topic: String },
}

/// A live subscription to one topic; unsubscribes when dropped.
pub struct Subscription {
    topic: String,
    rx: Option<broadcast::Receiver<Bytes>>,
    bus: Bus,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Subscription({})", self.topic)
    }
}

impl Subscription {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The next message.
    pub async fn recv(&mut self) -> Result<Bytes, RecvError> {
        let rx = self.rx.as_mut().ok_or(RecvError::Closed)?;
        match rx.recv().await {
            Ok(bytes) => Ok(bytes),
            Err(broadcast::error::RecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(broadcast::error::RecvError::Closed) => Err(RecvError::Closed),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Drop the receiver first so the release sees the true receiver count.
        drop(self.rx.take());
        self.bus.release(&self.topic);
    }
}

impl Bus {
    /// An in-process bus.
    pub fn in_memory() -> Self {
        Self {
            inner: Arc::new(Inner::Memory(Topics::default())),
        }
    }

    /// A Redis bus; fails if Redis cannot be reached. Must be called inside a tokio runtime,
    /// which then drives the subscription task.
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, BusError> {
        let pool = crate::redis_pool(url).map_err(|e| BusError(e.to_string()))?;
        let client = redis::Client::open(url)?;
        let (sink, stream) = client.get_async_pubsub().await?.split();
        let (commands, rx) = mpsc::unbounded_channel();
        let topics = Topics::default();
        let origin: [u8; ORIGIN_LEN] = rand::random();
        let connected = Arc::new(AtomicBool::new(true));
        let dispatcher = Dispatcher {
            client,
            prefix: prefix.to_owned(),
            topics: topics.clone(),
            origin,
            connected: connected.clone(),
        };
        tokio::spawn(dispatcher.run(sink, stream, rx));
        let bus = Self {
            inner: Arc::new(Inner::Redis {
                pool,
                prefix: prefix.to_owned(),
                topics,
                origin,
                connected,
                commands,
            }),
        };
        bus.ping().await?;
        Ok(bus)
    }

    /// `"redis"` or `"memory"`.
    pub fn kind(&self) -> &'static str {
        match *self.inner {
            Inner::Memory(_) => "memory",
            Inner::Redis { .. } => "redis",
        }
    }

    /// A round trip, for health checks.
    pub async fn ping(&self) -> Result<(), BusError> {
        match &*self.inner {
            Inner::Memory(_) => Ok(()),
            Inner::Redis { pool, .. } => {
                let mut conn = pool.get().await.map_err(|e| BusError(e.to_string()))?;
                redis::cmd("PING").query_async::<String>(&mut conn).await?;
                Ok(())
            }
        }
    }

    /// Publishes `payload` to every subscriber of `topic`, in this process and (on Redis) in
    /// every other process sharing the server.
    ///
    /// On Redis, local subscribers get it at once; a Redis that cannot be reached loses only
    /// the delivery to other processes, which is logged, and the publish still succeeds.
    pub async fn publish(&self, topic: &str, payload: Bytes) -> Result<(), BusError> {
        match &*self.inner {
            Inner::Memory(topics) => {
                deliver(topics, topic, payload);
                Ok(())
            }
            Inner::Redis {
                pool,
                prefix,
                topics,
                origin,
                ..
            } => {
                let mut tagged = Vec::with_capacity(ORIGIN_LEN + payload.len());
                tagged.extend_from_slice(origin);
                tagged.extend_from_slice(&payload);
                deliver(topics, topic, payload);
                if let Err(error) =
                    publish_on_redis(pool, &format!("{prefix}{topic}"), &tagged).await
                {
                    tracing::warn!(%error, topic, "bus: redis unreachable; delivered in this process only");
                }
                Ok(())
            }
        }
    }

    /// Subscribes to `topic`. On Redis, returns once the server has confirmed, so a message
    /// published after this returns is received.
    pub async fn subscribe(&self, topic: &str) -> Result<Subscription, BusError> {
        let (topics, redis) = match &*self.inner {
            Inner::Memory(topics) => (topics, None),
            Inner::Redis {
                topics,
                commands,
                connected,
                ..
            } => (topics, Some((commands, connected))),
        };
        let rx = lock(topics)
            .entry(topic.to_owned())
            .or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0)
            .subscribe();
        let subscription = Subscription {
            topic: topic.to_owned(),
            rx: Some(rx),
            bus: self.clone(),
        };
        // While Redis is away the topic is served locally; the reconnect subscribes it. Else
        // wait for the dispatcher, which answers at once for a topic it has subscribed.
        if let Some((commands, _)) = redis.filter(|(_, up)| up.load(Ordering::Relaxed)) {
            let (reply, answer) = oneshot::channel();
            commands
                .send(Command::Subscribe {
                    topic: topic.to_owned(),
                    reply,
                })
                .map_err(|_| BusError("subscription task stopped".into()))?;
            tokio::time::timeout(Duration::from_secs(10), answer)
                .await
                .map_err(|_| BusError("timed out subscribing".into()))?
                .map_err(|_| BusError("subscription task stopped".into()))??;
        }
        Ok(subscription)
    }

    fn release(&self, topic: &str) {
        let (topics, commands) = match &*self.inner {
            Inner::Memory(topics) => (topics, None),
            Inner::Redis {
                topics, commands, ..
            } => (topics, Some(commands)),
        };
        let mut table = lock(topics);
        if table.get(topic).is_some_and(|s| s.receiver_count() == 0) {
            table.remove(topic);
            if let Some(commands) = commands {
                let _ = commands.send(Command::Release {
                    topic: topic.to_owned(),
                });
            }
        }
    }
}

/// Sends `payload` to this process's subscribers of `topic`.
fn deliver(topics: &Topics, topic: &str, payload: Bytes) {
    let sender = lock(topics).get(topic).cloned();
    if let Some(sender) = sender {
        // No receivers left is not an error: nobody is listening.
        let _ = sender.send(payload);
    }
}

async fn publish_on_redis(
    pool: &deadpool_redis::Pool,
    channel: &str,
    tagged: &[u8],
) -> Result<(), BusError> {
    let mut conn = pool.get().await.map_err(|e| BusError(e.to_string()))?;
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(tagged)
        .query_async::<i64>(&mut conn)
        .await?;
    Ok(())
}

/// Owns the Redis subscription: applies subscribe/release commands in order and fans other
/// processes' messages out. Reconnects (and resubscribes every topic) if the connection drops.
struct Dispatcher {
    client: redis::Client,
    prefix: String,
    topics: Topics,
    origin: [u8; ORIGIN_LEN],
    connected: Arc<AtomicBool>,
}

impl Dispatcher {
    async fn run(
        self,
        mut sink: redis::aio::PubSubSink,
        mut stream: redis::aio::PubSubStream,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        // The topics subscribed on the current connection.
        let mut subscribed: HashSet<String> = HashSet::new();
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    None => return, // every Bus handle is gone
                    Some(Command::Subscribe { topic, reply }) => {
                        if subscribed.contains(&topic) {
                            let _ = reply.send(Ok(()));
                            continue;
                        }
                        let done = sink.subscribe(format!("{}{topic}", self.prefix)).await;
                        if done.is_ok() {
                            subscribed.insert(topic);
                        }
                        let _ = reply.send(done.map_err(BusError::from));
                    }
                    Some(Command::Release { topic }) => {
                        if !lock(&self.topics).contains_key(&topic) && subscribed.remove(&topic) {
                            if let Err(error) = sink.unsubscribe(format!("{}{topic}", self.prefix)).await {
                                tracing::warn!(%error, topic, "redis unsubscribe failed");
                            }
                        }
                    }
                },
                message = stream.next() => match message {
                    Some(message) => self.fan_out(&message),
                    None => {
                        tracing::warn!("redis pub/sub connection lost; reconnecting");
                        self.connected.store(false, Ordering::Relaxed);
                        (sink, stream, subscribed) = self.reconnect().await;
                        self.connected.store(true, Ordering::Relaxed);
                        // Topics first subscribed between the reconnect's snapshot and now.
                        let missing: Vec<String> = lock(&self.topics)
                            .keys()
                            .filter(|topic| !subscribed.contains(*topic))
                            .cloned()
                            .collect();
                        for topic in missing {
                            if sink.subscribe(format!("{}{topic}", self.prefix)).await.is_ok() {
                                subscribed.insert(topic);
                            }
                        }
                    }
                },
            }
        }
    }

    /// Delivers another process's message; this process's own come back tagged and are skipped
    /// (they were delivered when published).
    fn fan_out(&self, message: &redis::Msg) {
        let payload = message.get_payload_bytes();
        let Some((origin, body)) = payload.split_at_checked(ORIGIN_LEN) else {
            return;
        };
        if origin == self.origin {
            return;
        }
        if let Some(topic) = message.get_channel_name().strip_prefix(&self.prefix) {
            deliver(&self.topics, topic, Bytes::copy_from_slice(body));
        }
    }

    async fn reconnect(
        &self,
    ) -> (
        redis::aio::PubSubSink,
        redis::aio::PubSubStream,
        HashSet<String>,
    ) {
        let mut delay = Duration::from_millis(100);
        loop {
            tokio::time::sleep(delay).await;
            match self.client.get_async_pubsub().await {
                Ok(pubsub) => {
                    let (mut sink, stream) = pubsub.split();
                    let topics: HashSet<String> = lock(&self.topics).keys().cloned().collect();
                    let channels: Vec<String> = topics
                        .iter()
                        .map(|t| format!("{}{t}", self.prefix))
                        .collect();
                    if channels.is_empty() || sink.subscribe(&channels).await.is_ok() {
                        tracing::info!(topics = channels.len(), "redis pub/sub reconnected");
                        return (sink, stream, topics);
                    }
                }
                Err(error) => tracing::warn!(%error, "redis pub/sub reconnect failed"),
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}
