//! `/api/v1/metaverse/`: handlers, thin over the rule modules ([`crate::worlds`],
//! [`crate::sessions`], [`crate::avatars`], [`crate::objects`], [`crate::events`]).

use actix_web::{web, HttpResponse};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::PageParams;
use plaza_kernel::{
    ApiResult, Body, Bus, Caller, Db, MaybeCaller, Page, PageRequest, Realtime, ValidJson,
    ValidQuery,
};

use crate::types::{
    AvatarOut, AvatarPatch, AvatarWrite, EnterWrite, EventOut, EventPatch, EventQuery, EventWrite,
    InstanceOut, InstancePatch, InstanceWrite, ObjectOut, ObjectPatch, ObjectQuery, ObjectWrite,
    ParticipantOut, PermissionOut, PermissionWrite, SessionOut, WorldOut, WorldPatch, WorldQuery,
    WorldWrite,
};
use crate::{avatars, events, objects, presence, sessions, worlds};

fn created_or_ok<T: serde::Serialize>(created: bool, body: &T) -> HttpResponse {
    if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}

// ---- worlds ----

/// Lists the worlds the caller may see, with their current user counts.
#[utoipa::path(get, path = "/api/v1/metaverse/worlds/", tag = "metaverse",
    params(PageParams, WorldQuery),
    responses(
        (status = 200, description = "A page of worlds", body = Page<WorldOut>),
        (status = 400, description = "Invalid filter or ordering", body = ErrorBody),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 404, description = "Page past the end", body = ErrorBody),
    ))]
