//! `/api/v1/users/me/resume/…`: the caller's résumé and its four kinds of entries.

use actix_web::{web, HttpResponse};
use plaza_kernel::error::ErrorBody;
use plaza_kernel::pagination::PageParams;
use plaza_kernel::{ApiResult, Caller, Db, Page, PageRequest, ValidJson};

use crate::resume::{
    self, CustomInput, CustomPatch, CustomSection, CustomSections, Education, EducationInput,
    EducationPatch, Educations, Project, ProjectInput, ProjectPatch, Projects, Resume, ResumeBasic,
    Section, WorkExperience, WorkExperiences, WorkInput, WorkPatch,
};
use crate::service::requests;

/// The caller's whole résumé (the empty one if never written).
#[utoipa::path(get, path = "/api/v1/users/me/resume/", tag = "resume",
    responses(
        (status = 200, description = "The résumé", body = Resume),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn get_resume(db: web::Data<Db>, caller: Caller) -> ApiResult<HttpResponse> {
    let resume = db.run(move |conn| resume::load(conn, caller.id)).await?;
    Ok(HttpResponse::Ok().json(resume))
}

/// Writes the basic part of the caller's résumé; fields left out become empty.
#[utoipa::path(put, path = "/api/v1/users/me/resume/", tag = "resume",
    request_body = ResumeBasic,
    responses(
        (status = 200, description = "The whole résumé", body = Resume),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ),
    security(("jwt" = []), ("api_key" = [])))]
pub async fn put_resume(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<ResumeBasic>,
) -> ApiResult<HttpResponse> {
    let (resume, _) = requests::put_resume(&db, &caller, body.into_inner(), true).await?;
    Ok(HttpResponse::Ok().json(resume))
}

