//! The read cache: a write invalidates what it changed and nothing else, and every instance
//! reads its own writes at once (the generations live in the shared Cache).
//!
//! Whether a read came from the cache is seen by changing rows behind the cache's back (SQL
//! the forum's handlers did not run): a cached page still shows the old value, a page read
//! again shows the new one. The entries live an hour here, so nothing expires mid-test, and
//! the forum's view flusher is not started (a flush can make a cached detail be read again).

use std::time::Duration;

use bytes::Bytes;
use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::testing::{test_redis_url, unique_prefix, TestApp, TestAppBuilder, TestBackend};
use plaza_kernel::{Cache, Db};
use plaza_posts::cache::{Change, ReadCache};
use plaza_posts::Forum;
use serde_json::{json, Value};

use crate::support::{get_json, id, post, reply};

const HOUR: Duration = Duration::from_secs(3600);

/// The forum's routes with `forum`'s read cache and buffered views.
fn with_forum(backend: TestBackend, forum: Forum) -> TestAppBuilder {
    TestApp::builder(backend)
        .users(plaza_users::testing::create_test_user)
        .configure(plaza_posts::configure)
        .configure(move |cfg| forum.register(cfg))
}

/// The forum with a read cache whose generations live in this process.
async fn cached_app(backend: TestBackend) -> TestApp {
    with_forum(backend, Forum::new(HOUR)).build().await
}

/// Renames post `id` in the database only, as a write outside the forum's handlers would.
async fn rename_behind_the_cache(db: &Db, id: i64, title: &str) {
    use plaza_kernel::schema::posts;
    let title = title.to_owned();
    db.run(move |conn| {
        diesel::update(posts::table.find(id))
            .set(posts::title.eq(title))
            .execute(conn)?;
        Ok(())
    })
    .await
    .unwrap();
}

fn titles(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_owned())
        .collect()
}

