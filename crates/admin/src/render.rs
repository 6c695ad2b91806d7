//! Pages from minijinja templates embedded in the binary, the stylesheet, and errors as pages.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse, ResponseError};
use minijinja::Environment;
use plaza_kernel::ApiError;
use serde::Serialize;

use crate::registry::Registry;
use crate::session::Staff;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    (
        "two_factor.html",
        include_str!("../templates/two_factor.html"),
    ),
    (
        "dashboard.html",
        include_str!("../templates/dashboard.html"),
    ),
    ("list.html", include_str!("../templates/list.html")),
    ("form.html", include_str!("../templates/form.html")),
    ("delete.html", include_str!("../templates/delete.html")),
    ("history.html", include_str!("../templates/history.html")),
    (
        "confirm_action.html",
        include_str!("../templates/confirm_action.html"),
    ),
];

const STYLESHEET: &str = include_str!("../assets/admin.css");

/// The console's shared state: the registry and the compiled templates.
#[derive(Debug)]
pub struct Console {
    /// Every domain's models.
    pub registry: Registry,
    env: Environment<'static>,
}

impl Console {
    /// Compiles the templates (they are checked by the crate's tests).
    pub fn new(registry: Registry) -> Self {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(error) = env.add_template(name, source) {
                tracing::error!(%error, template = name, "an admin template does not compile");
            }
        }
        Self { registry, env }
    }

    /// Renders `template` with `context` and the navigation, as a page with `status`.
    pub fn page(
        &self,
        status: StatusCode,
        template: &str,
        staff: Option<&Staff>,
        context: minijinja::Value,
    ) -> Result<HttpResponse, PageError> {
        let nav: Vec<NavGroup> = match staff {
            Some(_) => self
                .registry
                .groups()
                .map(|(domain, models)| NavGroup {
                    domain,
                    models: models
                        .iter()
                        .map(|m| NavModel {
                            name: m.name,
                            label: m.label,
                        })
                        .collect(),
                })
                .collect(),
            None => Vec::new(),
        };
        let common = minijinja::context! {
            nav => nav,
            user => staff.map(|s| s.caller.username.clone()),
            superuser => staff.is_some_and(|s| s.caller.is_superuser),
            csrf => staff.map(|s| s.csrf.clone()),
        };
        let html = self
            .env
            .get_template(template)
            .and_then(|t| t.render(minijinja::context! { ..context, ..common }))
            .map_err(|e| {
                PageError::Api(ApiError::internal(format!("template {template}: {e:#}")))
            })?;
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html))
    }
}

#[derive(Serialize)]
struct NavGroup {
    domain: &'static str,
    models: Vec<NavModel>,
}

#[derive(Serialize)]
struct NavModel {
    name: &'static str,
    label: &'static str,
}

/// `GET /admin/static/admin.css`: the console's only stylesheet, served by Plaza itself.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLESHEET)
}

/// Why a console request did not get its page.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in as staff: to the sign-in page, then back to this path.
    SignIn(String),
    /// A form without its CSRF token, or with another session's.
    Csrf,
    /// What a domain or the kernel answered.
    Api(ApiError),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SignIn(_) => f.write_str("sign in first"),
            Self::Csrf => f.write_str("CSRF token missing or incorrect"),
            Self::Api(e) => write!(f, "{}", e.detail()),
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

/// `s` with HTML's special characters escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn error_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Plaza admin</title><link rel=\"stylesheet\" href=\"/admin/static/admin.css\"></head>\
         <body><main class=\"narrow\"><h1>{title}</h1><p class=\"error\">{message}</p>\
         <p><a href=\"/admin/\">Back to the console</a></p></main></body></html>",
        title = escape(title),
        message = escape(message),
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn(_) => StatusCode::SEE_OTHER,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::Api(e) => e.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignIn(next) => {
                let query = crate::forms::query_string(&[("next", next.as_str())]);
                redirect(&format!("/admin/login/?{query}"))
            }
            Self::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "CSRF token missing or incorrect. Reload the page and try again.",
            ),
            Self::Api(e) => {
                if e.status().is_server_error() {
                    tracing::error!(error = ?e, "admin page failed");
                }
                let message = if e.status().is_server_error() {
                    "Something went wrong on our side; it has been logged."
                } else {
                    e.detail()
                };
                error_page(
                    e.status(),
                    e.status().canonical_reason().unwrap_or("Error"),
                    message,
                )
            }
        }
    }
}

/// A 303 to `location` (after a form, the browser GETs the next page).
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The console's state from app data.
pub type ConsoleData = web::Data<Console>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            assert!(env.add_template(name, source).is_ok(), "{name}");
        }
    }

    #[test]
    fn escapes_html() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
