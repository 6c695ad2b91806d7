//! Prompt templates rendered by `minijinja` in strict mode: a template's variables are read
//! from the template itself (`undeclared_variables`), every missing one is named at once (400
//! `validation_error` on `variables`), and an undefined value anywhere else fails the render
//! instead of printing nothing.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::{Environment, UndefinedBehavior};
use plaza_kernel::ApiError;
use serde_json::Value;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// The variables `source` uses, sorted; 400 naming `template` when it does not parse.
pub fn variables(source: &str) -> Result<Vec<String>, ApiError> {
    let env = environment();
    let template = env
        .template_from_str(source)
        .map_err(|e| ApiError::invalid_field("template", format!("Invalid template: {e}")))?;
    let names: BTreeSet<String> = template.undeclared_variables(false).into_iter().collect();
    Ok(names.into_iter().collect())
}

/// Renders `source` with `values`; 400 naming every missing variable.
pub fn render(source: &str, values: &BTreeMap<String, Value>) -> Result<String, ApiError> {
    let missing: Vec<String> = variables(source)?
        .into_iter()
        .filter(|name| !values.contains_key(name))
        .collect();
    if !missing.is_empty() {
        let mut errors = plaza_kernel::error::FieldErrors::new();
        errors.insert(
            "variables".to_owned(),
            missing
                .iter()
                .map(|name| format!("Missing variable `{name}`."))
                .collect(),
        );
        return Err(ApiError::validation(errors));
    }
    let env = environment();
    env.render_str(source, values).map_err(|e| {
        ApiError::invalid_field(
            "variables",
            format!("The template could not be rendered: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_variables() {
        let source = "Translate {{ text }} into {{ language }}.";
        assert_eq!(variables(source).unwrap_or_default(), ["language", "text"]);
        let mut values = BTreeMap::new();
        values.insert("text".to_owned(), json!("bonjour"));
        let err = render(source, &values).err().map(|e| e.errors().cloned());
        let errors = err.flatten().unwrap_or_default();
        assert_eq!(errors["variables"], ["Missing variable `language`."]);
        values.insert("language".to_owned(), json!("English"));
        assert_eq!(
            render(source, &values).ok().as_deref(),
            Some("Translate bonjour into English.")
        );
        // Strict: an attribute of a missing value fails rather than printing nothing.
        assert!(render(
            "{{ user.name.first }}",
            &BTreeMap::from([("user".to_owned(), json!({}))])
        )
        .is_err());
        assert!(variables("{{ unclosed").is_err());
    }
}