db_test!(async fn a_reply_invalidates_its_thread_and_the_lists_and_nothing_else(backend) {
    let app = cached_app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let a = id(&post(&app, &alice, "A", "first thread", &[]).await);
    let b = id(&post(&app, &alice, "B", "second thread", &[]).await);
    let (list, detail_a, detail_b) = (
        "/api/v1/posts/".to_owned(),
        format!("/api/v1/posts/{a}/"),
        format!("/api/v1/posts/{b}/"),
    );
    // Warm every page, then change both threads behind the cache.
    assert_eq!(titles(&get_json(&app, &list).await), ["B", "A"]);
    get_json(&app, &detail_a).await;
    get_json(&app, &detail_b).await;
    rename_behind_the_cache(app.db(), a, "A2").await;
    rename_behind_the_cache(app.db(), b, "B2").await;
    assert_eq!(get_json(&app, &detail_b).await["title"], "B", "served from the cache");

    // A reply to A: A's thread and the lists are read again, B's thread is not.
    reply(&app, &bob, a, "an answer", None).await;
    let read_a = get_json(&app, &detail_a).await;
    assert_eq!(read_a["title"], "A2");
    assert_eq!(read_a["reply_count"], 1);
    assert_eq!(read_a["replies"][0]["content"], "an answer");
    assert_eq!(get_json(&app, &detail_b).await["title"], "B", "the other thread stays cached");
    let page = get_json(&app, &list).await;
    assert_eq!(titles(&page), ["B2", "A2"]);
    assert_eq!(page["results"][1]["reply_count"], 1);

    // A new post: the lists are read again, every thread stays cached.
    rename_behind_the_cache(app.db(), a, "A3").await;
    post(&app, &bob, "C", "a third thread", &[]).await;
    assert_eq!(titles(&get_json(&app, &list).await), ["C", "B2", "A3"]);
    assert_eq!(get_json(&app, &detail_a).await["title"], "A2", "threads stay cached");
    assert_eq!(get_json(&app, &detail_b).await["title"], "B");

    // An edited reply: its thread only (the lists show no reply's text).
    let reply_id = read_a["replies"][0]["id"].as_i64().unwrap();
    rename_behind_the_cache(app.db(), a, "A4").await;
    let res = app
        .patch(&format!("/api/v1/posts/replies/{reply_id}/"))
        .bearer_auth(&bob.access)
        .json(&json!({"content": "an edited answer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let read_a = get_json(&app, &detail_a).await;
    assert_eq!(read_a["title"], "A4");
    assert_eq!(read_a["replies"][0]["content"], "an edited answer");
    assert_eq!(titles(&get_json(&app, &list).await), ["C", "B2", "A3"], "lists stay cached");
    assert_eq!(get_json(&app, &detail_b).await["title"], "B");

    // A deleted reply and an edited post: their thread and the lists.
    let res = app
        .delete(&format!("/api/v1/posts/replies/{reply_id}/"))
        .bearer_auth(&bob.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let read_a = get_json(&app, &detail_a).await;
    assert_eq!(read_a["reply_count"], 0);
    assert_eq!(titles(&get_json(&app, &list).await), ["C", "B2", "A4"]);
    assert_eq!(get_json(&app, &detail_b).await["title"], "B");
    let res = app
        .patch(&detail_b)
        .bearer_auth(&alice.access)
        .json(&json!({"content": "edited"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(get_json(&app, &detail_b).await["title"], "B2");
});

/// Two servers over one database, their Caches two handles on one Redis key space: two
/// instances behind a load balancer.
async fn two_instances(backend: TestBackend, redis: &str) -> (TestApp, TestApp) {
    let prefix = unique_prefix();
    let here_cache = Cache::redis(redis, &prefix).await.unwrap();
    let there_cache = Cache::redis(redis, &prefix).await.unwrap();
    let here = with_forum(backend.clone(), Forum::shared(HOUR, here_cache))
        .build()
        .await;
    let db = here.services.db.clone();
    let there = with_forum(backend, Forum::shared(HOUR, there_cache))
        .customize(move |services| services.db = db)
        .build()
        .await;
    (here, there)
}

db_test!(async fn every_instance_reads_its_own_writes_at_once(backend) {
    let Some(redis) = test_redis_url() else { return };
    let (here, there) = two_instances(backend, &redis).await;
    let alice = here.create_user("alice").await;
    let bob = here.create_user("bob").await;
    let a = id(&post(&here, &alice, "A", "a thread", &[]).await);
    let b = id(&post(&here, &alice, "B", "another", &[]).await);
    let (list, detail_a, detail_b) = (
        "/api/v1/posts/".to_owned(),
        format!("/api/v1/posts/{a}/"),
        format!("/api/v1/posts/{b}/"),
    );
    // Both instances cache the pages.
    for app in [&here, &there] {
        assert_eq!(get_json(app, &list).await["count"], 2);
        get_json(app, &detail_a).await;
        get_json(app, &detail_b).await;
    }
    rename_behind_the_cache(here.db(), b, "B2").await;

    // A reply on one instance: the next read on the other shows it, without waiting.
    reply(&here, &bob, a, "from here", None).await;
    let read = get_json(&there, &detail_a).await;
    assert_eq!(read["reply_count"], 1);
    assert_eq!(read["replies"][0]["content"], "from here");
    assert_eq!(get_json(&there, &list).await["results"][1]["reply_count"], 1);
    assert_eq!(get_json(&there, &detail_b).await["title"], "B", "B's thread stays cached there");

    // And the other way round.
    reply(&there, &alice, a, "from there", None).await;
    post(&there, &bob, "C", "a third", &[]).await;
    assert_eq!(get_json(&here, &detail_a).await["reply_count"], 2);
    assert_eq!(titles(&get_json(&here, &list).await), ["C", "B2", "A"]);
    assert_eq!(get_json(&here, &detail_b).await["title"], "B", "B's thread stays cached here");
});

#[tokio::test]
async fn two_cache_handles_see_each_others_invalidations() {
    let Some(redis) = test_redis_url() else {
        return;
    };
    let prefix = unique_prefix();
    let here = ReadCache::shared(HOUR, Cache::redis(&redis, &prefix).await.unwrap());
    let there = ReadCache::shared(HOUR, Cache::redis(&redis, &prefix).await.unwrap());
    let url = "http://example.test/posts/list/?page=1";

    let generation = there.list_generation().await.unwrap();
    there.put_list(url.to_owned(), generation, Bytes::from_static(b"[]"));
    let thread_7 = there.post_generation(7).await.unwrap();
    let thread_8 = there.post_generation(8).await.unwrap();
    assert!(there
        .list(url, &there.list_generation().await.unwrap())
        .is_some());

    // A reply to thread 7 on the other handle: thread 7 and the lists change, 8 does not.
    here.changed(Change::ThreadAndLists(7)).await;
    assert!(there
        .list(url, &there.list_generation().await.unwrap())
        .is_none());
    assert_ne!(there.post_generation(7).await.unwrap(), thread_7);
    assert_eq!(there.post_generation(8).await.unwrap(), thread_8);

    // A new post: the lists only.
    let thread_7 = there.post_generation(7).await.unwrap();
    let lists = there.list_generation().await.unwrap();
    here.changed(Change::Lists).await;
    assert_ne!(there.list_generation().await.unwrap(), lists);
    assert_eq!(there.post_generation(7).await.unwrap(), thread_7);
}

#[tokio::test]
async fn a_page_read_across_a_write_is_not_served_after_it() {
    let cache = ReadCache::new(HOUR);
    let url = "http://example.test/posts/list/?page=1";
    // The generation is read before the page; the write lands while the page is read.
    let before = cache.list_generation().await.unwrap();
    cache.changed(Change::Lists).await;
    cache.put_list(url.to_owned(), before.clone(), Bytes::from_static(b"[]"));
    let now = cache.list_generation().await.unwrap();
    assert_ne!(now, before);
    assert!(
        cache.list(url, &now).is_none(),
        "a read that raced the write is not served"
    );
}

#[tokio::test]
async fn a_zero_ttl_caches_nothing() {
    let cache = ReadCache::new(Duration::ZERO);
    assert!(!cache.enabled());
    let generation = cache.list_generation().await.unwrap();
    cache.put_list(
        "u".to_owned(),
        generation.clone(),
        Bytes::from_static(b"[]"),
    );
    assert!(cache.list("u", &generation).is_none());
}
