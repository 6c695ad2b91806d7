//! Request extractors that validate once and answer in the contract's envelope.
//!
//! - [`ValidJson<T>`]: requires a JSON content type (415), enforces `MAX_BODY_BYTES` while
//!   reading (413), parses (400 `bad_request` for malformed JSON), and answers one 400
//!   `validation_error` naming every field that is missing, of the wrong type, or breaks a
//!   `validator` rule, all at once as DRF's serializers do.
//!   An empty body reads as `{}`, as DRF does.
//! - [`Body<T>`]: the same checks, with the verdict kept for the service to ask for after
//!   it has checked permission (403 before 400, as DRF orders them).
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
            Ok(Self(parse_valid_json::<T>(&body)?))
        })
    }
}

/// A JSON body read and checked as [`ValidJson`] checks it, whose verdict waits until the
/// service asks for it ([`Body::parse`]): the service decides permission first (403, or 404
/// for what the caller may not see) and only then looks at the body (400), in the order DRF
/// gives them. Handlers whose endpoint has a permission rule take this instead of `ValidJson`.
#[derive(Debug)]
pub struct Body<T>(Result<T, ApiError>);

impl<T> Body<T> {
    /// The body, or why it is invalid.
    pub fn parse(self) -> Result<T, ApiError> {
        self.0
    }

    /// The body converted, keeping its verdict.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Body<U> {
        Body(self.0.map(f))
    }

    /// A body known to be valid (for services called by other code than a handler).
    pub fn valid(value: T) -> Self {
        Self(Ok(value))
    }

    /// The fields the body sets, if it is valid; `None` leaves the verdict to [`Body::parse`].
    pub fn peek(&self) -> Option<&T> {
        self.0.as_ref().ok()
    }
}

/// A value known to be valid is a body with a verdict already given, so services that take
/// `impl Into<Body<T>>` serve both handlers and other callers (the staff console, jobs).
impl<T> From<T> for Body<T> {
    fn from(value: T) -> Self {
        Self::valid(value)
    }
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let parsed = ValidJson::<T>::from_request(req, payload);
        Box::pin(async move { Ok(Self(parsed.await.map(ValidJson::into_inner))) })
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

/// Parses JSON, naming every field with a wrong type or missing, at once (as DRF's
/// serializers do); malformed JSON is one `bad_request`.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    parse_checked(body, |_: &T| Ok(()))
}

/// [`parse_json`], then the `validator` rules: one `validation_error` naming every invalid
/// field — those that did not parse and those whose value breaks a rule. Struct-level rules
/// (`non_field_errors`) run only when every field is valid, as DRF's `validate()` does.
pub fn parse_valid_json<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, ApiError> {
    parse_checked(body, |value: &T| validate(value))
}

fn parse_checked<T: DeserializeOwned>(
    body: &[u8],
    check: impl Fn(&T) -> Result<(), ApiError>,
) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => {
            // Trailing characters after the value are malformed JSON too.
            de.end().map_err(|e| syntax_error(&e))?;
            check(&value)?;
            Ok(value)
        }
        Err(err) if err.inner().classify() != serde_json::error::Category::Data => {
            Err(syntax_error(err.inner()))
        }
        Err(err) => {
            // Well-formed JSON of the wrong shape: look at all of it (a syntax error further
            // on still wins, as it would have without the data error).
            let first = data_error(&err.path().to_string(), &err.inner().to_string());
            match serde_json::from_slice::<serde_json::Value>(body) {
                Err(syntax) => Err(syntax_error(&syntax)),
                Ok(serde_json::Value::Object(object)) => {
                    Err(every_field_error(object, &check).unwrap_or(first))
                }
                Ok(other) if err.path().to_string().starts_with('[') => {
                    // serde lets a struct be read from an array; DRF names the real problem.
                    let got = match other {
                        serde_json::Value::Array(_) => "list",
                        serde_json::Value::String(_) => "str",
                        serde_json::Value::Number(_) => "int",
                        serde_json::Value::Bool(_) => "bool",
                        _ => "NoneType",
                    };
                    Err(ApiError::invalid_field(
                        "non_field_errors",
                        format!("Invalid data. Expected a dictionary, but got {got}."),
                    ))
                }
                Ok(_) => Err(first),
            }
        }
    }
}

