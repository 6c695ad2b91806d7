//! Publish/subscribe on named topics: Redis pub/sub when `REDIS_URL` is set (so several
//! `plaza serve` processes behave as one), an in-process broadcast otherwise.
//!
//! Each process holds one Redis subscription connection, whatever the number of local
//! subscribers: a single task owns the topic table, subscribes a topic on Redis when its first
//! local subscriber arrives and unsubscribes when the last one leaves, and fans incoming
//! messages out to local subscribers through bounded broadcast channels. A subscriber that
//! falls more than [`TOPIC_CAPACITY`] messages behind loses the oldest and is told how many
//! ([`RecvError::Lagged`]); nothing buffers without bound.

use crate::sync::lock;
use std::collections::HashMap;
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

enum Inner {
    Memory(Mutex<HashMap<String, broadcast::Sender<Bytes>>>),
    Redis {
        pool: deadpool_redis::Pool,
        prefix: String,
        commands: mpsc::UnboundedSender<Command>,
    },
}

enum Command {
    Subscribe {
        topic: String,
        reply: oneshot::Sender<Result<broadcast::Receiver<Bytes>, BusError>>,
    },
    Release {
        topic: String,
    },
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
            inner: Arc::new(Inner::Memory(Mutex::new(HashMap::new()))),
        }
    }

    /// A Redis bus; fails if Redis cannot be reached. Must be called inside a tokio runtime,
    /// which then drives the subscription task.
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, BusError> {
        let pool = crate::redis_pool(url).map_err(|e| BusError(e.to_string()))?;
        let client = redis::Client::open(url)?;
        let (sink, stream) = client.get_async_pubsub().await?.split();
        let (commands, rx) = mpsc::unbounded_channel();
        tokio::spawn(run_dispatcher(client, prefix.to_owned(), sink, stream, rx));
        let bus = Self {
            inner: Arc::new(Inner::Redis {
                pool,
                prefix: prefix.to_owned(),
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
    pub async fn publish(&self, topic: &str, payload: Bytes) -> Result<(), BusError> {
        match &*self.inner {
            Inner::Memory(topics) => {
                let sender = lock(topics).get(topic).cloned();
                if let Some(sender) = sender {
                    // No receivers left is not an error: nobody is listening.
                    let _ = sender.send(payload);
                }
                Ok(())
            }
            Inner::Redis { pool, prefix, .. } => {
                let mut conn = pool.get().await.map_err(|e| BusError(e.to_string()))?;
                redis::cmd("PUBLISH")
                    .arg(format!("{prefix}{topic}"))
                    .arg(payload.as_ref())
                    .query_async::<i64>(&mut conn)
                    .await?;
                Ok(())
            }
        }
    }

    /// Subscribes to `topic`. On Redis, returns once the server has confirmed, so a message
    /// published after this returns is received.
    pub async fn subscribe(&self, topic: &str) -> Result<Subscription, BusError> {
        let rx = match &*self.inner {
            Inner::Memory(topics) => lock(topics)
                .entry(topic.to_owned())
                .or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0)
                .subscribe(),
            Inner::Redis { commands, .. } => {
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
                    .map_err(|_| BusError("subscription task stopped".into()))??
            }
        };
        Ok(Subscription {
            topic: topic.to_owned(),
            rx: Some(rx),
            bus: self.clone(),
        })
    }

    fn release(&self, topic: &str) {
        match &*self.inner {
            Inner::Memory(topics) => {
                let mut topics = lock(topics);
                if topics.get(topic).is_some_and(|s| s.receiver_count() == 0) {
                    topics.remove(topic);
                }
            }
            Inner::Redis { commands, .. } => {
                let _ = commands.send(Command::Release {
                    topic: topic.to_owned(),
                });
            }
        }
    }
}

/// Owns the Redis subscription: applies subscribe/release commands in order and fans messages
/// out. Reconnects (and resubscribes every topic) if the connection drops.
async fn run_dispatcher(
    client: redis::Client,
    prefix: String,
    mut sink: redis::aio::PubSubSink,
    mut stream: redis::aio::PubSubStream,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut topics: HashMap<String, broadcast::Sender<Bytes>> = HashMap::new();
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                None => return, // every Bus handle is gone
                Some(Command::Subscribe { topic, reply }) => {
                    if let Some(sender) = topics.get(&topic) {
                        let _ = reply.send(Ok(sender.subscribe()));
                        continue;
                    }
                    match sink.subscribe(format!("{prefix}{topic}")).await {
                        Ok(()) => {
                            let (sender, rx) = broadcast::channel(TOPIC_CAPACITY);
                            topics.insert(topic, sender);
                            let _ = reply.send(Ok(rx));
                        }
                        Err(err) => {
                            let _ = reply.send(Err(err.into()));
                        }
                    }
                }
                Some(Command::Release { topic }) => {
                    if topics.get(&topic).is_some_and(|s| s.receiver_count() == 0) {
                        topics.remove(&topic);
                        if let Err(error) = sink.unsubscribe(format!("{prefix}{topic}")).await {
                            tracing::warn!(%error, topic, "redis unsubscribe failed");
                        }
                    }
                }
            },
            message = stream.next() => match message {
                Some(message) => {
                    let channel = message.get_channel_name();
                    if let Some(sender) = channel.strip_prefix(&prefix).and_then(|t| topics.get(t)) {
                        let _ = sender.send(Bytes::copy_from_slice(message.get_payload_bytes()));
                    }
                }
                None => {
                    tracing::warn!("redis pub/sub connection lost; reconnecting");
                    (sink, stream) = reconnect(&client, &prefix, &topics).await;
                }
            },
        }
    }
}

async fn reconnect(
    client: &redis::Client,
    prefix: &str,
    topics: &HashMap<String, broadcast::Sender<Bytes>>,
) -> (redis::aio::PubSubSink, redis::aio::PubSubStream) {
    let mut delay = Duration::from_millis(100);
    loop {
        tokio::time::sleep(delay).await;
        match client.get_async_pubsub().await {
            Ok(pubsub) => {
                let (mut sink, stream) = pubsub.split();
                let channels: Vec<String> = topics.keys().map(|t| format!("{prefix}{t}")).collect();
                if channels.is_empty() || sink.subscribe(&channels).await.is_ok() {
                    tracing::info!(topics = channels.len(), "redis pub/sub reconnected");
                    return (sink, stream);
                }
            }
            Err(error) => tracing::warn!(%error, "redis pub/sub reconnect failed"),
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
