//! Daily token quotas (higher for premium users) and concurrent-stream limits, in the Cache
//! (in-process, and Redis when `REDIS_URL` is set).

use diesel::prelude::*;
use plaza_kernel::db_test;
use plaza_kernel::schema::users;
use plaza_kernel::testing::{test_redis_url, TestBackend};
use serde_json::{json, Value};

use crate::fakes::FakeOpenAi;
use crate::support::{ask, builder, complete};

/// `chat/send/` as `user` is refused with 429 `throttled` (the API's shape, not OpenAI's).
async fn assert_chat_send_throttled(
    app: &plaza_kernel::testing::TestApp,
    user: &plaza_kernel::testing::TestUser,
) {
    let res = app
        .post("/api/v1/ai/chat/send/")
        .bearer_auth(&user.access)
        .json(&json!({"message": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "throttled");
}

async fn quota_rules(backend: TestBackend, redis: bool) {
    let fake = FakeOpenAi::start().await;
    let mut app = builder(backend, &fake)
        .env("AI_DAILY_TOKEN_QUOTA", "30")
        .env("AI_PREMIUM_DAILY_TOKEN_QUOTA", "1000")
        .env("AI_MAX_CONCURRENT_STREAMS", "1");
    if redis {
        app = app.with_redis();
    }
    let app = app.build().await;
    let alice = app.create_user("alice").await;
    let carol = app.create_user("carol").await;
    let carol_id = carol.id;
    app.db()
        .run(move |conn| {
            Ok(diesel::update(users::table.find(carol_id))
                .set(users::is_premium.eq(true))
                .execute(conn)?)
        })
        .await
        .unwrap();

    // 18 tokens a call: the second call starts under 30 and ends over it; the third is refused.
    assert_eq!(
        complete(&app, &alice, &ask("echo", "1")).await.status(),
        200
    );
    assert_eq!(
        complete(&app, &alice, &ask("echo", "2")).await.status(),
        200
    );
    let upstream_calls = fake.bodies().len();
    let res = complete(&app, &alice, &ask("echo", "3")).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry), "until midnight UTC: {retry}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_exceeded");
    assert_eq!(
        fake.bodies().len(),
        upstream_calls,
        "refused before the upstream"
    );
    // The same quota on every AI path.
    assert_chat_send_throttled(&app, &alice).await;
    let res = app
        .post("/posts/chat/")
        .bearer_auth(&alice.access)
        .json(&json!({"message": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);

    // A premium user's quota is higher.
    for _ in 0..3 {
        assert_eq!(
            complete(&app, &carol, &ask("echo", "p")).await.status(),
            200
        );
    }

    // One stream at a time per user: a second is refused while the first is open.
    let mut body = ask("slow", "x");
    body["stream"] = json!(true);
    let first = complete(&app, &carol, &body).await;
    assert_eq!(first.status(), 200);
    let second = complete(&app, &carol, &body).await;
    assert_eq!(second.status(), 429);
    assert_eq!(
        second.json::<Value>().await.unwrap()["error"]["type"],
        "rate_limit_exceeded"
    );
    drop(first);
    // The slot comes back once the first stream is gone.
    let mut body = ask("echo", "after");
    body["stream"] = json!(true);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let res = complete(&app, &carol, &body).await;
        if res.status() == 200 {
            assert!(res.text().await.unwrap().ends_with("data: [DONE]\n\n"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the stream slot was never released"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

db_test!(async fn quotas_in_process(backend) {
    quota_rules(backend, false).await;
});

db_test!(async fn quotas_on_redis(backend) {
    if test_redis_url().is_none() {
        return;
    }
    quota_rules(backend, true).await;
});

db_test!(async fn calls_per_user_are_throttled_on_every_ai_path(backend) {
    let fake = FakeOpenAi::start().await;
    let app = builder(backend, &fake)
        .env("THROTTLE_AI_CALL", "2/m")
        .build()
        .await;
    let (alice, bob) = (app.create_user("alice").await, app.create_user("bob").await);
    for n in ["1", "2"] {
        assert_eq!(complete(&app, &alice, &ask("echo", n)).await.status(), 200);
    }
    let upstream_calls = fake.bodies().len();
    let res = complete(&app, &alice, &ask("echo", "3")).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["type"], "rate_limit_exceeded");
    assert_chat_send_throttled(&app, &alice).await;
    assert_eq!(fake.bodies().len(), upstream_calls, "refused before the upstream");
    // Counted per user: bob still has his.
    assert_eq!(complete(&app, &bob, &ask("echo", "b")).await.status(), 200);
});
