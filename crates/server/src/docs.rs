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
    document_common_errors(&mut doc);
    doc
}

/// Documents the errors every operation of a kind can give, where its own annotation left
/// them out, so that clients (and the schema fuzzer in CI) find every status the server
/// answers: 401 on every operation (credentials are checked before anything else, public
/// reads included), 400 where a body or a parameter is parsed, 415 where a body is (sent as
/// something else than it must be, as DRF answers), 404 where the path names an object or a
/// `page` is chosen (past the last page, as DRF's pagination answers), 403 where the operation
/// needs credentials (a role or an owner is checked), and 503 everywhere (a dependency is
/// down).
fn document_common_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{Operation, ParameterIn};
    use utoipa::openapi::RefOr;

    let error = |description: &str| {
        RefOr::T(
            utoipa::openapi::ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    // An operation whose own errors have another shape (OpenAI's, under /v1/) keeps it.
    let add = |operation: &mut Operation, status: &str, description: &str| {
        let shaped = operation
            .responses
            .responses
            .iter()
            .find(|(code, _)| code.starts_with('4'))
            .and_then(|(_, response)| match response {
                RefOr::T(response) => match response.content.get("application/json") {
                    Some(RefOr::T(content)) => Some(content.clone()),
                    _ => None,
                },
                RefOr::Ref(_) => None,
            });
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| match shaped {
                Some(content) => RefOr::T(
                    utoipa::openapi::ResponseBuilder::new()
                        .description(description)
                        .content("application/json", content)
                        .build(),
                ),
                None => error(description),
            });
    };
    for item in doc.paths.paths.values_mut() {
        let path_has_id = item.parameters.iter().flatten().any(is_path_parameter);
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let params = operation.parameters.iter().flatten();
            let has_path = path_has_id || params.clone().any(is_path_parameter);
            let parses_input = has_path
                || operation.request_body.is_some()
                || params
                    .clone()
                    .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
            let paged = params
                .clone()
                .any(|p| matches!(p, RefOr::T(p) if p.name == "page"));
            let authenticated = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            add(operation, "401", "Invalid or expired credentials");
            if parses_input {
                add(
                    operation,
                    "400",
                    "Invalid input; `errors` names every invalid field",
                );
            }
            if operation.request_body.is_some() {
                add(
                    operation,
                    "415",
                    "The body is not of a supported media type",
                );
            }
            if has_path || paged {
                add(operation, "404", "No such object, or a page past the last");
            }
            if authenticated {
                add(operation, "403", "Not allowed for the caller");
            }
            add(
                operation,
                "503",
                "A dependency (database, cache) is unavailable",
            );
        }
    }
}

fn is_path_parameter(parameter: &utoipa::openapi::RefOr<utoipa::openapi::path::Parameter>) -> bool {
    matches!(parameter, utoipa::openapi::RefOr::T(p) if p.parameter_in == utoipa::openapi::path::ParameterIn::Path)
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
