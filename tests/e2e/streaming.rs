//! Live video against the real binary: the WebSocket protocol with two and ten peers, every
//! error case, the creator leaving, statistics through REST, a slow consumer next to a fast
//! one, and two `plaza serve` processes on one MySQL database and one Redis.

use std::time::Duration;

use plaza_e2e::{register, Account, MysqlDb, Plaza};
use plaza_kernel::testing::{WsClient, WsEvent};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const SECRET: &str = "e2e-streaming-secret-0123456789abcdefghijklmnop";

/// A one-time WebSocket ticket, as browsers get one.
async fn ticket(plaza: &Plaza, account: &Account) -> String {
    let res = plaza
        .client
        .post(plaza.url("/api/v1/auth/ws-ticket/"))
        .bearer_auth(&account.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["ticket"].as_str().unwrap().to_owned()
}

struct Peer {
    ws: WsClient,
    id: String,
}

impl Peer {
    async fn connect(plaza: &Plaza, account: &Account) -> Self {
        Self::connect_url(&plaza.ws_url(&format!("/ws/webrtc/?token={}", account.token))).await
    }

    async fn connect_url(url: &str) -> Self {
        let mut ws = WsClient::connect(url).await.expect("upgrade accepted");
        let hello = ws.expect("connection_established").await;
        Self {
            id: hello["peer_id"].as_str().unwrap().to_owned(),
            ws,
        }
    }

    async fn send(&mut self, value: Value) {
        self.ws.send_json(&value).await;
    }

    async fn expect(&mut self, kind: &str) -> Value {
        self.ws.expect(kind).await
    }

    async fn create(&mut self, title: &str) -> String {
        self.send(json!({"type": "create_stream", "title": title, "description": "e2e"}))
            .await;
        let created = self.expect("stream_created").await;
        assert_eq!(created["message"], "视频流创建成功");
        created["stream_id"].as_str().unwrap().to_owned()
    }

    async fn join(&mut self, stream: &str) -> Value {
        self.send(json!({"type": "join_stream", "stream_id": stream}))
            .await;
        let joined = self.expect("stream_joined").await;
        assert_eq!(joined["message"], "成功加入视频流");
        joined
    }

    async fn roundtrip(&mut self) {
        self.send(json!({"type": "ping"})).await;
        self.expect("pong").await;
    }
}

async fn get_json(plaza: &Plaza, path: &str) -> Value {
    plaza
        .client
        .get(plaza.url(path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn frame(data: &str, kind: &str, timestamp: u64) -> Value {
    json!({"type": "video_frame", "frame_data": data, "frame_type": kind, "timestamp": timestamp})
}

#[tokio::test]
async fn two_then_ten_peers_through_the_whole_protocol() {
    let plaza = Plaza::builder()
        .env("SECRET_KEY", SECRET)
        .env("STREAM_MAX_MESSAGE_BYTES", "8192")
        .start()
        .await;
    let mut accounts = Vec::new();
    for i in 0..10 {
        accounts.push(register(&plaza, &format!("peer{i}")).await);
    }

    // No credentials: no upgrade.
    assert_eq!(
        WsClient::connect(&plaza.ws_url("/ws/webrtc/")).await.err(),
        Some(401)
    );

    // Two peers; the creator connects as a browser does, with a one-time ticket.
    let ticket = ticket(&plaza, &accounts[0]).await;
    let url = plaza.ws_url(&format!("/ws/webrtc/?ticket={ticket}"));
    let mut creator = Peer::connect_url(&url).await;
    assert_eq!(
        WsClient::connect(&url).await.err(),
        Some(401),
        "a ticket works once"
    );
    let mut viewer = Peer::connect(&plaza, &accounts[1]).await;
    let stream = creator.create("two peers").await;
    let joined = viewer.join(&stream).await;
    assert_eq!(joined["peers"][0]["peer_id"], creator.id);
    assert_eq!(joined["peers"][0]["user"]["id"], accounts[0].id);
    assert_eq!(creator.expect("peer_joined").await["peer_id"], viewer.id);
    viewer
        .send(json!({"type": "offer", "offer": {"type": "offer", "sdp": "v=0"}}))
        .await;
    let offer = creator.expect("offer").await;
    assert_eq!(offer["peer_id"], viewer.id);
    assert_eq!(offer["offer"]["sdp"], "v=0");
    creator
        .send(json!({"type": "answer", "answer": {"type": "answer", "sdp": "v=0"}, "target_peer": viewer.id}))
        .await;
    assert_eq!(viewer.expect("answer").await["peer_id"], creator.id);
    creator
        .send(json!({"type": "ice_candidate", "candidate": {"candidate": "c", "sdpMLineIndex": 0, "sdpMid": "0"}, "target_peer": "broadcast"}))
        .await;
    assert_eq!(
        viewer.expect("ice_candidate").await["candidate"]["sdpMid"],
        "0"
    );
    creator.send(frame("a2V5", "keyframe", 1)).await;
    let got = viewer.expect("video_frame").await;
    assert_eq!(
        (got["frame_data"].as_str(), got["peer_id"].as_str()),
        (Some("a2V5"), Some(creator.id.as_str()))
    );
    creator.ws.send_binary(vec![1, 2, 3]).await;
    assert_eq!(viewer.ws.recv_binary().await, vec![1, 2, 3]);
    creator.roundtrip().await;
    viewer.roundtrip().await;

    // Every error, each followed by a message that works.
    let errors = [
        ("invalid_json", "{oops".to_owned()),
        ("unknown_type", json!({"type": "fly"}).to_string()),
        ("missing_field", json!({"type": "join_stream"}).to_string()),
        ("stream_not_found", json!({"type": "join_stream", "stream_id": "00000000-0000-4000-8000-000000000000"}).to_string()),
        ("peer_not_found", json!({"type": "answer", "answer": {}, "target_peer": "00000000-0000-4000-8000-000000000000"}).to_string()),
        ("message_too_large", frame(&"Q".repeat(9000), "deltaframe", 2).to_string()),
    ];
    for (code, text) in errors {
        viewer.ws.send_text(text).await;
        viewer.ws.expect_error(code).await;
        viewer.roundtrip().await;
    }
    let mut outsider = Peer::connect(&plaza, &accounts[9]).await;
    outsider.send(frame("QQ==", "deltaframe", 3)).await;
    outsider.ws.expect_error("not_in_stream").await;
    outsider.roundtrip().await;
    drop(outsider);

    // Ten peers: eight more join; broadcast and targeted routing carry the sender's id.
    let mut peers = vec![creator, viewer];
    for account in &accounts[2..10] {
        let mut peer = Peer::connect(&plaza, account).await;
        let joined = peer.join(&stream).await;
        assert_eq!(joined["peers"].as_array().unwrap().len(), peers.len());
        for earlier in &mut peers {
            assert_eq!(earlier.expect("peer_joined").await["peer_id"], peer.id);
        }
        peers.push(peer);
    }
    for round in 0..3 {
        peers[0].send(frame("ZGVsdGE=", "deltaframe", round)).await;
        let sender = peers[0].id.clone();
        for viewer in &mut peers[1..] {
            assert_eq!(viewer.expect("video_frame").await["peer_id"], sender);
        }
    }
    let target = peers[9].id.clone();
    let sender = peers[4].id.clone();
    peers[4]
        .send(json!({"type": "ice_candidate", "candidate": {"candidate": "x"}, "target_peer": target}))
        .await;
    assert_eq!(peers[9].expect("ice_candidate").await["peer_id"], sender);
    for peer in &mut peers {
        peer.roundtrip().await;
    }

    // The creator leaves: the stream ends for all nine viewers.
    peers[0].send(json!({"type": "leave_stream"})).await;
    for peer in &mut peers {
        assert_eq!(peer.expect("stream_ended").await["stream_id"], stream);
    }
    let detail = get_json(&plaza, &format!("/api/v1/streams/{stream}/")).await;
    assert_eq!(detail["status"], "ended");
    assert_eq!(detail["end_reason"], "creator_left");
    assert_eq!(detail["peak_peers"], 10);
    assert_eq!(detail["statistics"]["frames"], 5);
    assert_eq!(detail["statistics"]["total_connections"], 10);
    let list = get_json(&plaza, "/api/v1/streams/?status=ended").await;
    assert_eq!(list["count"], 1);

    let metrics = plaza
        .client
        .get(plaza.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"plaza_ws_messages_relayed_total{endpoint="webrtc"}"#),
        "{metrics}"
    );

    // Stopping the server tells WebSocket clients to go at once (they reconnect elsewhere)
    // instead of holding the shutdown.
    let mut plaza = plaza;
    let mut live = Peer::connect(&plaza, &accounts[0]).await;
    let live_stream = live.create("at shutdown").await;
    let status = plaza.stop();
    assert!(status.success(), "{status}");
    let (code, reason) = live.ws.expect_closed().await.expect("a close frame");
    assert_eq!((code, reason.as_str()), (1001, "server shutting down"));
    assert!(plaza.logs().contains("closing WebSockets for shutdown"));
    drop(live_stream);
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[tokio::test]
async fn a_slow_viewer_loses_delta_frames_and_is_closed_while_a_fast_one_gets_all() {
    let plaza = Plaza::builder()
        .env("SECRET_KEY", SECRET)
        .env("STREAM_OUTBOUND_QUEUE", "32")
        // Long enough for many times the queue's 1 MiB to pass while the slow viewer stalls
        // (with a 256 KiB socket send buffer, its queue fills almost at once).
        .env("STREAM_SLOW_CONSUMER_TIMEOUT", "3s")
        .start()
        .await;
    let (a, b, c) = (
        register(&plaza, "creator").await,
        register(&plaza, "fast").await,
        register(&plaza, "slow").await,
    );
    let mut creator = Peer::connect(&plaza, &a).await;
    let stream = creator.create("slow consumer").await;
    let mut fast = Peer::connect(&plaza, &b).await;
    fast.join(&stream).await;
    creator.expect("peer_joined").await;
    let mut slow = Peer::connect(&plaza, &c).await;
    slow.join(&stream).await;
    let slow_id = slow.id.clone();
    creator.expect("peer_joined").await;
    fast.expect("peer_joined").await;

    // The fast viewer reads everything and reports each frame, and the slow viewer's departure.
    let (tx, mut rx) = mpsc::unbounded_channel::<Option<u64>>();
    let mut fast_ws = fast.ws;
    let reader = tokio::spawn(async move {
        loop {
            match fast_ws.recv().await {
                WsEvent::Json(v) if v["type"] == "video_frame" => {
                    let _ = tx.send(v["timestamp"].as_u64());
                }
                WsEvent::Json(v) if v["type"] == "peer_left" && v["peer_id"] == slow_id => {
                    let _ = tx.send(None);
                }
                WsEvent::Closed(_) => return,
                _ => {}
            }
        }
    });

    // 32 KiB delta frames (a key frame every 50), paced by the fast viewer, until the slow
    // viewer — which reads nothing — is closed.
    let payload = "D".repeat(32 * 1024);
    let baseline = rss_kib(plaza.pid());
    let mut peak = baseline;
    let mut sent = 0u64;
    let mut slow_closed = false;
    while !slow_closed {
        assert!(sent < 20_000, "the slow viewer was never closed");
        let kind = if sent % 50 == 0 {
            "keyframe"
        } else {
            "deltaframe"
        };
        creator.send(frame(&payload, kind, sent)).await;
        loop {
            match rx.recv().await.expect("the fast viewer reads") {
                Some(ts) => {
                    assert_eq!(ts, sent, "the fast viewer gets every frame, in order");
                    break;
                }
                None => slow_closed = true,
            }
        }
        sent += 1;
        if sent % 25 == 0 {
            peak = peak.max(rss_kib(plaza.pid()));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // A few more frames: the fast viewer still gets them.
    for _ in 0..10 {
        creator.send(frame(&payload, "deltaframe", sent)).await;
        assert_eq!(rx.recv().await.unwrap(), Some(sent));
        sent += 1;
    }
    let sent_bytes = sent * payload.len() as u64;
    let grown_kib = peak.saturating_sub(baseline);
    eprintln!("slow consumer: {sent} frames ({sent_bytes} bytes) sent; RSS {baseline} KiB → peak {peak} KiB");
    // Buffering the slow viewer's frames would grow the server by at least what was sent; a
    // loaded machine grows its allocator arenas by a few MB on its own (seen: 7 MB of 20).
    assert!(
        sent_bytes > 2 * grown_kib * 1024,
        "the server grew by {grown_kib} KiB while {sent_bytes} bytes were sent"
    );
    assert!(grown_kib < 48 * 1024, "the server grew by {grown_kib} KiB");

    // The slow viewer, reading at last, finds fewer frames than were sent, then the close.
    let mut received = 0u64;
    let close = loop {
        match slow.ws.recv().await {
            WsEvent::Json(v) if v["type"] == "video_frame" => received += 1,
            WsEvent::Closed(frame) => break frame,
            _ => {}
        }
    };
    assert!(received < sent, "{received} of {sent}");
    eprintln!("slow consumer: received {received} of {sent} frames, then {close:?}");
    if let Some((code, reason)) = close {
        assert_eq!(code, 1008, "{reason}");
    }

    // The drops are in the stream's statistics.
    let detail = get_json(&plaza, &format!("/api/v1/streams/{stream}/")).await;
    assert_eq!(detail["statistics"]["frames"], sent);
    let dropped = detail["statistics"]["frames_dropped"].as_u64().unwrap();
    assert!(dropped > 0 && dropped <= sent, "{detail}");
    assert_eq!(detail["current_peers"], 2, "the slow viewer left");
    let metrics = plaza
        .client
        .get(plaza.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains(r#"plaza_ws_messages_dropped_total{endpoint="webrtc"}"#));
    drop(creator);
    reader.abort();
    let _ = reader.await;
}

#[tokio::test]
async fn two_processes_share_streams_through_mysql_and_redis() {
    let Some(mysql) = MysqlDb::new() else { return };
    let Some(redis) = plaza_e2e::redis_url() else {
        return;
    };
    let prefix = format!("plaza-e2e-{}:", uuid::Uuid::new_v4().simple());
    let env = [
        ("SECRET_KEY", SECRET),
        ("DATABASE_URL", mysql.url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    let start = |env: [(&'static str, &str); 4]| {
        let mut builder = Plaza::builder();
        for (key, value) in env {
            builder = builder.env(key, value);
        }
        builder.start()
    };
    let first = start(env).await;
    let second = start(env).await;
    // Registered on the first process, authenticated on both (one database, one secret).
    let alice = register(&first, "alice").await;
    let bob = register(&second, "bob").await;

    let mut creator = Peer::connect(&first, &alice).await;
    let stream = creator.create("across processes").await;
    let mut viewer = Peer::connect(&second, &bob).await;
    let joined = viewer.join(&stream).await;
    assert_eq!(joined["peers"][0]["peer_id"], creator.id);
    assert_eq!(creator.expect("peer_joined").await["peer_id"], viewer.id);

    viewer
        .send(json!({"type": "offer", "offer": {"type": "offer", "sdp": "from second"}}))
        .await;
    let offer = creator.expect("offer").await;
    assert_eq!(
        (offer["offer"]["sdp"].as_str(), offer["peer_id"].as_str()),
        (Some("from second"), Some(viewer.id.as_str()))
    );
    creator
        .send(json!({"type": "answer", "answer": {"type": "answer", "sdp": "from first"}, "target_peer": viewer.id}))
        .await;
    assert_eq!(viewer.expect("answer").await["answer"]["sdp"], "from first");
    creator
        .send(json!({"type": "ice_candidate", "candidate": {"candidate": "c1"}, "target_peer": viewer.id}))
        .await;
    assert_eq!(viewer.expect("ice_candidate").await["peer_id"], creator.id);
    viewer
        .send(json!({"type": "ice_candidate", "candidate": {"candidate": "c2"}, "target_peer": "broadcast"}))
        .await;
    assert_eq!(
        creator.expect("ice_candidate").await["candidate"]["candidate"],
        "c2"
    );
    for i in 0..20 {
        creator.send(frame("RlJBTUU=", "deltaframe", i)).await;
    }
    for i in 0..20 {
        assert_eq!(viewer.expect("video_frame").await["timestamp"], i);
    }
    creator.ws.send_binary(vec![4, 2]).await;
    assert_eq!(viewer.ws.recv_binary().await, vec![4, 2]);
    creator.roundtrip().await;
    viewer.roundtrip().await;

    // Both processes see the same stream; the creator leaving ends it on the other.
    let on_second = get_json(&second, &format!("/api/v1/streams/{stream}/")).await;
    assert_eq!(on_second["current_peers"], 2);
    assert_eq!(on_second["peers"].as_array().unwrap().len(), 2);
    creator.send(json!({"type": "leave_stream"})).await;
    assert_eq!(viewer.expect("stream_ended").await["stream_id"], stream);
    let detail = get_json(&second, &format!("/api/v1/streams/{stream}/")).await;
    assert_eq!(detail["status"], "ended");
    assert_eq!(detail["statistics"]["frames"], 21);
}
