//! The HTTP stack every Plaza app shares — the server's and each domain's tests':
//! trailing-slash normalisation, a request id and one tracing span per request (with `token`
//! and `ticket` redacted from the logged URL), metrics, security headers, and the contract's
//! error envelope for every error the framework produces itself (unknown route, wrong method,
//! unparsable path, …).

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{
    from_fn, DefaultHeaders, ErrorHandlerResponse, ErrorHandlers, Next, NormalizePath,
    TrailingSlash,
};
use actix_web::{
    web, App, Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError,
};
use tracing::Instrument;

use crate::config::Config;
use crate::error::{ApiError, ErrorCause};
use crate::extract::is_json;
use crate::metrics::Metrics;
use crate::services::Services;

/// The request id header, read from the client (if sane) or generated, and echoed back.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, as set by the request middleware.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The request id of `req`, if the middleware ran.
pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|r| r.0.clone())
}

/// The client's IP address: the peer address, or the forwarded one when
/// `TRUST_PROXY_HEADERS` is on.
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    let trust = req
        .app_data::<web::Data<Config>>()
        .is_some_and(|c| c.trust_proxy_headers);
    let info = req.connection_info();
    let addr = if trust {
        info.realip_remote_addr()
    } else {
        info.peer_addr()
    }?;
    // Strip a port (`1.2.3.4:5678`, `[::1]:5678`).
    let host = match addr.parse::<std::net::SocketAddr>() {
        Ok(sock) => sock.ip().to_string(),
        Err(_) => addr.to_owned(),
    };
    Some(host)
}

/// The client's user agent, if sent.
pub fn user_agent(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// An `App` with Plaza's middleware and app data, and the routes `configure` adds.
/// Unknown routes answer 404 in the envelope.
pub fn app<F>(
    services: &Services,
    configure: F,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
>
where
    F: FnOnce(&mut web::ServiceConfig),
{
    let services = services.clone();
    App::new()
        .configure(|cfg| services.register(cfg))
        .configure(configure)
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::not_found("Not found."))
        }))
        .wrap(from_fn(authenticate_first))
        .wrap(ErrorHandlers::new().default_handler(envelope))
        .wrap(security_headers())
        .wrap(from_fn(request_context))
        .wrap(NormalizePath::new(TrailingSlash::Always))
}

