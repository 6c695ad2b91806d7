//! The console's response headers: a Content-Security-Policy that allows no script at all
//! (inline or not), styles only from the console's own stylesheet, forms only to itself, and
//! no framing; pages are never cached.

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;

/// The policy on every console response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's headers.
pub fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::CACHE_CONTROL, "no-store"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"))
}
