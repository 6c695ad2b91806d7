//! Request extractors that validate once and answer in the contract's envelope.
//!
//! - [`ValidJson<T>`]: requires a JSON content type (415), enforces `MAX_BODY_BYTES` while
//!   reading (413), parses (400 `bad_request` for malformed JSON; 400 `validation_error`
//!   naming the field for a wrong type or a missing field), then runs `validator` rules.
//!   An empty body reads as `{}`, as DRF does.
//! - [`ValidQuery<T>`]: the same for the query string.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{web, FromRequest, HttpRequest};
use bytes::BytesMut;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

use crate::config::Config;
use crate::error::{ApiError, FieldErrors};

/// Default JSON body limit when no [`Config`] is in app data.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// A JSON body, parsed and validated.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

impl<T> ValidJson<T> {
    /// The value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for ValidJson<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<Config>>()
            .map_or(DEFAULT_BODY_LIMIT, |c| c.max_body_bytes);
        let checked = check_json_headers(req, limit);
        let mut payload = payload.take();
        Box::pin(async move {
            checked?;
            let body = read_body(&mut payload, limit).await?;
            let value = parse_json::<T>(&body)?;
            validate(&value)?;
            Ok(Self(value))
        })
    }
}

fn check_json_headers(req: &HttpRequest, limit: usize) -> Result<(), ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if !is_json(&content_type) {
        return Err(ApiError::unsupported_media_type(&content_type));
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::payload_too_large(limit));
    }
    Ok(())
}

/// `application/json`, any `+json` type, with or without parameters.
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads the whole body, refusing it as soon as it passes `limit`.
pub async fn read_body(payload: &mut Payload, limit: usize) -> Result<BytesMut, ApiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("Could not read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses JSON, naming the field of a type error.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let inner = err.inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let path = err.path().to_string();
                data_error(&path, &inner.to_string())
            }
            _ => ApiError::bad_request(format!(
                "JSON parse error - {}",
                strip_position(&inner.to_string())
            )),
        }
    })?;
    // Trailing characters after the value are malformed JSON too.
    de.end().map_err(|e| {
        ApiError::bad_request(format!(
            "JSON parse error - {}",
            strip_position(&e.to_string())
        ))
    })?;
    Ok(value)
}

/// Turns a serde data error at `path` into `validation_error`.
fn data_error(path: &str, message: &str) -> ApiError {
    let message = strip_position(message);
    if let Some(field) = missing_field(&message) {
        let key = if path == "." || path.is_empty() {
            field
        } else {
            format!("{path}.{field}")
        };
        return ApiError::invalid_field(&key, "This field is required.");
    }
    let key = if path == "." || path.is_empty() {
        "non_field_errors".to_owned()
    } else {
        path.to_owned()
    };
    ApiError::invalid_field(&key, capitalize(&message))
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Runs `validator` rules and maps failures to `validation_error`.
pub fn validate<T: Validate>(value: &T) -> Result<(), ApiError> {
    value
        .validate()
        .map_err(|errors| ApiError::validation(field_errors(&errors)))
}

/// Flattens `validator` errors into field → messages (`a.b`, `items[0].name`;
/// struct-level errors under `non_field_errors`, as DRF names them).
pub fn field_errors(errors: &ValidationErrors) -> FieldErrors {
    let mut out = BTreeMap::new();
    flatten("", errors, &mut out);
    out
}

fn flatten(prefix: &str, errors: &ValidationErrors, out: &mut FieldErrors) {
    for (field, kind) in errors.errors() {
        let name = if field == "__all__" {
            "non_field_errors".to_owned()
        } else {
            field.to_string()
        };
        let key = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                out.entry(key).or_default().extend(list.iter().map(message));
            }
            ValidationErrorsKind::Struct(inner) => flatten(&key, inner, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    flatten(&format!("{key}[{index}]"), inner, out);
                }
            }
        }
    }
}

