//! Patterns for SQL `LIKE`, with the caller's text taken literally.
//!
//! A search term may hold `%`, `_` or `\`; spliced into a pattern as they are, they would
//! match anything. [`escape`] puts [`ESCAPE`] before each, and the query names the same
//! character, so both backends read the term as written:
//!
//! ```ignore
//! query.filter(posts::title.like(like::contains(term)).escape(like::ESCAPE))
//! ```
//!
//! MySQL's default escape character is `\` already, SQLite has none: say `.escape(ESCAPE)`
//! every time, or SQLite matches the backslashes themselves.

/// The escape character the patterns use; pass it to diesel's `.escape(…)`.
pub const ESCAPE: char = '\\';

/// `s` with `LIKE`'s wildcards (`%`, `_`) and the escape character itself escaped by [`ESCAPE`].
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | ESCAPE) {
            out.push(ESCAPE);
        }
        out.push(c);
    }
    out
}

/// `%term%`: matches any text that contains `term`, taken literally.
pub fn contains(term: &str) -> String {
    format!("%{}%", escape(term))
}

/// `prefix%`: matches any text that starts with `prefix`, taken literally.
pub fn starts_with(prefix: &str) -> String {
    format!("{}%", escape(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_the_escape_character_are_escaped() {
        assert_eq!(escape(r"50%_a\b"), r"50\%\_a\\b");
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn contains_wraps_the_escaped_term() {
        assert_eq!(contains("a%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(contains("张"), "%张%");
        assert_eq!(contains(""), "%%");
    }

    #[test]
    fn starts_with_anchors_the_escaped_prefix() {
        assert_eq!(starts_with("rust-"), "rust-%");
        assert_eq!(starts_with("a_b-"), "a\\_b-%");
    }
}
