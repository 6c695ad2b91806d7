//! The OpenAPI document and Swagger UI, served entirely from the binary (no CDN): the spec at
//! `/api/schema/`, the UI at `/api/docs/` and at drf-spectacular's `/api/schema/swagger-ui/`.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use plaza_kernel::ApiError;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's header and security schemes; every domain's paths are merged in.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Plaza API",
        description = "Accounts, forum, social network, AI chat, virtual worlds and live video \
                       signalling. Errors share one envelope: {detail, code, errors?}.",
    ),
    modifiers(&SecuritySchemes),
    components(schemas(plaza_kernel::error::ErrorBody))
)]
struct BaseDoc;

/// `/media/{path}`.
#[derive(OpenApi)]
#[openapi(paths(crate::media::media_file), tags((name = "media", description = "Public media files (avatars)")))]
struct MediaDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// The whole OpenAPI document: the base merged with every domain's.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = BaseDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.merge(plaza_kernel::domain::openapi(crate::DOMAINS));
    doc.merge(crate::legacy::openapi());
    doc.merge(MediaDoc::openapi());
    doc
}

/// Mounts the schema and both UI paths.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let spec = web::Data::new(Spec(
        serde_json::to_vec(&openapi()).unwrap_or_else(|_| b"{}".to_vec()),
    ));
    let ui = web::Data::new(Ui(Arc::new(utoipa_swagger_ui::Config::from(
        "/api/schema/",
    ))));
    cfg.app_data(spec)
        .app_data(ui)
        .service(web::resource("/api/schema/").get(schema))
        .service(web::resource("/api/docs/{tail:.*}").get(swagger_ui))
        .service(web::resource("/api/schema/swagger-ui/{tail:.*}").get(swagger_ui));
}

struct Spec(Vec<u8>);
struct Ui(Arc<utoipa_swagger_ui::Config<'static>>);

async fn schema(spec: web::Data<Spec>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(spec.0.clone())
}

async fn swagger_ui(tail: web::Path<String>, ui: web::Data<Ui>) -> Result<HttpResponse, ApiError> {
    // Paths are normalised to end in '/', so an asset arrives as `swagger-ui.css/`.
    let file = tail.trim_matches('/');
    match utoipa_swagger_ui::serve(file, ui.0.clone()) {
        Ok(Some(asset)) => {
            let mut res = HttpResponse::Ok();
            res.content_type(asset.content_type);
            if asset.gzpipped {
                res.insert_header((header::CONTENT_ENCODING, "gzip"));
            }
            Ok(res.body(asset.bytes.into_owned()))
        }
        Ok(None) => Err(ApiError::not_found("Not found.")),
        Err(err) => Err(ApiError::internal(err)),
    }
}