fn syntax_error(err: &serde_json::Error) -> ApiError {
    ApiError::bad_request(format!(
        "JSON parse error - {}",
        strip_position(&err.to_string())
    ))
}

/// Values tried in place of a field already reported, so that deserialising can go on to
/// the next field: one of them has the shape of almost any field's type.
const STAND_INS: [&str; 8] = [
    "null",
    "\"\"",
    "0",
    "false",
    "[]",
    "{}",
    "\"00000000-0000-0000-0000-000000000000\"",
    "\"1970-01-01T00:00:00Z\"",
];

/// Collects the error of every field of a JSON object that does not deserialise as `T`.
/// serde stops at the first bad field, so each round reports one field, takes it out of
/// the way (removed, then given stand-in values until one fits), and deserialises again;
/// a body with `n` bad fields costs about `n` extra rounds, on the error path only.
fn every_field_error<T: DeserializeOwned>(
    mut object: serde_json::Map<String, serde_json::Value>,
    check: &impl Fn(&T) -> Result<(), ApiError>,
) -> Option<ApiError> {
    let mut errors = FieldErrors::new();
    // Fields reported so far, with the next stand-in to try for each.
    let mut reported: BTreeMap<String, usize> = BTreeMap::new();
    let rounds = 4 * object.len() + 4 * STAND_INS.len() + 8;
    for _ in 0..rounds {
        let value = serde_json::Value::Object(object.clone());
        let err = match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(parsed) => {
                if let Err(rules) = check(&parsed) {
                    for (field, messages) in rules.errors().cloned().unwrap_or_default() {
                        let top = field.split(['.', '[']).next().unwrap_or_default();
                        if field != "non_field_errors" && !reported.contains_key(top) {
                            errors.entry(field).or_default().extend(messages);
                        }
                    }
                }
                break;
            }
            Err(err) => err,
        };
        let path = err.path().to_string();
        let message = err.inner().to_string();
        let one = data_error(&path, &message);
        let Some((key, messages)) = one.errors().and_then(|e| e.iter().next()) else {
            break;
        };
        let top = key.split(['.', '[']).next().unwrap_or_default().to_owned();
        if top.is_empty() || top == "non_field_errors" {
            errors
                .entry(key.clone())
                .or_default()
                .extend(messages.iter().cloned());
            break;
        }
        match reported.get_mut(&top) {
            None => {
                errors
                    .entry(key.clone())
                    .or_default()
                    .extend(messages.iter().cloned());
                reported.insert(top.clone(), 0);
                object.remove(&top);
            }
            Some(next) => {
                let Some(stand_in) = STAND_INS.get(*next) else {
                    break;
                };
                *next += 1;
                let value = serde_json::from_str(stand_in).unwrap_or(serde_json::Value::Null);
                object.insert(top, value);
            }
        }
    }
    (!errors.is_empty()).then(|| ApiError::validation(errors))
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

    #[derive(Debug, Deserialize, Validate)]
    #[allow(dead_code)]
    struct Registration {
        #[validate(length(min = 3, max = 10))]
        username: String,
        #[validate(email)]
        email: String,
        age: u8,
        #[validate(length(max = 3))]
        nickname: Option<String>,
        #[validate(nested)]
        address: Option<Address>,
    }

    #[derive(Debug, Deserialize, Validate)]
    #[allow(dead_code)]
    struct Address {
        city: String,
    }

    fn fields(err: &ApiError) -> Vec<&str> {
        err.errors()
            .map(|e| e.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn every_missing_field_is_named_at_once() {
        let err = parse_valid_json::<Registration>(b"{}").unwrap_err();
        assert_eq!(err.code(), "validation_error");
        assert_eq!(fields(&err), ["age", "email", "username"]);
        for messages in err.errors().unwrap().values() {
            assert_eq!(messages, &["This field is required."]);
        }
    }

    #[test]
    fn wrong_types_missing_fields_and_broken_rules_come_together() {
        let body =
            br#"{"username": 7, "age": 300, "nickname": "much too long", "address": {"city": 1}}"#;
        let err = parse_valid_json::<Registration>(body).unwrap_err();
        assert_eq!(
            fields(&err),
            ["address.city", "age", "email", "nickname", "username"]
        );
        let errors = err.errors().unwrap();
        assert_eq!(errors["email"], ["This field is required."]);
        assert!(
            errors["username"][0].starts_with("Invalid type"),
            "{errors:?}"
        );
        assert_eq!(
            errors["nickname"].len(),
            1,
            "only the rule, once: {errors:?}"
        );
    }

    #[test]
    fn stand_ins_for_reported_fields_never_add_rule_errors() {
        // `username` is reported as missing; the stand-in that lets parsing go on ("" or
        // "0…") breaks its length rule, which must not be reported on top.
        let body = br#"{"email": "not-an-address", "age": 3}"#;
        let err = parse_valid_json::<Registration>(body).unwrap_err();
        let errors = err.errors().unwrap();
        assert_eq!(fields(&err), ["email", "username"]);
        assert_eq!(errors["username"], ["This field is required."]);
    }

    #[test]
    fn a_valid_body_parses_and_a_non_object_names_one_error() {
        let ok = parse_valid_json::<Registration>(
            br#"{"username": "alice", "email": "a@example.com", "age": 30}"#,
        )
        .unwrap();
        assert_eq!(ok.username, "alice");
        let err = parse_valid_json::<Registration>(b"[1, 2]").unwrap_err();
        assert_eq!(err.code(), "validation_error");
        assert_eq!(fields(&err), ["non_field_errors"]);
        let err = parse_valid_json::<Registration>(b"{\"username\": ").unwrap_err();
        assert_eq!(err.code(), "bad_request");
        let err = parse_valid_json::<Registration>(br#"{"age": "x"} trailing"#).unwrap_err();
        assert_eq!(err.code(), "bad_request");
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

/// Bodies and query strings come from the client: any of them parses or is one 4xx error in
/// the contract's shape, never a panic, and a validation error always names a field.
#[cfg(test)]
mod props {
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::Value;

    use super::*;

    #[derive(Debug, Deserialize, Validate)]
    #[allow(dead_code)]
    struct Shape {
        #[validate(length(min = 1, max = 8))]
        name: String,
        count: u16,
        #[serde(default)]
        tags: Vec<String>,
        #[validate(nested)]
        inner: Option<Inner>,
        when: Option<chrono::DateTime<chrono::Utc>>,
    }

    #[derive(Debug, Deserialize, Validate)]
    #[allow(dead_code)]
    struct Inner {
        #[validate(range(min = 0, max = 10))]
        level: i32,
    }

    #[derive(Debug, Deserialize, Validate)]
    #[allow(dead_code)]
    struct Query {
        page: Option<u32>,
        search: Option<String>,
        flag: Option<bool>,
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("name".to_owned()),
            Just("count".to_owned()),
            Just("tags".to_owned()),
            Just("inner".to_owned()),
            Just("level".to_owned()),
            Just("when".to_owned()),
            "[a-z_]{1,6}",
        ]
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(key(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn client_error(err: &ApiError) -> Result<(), TestCaseError> {
        prop_assert!(
            ["validation_error", "bad_request"].contains(&err.code()),
            "{:?}",
            err
        );
        if err.code() == "validation_error" {
            prop_assert!(!err.errors().unwrap().is_empty(), "{:?}", err);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_parse_or_are_a_client_error(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Err(err) = parse_valid_json::<Shape>(&body) {
                client_error(&err)?;
            }
        }

        #[test]
        fn arbitrary_json_parses_or_names_its_fields(value in json()) {
            let body = serde_json::to_vec(&value).unwrap();
            if let Err(err) = parse_valid_json::<Shape>(&body) {
                client_error(&err)?;
            }
        }

        #[test]
        fn arbitrary_query_strings_parse_or_are_a_client_error(query in ".{0,80}") {
            if let Err(err) = parse_query::<Query>(&query) {
                client_error(&err)?;
            }
        }
    }
}
