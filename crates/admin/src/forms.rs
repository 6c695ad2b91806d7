//! Posted forms (`application/x-www-form-urlencoded`) and the query strings of list pages.

use plaza_kernel::admin::{AdminModel, Field, FieldKind, Values};

use crate::render::PageError;

/// A posted form's fields, in order (a key may repeat, as the row checkboxes do).
#[derive(Clone, Debug, Default)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    /// Parses a urlencoded body.
    pub fn parse(body: &[u8]) -> Result<Self, PageError> {
        serde_urlencoded::from_bytes(body)
            .map(Self)
            .map_err(|_| PageError::Api(plaza_kernel::ApiError::bad_request("Malformed form.")))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// The fields a form shows: on create every field, on edit all but the create-only ones.
pub fn form_fields(model: &AdminModel, creating: bool) -> impl Iterator<Item = &'static Field> {
    model
        .fields
        .iter()
        .filter(move |f| creating || !f.create_only)
}

/// The model's fields as submitted, for the fields `may_change` allows: text as typed, a
/// checkbox `true` when ticked and `false` when not.
pub fn submitted(model: &AdminModel, form: &FormData, creating: bool, superuser: bool) -> Values {
    let mut values = Values::default();
    for field in form_fields(model, creating) {
        if field.superuser_only && !superuser {
            continue;
        }
        let value = match field.kind {
            FieldKind::Bool => form
                .get(field.name)
                .and_then(plaza_kernel::admin::parse_bool)
                .unwrap_or(false)
                .to_string(),
            _ => match form.get(field.name) {
                Some(v) => v.replace("\r\n", "\n"),
                None => continue,
            },
        };
        values.0.insert(field.name.to_owned(), value);
    }
    values
}

/// Percent-encodes a query string from pairs.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}
