//! The forum's contribution to `system/status` and user stats.

use plaza_kernel::counts::Counts;
use plaza_kernel::db_test;

use crate::support::{app, id, post, reply};

db_test!(async fn counts_posts_and_live_replies(backend) {
    let app = app(backend).await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let first = post(&app, &alice, "one", "c", &[]).await;
    post(&app, &alice, "two", "c", &[]).await;
    let top = reply(&app, &bob, id(&first), "top", None).await;
    reply(&app, &alice, id(&first), "answer", Some(id(&top))).await;
    reply(&app, &bob, id(&first), "more", None).await;
    // Bob's answered reply becomes a tombstone: no longer counted.
    let res = app.delete(&format!("/api/v1/posts/replies/{}/", id(&top))).bearer_auth(&bob.access).send().await.unwrap();
    assert_eq!(res.status(), 204);

    let counts = plaza_posts::add_counts(Counts::default());
    let (alice_id, bob_id) = (alice.id, bob.id);
    let (system, alice_counts, bob_counts) = app
        .db()
        .run(move |conn| {
            Ok((
                counts.count_system(conn)?,
                counts.count_user(conn, alice_id)?,
                counts.count_user(conn, bob_id)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!((system["posts"], system["replies"]), (2, 2));
    assert_eq!((alice_counts["posts"], alice_counts["replies"]), (2, 1));
    assert_eq!((bob_counts["posts"], bob_counts["replies"]), (0, 1));
});
