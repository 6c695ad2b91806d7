//! # plaza-users
//!
//! Accounts and what hangs off them: the `users` row and its profile (created together),
//! privacy settings and the filtered public view of a user, search and list, staff
//! administration, settings, password change, avatars with thumbnails, login history, per-user
//! counts, and résumés. Mount it with [`configure`] (the `/api/v1/users/` scope) in any actix
//! app holding the kernel's `Db`, `Config`, `Cache` and `TokenCodec` as app data; optional
//! app data: `web::Data<Counts>` (stats) and `web::Data<dyn Sessions>` (the authentication
//! domain, which ends sessions on password change and deactivation).
//!
//! Other domains use [`authors_by_id`] / [`Author`] (the card shown beside content), the
//! authentication domain uses [`model`], [`password`], [`login_log`], [`views`].

pub mod admin;
pub mod avatar;
pub mod login_log;
pub mod model;
pub mod password;
pub mod privacy;
pub mod profile;
pub mod public;
pub mod resume;
pub mod routes;
pub mod service;
pub mod sessions;
pub mod settings;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod types;
pub mod values;
pub mod views;

use actix_web::web;
use utoipa::OpenApi;

pub use model::{create_account, NewAccount, User};
pub use public::{authors_by_id, is_premium, Author};
pub use sessions::{ClientInfo, Sessions, TokenPair};
pub use settings::UsersSettings;
pub use values::{Email, Username};

/// Accounts, as a Plaza server mounts them: `BCRYPT_COST` and the password hashing threads,
/// `/api/v1/users/`, and the `users` count of `system/status`.
pub const DOMAIN: plaza_kernel::domain::Domain = plaza_kernel::domain::Domain {
    name: "users",
    settings: |env, sections| sections.parse::<UsersSettings>(env),
    configure,
    openapi: <ApiDoc as OpenApi>::openapi,
    jobs: |_| {},
    counts: |counts, _| model::add_counts(counts),
    start: |services| {
        let settings = services.sections.get_or_default::<UsersSettings>();
        password::HashingPool::configure(settings.hash_threads, settings.hash_priority);
        None
    },
    before_user_delete: |_, _| Ok(()),
    admin: admin::ADMIN,
};

use routes::{me, resume as resume_routes, users as user_routes};

/// Mounts `/api/v1/users/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use resume::{CustomSections, Educations, Projects, WorkExperiences};
    use resume_routes as r;
    cfg.service(
        web::scope("/api/v1/users")
            .service(
                web::resource("/")
                    .get(user_routes::list_users)
                    .post(user_routes::create_user),
            )
            .service(web::resource("/search/").get(user_routes::search_users))
            .service(
                web::resource("/me/")
                    .get(me::get_me)
                    .put(me::replace_me)
                    .patch(me::patch_me)
                    .delete(me::deactivate_me),
            )
            .service(
                web::resource("/me/profile/")
                    .get(me::get_profile)
                    .put(me::replace_profile)
                    .patch(me::patch_profile),
            )
            .service(
                web::resource("/me/settings/")
                    .get(me::get_settings)
                    .put(me::update_settings),
            )
            .service(web::resource("/me/password/").post(me::change_password))
            .service(
                web::resource("/me/avatar/")
                    .post(me::upload_avatar)
                    .delete(me::delete_avatar),
            )
            .service(web::resource("/me/login-history/").get(me::login_history))
            .service(web::resource("/me/stats/").get(me::my_stats))
            .service(
                web::resource("/me/resume/")
                    .get(r::get_resume)
                    .put(r::put_resume),
            )
            .service(
                web::resource("/me/resume/work/")
                    .get(r::list_entries::<WorkExperiences>)
                    .post(r::create_entry::<WorkExperiences>),
            )
            .service(
                web::resource("/me/resume/work/{id}/")
                    .put(r::replace_entry::<WorkExperiences>)
                    .patch(r::patch_entry::<WorkExperiences>)
                    .delete(r::delete_entry::<WorkExperiences>),
            )
            .service(
                web::resource("/me/resume/projects/")
                    .get(r::list_entries::<Projects>)
                    .post(r::create_entry::<Projects>),
            )
            .service(
                web::resource("/me/resume/projects/{id}/")
                    .put(r::replace_entry::<Projects>)
                    .patch(r::patch_entry::<Projects>)
                    .delete(r::delete_entry::<Projects>),
            )
            .service(
                web::resource("/me/resume/education/")
                    .get(r::list_entries::<Educations>)
                    .post(r::create_entry::<Educations>),
            )
            .service(
                web::resource("/me/resume/education/{id}/")
                    .put(r::replace_entry::<Educations>)
                    .patch(r::patch_entry::<Educations>)
                    .delete(r::delete_entry::<Educations>),
            )
            .service(
                web::resource("/me/resume/custom/")
                    .get(r::list_entries::<CustomSections>)
                    .post(r::create_entry::<CustomSections>),
            )
            .service(
                web::resource("/me/resume/custom/{id}/")
                    .put(r::replace_entry::<CustomSections>)
                    .patch(r::patch_entry::<CustomSections>)
                    .delete(r::delete_entry::<CustomSections>),
            )
            .service(
                web::resource("/{id}/")
                    .get(user_routes::get_user)
                    .put(user_routes::replace_user)
                    .patch(user_routes::patch_user)
                    .delete(user_routes::delete_user),
            )
            .service(web::resource("/{id}/stats/").get(user_routes::user_stats))
            .service(web::resource("/{id}/resume/").get(user_routes::user_resume)),
    );
}

