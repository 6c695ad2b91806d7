//! # plaza-admin
//!
//! The staff console at `/admin/`: server-rendered pages for every model the domains describe
//! ([`plaza_kernel::admin`]), staff sign-in through the authentication domain's login (same
//! password check, lockouts and second factor as the API), a session cookie whose token is
//! kept only as a hash, a CSRF token on every form, a strict Content-Security-Policy with no
//! script at all, the history of every change (in the system log), and a dashboard with SVG
//! charts drawn on the server.
//!
//! Mount it with [`configure`] and the server's list of domains, in an app holding the
//! kernel's services (as [`plaza_kernel::http::app`] registers them):
//!
//! ```no_run
//! # fn demo(cfg: &mut actix_web::web::ServiceConfig, domains: &'static [plaza_kernel::domain::Domain]) {
//! plaza_admin::configure(cfg, domains);
//! # }
//! ```
//!
//! Templates are minijinja's, embedded in the binary (see docs/admin.md for why).

mod charts;
mod dashboard;
mod forms;
mod history;
mod pages;
mod registry;
mod render;
mod security;
mod session;
mod signin;

use actix_web::web;
use plaza_kernel::domain::Domain;

pub use registry::Registry;

/// URL prefix of the console.
pub const PREFIX: &str = "/admin";

/// Mounts the console at `/admin/` with the models, charts and figures of `domains`.
pub fn configure(cfg: &mut web::ServiceConfig, domains: &'static [Domain]) {
    let console = web::Data::new(render::Console::new(Registry::new(domains)));
    cfg.service(
        web::scope(PREFIX)
            .app_data(console)
            .wrap(security::headers())
            .service(web::resource("/static/admin.css/").get(render::stylesheet))
            .service(
                web::resource("/login/")
                    .get(signin::login_form)
                    .post(signin::login),
            )
            .service(web::resource("/login/2fa/").post(signin::second_factor))
            .service(web::resource("/logout/").post(signin::logout))
            .service(web::resource("/").get(dashboard::index))
            .service(
                web::resource("/{model}/add/")
                    .get(pages::create_form)
                    .post(pages::create),
            )
            .service(
                web::resource("/{model}/{id}/delete/")
                    .get(pages::delete_form)
                    .post(pages::delete),
            )
            .service(web::resource("/{model}/{id}/history/").get(history::object_history))
            .service(
                web::resource("/{model}/{id}/")
                    .get(pages::detail)
                    .post(pages::update),
            )
            .service(
                web::resource("/{model}/")
                    .get(pages::list)
                    .post(pages::bulk_action),
            ),
    );
}