/// A page of the caller's entries of kind `S`.
pub async fn list_entries<S: Section>(
    db: web::Data<Db>,
    caller: Caller,
    page: PageRequest,
) -> ApiResult<HttpResponse> {
    let page = db
        .run(move |conn| resume::list_entries::<S>(conn, caller.id, page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Adds an entry of kind `S`.
pub async fn create_entry<S: Section>(
    db: web::Data<Db>,
    caller: Caller,
    body: ValidJson<S::Input>,
) -> ApiResult<HttpResponse> {
    let item = requests::create_entry::<S>(&db, &caller, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(item))
}

/// Replaces an entry of kind `S` (every required field).
pub async fn replace_entry<S: Section>(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<S::Input>,
) -> ApiResult<HttpResponse> {
    let patch = S::full(body.into_inner());
    let item = requests::update_entry::<S>(&db, &caller, id.into_inner(), patch).await?;
    Ok(HttpResponse::Ok().json(item))
}

/// Changes some fields of an entry of kind `S`.
pub async fn patch_entry<S: Section>(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
    body: ValidJson<S::Patch>,
) -> ApiResult<HttpResponse> {
    let item =
        requests::update_entry::<S>(&db, &caller, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(item))
}

/// Deletes an entry of kind `S`.
pub async fn delete_entry<S: Section>(
    db: web::Data<Db>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    requests::delete_entry::<S>(&db, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The five documented handlers of one entry kind, delegating to the generic ones above.
macro_rules! entry_routes {
    (
        kind = $kind:ty, item = $item:ty, input = $input:ty, patch = $patch:ty,
        list_path = $list_path:tt, item_path = $item_path:tt, what = $what:tt,
        list = $list:ident, create = $create:ident, replace = $replace:ident,
        patch_fn = $patch_fn:ident, delete = $delete:ident
    ) => {
        #[doc = concat!("A page of the caller's ", $what, " entries.")]
        #[utoipa::path(get, path = $list_path, tag = "resume",
            params(PageParams),
            responses(
                (status = 200, description = "A page of entries", body = Page<$item>),
                (status = 401, description = "Not signed in", body = ErrorBody),
                (status = 404, description = "Page past the end", body = ErrorBody),
            ),
            security(("jwt" = []), ("api_key" = [])))]
        pub async fn $list(
            db: web::Data<Db>,
            caller: Caller,
            page: PageRequest,
        ) -> ApiResult<HttpResponse> {
            list_entries::<$kind>(db, caller, page).await
        }

        #[doc = concat!("Adds a ", $what, " entry to the caller's résumé (creating the résumé if needed).")]
        #[utoipa::path(post, path = $list_path, tag = "resume",
            request_body = $input,
            responses(
                (status = 201, description = "Created", body = $item),
                (status = 400, description = "Invalid field, end before start, or too many entries", body = ErrorBody),
                (status = 401, description = "Not signed in", body = ErrorBody),
            ),
            security(("jwt" = []), ("api_key" = [])))]
        pub async fn $create(
            db: web::Data<Db>,
            caller: Caller,
            body: ValidJson<$input>,
        ) -> ApiResult<HttpResponse> {
            create_entry::<$kind>(db, caller, body).await
        }

        #[doc = concat!("Replaces one of the caller's ", $what, " entries.")]
        #[utoipa::path(put, path = $item_path, tag = "resume",
            params(("id" = i64, Path, description = "Entry id")),
            request_body = $input,
            responses(
                (status = 200, description = "Updated", body = $item),
                (status = 400, description = "Invalid field or end before start", body = ErrorBody),
                (status = 401, description = "Not signed in", body = ErrorBody),
                (status = 404, description = "Not one of the caller's entries", body = ErrorBody),
            ),
            security(("jwt" = []), ("api_key" = [])))]
        pub async fn $replace(
            db: web::Data<Db>,
            caller: Caller,
            id: web::Path<i64>,
            body: ValidJson<$input>,
        ) -> ApiResult<HttpResponse> {
            replace_entry::<$kind>(db, caller, id, body).await
        }

        #[doc = concat!("Changes some fields of one of the caller's ", $what, " entries.")]
        #[utoipa::path(patch, path = $item_path, tag = "resume",
            params(("id" = i64, Path, description = "Entry id")),
            request_body = $patch,
            responses(
                (status = 200, description = "Updated", body = $item),
                (status = 400, description = "Invalid field or end before start", body = ErrorBody),
                (status = 401, description = "Not signed in", body = ErrorBody),
                (status = 404, description = "Not one of the caller's entries", body = ErrorBody),
            ),
            security(("jwt" = []), ("api_key" = [])))]
        pub async fn $patch_fn(
            db: web::Data<Db>,
            caller: Caller,
            id: web::Path<i64>,
            body: ValidJson<$patch>,
        ) -> ApiResult<HttpResponse> {
            patch_entry::<$kind>(db, caller, id, body).await
        }

        #[doc = concat!("Deletes one of the caller's ", $what, " entries.")]
        #[utoipa::path(delete, path = $item_path, tag = "resume",
            params(("id" = i64, Path, description = "Entry id")),
            responses(
                (status = 204, description = "Deleted"),
                (status = 401, description = "Not signed in", body = ErrorBody),
                (status = 404, description = "Not one of the caller's entries", body = ErrorBody),
            ),
            security(("jwt" = []), ("api_key" = [])))]
        pub async fn $delete(
            db: web::Data<Db>,
            caller: Caller,
            id: web::Path<i64>,
        ) -> ApiResult<HttpResponse> {
            delete_entry::<$kind>(db, caller, id).await
        }
    };
}

entry_routes!(
    kind = WorkExperiences,
    item = WorkExperience,
    input = WorkInput,
    patch = WorkPatch,
    list_path = "/api/v1/users/me/resume/work/",
    item_path = "/api/v1/users/me/resume/work/{id}/",
    what = "work experience",
    list = list_work,
    create = create_work,
    replace = replace_work,
    patch_fn = patch_work,
    delete = delete_work
);

entry_routes!(
    kind = Projects,
    item = Project,
    input = ProjectInput,
    patch = ProjectPatch,
    list_path = "/api/v1/users/me/resume/projects/",
    item_path = "/api/v1/users/me/resume/projects/{id}/",
    what = "project",
    list = list_projects,
    create = create_project,
    replace = replace_project,
    patch_fn = patch_project,
    delete = delete_project
);

entry_routes!(
    kind = Educations,
    item = Education,
    input = EducationInput,
    patch = EducationPatch,
    list_path = "/api/v1/users/me/resume/education/",
    item_path = "/api/v1/users/me/resume/education/{id}/",
    what = "education",
    list = list_education,
    create = create_education,
    replace = replace_education,
    patch_fn = patch_education,
    delete = delete_education
);

entry_routes!(
    kind = CustomSections,
    item = CustomSection,
    input = CustomInput,
    patch = CustomPatch,
    list_path = "/api/v1/users/me/resume/custom/",
    item_path = "/api/v1/users/me/resume/custom/{id}/",
    what = "custom section",
    list = list_custom,
    create = create_custom,
    replace = replace_custom,
    patch_fn = patch_custom,
    delete = delete_custom
);
