//! The same cases against the in-process and the Redis implementations.

use std::time::Duration;

use bytes::Bytes;
use plaza_kernel::bus::RecvError;
use plaza_kernel::testing::{test_redis_url, unique_prefix};
use plaza_kernel::{Bus, Cache};

async fn redis_cache() -> Option<Cache> {
    let url = test_redis_url()?;
    Some(Cache::redis(&url, &unique_prefix()).await.unwrap())
}

async fn cache_semantics(cache: Cache) {
    assert_eq!(cache.get("missing").await.unwrap(), None);
    cache.set("k", "v", None).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("v"));
    assert_eq!(cache.ttl("k").await.unwrap(), None, "no expiry");
    assert_eq!(
        cache
            .get_many(&["k".into(), "missing".into()])
            .await
            .unwrap(),
        vec![Some("v".to_owned()), None]
    );

    assert!(!cache.set_nx("k", "other", None).await.unwrap());
    assert!(cache
        .set_nx("fresh", "1", Some(Duration::from_secs(60)))
        .await
        .unwrap());
    let left = cache.ttl("fresh").await.unwrap().unwrap();
    assert!(left > Duration::from_secs(50) && left <= Duration::from_secs(60));

    assert_eq!(cache.take("k").await.unwrap().as_deref(), Some("v"));
    assert_eq!(cache.take("k").await.unwrap(), None);
    assert!(cache.delete("fresh").await.unwrap());
    assert!(!cache.delete("fresh").await.unwrap());

    // TTL expiry.
    cache
        .set("short", "x", Some(Duration::from_millis(150)))
        .await
        .unwrap();
    assert!(cache.get("short").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(cache.get("short").await.unwrap(), None);

    // incr: a fixed window set by the first increment.
    let window = Duration::from_millis(300);
    assert_eq!(cache.incr("hits", window).await.unwrap(), 1);
    assert_eq!(cache.incr("hits", window).await.unwrap(), 2);
    assert_eq!(cache.incr("hits", window).await.unwrap(), 3);
    assert!(cache.ttl("hits").await.unwrap().unwrap() <= window);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        cache.incr("hits", window).await.unwrap(),
        1,
        "a new window after expiry"
    );

    // incr_by: any step, negative too, in the window the first step set.
    assert_eq!(cache.incr_by("tokens", 120, window).await.unwrap(), 120);
    assert_eq!(cache.incr_by("tokens", -20, window).await.unwrap(), 100);
    assert!(cache.ttl("tokens").await.unwrap().unwrap() <= window);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        cache.incr_by("tokens", 5, window).await.unwrap(),
        5,
        "a new window after expiry"
    );
}

#[tokio::test]
async fn memory_cache_semantics() {
    cache_semantics(Cache::in_memory()).await;
}

#[tokio::test]
async fn redis_cache_semantics() {
    if let Some(cache) = redis_cache().await {
        assert_eq!(cache.kind(), "redis");
        cache_semantics(cache).await;
    }
}

#[tokio::test]
async fn redis_prefixes_isolate_deployments() {
    let Some(url) = test_redis_url() else { return };
    let a = Cache::redis(&url, &unique_prefix()).await.unwrap();
    let b = Cache::redis(&url, &unique_prefix()).await.unwrap();
    a.set("shared-name", "a", None).await.unwrap();
    assert_eq!(b.get("shared-name").await.unwrap(), None);
}

async fn recv(sub: &mut plaza_kernel::bus::Subscription) -> Bytes {
    tokio::time::timeout(Duration::from_secs(5), sub.recv())
        .await
        .expect("a message in time")
        .unwrap()
}

async fn bus_semantics(publisher: Bus, subscriber: Bus) {
    let mut first = subscriber.subscribe("room.1").await.unwrap();
    let mut second = subscriber.subscribe("room.1").await.unwrap();
    let mut other = subscriber.subscribe("room.2").await.unwrap();
    publisher
        .publish("room.1", Bytes::from_static(b"hello"))
        .await
        .unwrap();
    assert_eq!(recv(&mut first).await, "hello");
    assert_eq!(recv(&mut second).await, "hello");

    // Topics are separate, and order is kept.
    publisher
        .publish("room.2", Bytes::from_static(b"a"))
        .await
        .unwrap();
    publisher
        .publish("room.2", Bytes::from_static(b"b"))
        .await
        .unwrap();
    assert_eq!(recv(&mut other).await, "a");
    assert_eq!(recv(&mut other).await, "b");

    // Dropping one subscriber leaves the other subscribed; dropping all and subscribing
    // again still works.
    drop(first);
    publisher
        .publish("room.1", Bytes::from_static(b"still"))
        .await
        .unwrap();
    assert_eq!(recv(&mut second).await, "still");
    drop(second);
    let mut again = subscriber.subscribe("room.1").await.unwrap();
    publisher
        .publish("room.1", Bytes::from_static(b"again"))
        .await
        .unwrap();
    assert_eq!(recv(&mut again).await, "again");

    // Binary payloads pass unchanged.
    let binary = Bytes::from(vec![0u8, 159, 146, 150, 255]);
    publisher.publish("room.1", binary.clone()).await.unwrap();
    assert_eq!(recv(&mut again).await, binary);
}

#[tokio::test]
async fn memory_bus_semantics() {
    let bus = Bus::in_memory();
    bus_semantics(bus.clone(), bus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_bus_semantics_on_one_instance() {
    let Some(url) = test_redis_url() else { return };
    let bus = Bus::redis(&url, &unique_prefix()).await.unwrap();
    bus_semantics(bus.clone(), bus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_bus_reaches_other_instances() {
    let Some(url) = test_redis_url() else { return };
    let prefix = unique_prefix();
    let a = Bus::redis(&url, &prefix).await.unwrap();
    let b = Bus::redis(&url, &prefix).await.unwrap();
    bus_semantics(a, b).await;
}

#[tokio::test]
async fn a_slow_subscriber_lags_instead_of_buffering() {
    let bus = Bus::in_memory();
    let mut slow = bus.subscribe("firehose").await.unwrap();
    let total = plaza_kernel::bus::TOPIC_CAPACITY + 10;
    for i in 0..total {
        bus.publish("firehose", Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    assert_eq!(slow.recv().await, Err(RecvError::Lagged(10)));
    assert_eq!(
        slow.recv().await.unwrap(),
        "10",
        "continues with the oldest kept message"
    );
}

/// A process's own message reaches its subscribers once: delivered locally when published,
/// and its echo from Redis skipped. A message from another instance, published after, is the
/// next one received (an echo would arrive before it: Redis keeps the order it published in).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_bus_delivers_a_process_own_messages_once() {
    let Some(url) = test_redis_url() else { return };
    let prefix = unique_prefix();
    let here = Bus::redis(&url, &prefix).await.unwrap();
    let elsewhere = Bus::redis(&url, &prefix).await.unwrap();
    let mut sub = here.subscribe("once").await.unwrap();
    for payload in [&b"a"[..], b"b"] {
        here.publish("once", Bytes::from_static(payload))
            .await
            .unwrap();
    }
    assert_eq!(recv(&mut sub).await, "a");
    assert_eq!(recv(&mut sub).await, "b");
    elsewhere
        .publish("once", Bytes::from_static(b"from elsewhere"))
        .await
        .unwrap();
    assert_eq!(
        recv(&mut sub).await,
        "from elsewhere",
        "an echo was delivered again"
    );
}
