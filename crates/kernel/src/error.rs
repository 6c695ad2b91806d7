//! The one error type of the HTTP API.
//!
//! Handlers and services return [`ApiResult`]. An [`ApiError`] carries the status, the
//! contract's machine `code`, a human `detail` that is always safe to show, optional per-field
//! `errors` and, for server-side failures, the real cause. The cause is never sent to the
//! client: it travels with the error into the response's extensions ([`ErrorCause`]), and the
//! request middleware logs it once, on the request's line (so with its request id). Outside a
//! request (jobs, WebSocket sessions) the error's `Display` includes the cause.
//!
//! Diesel, pool and blocking-pool errors convert with `?`; everything is mapped here, once.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use utoipa::ToSchema;

/// Field name → messages, as DRF renders serializer errors.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Result of a handler or service.
pub type ApiResult<T> = Result<T, ApiError>;

/// The error envelope every endpoint answers with (API.md §0).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Human readable explanation.
    pub detail: String,
    /// Machine readable code, e.g. `validation_error`, `not_found`.
    pub code: String,
    /// Per-field messages; present on validation failures and field conflicts only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub errors: Option<FieldErrors>,
}

/// An error that answers an HTTP request in the contract's envelope. Cloning it gives each of
/// several requests that shared one failed statement (a batch of writes) its own answer.
#[derive(Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: Cow<'static, str>,
    errors: Option<FieldErrors>,
    retry_after: Option<u64>,
    cause: Option<String>,
}

/// The cause of a server-side error, left in the response's extensions for the request
/// middleware to log (never rendered).
#[derive(Clone, Debug)]
pub struct ErrorCause(pub String);

impl ApiError {
    /// Builds an error from its parts; prefer the named constructors.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: None,
            retry_after: None,
            cause: None,
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    /// 400 `validation_error` with per-field messages.
    pub fn validation(errors: FieldErrors) -> Self {
        let mut err = Self::new(
            StatusCode::BAD_REQUEST,
            "validation_error",
            "Invalid input.",
        );
        err.errors = Some(errors);
        err
    }

    /// 400 `validation_error` for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(BTreeMap::from([(field.to_owned(), vec![message.into()])]))
    }

    /// 401 `not_authenticated`: no credentials were sent.
    pub fn not_authenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
            "Authentication credentials were not provided.",
        )
    }

    /// 401 `token_invalid`.
    pub fn token_invalid(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "token_invalid", detail)
    }

    /// 401 `token_expired`.
    pub fn token_expired() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "Token has expired.",
        )
    }

    /// 401 `invalid_credentials`: the same answer for an unknown user and a wrong password.
    pub fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "No active account found with the given credentials.",
        )
    }

    /// 403 `permission_denied`.
    pub fn permission_denied(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "permission_denied", detail)
    }

    /// 403 with DRF's default wording.
    pub fn forbidden() -> Self {
        Self::permission_denied("You do not have permission to perform this action.")
    }

    /// 404 `not_found`.
    pub fn not_found(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 405 `method_not_allowed`.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("Method \"{method}\" not allowed."),
        )
    }

    /// 409 `conflict`.
    pub fn conflict(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    /// 400 `validation_error` naming the field whose value must be unique and is taken, as
    /// DRF's unique validators answer (clients written for DRF check for 400).
    pub fn taken(field: &str) -> Self {
        let message = format!("A record with this {field} already exists.");
        Self::validation(BTreeMap::from([(field.to_owned(), vec![message])]))
    }

    /// 413 `payload_too_large`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Request body is larger than the limit of {limit} bytes."),
        )
    }

    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type(got: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Unsupported media type \"{got}\" in request."),
        )
    }

    /// 429 `throttled` with `Retry-After`.
    pub fn throttled(retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            format!("Request was throttled. Expected available in {retry_after_secs} seconds."),
        );
        err.retry_after = Some(retry_after_secs.max(1));
        err
    }

    /// 500 `internal_error`. The cause stays with the error (logged once, by the request
    /// middleware); the client sees a fixed message.
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error.",
        )
        .with_cause(cause)
    }

    /// 502 `upstream_error` with a message that is safe to show.
    pub fn upstream(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "upstream_error", detail)
    }

    /// 503 `unavailable`. The cause stays with the error (logged once, by the request
    /// middleware); the client sees `detail`.
    pub fn unavailable(detail: impl Into<Cow<'static, str>>, cause: impl fmt::Display) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail).with_cause(cause)
    }

    /// Attaches what really went wrong, for the logs.
    #[must_use]
    pub fn with_cause(mut self, cause: impl fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    /// What really went wrong, if recorded (never shown to clients).
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// Adds per-field messages to any error.
    #[must_use]
    pub fn with_errors(mut self, errors: FieldErrors) -> Self {
        self.errors = Some(errors);
        self
    }

    /// Sets `Retry-After` (seconds).
    #[must_use]
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine code, e.g. `not_found`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Seconds the client should wait (`Retry-After`), on 429 and 503.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The human message.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Per-field messages, if any.
    pub fn errors(&self) -> Option<&FieldErrors> {
        self.errors.as_ref()
    }

    /// The body this error renders.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            detail: self.detail.to_string(),
            code: self.code.to_owned(),
            errors: self.errors.clone(),
        }
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ApiError({} {}: {})",
            self.status.as_u16(),
            self.code,
            self.detail
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)?;
        if let Some(cause) = &self.cause {
            write!(f, " ({cause})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="api""#));
        }
        let mut res = builder.json(self.body());
        if let Some(cause) = &self.cause {
            res.extensions_mut().insert(ErrorCause(cause.clone()));
        }
        res
    }
}

