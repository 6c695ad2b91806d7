//! A small scope that exercises the kernel's extractors, as a domain would.

use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use plaza_kernel::schema::users;
use plaza_kernel::testing::{NewTestUser, TestApp, TestBackend};
use plaza_kernel::{ApiError, ApiResult, Caller, Db, MaybeCaller, PageRequest, ValidJson};
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Deserialize, Serialize, Validate)]
pub struct Echo {
    #[validate(length(min = 1, max = 10))]
    pub title: String,
    #[validate(range(min = 0, max = 5))]
    #[serde(default)]
    pub stars: i32,
}

async fn echo(body: ValidJson<Echo>) -> HttpResponse {
    HttpResponse::Ok().json(body.into_inner())
}

#[derive(Serialize)]
struct Name {
    id: i64,
    username: String,
}

async fn list_users(db: web::Data<Db>, page: PageRequest) -> ApiResult<HttpResponse> {
    let result = db
        .run(move |conn| {
            let count: i64 = users::table.count().get_result(conn)?;
            page.paginate(count, |window| {
                let rows: Vec<(i64, String)> = users::table
                    .select((users::id, users::username))
                    .order(users::id.asc())
                    .limit(window.limit)
                    .offset(window.offset)
                    .load(conn)?;
                Ok(rows
                    .into_iter()
                    .map(|(id, username)| Name { id, username })
                    .collect())
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

async fn whoami(caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"id": caller.id, "username": caller.username}))
}

async fn maybe(caller: MaybeCaller) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"id": caller.0.map(|c| c.id)}))
}

#[derive(Deserialize, Validate)]
struct Rename {
    username: String,
}

/// Renames the caller: a unique violation must come back as 400 naming `username`.
async fn rename(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<Rename>,
) -> ApiResult<HttpResponse> {
    let username = body.into_inner().username;
    db.run(move |conn| {
        diesel::update(users::table.find(caller.id))
            .set((
                users::username_key.eq(username.to_lowercase()),
                users::username.eq(&username),
            ))
            .execute(conn)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn boom() -> ApiResult<HttpResponse> {
    Err(ApiError::internal("secret detail that must not leak"))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        // Resources, not scope routes: a resource answers 405 to a method it lacks.
        web::scope("/t")
            .service(web::resource("/echo/").post(echo))
            .service(web::resource("/users/").get(list_users))
            .service(web::resource("/whoami/").get(whoami))
            .service(web::resource("/maybe/").get(maybe))
            .service(web::resource("/rename/").post(rename))
            .service(web::resource("/boom/").get(boom)),
    );
}

pub async fn app(backend: TestBackend) -> TestApp {
    TestApp::builder(backend)
        .users(insert_user)
        .configure(configure)
        .build()
        .await
}

/// The kernel's own tests cannot use the users domain (it depends on the kernel), so they
/// insert the few columns an account needs themselves; every domain's tests use
/// `plaza_users::testing::create_test_user`.
pub fn insert_user(
    conn: &mut plaza_kernel::DbConn,
    spec: &NewTestUser,
    email: &str,
    hash: &str,
) -> ApiResult<i64> {
    let now = plaza_kernel::time::now();
    diesel::insert_into(users::table)
        .values((
            users::username.eq(&spec.username),
            users::username_key.eq(spec.username.to_lowercase()),
            users::email.eq(email),
            users::email_key.eq(email),
            users::password.eq(hash),
            users::bio.eq(""),
            users::privacy_settings.eq("{}"),
            users::role.eq(spec.role.as_str()),
            users::is_staff.eq(spec.is_staff),
            users::is_superuser.eq(spec.is_superuser),
            users::is_active.eq(spec.is_active),
            users::is_verified.eq(spec.is_verified),
            users::date_joined.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(plaza_kernel::db::last_insert_id(conn)?)
}