/// Credentials are checked before anything else (API.md §0), as DRF authenticates before it
/// checks permissions or reads the body: a request presenting a token or key that does not
/// resolve is 401 on every endpoint, public reads included. The resolved caller is kept in
/// the request, so the handler's `Caller`/`MaybeCaller` does not resolve it again.
async fn authenticate_first(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    // An anonymous request (the forum's hot reads) pays two header lookups, nothing more.
    let headers = req.headers();
    if !headers.contains_key(header::AUTHORIZATION) && !headers.contains_key("x-api-key") {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let (http, payload) = req.into_parts();
    let checked = crate::auth::MaybeCaller::extract(&http).await;
    let req = ServiceRequest::from_parts(http, payload);
    match checked {
        Ok(_) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        Err(err) => {
            let shaped = req
                .app_data::<web::Data<Services>>()
                .and_then(|services| services.error_shapes.render(req.path(), &err));
            let response = shaped.unwrap_or_else(|| err.error_response());
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

/// Renders an error in another wire format than the contract's envelope.
pub type ErrorRenderer = fn(&ApiError) -> HttpResponse;

/// Paths whose errors a domain renders in another wire format: the AI gateway's `/v1/`
/// answers in OpenAI's error shape, so the official SDKs raise their own exceptions. A domain
/// adds its prefix when it starts; the kernel's own middleware (which answers a bad credential
/// before any handler runs) renders through it.
#[derive(Clone, Default)]
pub struct ErrorShapes(std::sync::Arc<std::sync::Mutex<Vec<(&'static str, ErrorRenderer)>>>);

impl ErrorShapes {
    /// Errors on paths starting with `prefix` are rendered by `render`.
    pub fn add(&self, prefix: &'static str, render: ErrorRenderer) {
        crate::sync::lock(&self.0).push((prefix, render));
    }

    /// `err` as the domain owning `path` renders it, if one claimed the path.
    pub fn render(&self, path: &str, err: &ApiError) -> Option<HttpResponse> {
        let render = crate::sync::lock(&self.0)
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix))
            .map(|(_, render)| *render)?;
        Some(render(err))
    }
}

impl std::fmt::Debug for ErrorShapes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prefixes: Vec<&str> = crate::sync::lock(&self.0).iter().map(|(p, _)| *p).collect();
        f.debug_tuple("ErrorShapes").field(&prefixes).finish()
    }
}

/// Headers that are right for a JSON API on every response.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ))
}

/// Request id, span, access log line and metrics.
async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    let target = redacted_target(req.path(), req.query_string());
    let span = tracing::info_span!("request", request_id = %id, %method, target = %target);
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();

    let result = next.call(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let _entered = span.enter();
    match result {
        Ok(mut res) => {
            let status = res.status();
            if let Ok(value) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(REQUEST_ID, value);
            }
            if let Some(metrics) = metrics {
                let route = res
                    .request()
                    .match_pattern()
                    .unwrap_or_else(|| "<unmatched>".to_owned());
                metrics.observe_http(&method, &route, status.as_u16(), elapsed.as_secs_f64());
            }
            let ms = (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0;
            let cause = res.response().extensions().get::<ErrorCause>().cloned();
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                let cause = cause.map(|c| c.0).unwrap_or_default();
                tracing::error!(status = status.as_u16(), ms, cause, "request failed");
            } else if status.is_server_error() {
                let cause = cause.map(|c| c.0).unwrap_or_default();
                tracing::warn!(status = status.as_u16(), ms, cause, "request failed");
            } else {
                tracing::info!(status = status.as_u16(), ms, "request");
            }
            Ok(res)
        }
        Err(err) => {
            tracing::warn!(error = %err, "request error");
            Err(err)
        }
    }
}

/// The path and query for logs, with credentials replaced.
pub fn redacted_target(path: &str, query: &str) -> String {
    if query.is_empty() {
        return path.to_owned();
    }
    let redacted: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_secret_param(key) => format!("{key}=[redacted]"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", redacted.join("&"))
}

fn is_secret_param(key: &str) -> bool {
    matches!(key, "token" | "ticket" | "access_token" | "api_key" | "key")
}

/// Rewrites an error response the framework produced (plain text or empty) into the envelope.
/// Responses that are already JSON — every [`ApiError`] — pass through untouched.
fn envelope<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // JSON is already the envelope; an HTML page (the staff console's) is already the answer.
    let already_rendered = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| is_json(v) || v.starts_with("text/html"));
    if already_rendered {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let (req, old) = res.into_parts();
    let err = framework_error(old.status(), req.method().as_str());
    let mut fresh: HttpResponse = err.error_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = old.headers().get(&name) {
            fresh.headers_mut().insert(name, value.clone());
        }
    }
    let res = ServiceResponse::new(req, fresh).map_into_right_body::<B>();
    Ok(ErrorHandlerResponse::Response(res))
}

fn framework_error(status: StatusCode, method: &str) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::not_found("Not found."),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::method_not_allowed(method),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(status, "payload_too_large", "Request body is too large.")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            "unsupported_media_type",
            "Unsupported media type in request.",
        ),
        StatusCode::UNAUTHORIZED => ApiError::not_authenticated(),
        StatusCode::FORBIDDEN => ApiError::forbidden(),
        StatusCode::TOO_MANY_REQUESTS => {
            ApiError::new(status, "throttled", "Request was throttled.")
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            ApiError::new(status, "unavailable", "Service unavailable.")
        }
        s if s.is_client_error() => ApiError::new(s, "bad_request", "Bad request."),
        s => ApiError::new(s, "internal_error", "Internal server error."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted_from_logged_urls() {
        assert_eq!(
            redacted_target("/ws/webrtc/", "token=eyJhbGciOi&x=1&ticket=abc"),
            "/ws/webrtc/?token=[redacted]&x=1&ticket=[redacted]"
        );
        assert_eq!(redacted_target("/health/", ""), "/health/");
    }
}