/// The OpenAPI description of `/api/v1/users/`.
#[derive(OpenApi)]
#[openapi(
    paths(
        user_routes::list_users,
        user_routes::create_user,
        user_routes::search_users,
        user_routes::get_user,
        user_routes::replace_user,
        user_routes::patch_user,
        user_routes::delete_user,
        user_routes::user_stats,
        user_routes::user_resume,
        me::get_me,
        me::replace_me,
        me::patch_me,
        me::deactivate_me,
        me::get_profile,
        me::replace_profile,
        me::patch_profile,
        me::get_settings,
        me::update_settings,
        me::change_password,
        me::upload_avatar,
        me::delete_avatar,
        me::login_history,
        me::my_stats,
        resume_routes::get_resume,
        resume_routes::put_resume,
        resume_routes::list_work,
        resume_routes::create_work,
        resume_routes::replace_work,
        resume_routes::patch_work,
        resume_routes::delete_work,
        resume_routes::list_projects,
        resume_routes::create_project,
        resume_routes::replace_project,
        resume_routes::patch_project,
        resume_routes::delete_project,
        resume_routes::list_education,
        resume_routes::create_education,
        resume_routes::replace_education,
        resume_routes::patch_education,
        resume_routes::delete_education,
        resume_routes::list_custom,
        resume_routes::create_custom,
        resume_routes::replace_custom,
        resume_routes::patch_custom,
        resume_routes::delete_custom,
    ),
    components(schemas(
        views::UserDetail,
        views::PublicUser,
        views::UserOut,
        profile::Profile,
        profile::PublicProfile,
        profile::ProfilePatch,
        profile::NotificationSettings,
        profile::NotificationPatch,
        privacy::PrivacySettings,
        privacy::PrivacyPatch,
        types::UserPatch,
        types::CreateUser,
        types::PasswordChange,
        types::PasswordChanged,
        types::SettingsUpdate,
        types::Settings,
        types::UserStats,
        types::AvatarOut,
        login_log::LoginLog,
        resume::Resume,
        resume::ResumeBasic,
        me::AvatarUpload,
        Author,
    )),
    tags(
        (name = "users", description = "Accounts, profiles, privacy, settings, avatars, stats"),
        (name = "resume", description = "Résumés: the basic part, work, projects, education, custom sections"),
    )
)]
pub struct ApiDoc;
