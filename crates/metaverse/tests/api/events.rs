//! Events: organised by a world's moderators, joined by those who may see the world.

use chrono::{Duration, Utc};
use plaza_kernel::db_test;
use serde_json::json;

use crate::support::{app, call, error_fields, grant, id, public_world, world};

db_test!(async fn moderators_organise_and_users_join(backend) {
    let app = app(backend).await;
    let owner = app.create_user("owner").await;
    let moderator = app.create_user("moderator").await;
    let builder = app.create_user("builder").await;
    let fan = app.create_user("fan").await;
    let w = public_world(&app, &owner, "Stage", 100).await;
    grant(&app, &owner, w, &moderator, "moderator").await;
    grant(&app, &owner, w, &builder, "builder").await;
    let start = Utc::now() + Duration::hours(3);
    let end = start + Duration::hours(1);
    let base = "/api/v1/metaverse/events/";

    // Everything wrong at once, then the time order, then the right to organise.
    let (status, body) = call(&app, "POST", base, Some(&moderator), Some(json!({"world_id": w, "title": "", "start_at": start, "end_at": end, "max_participants": 0}))).await;
    assert_eq!((status, error_fields(&body)), (400, vec!["max_participants".to_owned(), "title".to_owned()]));
    let (status, body) = call(&app, "POST", base, Some(&moderator), Some(json!({"world_id": w, "title": "T", "start_at": end, "end_at": start}))).await;
    assert_eq!((status, error_fields(&body)), (400, vec!["end_at".to_owned()]));
    // Times neither backend can store are the client's error, field by field (found by the
    // schema fuzzer: MySQL refused them with a 500).
    let (status, body) = call(&app, "POST", base, Some(&moderator), Some(json!({"world_id": w, "title": "T", "start_at": "1969-07-20T20:17:00Z", "end_at": "+10000-01-01T00:00:00Z"}))).await;
    assert_eq!((status, error_fields(&body)), (400, vec!["end_at".to_owned(), "start_at".to_owned()]));
    let (status, _) = call(&app, "POST", base, Some(&builder), Some(json!({"world_id": w, "title": "T", "start_at": start, "end_at": end}))).await;
    assert_eq!(status, 403, "a builder is not a moderator");
    let (status, body) = call(&app, "POST", base, Some(&moderator), Some(json!({"world_id": 424242, "title": "T", "start_at": start, "end_at": end}))).await;
    assert_eq!((status, error_fields(&body)), (400, vec!["world_id".to_owned()]));

    let (status, event) = call(&app, "POST", base, Some(&moderator), Some(json!({"world_id": w, "title": "Concert", "description": "loud", "start_at": start, "end_at": end, "max_participants": 2}))).await;
    assert_eq!(status, 201, "{event}");
    assert_eq!(event["organizer"]["username"], "moderator");
    assert_eq!(event["participant_count"], 0);
    let path = format!("{base}{}/", id(&event));
    assert_eq!(call(&app, "PATCH", &path, Some(&fan), Some(json!({"title": "Mine"}))).await.0, 403);
    let (status, patched) = call(&app, "PATCH", &path, Some(&owner), Some(json!({"title": "Big Concert"}))).await;
    assert_eq!((status, patched["title"].as_str()), (200, Some("Big Concert")));
    assert_eq!(call(&app, "PUT", &path, Some(&moderator), Some(json!({"world_id": w, "title": "Concert", "start_at": start, "end_at": end, "max_participants": 2}))).await.0, 200);

    // Join, join again (no change), leave, capacity.
    let join = format!("{path}join/");
    assert_eq!(call(&app, "POST", &join, None, None).await.0, 401);
    let (status, joined) = call(&app, "POST", &join, Some(&fan), None).await;
    assert_eq!((status, joined["participant_count"].as_i64()), (201, Some(1)));
    let (status, again) = call(&app, "POST", &join, Some(&fan), None).await;
    assert_eq!((status, again["participant_count"].as_i64()), (200, Some(1)));
    assert_eq!(call(&app, "POST", &join, Some(&builder), None).await.0, 201);
    let (status, body) = call(&app, "POST", &join, Some(&owner), None).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")));
    let (status, body) = call(&app, "PATCH", &path, Some(&owner), Some(json!({"max_participants": 1}))).await;
    assert_eq!((status, error_fields(&body)), (400, vec!["max_participants".to_owned()]));
    let (_, parts) = call(&app, "GET", &format!("{path}participants/"), None, None).await;
    let names: Vec<&str> = parts["results"].as_array().unwrap().iter().map(|p| p["user"]["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["fan", "builder"]);
    let (status, left) = call(&app, "POST", &format!("{path}leave/"), Some(&fan), None).await;
    assert_eq!((status, left["participant_count"].as_i64()), (200, Some(1)));
    assert_eq!(call(&app, "POST", &format!("{path}leave/"), Some(&fan), None).await.0, 404);
    assert_eq!(call(&app, "POST", &join, Some(&owner), None).await.0, 201, "a place freed up");

    // Lists: filters and ordering.
    let later = start + Duration::days(1);
    call(&app, "POST", base, Some(&owner), Some(json!({"world_id": w, "title": "Later", "start_at": later, "end_at": later + Duration::hours(1)}))).await;
    let (_, list) = call(&app, "GET", &format!("{base}?world={w}&upcoming=true"), None, None).await;
    let titles: Vec<&str> = list["results"].as_array().unwrap().iter().map(|e| e["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Concert", "Later"]);
    let (_, list) = call(&app, "GET", &format!("{base}?ordering=-start_at&search=lat"), None, None).await;
    assert_eq!(list["count"], 1);
    assert_eq!(call(&app, "GET", &format!("{base}?ordering=nope"), None, None).await.0, 400);

    assert_eq!(call(&app, "DELETE", &path, Some(&builder), None).await.0, 403);
    assert_eq!(call(&app, "DELETE", &path, Some(&moderator), None).await.0, 204);
    assert_eq!(call(&app, "GET", &path, None, None).await.0, 404);
});

db_test!(async fn events_of_private_worlds_are_hidden_and_past_events_closed(backend) {
    let app = app(backend).await;
    let owner = app.create_user("owner").await;
    let stranger = app.create_user("stranger").await;
    let private = id(&world(&app, &owner, json!({"name": "P", "visibility": "private"})).await);
    let start = Utc::now() + Duration::hours(1);
    let (_, event) = call(&app, "POST", "/api/v1/metaverse/events/", Some(&owner), Some(json!({"world_id": private, "title": "Secret", "start_at": start, "end_at": start + Duration::hours(1)}))).await;
    let path = format!("/api/v1/metaverse/events/{}/", id(&event));
    assert_eq!(call(&app, "GET", &path, Some(&stranger), None).await.0, 404);
    assert_eq!(call(&app, "POST", &format!("{path}join/"), Some(&stranger), None).await.0, 404);
    let (_, list) = call(&app, "GET", "/api/v1/metaverse/events/", Some(&stranger), None).await;
    assert_eq!(list["count"], 0);
    let (_, list) = call(&app, "GET", "/api/v1/metaverse/events/", Some(&owner), None).await;
    assert_eq!(list["count"], 1);

    let public = public_world(&app, &owner, "Pub", 10).await;
    let past = Utc::now() - Duration::hours(3);
    let (status, old) = call(&app, "POST", "/api/v1/metaverse/events/", Some(&owner), Some(json!({"world_id": public, "title": "Over", "start_at": past, "end_at": past + Duration::hours(1)}))).await;
    assert_eq!(status, 201);
    let (status, body) = call(&app, "POST", &format!("/api/v1/metaverse/events/{}/join/", id(&old)), Some(&stranger), None).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")));
});