impl From<DieselError> for ApiError {
    fn from(err: DieselError) -> Self {
        match &err {
            DieselError::NotFound => Self::not_found("Not found."),
            DieselError::DatabaseError(kind, info) => match kind {
                DatabaseErrorKind::UniqueViolation => {
                    match unique_violation_field(info.message()) {
                        Some(field) => Self::taken(&field),
                        None => Self::conflict("A record with these values already exists."),
                    }
                }
                DatabaseErrorKind::ForeignKeyViolation => {
                    Self::conflict("The referenced object does not exist or is still in use.")
                }
                DatabaseErrorKind::SerializationFailure => {
                    Self::unavailable("The database is busy; retry shortly.", &err)
                        .with_retry_after(1)
                }
                _ if is_connection_lost(info.message()) => {
                    Self::unavailable("The database is unavailable; retry shortly.", &err)
                        .with_retry_after(1)
                }
                _ if is_busy(info.message()) => {
                    Self::unavailable("The database is busy; retry shortly.", &err)
                        .with_retry_after(1)
                }
                _ => Self::internal(&err),
            },
            _ => Self::internal(&err),
        }
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(err: r2d2::Error) -> Self {
        Self::unavailable("The database is unavailable; retry shortly.", err).with_retry_after(1)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        Self::internal(err)
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(err: tokio::task::JoinError) -> Self {
        Self::internal(err)
    }
}

/// SQLite reports lock contention that outlived `busy_timeout` as an unknown error.
fn is_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database table is locked")
}

/// `true` when a database error says the server could not be reached or the connection broke
/// (the MySQL client reports these as unknown errors, by message only): the client gets 503
/// `unavailable` and retries, and the pool replaces the connection.
fn is_connection_lost(message: &str) -> bool {
    const SIGNS: [&str; 7] = [
        "gone away",
        "Lost connection",
        "Can't connect",
        "Connection refused",
        "Broken pipe",
        "Connection reset",
        "Unknown server host",
    ];
    SIGNS.iter().any(|sign| message.contains(sign))
}

/// Names the field of a unique violation, from either backend's message.
///
/// - SQLite: `UNIQUE constraint failed: users.username` (or `t.a, t.b`): the last column.
/// - MySQL/MariaDB: `Duplicate entry 'x' for key 'username'` (MySQL 8: `'users.username'`):
///   the key name. Our MySQL migrations name every unique key after the field it should report.
///
/// A column `<field>_key` holds the normalised form of `<field>` (see the users migration),
/// so it reports `<field>`.
pub(crate) fn unique_violation_field(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("UNIQUE constraint failed: ") {
        let last = rest.split(',').next_back()?.trim();
        let column = last.rsplit('.').next()?;
        return Some(column.strip_suffix("_key").unwrap_or(column).to_owned());
    }
    let key = message.split("for key '").nth(1)?.split('\'').next()?;
    let key = key.rsplit('.').next()?;
    (!key.is_empty() && key != "PRIMARY").then(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_field_from_sqlite_message() {
        assert_eq!(
            unique_violation_field("UNIQUE constraint failed: users.username").as_deref(),
            Some("username")
        );
        assert_eq!(
            unique_violation_field("UNIQUE constraint failed: api_keys.user_id, api_keys.name")
                .as_deref(),
            Some("name")
        );
        assert_eq!(
            unique_violation_field("UNIQUE constraint failed: users.email_key").as_deref(),
            Some("email")
        );
    }

    #[test]
    fn unique_field_from_mysql_messages() {
        assert_eq!(
            unique_violation_field("Duplicate entry 'Alice' for key 'username'").as_deref(),
            Some("username")
        );
        assert_eq!(
            unique_violation_field("Duplicate entry 'a@b.c' for key 'users.email'").as_deref(),
            Some("email")
        );
        assert_eq!(
            unique_violation_field("Duplicate entry '1' for key 'PRIMARY'"),
            None
        );
    }

    #[test]
    fn a_lost_connection_is_unavailable_not_internal() {
        for message in [
            "MySQL server has gone away",
            "Server has gone away",
            "Lost connection to server during query",
            "Lost connection to MySQL server at 'reading initial communication packet'",
            "Can't connect to server on '127.0.0.1' (111)",
        ] {
            let err = DieselError::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new(message.to_owned()),
            );
            let api = ApiError::from(err);
            assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE, "{message}");
            assert_eq!(api.code(), "unavailable");
        }
        let syntax = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("You have an error in your SQL syntax".to_owned()),
        );
        assert_eq!(
            ApiError::from(syntax).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn the_cause_rides_with_the_response_and_never_in_its_body() {
        let err = ApiError::internal("disk on fire");
        assert_eq!(err.cause(), Some("disk on fire"));
        assert!(
            err.to_string().contains("disk on fire"),
            "Display keeps it for logs"
        );
        let res = err.error_response();
        assert_eq!(
            res.extensions().get::<ErrorCause>().map(|c| c.0.as_str()),
            Some("disk on fire")
        );
        let body = serde_json::to_string(&err.body()).unwrap();
        assert!(!body.contains("disk"), "{body}");
    }

    #[test]
    fn throttled_sets_retry_after() {
        let resp = ApiError::throttled(42).error_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers().get(header::RETRY_AFTER).unwrap(), "42");
    }
}