/// A readable message for one rule failure: the rule's own message, or one in DRF's words.
pub fn message(err: &ValidationError) -> String {
    if let Some(msg) = &err.message {
        return msg.to_string();
    }
    let param = |name: &str| err.params.get(name).map(ToString::to_string);
    match err.code.as_ref() {
        "length" => match (param("min"), param("max"), param("equal")) {
            (_, _, Some(n)) => format!("Ensure this field has exactly {n} characters."),
            (Some(min), Some(max), _) => {
                format!("Ensure this field has {min} to {max} characters.")
            }
            (Some(min), None, _) => format!("Ensure this field has at least {min} characters."),
            (None, Some(max), _) => format!("Ensure this field has no more than {max} characters."),
            _ => "Invalid length.".to_owned(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("Ensure this value is between {min} and {max}."),
            (Some(min), None) => format!("Ensure this value is greater than or equal to {min}."),
            (None, Some(max)) => format!("Ensure this value is less than or equal to {max}."),
            _ => "Value out of range.".to_owned(),
        },
        "email" => "Enter a valid email address.".to_owned(),
        "url" => "Enter a valid URL.".to_owned(),
        "required" => "This field is required.".to_owned(),
        "regex" => "Enter a valid value.".to_owned(),
        "must_match" => "The values do not match.".to_owned(),
        code => format!("Invalid value ({code})."),
    }
}

/// A query string, parsed and validated.
#[derive(Debug)]
pub struct ValidQuery<T>(pub T);

impl<T> ValidQuery<T> {
    /// The value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for ValidQuery<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for ValidQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query::<T>(req.query_string()).and_then(|value| {
            validate(&value)?;
            Ok(Self(value))
        }))
    }
}

/// Parses a query string, naming the parameter of a type error.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let message = err.inner().to_string();
        if let Some(field) = missing_field(&message) {
            return ApiError::invalid_field(&field, "This field is required.");
        }
        let key = if path == "." {
            "non_field_errors".to_owned()
        } else {
            path
        };
        ApiError::invalid_field(&key, capitalize(&message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Validate)]
    struct NewPost {
        #[validate(length(min = 1, max = 5))]
        title: String,
        #[serde(default)]
        #[allow(dead_code)]
        views: u32,
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = parse_json::<NewPost>(br#"{"title": 5}"#).unwrap_err();
        assert_eq!(err.code(), "validation_error");
        assert!(
            err.errors().unwrap().contains_key("title"),
            "{:?}",
            err.errors()
        );
    }

    #[test]
    fn missing_field_is_required() {
        let err = parse_json::<NewPost>(br#"{"views": 1}"#).unwrap_err();
        assert_eq!(
            err.errors().unwrap()["title"],
            vec!["This field is required."]
        );
    }

    #[test]
    fn malformed_json_is_bad_request() {
        let err = parse_json::<NewPost>(br#"{"title": "#).unwrap_err();
        assert_eq!(err.code(), "bad_request");
        let err = parse_json::<NewPost>(br#"{"title": "a"} trailing"#).unwrap_err();
        assert_eq!(err.code(), "bad_request");
    }

    #[test]
    fn empty_body_reads_as_empty_object() {
        let err = parse_json::<NewPost>(b"").unwrap_err();
        assert_eq!(
            err.errors().unwrap()["title"],
            vec!["This field is required."]
        );
    }

    #[test]
    fn rule_failures_name_the_field() {
        let post = parse_json::<NewPost>(br#"{"title": "far too long"}"#).unwrap();
        let err = validate(&post).unwrap_err();
        assert_eq!(
            err.errors().unwrap()["title"],
            vec!["Ensure this field has 1 to 5 characters."]
        );
    }

    #[test]
    fn query_type_errors_name_the_parameter() {
        #[derive(Debug, Deserialize)]
        struct Q {
            #[allow(dead_code)]
            page_size: Option<u32>,
        }
        let err = parse_query::<Q>("page_size=lots").unwrap_err();
        assert!(
            err.errors().unwrap().contains_key("page_size"),
            "{:?}",
            err.errors()
        );
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }
}