pub async fn list_worlds(
    db: web::Data<Db>,
    caller: MaybeCaller,
    page: PageRequest,
    query: ValidQuery<WorldQuery>,
) -> ApiResult<HttpResponse> {
    let (caller, query) = (caller.0, query.into_inner());
    let page = db
        .run(move |conn| worlds::list(conn, caller.as_ref(), &query, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a world owned by the caller.
#[utoipa::path(post, path = "/api/v1/metaverse/worlds/", tag = "metaverse", request_body = WorldWrite,
    responses(
        (status = 201, description = "Created", body = WorldOut),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn create_world(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<WorldWrite>,
) -> ApiResult<HttpResponse> {
    let world = worlds::requests::create(&db, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(world))
}

/// A world.
#[utoipa::path(get, path = "/api/v1/metaverse/worlds/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "World id")),
    responses(
        (status = 200, description = "The world", body = WorldOut),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 404, description = "No such world, or private", body = ErrorBody),
    ))]
pub async fn get_world(
    db: web::Data<Db>,
    caller: MaybeCaller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let (caller, id) = (caller.0, id.into_inner());
    let world = db
        .run(move |conn| worlds::get(conn, id, caller.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(world))
}

/// Replaces a world's fields (owner, world admins, staff).
#[utoipa::path(put, path = "/api/v1/metaverse/worlds/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "World id")), request_body = WorldWrite,
    responses(
        (status = 200, description = "The world", body = WorldOut),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not an admin of the world", body = ErrorBody),
        (status = 404, description = "No such world", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn replace_world(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<WorldWrite>,
) -> ApiResult<HttpResponse> {
    let world =
        worlds::requests::update(&db, caller, id.into_inner(), body.map(Into::into)).await?;
    Ok(HttpResponse::Ok().json(world))
}

/// Changes some of a world's fields (owner, world admins, staff).
#[utoipa::path(patch, path = "/api/v1/metaverse/worlds/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "World id")), request_body = WorldPatch,
    responses(
        (status = 200, description = "The world", body = WorldOut),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not an admin of the world", body = ErrorBody),
        (status = 404, description = "No such world", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn update_world(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<WorldPatch>,
) -> ApiResult<HttpResponse> {
    let world = worlds::requests::update(&db, caller, id.into_inner(), body).await?;
    Ok(HttpResponse::Ok().json(world))
}

/// Deletes a world with everything in it (owner or staff).
#[utoipa::path(delete, path = "/api/v1/metaverse/worlds/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "World id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not the owner", body = ErrorBody),
        (status = 404, description = "No such world", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn delete_world(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    worlds::requests::delete(&db, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- sessions ----

/// Enters a world: 201 with a new session, 200 with the open one when already inside.
#[utoipa::path(post, path = "/api/v1/metaverse/worlds/{id}/enter/", tag = "metaverse",
    params(("id" = i64, Path, description = "World id")), request_body = EnterWrite,
    responses(
        (status = 201, description = "Entered", body = SessionOut),
        (status = 200, description = "Already inside: the open session", body = SessionOut),
        (status = 400, description = "Not one of the caller's avatars", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Private or invite-only world without permission", body = ErrorBody),
        (status = 404, description = "No such world", body = ErrorBody),
        (status = 409, description = "The world is full", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn enter_world(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<EnterWrite>,
) -> ApiResult<HttpResponse> {
    let entered = sessions::requests::enter(&db, caller, id.into_inner(), body).await?;
    Ok(created_or_ok(entered.created, &entered.session))
}

/// Leaves a world; others connected to its presence socket receive `user_left`.
#[utoipa::path(post, path = "/api/v1/metaverse/worlds/{id}/leave/", tag = "metaverse",
    params(("id" = i64, Path, description = "World id")),
    responses(
        (status = 204, description = "Left"),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 404, description = "No such world, or not inside", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn leave_world(
    db: web::Data<Db>,
    realtime: web::Data<Realtime>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let session = sessions::requests::leave(&db, caller, id.into_inner()).await?;
    presence::session_closed(&realtime, &session).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Who is in a world now.
#[utoipa::path(get, path = "/api/v1/metaverse/worlds/{id}/sessions/", tag = "metaverse",
    params(("id" = i64, Path, description = "World id"), PageParams),
    responses(
        (status = 200, description = "Open sessions, first come first", body = Page<SessionOut>),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 404, description = "No such world, or page past the end", body = ErrorBody),
    ))]
pub async fn list_sessions(
    db: web::Data<Db>,
    caller: MaybeCaller,
    id: web::Path<i64>,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let (caller, id) = (caller.0, id.into_inner());
    let page = db
        .run(move |conn| sessions::list(conn, caller.as_ref(), id, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

// ---- permissions ----

/// The permissions held in a world (its moderators and up).
#[utoipa::path(get, path = "/api/v1/metaverse/worlds/{id}/permissions/", tag = "metaverse",
    params(("id" = i64, Path, description = "World id"), PageParams),
    responses(
        (status = 200, description = "A page of permissions", body = Page<PermissionOut>),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not a moderator of the world", body = ErrorBody),
        (status = 404, description = "No such world", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn list_permissions(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let page = db
        .run(move |conn| worlds::list_permissions(conn, &caller, id, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Grants or changes a permission (world admins; `admin` only by the owner).
#[utoipa::path(post, path = "/api/v1/metaverse/worlds/{id}/permissions/", tag = "metaverse",
    params(("id" = i64, Path, description = "World id")), request_body = PermissionWrite,
    responses(
        (status = 201, description = "Granted", body = PermissionOut),
        (status = 200, description = "Changed", body = PermissionOut),
        (status = 400, description = "Invalid user or role", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not an admin of the world", body = ErrorBody),
        (status = 404, description = "No such world", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn grant_permission(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<PermissionWrite>,
) -> ApiResult<HttpResponse> {
    let (permission, created) = worlds::requests::grant(&db, caller, id.into_inner(), body).await?;
    Ok(created_or_ok(created, &permission))
}

/// Revokes a permission.
#[utoipa::path(delete, path = "/api/v1/metaverse/worlds/{id}/permissions/{user_id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "World id"), ("user_id" = i64, Path, description = "User id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not an admin of the world", body = ErrorBody),
        (status = 404, description = "No such world or permission", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn revoke_permission(
    db: web::Data<Db>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (id, user_id) = path.into_inner();
    worlds::requests::revoke(&db, caller, id, user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- instances ----

/// The objects placed in a world.
#[utoipa::path(get, path = "/api/v1/metaverse/worlds/{id}/objects/", tag = "metaverse",
    params(("id" = i64, Path, description = "World id"), PageParams),
    responses(
        (status = 200, description = "A page of instances", body = Page<InstanceOut>),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 404, description = "No such world", body = ErrorBody),
    ))]
pub async fn list_instances(
    db: web::Data<Db>,
    caller: MaybeCaller,
    id: web::Path<i64>,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let (caller, id) = (caller.0, id.into_inner());
    let page = db
        .run(move |conn| objects::list_instances(conn, caller.as_ref(), id, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Places an object in a world (builders and up); connected users receive `object_changed`.
#[utoipa::path(post, path = "/api/v1/metaverse/worlds/{id}/objects/", tag = "metaverse",
    params(("id" = i64, Path, description = "World id")), request_body = InstanceWrite,
    responses(
        (status = 201, description = "Placed", body = InstanceOut),
        (status = 400, description = "Invalid object, position or scale", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not a builder of the world", body = ErrorBody),
        (status = 404, description = "No such world", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn place_instance(
    db: web::Data<Db>,
    bus: web::Data<Bus>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<InstanceWrite>,
) -> ApiResult<HttpResponse> {
    let instance = objects::requests::place(&db, caller, id.into_inner(), body).await?;
    presence::object_changed(
        &bus,
        instance.world_id,
        "placed",
        &serde_json::to_value(&instance).unwrap_or_default(),
    )
    .await;
    Ok(HttpResponse::Created().json(instance))
}

/// An instance.
#[utoipa::path(get, path = "/api/v1/metaverse/instances/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Instance id")),
    responses(
        (status = 200, description = "The instance", body = InstanceOut),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
    ))]
pub async fn get_instance(
    db: web::Data<Db>,
    caller: MaybeCaller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let (caller, id) = (caller.0, id.into_inner());
    let instance = db
        .run(move |conn| objects::get_instance(conn, caller.as_ref(), id))
        .await?;
    Ok(HttpResponse::Ok().json(instance))
}

/// Moves or changes an instance (builders and up); connected users receive `object_changed`.
#[utoipa::path(patch, path = "/api/v1/metaverse/instances/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Instance id")), request_body = InstancePatch,
    responses(
        (status = 200, description = "The instance", body = InstanceOut),
        (status = 400, description = "Invalid position or scale", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not a builder of the world", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn update_instance(
    db: web::Data<Db>,
    bus: web::Data<Bus>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<InstancePatch>,
) -> ApiResult<HttpResponse> {
    let instance = objects::requests::update_instance(&db, caller, id.into_inner(), body).await?;
    presence::object_changed(
        &bus,
        instance.world_id,
        "updated",
        &serde_json::to_value(&instance).unwrap_or_default(),
    )
    .await;
    Ok(HttpResponse::Ok().json(instance))
}

/// Removes an instance (builders and up); connected users receive `object_changed`.
#[utoipa::path(delete, path = "/api/v1/metaverse/instances/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Instance id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not a builder of the world", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn delete_instance(
    db: web::Data<Db>,
    bus: web::Data<Bus>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let instance = objects::requests::delete_instance(&db, caller, id.into_inner()).await?;
    presence::object_changed(&bus, instance.world_id, "removed", &serde_json::json!({"id": instance.id, "world_id": instance.world_id, "object_id": instance.object_id})).await;
    Ok(HttpResponse::NoContent().finish())
}

// ---- avatars ----

/// The caller's avatars.
#[utoipa::path(get, path = "/api/v1/metaverse/avatars/", tag = "metaverse", params(PageParams),
    responses(
        (status = 200, description = "A page of avatars", body = Page<AvatarOut>),
        (status = 401, description = "No credentials", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn list_avatars(
    db: web::Data<Db>,
    caller: Caller,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let page = db
        .run(move |conn| avatars::list(conn, &caller, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates an avatar (the first is the default).
#[utoipa::path(post, path = "/api/v1/metaverse/avatars/", tag = "metaverse", request_body = AvatarWrite,
    responses(
        (status = 201, description = "Created", body = AvatarOut),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn create_avatar(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<AvatarWrite>,
) -> ApiResult<HttpResponse> {
    let avatar = avatars::requests::create(&db, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(avatar))
}

/// One of the caller's avatars.
#[utoipa::path(get, path = "/api/v1/metaverse/avatars/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Avatar id")),
    responses(
        (status = 200, description = "The avatar", body = AvatarOut),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 404, description = "No such avatar of the caller's", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn get_avatar(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let avatar = db.run(move |conn| avatars::get(conn, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(avatar))
}

/// Replaces one of the caller's avatars.
#[utoipa::path(put, path = "/api/v1/metaverse/avatars/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Avatar id")), request_body = AvatarWrite,
    responses(
        (status = 200, description = "The avatar", body = AvatarOut),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 404, description = "No such avatar of the caller's", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn replace_avatar(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<AvatarWrite>,
) -> ApiResult<HttpResponse> {
    let avatar =
        avatars::requests::update(&db, caller, id.into_inner(), body.map(Into::into)).await?;
    Ok(HttpResponse::Ok().json(avatar))
}

/// Changes one of the caller's avatars.
#[utoipa::path(patch, path = "/api/v1/metaverse/avatars/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Avatar id")), request_body = AvatarPatch,
    responses(
        (status = 200, description = "The avatar", body = AvatarOut),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 404, description = "No such avatar of the caller's", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn update_avatar(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<AvatarPatch>,
) -> ApiResult<HttpResponse> {
    let avatar = avatars::requests::update(&db, caller, id.into_inner(), body).await?;
    Ok(HttpResponse::Ok().json(avatar))
}

/// Deletes one of the caller's avatars.
#[utoipa::path(delete, path = "/api/v1/metaverse/avatars/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Avatar id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 404, description = "No such avatar of the caller's", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn delete_avatar(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    avatars::requests::delete(&db, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- catalogue ----

/// The object catalogue.
#[utoipa::path(get, path = "/api/v1/metaverse/objects/", tag = "metaverse", params(PageParams, ObjectQuery),
    responses(
        (status = 200, description = "A page of objects", body = Page<ObjectOut>),
        (status = 400, description = "Invalid filter or ordering", body = ErrorBody),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 404, description = "Page past the end", body = ErrorBody),
    ))]
pub async fn list_objects(
    db: web::Data<Db>,
    _caller: MaybeCaller,
    page: PageRequest,
    query: ValidQuery<ObjectQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let page = db
        .run(move |conn| objects::list(conn, &query, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Adds an object to the catalogue.
#[utoipa::path(post, path = "/api/v1/metaverse/objects/", tag = "metaverse", request_body = ObjectWrite,
    responses(
        (status = 201, description = "Created", body = ObjectOut),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn create_object(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<ObjectWrite>,
) -> ApiResult<HttpResponse> {
    let object = objects::requests::create(&db, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(object))
}

/// A catalogue object.
#[utoipa::path(get, path = "/api/v1/metaverse/objects/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Object id")),
    responses(
        (status = 200, description = "The object", body = ObjectOut),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 404, description = "No such object", body = ErrorBody),
    ))]
pub async fn get_object(
    db: web::Data<Db>,
    _caller: MaybeCaller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let object = db.run(move |conn| objects::get(conn, id)).await?;
    Ok(HttpResponse::Ok().json(object))
}

/// Replaces a catalogue object (its creator or staff).
#[utoipa::path(put, path = "/api/v1/metaverse/objects/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Object id")), request_body = ObjectWrite,
    responses(
        (status = 200, description = "The object", body = ObjectOut),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not the creator or staff", body = ErrorBody),
        (status = 404, description = "No such object", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn replace_object(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<ObjectWrite>,
) -> ApiResult<HttpResponse> {
    let object =
        objects::requests::update(&db, caller, id.into_inner(), body.map(Into::into)).await?;
    Ok(HttpResponse::Ok().json(object))
}

/// Changes a catalogue object (its creator or staff).
#[utoipa::path(patch, path = "/api/v1/metaverse/objects/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Object id")), request_body = ObjectPatch,
    responses(
        (status = 200, description = "The object", body = ObjectOut),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not the creator or staff", body = ErrorBody),
        (status = 404, description = "No such object", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn update_object(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<ObjectPatch>,
) -> ApiResult<HttpResponse> {
    let object = objects::requests::update(&db, caller, id.into_inner(), body).await?;
    Ok(HttpResponse::Ok().json(object))
}

/// Removes a catalogue object and its instances (its creator or staff).
#[utoipa::path(delete, path = "/api/v1/metaverse/objects/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Object id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not the creator or staff", body = ErrorBody),
        (status = 404, description = "No such object", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn delete_object(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    objects::requests::delete(&db, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- events ----

/// Events in worlds the caller may see.
#[utoipa::path(get, path = "/api/v1/metaverse/events/", tag = "metaverse", params(PageParams, EventQuery),
    responses(
        (status = 200, description = "A page of events", body = Page<EventOut>),
        (status = 400, description = "Invalid filter or ordering", body = ErrorBody),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 404, description = "Page past the end", body = ErrorBody),
    ))]
pub async fn list_events(
    db: web::Data<Db>,
    caller: MaybeCaller,
    page: PageRequest,
    query: ValidQuery<EventQuery>,
) -> ApiResult<HttpResponse> {
    let (caller, query) = (caller.0, query.into_inner());
    let page = db
        .run(move |conn| events::list(conn, caller.as_ref(), &query, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates an event in a world the caller moderates.
#[utoipa::path(post, path = "/api/v1/metaverse/events/", tag = "metaverse", request_body = EventWrite,
    responses(
        (status = 201, description = "Created", body = EventOut),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not a moderator of the world", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn create_event(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<EventWrite>,
) -> ApiResult<HttpResponse> {
    let event = events::requests::create(&db, caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(event))
}

/// An event.
#[utoipa::path(get, path = "/api/v1/metaverse/events/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Event id")),
    responses(
        (status = 200, description = "The event", body = EventOut),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn get_event(
    db: web::Data<Db>,
    caller: MaybeCaller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let (caller, id) = (caller.0, id.into_inner());
    let event = db
        .run(move |conn| events::get(conn, caller.as_ref(), id))
        .await?;
    Ok(HttpResponse::Ok().json(event))
}

/// Replaces an event's fields (the world's moderators and up).
#[utoipa::path(put, path = "/api/v1/metaverse/events/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Event id")), request_body = EventWrite,
    responses(
        (status = 200, description = "The event", body = EventOut),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not a moderator of the world", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn replace_event(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<EventWrite>,
) -> ApiResult<HttpResponse> {
    let event =
        events::requests::update(&db, caller, id.into_inner(), body.map(Into::into)).await?;
    Ok(HttpResponse::Ok().json(event))
}

/// Changes an event (the world's moderators and up).
#[utoipa::path(patch, path = "/api/v1/metaverse/events/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Event id")), request_body = EventPatch,
    responses(
        (status = 200, description = "The event", body = EventOut),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not a moderator of the world", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn update_event(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: Body<EventPatch>,
) -> ApiResult<HttpResponse> {
    let event = events::requests::update(&db, caller, id.into_inner(), body).await?;
    Ok(HttpResponse::Ok().json(event))
}

/// Deletes an event (the world's moderators and up).
#[utoipa::path(delete, path = "/api/v1/metaverse/events/{id}/", tag = "metaverse",
    params(("id" = i64, Path, description = "Event id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "Not a moderator of the world", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn delete_event(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    events::requests::delete(&db, caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Joins an event: 201 when joined, 200 when already in, 409 when full or over.
#[utoipa::path(post, path = "/api/v1/metaverse/events/{id}/join/", tag = "metaverse",
    params(("id" = i64, Path, description = "Event id")),
    responses(
        (status = 201, description = "Joined", body = EventOut),
        (status = 200, description = "Already a participant", body = EventOut),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 409, description = "Full, or over", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn join_event(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let (event, joined) = events::requests::join(&db, caller, id.into_inner()).await?;
    Ok(created_or_ok(joined, &event))
}

/// Leaves an event.
#[utoipa::path(post, path = "/api/v1/metaverse/events/{id}/leave/", tag = "metaverse",
    params(("id" = i64, Path, description = "Event id")),
    responses(
        (status = 200, description = "Left", body = EventOut),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 404, description = "No such event, or not a participant", body = ErrorBody),
    ), security(("jwt" = [])))]
pub async fn leave_event(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let event = events::requests::leave(&db, caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(event))
}

/// An event's participants.
#[utoipa::path(get, path = "/api/v1/metaverse/events/{id}/participants/", tag = "metaverse",
    params(("id" = i64, Path, description = "Event id"), PageParams),
    responses(
        (status = 200, description = "A page of participants", body = Page<ParticipantOut>),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 404, description = "No such event, or page past the end", body = ErrorBody),
    ))]
pub async fn list_participants(
    db: web::Data<Db>,
    caller: MaybeCaller,
    id: web::Path<i64>,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let (caller, id) = (caller.0, id.into_inner());
    let page = db
        .run(move |conn| events::list_participants(conn, caller.as_ref(), id, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Mounts the resources inside `/api/v1/metaverse`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/worlds/")
            .get(list_worlds)
            .post(create_world),
    )
    .service(
        web::resource("/worlds/{id}/")
            .get(get_world)
            .put(replace_world)
            .patch(update_world)
            .delete(delete_world),
    )
    .service(web::resource("/worlds/{id}/enter/").post(enter_world))
    .service(web::resource("/worlds/{id}/leave/").post(leave_world))
    .service(web::resource("/worlds/{id}/sessions/").get(list_sessions))
    .service(
        web::resource("/worlds/{id}/permissions/")
            .get(list_permissions)
            .post(grant_permission),
    )
    .service(web::resource("/worlds/{id}/permissions/{user_id}/").delete(revoke_permission))
    .service(
        web::resource("/worlds/{id}/objects/")
            .get(list_instances)
            .post(place_instance),
    )
    .service(
        web::resource("/instances/{id}/")
            .get(get_instance)
            .patch(update_instance)
            .delete(delete_instance),
    )
    .service(
        web::resource("/avatars/")
            .get(list_avatars)
            .post(create_avatar),
    )
    .service(
        web::resource("/avatars/{id}/")
            .get(get_avatar)
            .put(replace_avatar)
            .patch(update_avatar)
            .delete(delete_avatar),
    )
    .service(
        web::resource("/objects/")
            .get(list_objects)
            .post(create_object),
    )
    .service(
        web::resource("/objects/{id}/")
            .get(get_object)
            .put(replace_object)
            .patch(update_object)
            .delete(delete_object),
    )
    .service(
        web::resource("/events/")
            .get(list_events)
            .post(create_event),
    )
    .service(
        web::resource("/events/{id}/")
            .get(get_event)
            .put(replace_event)
            .patch(update_event)
            .delete(delete_event),
    )
    .service(web::resource("/events/{id}/join/").post(join_event))
    .service(web::resource("/events/{id}/leave/").post(leave_event))
    .service(web::resource("/events/{id}/participants/").get(list_participants));
}
