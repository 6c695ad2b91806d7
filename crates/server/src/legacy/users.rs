//! The forum's account paths: `/users/register/`, `/users/login/`, `/users/profile/`,
//! `/users/profile/update/`, `/users/resume/`, `/users/resume/create/` and the four
//! `/users/resume/<kind>/` action endpoints.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest, HttpResponse};
use plaza_authentication::routes::auth;
use plaza_kernel::error::ErrorBody;
use plaza_kernel::extract::{is_json, read_body, DEFAULT_BODY_LIMIT};
use plaza_kernel::{ApiError, ApiResult, Body, Caller, Config, Db, Services, ValidJson};
use plaza_users::profile::ProfilePatch;
use plaza_users::resume::{
    ActionOutcome, CustomSection, CustomSections, Education, Educations, Project, Projects, Resume,
    ResumeBasic, Section, WorkExperience, WorkExperiences,
};
use plaza_users::routes::{me, resume as resume_routes};
use plaza_users::service::requests;
use plaza_users::types::UserPatch;
use plaza_users::views::UserDetail;
use plaza_users::Sessions;
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::alias::{self, Alias, Method};

/// Mounts `/users/…`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/users")
            .service(web::resource("/register/").post(auth::register))
            .service(web::resource("/login/").post(auth::login))
            .service(web::resource("/profile/").get(me::get_me))
            .service(web::resource("/profile/update/").post(update_profile))
            .service(web::resource("/resume/").get(resume_routes::get_resume))
            .service(web::resource("/resume/create/").post(create_resume))
            .service(web::resource("/resume/work/").post(work_action))
            .service(web::resource("/resume/project/").post(project_action))
            .service(web::resource("/resume/education/").post(education_action))
            .service(web::resource("/resume/custom/").post(custom_action)),
    );
}

/// The body of `/users/profile/update/`: account and profile fields side by side (a nested
/// `profile` object works too).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProfileUpdate {
    /// Account fields (as in `PATCH /api/v1/users/me/`).
    #[serde(flatten)]
    pub user: UserPatch,
    /// Profile fields (as in `PATCH /api/v1/users/me/profile/`).
    #[serde(flatten)]
    pub profile: ProfilePatch,
}

impl validator::Validate for ProfileUpdate {
    /// The account's rules, then the profile's (the first that fails is reported).
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        self.user.validate()?;
        self.profile.validate()
    }
}

