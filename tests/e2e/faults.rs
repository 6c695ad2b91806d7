//! Dependencies going away under a running server: the database cut by a proxy under load,
//! and Redis cut and restored (HTTP, and WebSocket peers on one instance).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plaza_e2e::proxy::TcpProxy;
use plaza_e2e::{post_as, MysqlDb, Plaza};
use plaza_kernel::testing::WsClient;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Registers a user through the canonical API; returns its access token.
async fn register(plaza: &Plaza, client: &reqwest::Client, username: &str) -> String {
    let password = "Outage-Passw0rd!";
    let res = client
        .post(plaza.url("/api/v1/auth/register/"))
        .json(&json!({"username": username, "email": format!("{username}@example.com"), "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    body["access"].as_str().unwrap().to_owned()
}

async fn create_post(
    plaza: &Plaza,
    client: &reqwest::Client,
    token: &str,
    title: &str,
) -> reqwest::Result<(StatusCode, Value)> {
    let res = client
        .post(plaza.url("/api/v1/posts/"))
        .bearer_auth(token)
        .json(&json!({"title": title, "content": "written while the database may be away"}))
        .send()
        .await?;
    let status = res.status();
    Ok((status, res.json().await.unwrap_or(Value::Null)))
}

/// What one load task saw.
#[derive(Default)]
struct Seen {
    statuses: Vec<StatusCode>,
    /// Posts whose creation was answered 201: they must survive.
    acknowledged: Vec<i64>,
    /// Requests that got no answer within the client's timeout.
    unanswered: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_cut_answers_503_and_service_returns_when_it_does() {
    let Some(mysql) = MysqlDb::new() else { return };
    let proxy = TcpProxy::start(&mysql.server_addr()).await;
    let plaza = Plaza::builder()
        .env("DATABASE_URL", &mysql.url_via(proxy.port()))
        .start()
        .await;
    // No request may hang: the pool timeout (5 s by default) bounds every one, so a client
    // that waits twice as long and gets nothing has found a hang.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let token = register(&plaza, &client, "outage").await;
    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let (status, body) = create_post(&plaza, &client, &token, &format!("before {i}"))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        acknowledged.push(body["id"].as_i64().unwrap());
    }

    // Load: reads and writes from four clients, all through the cut and the recovery.
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for worker in 0..4 {
        let (client, token, stop) = (client.clone(), token.clone(), stop.clone());
        let base = plaza.base.clone();
        load.push(tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let res = if n % 2 == 0 {
                    client
                        .post(format!("{base}/api/v1/posts/"))
                        .bearer_auth(&token)
                        .json(&json!({"title": format!("load {worker}-{n}"), "content": "x"}))
                        .send()
                        .await
                } else {
                    client
                        .get(format!("{base}/api/v1/users/me/"))
                        .bearer_auth(&token)
                        .send()
                        .await
                };
                match res {
                    Ok(res) => {
                        let status = res.status();
                        let body: Value = res.json().await.unwrap_or(Value::Null);
                        if status == StatusCode::CREATED {
                            seen.acknowledged.push(body["id"].as_i64().unwrap());
                        }
                        seen.statuses.push(status);
                    }
                    Err(_) => seen.unanswered += 1,
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The cut: every open connection closes, new ones are refused.
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..3 {
        let (status, body) = create_post(&plaza, &client, &token, "during the cut")
            .await
            .unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["code"], "unavailable");
    }
    let (status, health) = plaza_e2e::health(&plaza, &client).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health["status"], "down", "{health}");
    assert_eq!(health["checks"]["database"]["ok"], false);
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The database comes back: service returns within 5 s, with no restart.
    proxy.restore();
    let restored = Instant::now();
    loop {
        let (status, body) = create_post(&plaza, &client, &token, "after the cut")
            .await
            .unwrap();
        if status == StatusCode::CREATED {
            acknowledged.push(body["id"].as_i64().unwrap());
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(
            restored.elapsed() < Duration::from_secs(5),
            "still {status} 5 s after the database came back: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, health) = plaza_e2e::health(&plaza, &client).await;
    assert_eq!(health["status"], "ok", "{health}");
    tokio::time::sleep(Duration::from_millis(300)).await;

    stop.store(true, Ordering::SeqCst);
    let mut statuses = Vec::new();
    for task in load {
        let seen = task.await.unwrap();
        assert_eq!(seen.unanswered, 0, "a request hung past the pool timeout");
        statuses.extend(seen.statuses);
        acknowledged.extend(seen.acknowledged);
    }
    // Every answer was a success or 503 (never 500), and both were seen.
    for status in &statuses {
        assert!(
            [
                StatusCode::OK,
                StatusCode::CREATED,
                StatusCode::SERVICE_UNAVAILABLE
            ]
            .contains(status),
            "unexpected {status}: {statuses:?}"
        );
    }
    assert!(statuses.contains(&StatusCode::SERVICE_UNAVAILABLE));
    // No write that was acknowledged is lost.
    for id in acknowledged {
        let res = client
            .get(plaza.url(&format!("/api/v1/posts/{id}/")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "post {id} was acknowledged");
    }
    let logs = plaza.logs();
    assert!(!logs.contains("panicked"), "{logs}");
}

/// `host:port` of a `redis://host:port/db` URL.
fn redis_addr(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let host = rest.rsplit('@').next().unwrap_or(rest);
    host.split('/').next().unwrap_or(host).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_degrades_and_recovers_by_itself() {
    let Some(redis) = plaza_e2e::redis_url() else {
        return;
    };
    let proxy = TcpProxy::start(&redis_addr(&redis)).await;
    let via_proxy = format!("redis://127.0.0.1:{}/0", proxy.port());
    let plaza = Plaza::builder()
        .env("REDIS_URL", &via_proxy)
        .env(
            "REDIS_KEY_PREFIX",
            &format!("plaza-e2e-fault-{}:", std::process::id()),
        )
        .start()
        .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let token = register(&plaza, &client, "cached").await;
    let (status, post) = create_post(&plaza, &client, &token, "before")
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let login = || {
        client
            .post(plaza.url("/api/v1/auth/login/"))
            .json(&json!({"username": "cached", "password": "Outage-Passw0rd!"}))
            .send()
    };
    assert_eq!(login().await.unwrap().status(), StatusCode::OK);

    proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Anonymous reads go on from the database.
    for path in ["/api/v1/posts/", &format!("/api/v1/posts/{}/", post["id"])] {
        let res = client.get(plaza.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    // Logins need the lockout counters: a clear 503, not a 500 and not a hang.
    let res = login().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "unavailable");
    // Health says what is away, and stays 200: the database is up.
    let (status, health) = plaza_e2e::health(&plaza, &client).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["checks"]["cache"]["ok"], false, "{health}");

    // Redis comes back: logins work again within 5 s, with no restart.
    proxy.restore();
    let restored = Instant::now();
    loop {
        let status = login().await.unwrap().status();
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            restored.elapsed() < Duration::from_secs(5),
            "logins still {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, health) = plaza_e2e::health(&plaza, &client).await;
    assert_eq!(health["status"], "ok", "{health}");
    assert!(!plaza.logs().contains("panicked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_request_finish_and_then_exits_cleanly() {
    let mut plaza = Plaza::builder().start().await;
    let client = reqwest::Client::new();
    let token = register(&plaza, &client, "inflight").await;

    // An upload whose body arrives in two parts, the second only after SIGTERM.
    let boundary = "plaza-inflight-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\nfirst half, "
    );
    let tail = format!("second half\r\n--{boundary}--\r\n");
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let body = futures_util::stream::unfold(Some((head, tail, released)), |state| async move {
        let (head, tail, released) = state?;
        if !head.is_empty() {
            return Some((
                Ok::<_, std::io::Error>(head.into_bytes()),
                Some((String::new(), tail, released)),
            ));
        }
        released.await.ok()?;
        Some((Ok(tail.into_bytes()), None))
    });
    let upload = tokio::spawn({
        let (client, url, token) = (
            client.clone(),
            plaza.url("/api/v1/core/attachments/"),
            token.clone(),
        );
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(reqwest::Body::wrap_stream(body))
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = plaza.pid();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The server no longer takes new work…
    let refused = reqwest::Client::new()
        .get(plaza.url("/health"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err(), "a new request was served during shutdown");
    // …but the request it was reading completes.
    release.send(()).unwrap();
    let res = upload
        .await
        .unwrap()
        .expect("the in-flight upload got an answer");
    assert_eq!(res.status(), StatusCode::CREATED);
    let stored: Value = res.json().await.unwrap();
    assert_eq!(stored["size"], "first half, second half".len(), "{stored}");
    assert!(plaza.stop().success(), "{}", plaza.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_peers_on_one_instance_keep_talking_while_redis_is_away() {
    let Some(redis) = plaza_e2e::redis_url() else {
        return;
    };
    let proxy = TcpProxy::start(&redis_addr(&redis)).await;
    let plaza = Plaza::builder()
        .env(
            "REDIS_URL",
            &format!("redis://127.0.0.1:{}/0", proxy.port()),
        )
        .env(
            "REDIS_KEY_PREFIX",
            &format!("plaza-e2e-ws-fault-{}:", std::process::id()),
        )
        .start()
        .await;
    let alice = plaza_e2e::register(&plaza, "alice").await;
    let bob = plaza_e2e::register(&plaza, "bob").await;
    let (status, world) = post_as(
        &plaza,
        &alice,
        "/api/v1/metaverse/worlds/",
        json!({"name": "Square"}),
    )
    .await;
    assert_eq!(status, 201, "{world}");
    let enter = format!("/api/v1/metaverse/worlds/{}/enter/", world["id"]);
    assert_eq!(post_as(&plaza, &alice, &enter, json!({})).await.0, 201);
    assert_eq!(post_as(&plaza, &bob, &enter, json!({})).await.0, 201);
    let socket = |who: &plaza_e2e::Account| {
        plaza.ws_url(&format!(
            "/ws/metaverse/worlds/{}/?token={}",
            world["id"], who.token
        ))
    };
    let mut a = WsClient::connect(&socket(&alice)).await.unwrap();
    a.expect("presence").await;
    let mut b = WsClient::connect(&socket(&bob)).await.unwrap();
    b.expect("presence").await;
    a.expect("user_joined").await;

    // Redis goes away: the two sockets on this instance still hear each other, at once.
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 0..3 {
        a.send_json(&json!({"type": "chat", "text": format!("still here {n}")}))
            .await;
        assert_eq!(b.expect("chat").await["text"], format!("still here {n}"));
    }
    b.send_json(&json!({"type": "chat", "text": "me too"}))
        .await;
    assert_eq!(a.expect("chat").await["text"], "me too");

    // Redis comes back; the sockets go on, and nothing arrives twice.
    proxy.restore();
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.send_json(&json!({"type": "chat", "text": "after"})).await;
    assert_eq!(b.expect("chat").await["text"], "after");
    b.send_json(&json!({"type": "chat", "text": "done"})).await;
    assert_eq!(a.expect("chat").await["text"], "done");
    assert!(!plaza.logs().contains("panicked"));
}
