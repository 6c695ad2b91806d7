//! `?search=` on posts: every term must appear in the title or the content.
//!
//! Terms are split as DRF's `SearchFilter` splits them (whitespace and commas). Each backend
//! then finds them its own way:
//!
//! - **MySQL/MariaDB**: a `FULLTEXT (title, content)` index answers the terms InnoDB can
//!   index — ASCII words of at least `innodb_ft_min_token_size` (3) characters that are not
//!   in InnoDB's stopword list — in one `MATCH … AGAINST ('+term* …' IN BOOLEAN MODE)`, which
//!   matches whole words and word prefixes (`rust` finds "Rust" and "rustacean", not
//!   "trust"). Every other term goes to `LIKE '%term%'`: InnoDB's built-in parser has no CJK
//!   tokenizer (MariaDB ships no ngram parser), so a Chinese word inside a sentence is one
//!   long token to it, and it ignores short terms and stopwords. The FULLTEXT condition,
//!   when there is one, narrows the rows the `LIKE`s scan.
//! - **SQLite**: the portable fallback, `LIKE '%term%'` on title and content for every term
//!   (case-insensitive for ASCII letters, as SQLite's `LIKE` is).
//!
//! `%`, `_` and `\` in a term are literal (escaped), and a term is never spliced into SQL: the
//! boolean-mode string is bound, and holds only ASCII letters and digits, `+` and `*`.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use plaza_kernel::db::{like, Backend, MultiBackend};
use plaza_kernel::schema::posts;

/// At most this many terms are used; more are ignored, as a search box would.
pub const MAX_TERMS: usize = 10;
/// Terms longer than this (in characters) are cut.
pub const MAX_TERM_CHARS: usize = 100;
/// InnoDB's `innodb_ft_min_token_size` default: shorter words are not indexed.
const FULLTEXT_MIN_CHARS: usize = 3;
/// InnoDB's `innodb_ft_max_token_size` default.
const FULLTEXT_MAX_CHARS: usize = 84;
/// InnoDB's default stopwords of at least three letters (shorter ones are not indexed anyway).
const INNODB_STOPWORDS: &[&str] = &[
    "about", "are", "com", "for", "from", "how", "that", "the", "this", "was", "what", "when",
    "where", "who", "will", "with", "und", "www",
];

/// A parsed `?search=`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    terms: Vec<String>,
}

impl Search {
    /// The terms of `raw`; `None` when there are none.
    pub fn parse(raw: Option<&str>) -> Option<Self> {
        let raw = raw?.replace(['\0', ','], " ");
        let mut terms: Vec<String> = Vec::new();
        for term in raw.split_whitespace() {
            let term: String = term.chars().take(MAX_TERM_CHARS).collect();
            if !terms
                .iter()
                .any(|t| t.to_lowercase() == term.to_lowercase())
            {
                terms.push(term);
            }
            if terms.len() == MAX_TERMS {
                break;
            }
        }
        (!terms.is_empty()).then_some(Self { terms })
    }

    /// The terms InnoDB's FULLTEXT index can answer, and the rest.
    fn split_for_fulltext(&self) -> (Vec<&str>, Vec<&str>) {
        self.terms
            .iter()
            .map(String::as_str)
            .partition(|term| fulltext_indexable(term))
    }

    /// Adds this search to a posts query, for `backend`.
    pub fn apply<'a>(
        &self,
        mut query: posts::BoxedQuery<'a, MultiBackend>,
        backend: Backend,
    ) -> posts::BoxedQuery<'a, MultiBackend> {
        let like_terms = match backend {
            Backend::Mysql => {
                let (indexed, rest) = self.split_for_fulltext();
                if !indexed.is_empty() {
                    query = query.filter(
                        sql::<Bool>("MATCH (posts.title, posts.content) AGAINST (")
                            .bind::<Text, _>(boolean_mode_query(&indexed))
                            .sql(" IN BOOLEAN MODE)"),
                    );
                }
                rest
            }
            Backend::Sqlite => self.terms.iter().map(String::as_str).collect(),
        };
        for term in like_terms {
            let pattern = like::contains(term);
            query = query.filter(
                posts::title
                    .like(pattern.clone())
                    .escape(like::ESCAPE)
                    .or(posts::content.like(pattern).escape(like::ESCAPE)),
            );
        }
        query
    }
}

/// Whether InnoDB's default FULLTEXT parser indexes `term` as one word.
fn fulltext_indexable(term: &str) -> bool {
    let len = term.chars().count();
    (FULLTEXT_MIN_CHARS..=FULLTEXT_MAX_CHARS).contains(&len)
        && term.bytes().all(|b| b.is_ascii_alphanumeric())
        && !INNODB_STOPWORDS.contains(&term.to_ascii_lowercase().as_str())
}

/// `+a* +b*`: every word required, each as a word or a word prefix.
fn boolean_mode_query(terms: &[&str]) -> String {
    terms
        .iter()
        .map(|t| format!("+{t}*"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_split_like_drf() {
        let search = Search::parse(Some(" rust,  web\0 Rust 框架 ")).unwrap();
        assert_eq!(search.terms, vec!["rust", "web", "框架"]);
        assert_eq!(Search::parse(Some(" , ")), None);
        assert_eq!(Search::parse(None), None);
        let many = (0..20)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(Search::parse(Some(&many)).unwrap().terms.len(), MAX_TERMS);
    }

    #[test]
    fn fulltext_takes_only_what_innodb_indexes() {
        let search = Search::parse(Some("rust go 框架 the tokio c++ 100% x_y Web3")).unwrap();
        let (indexed, rest) = search.split_for_fulltext();
        assert_eq!(indexed, vec!["rust", "tokio", "Web3"]);
        assert_eq!(rest, vec!["go", "框架", "the", "c++", "100%", "x_y"]);
        assert_eq!(boolean_mode_query(&indexed), "+rust* +tokio* +Web3*");
    }
}