/// A partial update of the caller's account and profile at once; answers like
/// `GET /api/v1/users/me/`.
#[utoipa::path(post, path = "/users/profile/update/", tag = alias::TAG,
    request_body = ProfileUpdate,
    responses(
        (status = 200, description = "Updated", body = UserDetail),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "A staff-only field", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn update_profile(
    services: web::Data<Services>,
    sessions: Option<web::Data<dyn Sessions>>,
    caller: Caller,
    body: ValidJson<ProfileUpdate>,
) -> ApiResult<HttpResponse> {
    let ProfileUpdate { mut user, profile } = body.into_inner();
    if !profile.is_empty() {
        user.profile = Some(merge_profiles(user.profile.take(), profile));
    }
    let id = caller.id;
    let user =
        requests::update_account(&services, sessions, caller, id, Body::valid(user), false).await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Flat profile fields win over a nested `profile` object's.
fn merge_profiles(nested: Option<ProfilePatch>, flat: ProfilePatch) -> ProfilePatch {
    let nested = nested.unwrap_or_default();
    ProfilePatch {
        location: flat.location.or(nested.location),
        company: flat.company.or(nested.company),
        job_title: flat.job_title.or(nested.job_title),
        skills: flat.skills.or(nested.skills),
        interests: flat.interests.or(nested.interests),
        language: flat.language.or(nested.language),
        timezone: flat.timezone.or(nested.timezone),
        notification_settings: flat.notification_settings.or(nested.notification_settings),
    }
}

/// Creates or updates the basic part of the caller's résumé (fields left out keep their
/// value); answers the whole résumé, 201 when this created it.
#[utoipa::path(post, path = "/users/resume/create/", tag = alias::TAG,
    request_body = ResumeBasic,
    responses(
        (status = 200, description = "Updated", body = Resume),
        (status = 201, description = "Created", body = Resume),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn create_resume(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<ResumeBasic>,
) -> ApiResult<HttpResponse> {
    let (resume, created) = requests::put_resume(&db, &caller, body.into_inner(), false).await?;
    Ok(if created {
        HttpResponse::Created().json(resume)
    } else {
        HttpResponse::Ok().json(resume)
    })
}

/// The JSON body of an action request, checked as `ValidJson` checks bodies.
async fn json_body(req: &HttpRequest, payload: web::Payload) -> ApiResult<Vec<u8>> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_json(content_type) {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    let limit = req
        .app_data::<web::Data<Config>>()
        .map_or(DEFAULT_BODY_LIMIT, |c| c.max_body_bytes);
    let mut body = Vec::new();
    let mut inner = payload.into_inner();
    body.extend_from_slice(&read_body(&mut inner, limit).await?);
    Ok(body)
}

/// Runs one action on the caller's entries of kind `S`.
async fn action<S: Section>(
    req: HttpRequest,
    db: web::Data<Db>,
    caller: Caller,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let body = json_body(&req, payload).await?;
    let outcome = requests::resume_action::<S>(&db, &caller, body).await?;
    Ok(match outcome {
        ActionOutcome::Created(item) => HttpResponse::Created().json(item),
        ActionOutcome::Updated(item) => HttpResponse::Ok().json(item),
        ActionOutcome::Deleted => HttpResponse::NoContent().finish(),
    })
}

/// The body of the action endpoints: `action`, `id`, and the entry's fields.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionRequest {
    /// `create`, `update` or `delete`; without it, `update` when `id` is given, else `create`.
    pub action: Option<String>,
    /// The entry (update, delete); a number or a string of digits.
    pub id: Option<i64>,
}

macro_rules! action_route {
    ($name:ident, $kind:ty, $item:ty, $path:tt, $what:tt) => {
        #[doc = concat!("Creates, updates or deletes one of the caller's ", $what, " entries.")]
        #[utoipa::path(post, path = $path, tag = alias::TAG,
            request_body(content = ActionRequest, description = concat!("`action`, `id`, and the ", $what, " fields as in `/api/v1/users/me/resume/`")),
            responses(
                (status = 201, description = "Created", body = $item),
                (status = 200, description = "Updated", body = $item),
                (status = 204, description = "Deleted"),
                (status = 400, description = "Unknown action, missing id, invalid field", body = ErrorBody),
                (status = 401, description = "Not signed in", body = ErrorBody),
                (status = 404, description = "Not one of the caller's entries", body = ErrorBody),
            ),
            security(("jwt" = []), ("api_key" = [])))]
        pub async fn $name(
            req: HttpRequest,
            db: web::Data<Db>,
            caller: Caller,
            payload: web::Payload,
        ) -> ApiResult<HttpResponse> {
            action::<$kind>(req, db, caller, payload).await
        }
    };
}

action_route!(
    work_action,
    WorkExperiences,
    WorkExperience,
    "/users/resume/work/",
    "work experience"
);
action_route!(
    project_action,
    Projects,
    Project,
    "/users/resume/project/",
    "project"
);
action_route!(
    education_action,
    Educations,
    Education,
    "/users/resume/education/",
    "education"
);
action_route!(
    custom_action,
    CustomSections,
    CustomSection,
    "/users/resume/custom/",
    "custom section"
);

/// The forum's account paths that are canonical endpoints under another name.
pub const ALIASES: &[Alias] = &[
    Alias {
        method: Method::Post,
        path: "/users/register/",
        canonical_method: Method::Post,
        canonical: "/api/v1/auth/register/",
    },
    Alias {
        method: Method::Post,
        path: "/users/login/",
        canonical_method: Method::Post,
        canonical: "/api/v1/auth/login/",
    },
    Alias {
        method: Method::Get,
        path: "/users/profile/",
        canonical_method: Method::Get,
        canonical: "/api/v1/users/me/",
    },
    Alias {
        method: Method::Get,
        path: "/users/resume/",
        canonical_method: Method::Get,
        canonical: "/api/v1/users/me/resume/",
    },
];

/// The OpenAPI description of the forum's account paths: the adapters' own, and the
/// aliases' copied from the canonical operations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut canonical = plaza_authentication::ApiDoc::openapi();
    canonical.merge(plaza_users::ApiDoc::openapi());
    let mut doc = ApiDoc::openapi();
    doc.merge(alias::document(ALIASES, &canonical));
    doc
}

/// The OpenAPI description of the forum's account paths that adapt a canonical endpoint.
#[derive(OpenApi)]
#[openapi(
    paths(
        update_profile,
        create_resume,
        work_action,
        project_action,
        education_action,
        custom_action,
    ),
    components(schemas(ProfileUpdate, ActionRequest)),
    tags((name = "forum (original paths)", description = "The Django forum's paths, served verbatim; each is or adapts a /api/v1/ endpoint"))
)]
pub struct ApiDoc;
