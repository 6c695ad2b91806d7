//! The read cache across instances: a write announced on the Bus empties the others' caches.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use plaza_kernel::Bus;
use plaza_posts::cache::ReadCache;

#[tokio::test]
async fn a_write_announced_by_one_instance_empties_the_others() {
    let bus = Bus::in_memory();
    let here = ReadCache::new(Duration::from_secs(60));
    let there = Arc::new(ReadCache::new(Duration::from_secs(60)));
    tokio::spawn(there.clone().follow(bus.clone()));

    let url = "http://example.test/posts/list/?page=1";
    // Wait until the follower has subscribed: until then an announcement reaches nobody.
    let mut heard = false;
    for _ in 0..200 {
        there.put_list(url.to_owned(), there.version(), Bytes::from_static(b"[]"));
        assert!(there.list(url).is_some(), "a fresh entry is served");
        here.announce(Some(&bus)).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        if there.list(url).is_none() {
            heard = true;
            break;
        }
    }
    assert!(heard, "the other instance never dropped its entry");
    // An entry read under the old version is refused after the change.
    let stale = there.version();
    here.announce(Some(&bus)).await;
    for _ in 0..200 {
        if there.version() != stale {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_ne!(there.version(), stale, "the announcement arrived");
    there.put_list(url.to_owned(), stale, Bytes::from_static(b"[]"));
    assert!(
        there.list(url).is_none(),
        "a read that raced the write is not kept"
    );
}

#[tokio::test]
async fn a_zero_ttl_caches_nothing() {
    let cache = ReadCache::new(Duration::ZERO);
    assert!(!cache.enabled());
    cache.put_list("u".to_owned(), cache.version(), Bytes::from_static(b"[]"));
    assert!(cache.list("u").is_none());
}
