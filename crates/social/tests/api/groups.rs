//! Groups: membership, approval, roles, hand-over.

use plaza_kernel::db_test;
use reqwest::Method;
use serde_json::json;

use crate::support::{app, call, delete, get, notification_kinds, post, user_ids};

db_test!(async fn groups_membership_roles_and_hand_over(backend) {
    let app = app(backend).await;
    let (ann, bob, cat, dan) = (
        app.create_user("ann").await,
        app.create_user("bob").await,
        app.create_user("cat").await,
        app.create_user("dan").await,
    );
    let group = post(&app, "/groups/", &ann, json!({"name": "Climbers", "description": "up", "is_private": true}), 201).await;
    assert_eq!((group["my_role"].as_str(), group["member_count"].as_i64()), (Some("owner"), Some(1)));
    let gid = group["id"].as_i64().unwrap();
    let base = format!("/groups/{gid}");

    // Joining a private group asks; the owner is told and approves.
    let pending = post(&app, &format!("{base}/join/"), &bob, json!({}), 201).await;
    assert_eq!(pending["status"], "pending");
    post(&app, &format!("{base}/join/"), &bob, json!({}), 200).await;
    assert_eq!(notification_kinds(&app, &ann).await, vec!["group_join_request"]);
    let (status, _) = call(&app, Method::GET, &format!("{base}/members/"), &bob, None).await;
    assert_eq!(status, 404, "a pending member does not see a private group's members");
    assert_eq!(user_ids(&get(&app, &format!("{base}/members/?status=pending"), &ann).await), vec![bob.id]);
    let (status, _) = call(&app, Method::PATCH, &format!("{base}/members/{}/", bob.id), &cat, Some(json!({"status": "active"}))).await;
    assert_eq!(status, 403);
    let (status, body) = call(&app, Method::PATCH, &format!("{base}/members/{}/", bob.id), &ann, Some(json!({"status": "banned", "role": "king"}))).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["status"].is_array() && body["errors"]["role"].is_array(), "{body}");
    let (status, _) = call(&app, Method::PATCH, &format!("{base}/members/{}/", bob.id), &ann, Some(json!({"status": "active"}))).await;
    assert_eq!(status, 200);
    assert_eq!(get(&app, &format!("{base}/"), &bob).await["member_count"], 2);

    // The owner makes bob an admin; an admin approves and removes members but not roles.
    let (status, body) = call(&app, Method::PATCH, &format!("{base}/members/{}/", bob.id), &ann, Some(json!({"role": "admin"}))).await;
    assert_eq!((status, body["role"].as_str()), (200, Some("admin")));
    post(&app, &format!("{base}/join/"), &cat, json!({}), 201).await;
    let (status, _) = call(&app, Method::PATCH, &format!("{base}/members/{}/", cat.id), &bob, Some(json!({"status": "active"}))).await;
    assert_eq!(status, 200);
    let (status, _) = call(&app, Method::PATCH, &format!("{base}/members/{}/", cat.id), &bob, Some(json!({"role": "admin"}))).await;
    assert_eq!(status, 403);
    let (status, _) = call(&app, Method::PATCH, &format!("{base}/"), &cat, Some(json!({"name": "Mine now"}))).await;
    assert_eq!(status, 403);
    let (status, body) = call(&app, Method::PATCH, &format!("{base}/"), &bob, Some(json!({"name": "Climbers+"}))).await;
    assert_eq!((status, body["name"].as_str()), (200, Some("Climbers+")));
    delete(&app, &format!("{base}/members/{}/", ann.id), &bob, 400).await;
    delete(&app, &format!("{base}/members/{}/", cat.id), &bob, 204).await;
    assert_eq!(get(&app, &format!("{base}/"), &bob).await["member_count"], 2);
    delete(&app, &format!("{base}/members/{}/", dan.id), &bob, 404).await;

    // The owner cannot leave; they hand over, then may.
    post(&app, &format!("{base}/leave/"), &ann, json!({}), 400).await;
    let (status, _) = call(&app, Method::PATCH, &format!("{base}/members/{}/", bob.id), &ann, Some(json!({"role": "owner"}))).await;
    assert_eq!(status, 200);
    let detail = get(&app, &format!("{base}/"), &ann).await;
    assert_eq!((detail["owner"]["id"].as_i64(), detail["my_role"].as_str()), (Some(bob.id), Some("admin")));
    let (status, _) = call(&app, Method::POST, &format!("{base}/leave/"), &ann, None).await;
    assert_eq!(status, 204);
    post(&app, &format!("{base}/leave/"), &ann, json!({}), 404).await;
    assert_eq!(get(&app, &format!("{base}/"), &bob).await["member_count"], 1);

    // Lists, search, mine; only the owner deletes.
    let open = post(&app, "/groups/", &dan, json!({"name": "Open knitting"}), 201).await;
    let oid = open["id"].as_i64().unwrap();
    post(&app, &format!("/groups/{oid}/join/"), &cat, json!({}), 201).await;
    assert_eq!(get(&app, &format!("/groups/{oid}/members/"), &ann).await["count"], 2);
    assert_eq!(get(&app, "/groups/?search=knit", &ann).await["count"], 1);
    assert_eq!(get(&app, "/groups/?mine=true", &cat).await["count"], 1);
    assert_eq!(get(&app, "/groups/", &cat).await["count"], 2);
    delete(&app, &format!("/groups/{oid}/"), &cat, 403).await;
    delete(&app, &format!("/groups/{oid}/"), &dan, 204).await;
    let (status, _) = call(&app, Method::GET, &format!("/groups/{oid}/"), &dan, None).await;
    assert_eq!(status, 404);
});
