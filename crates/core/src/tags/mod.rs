//! Tags, shared by the forum and any domain that labels things.
//!
//! - [`service`]: rows and rules, and what other domains call: [`service::clean_names`] and
//!   [`service::resolve_names`] (names → tags, creating missing ones), [`service::add_usage`]
//!   (keeps `usage_count` exact, in SQL, in the caller's transaction), [`service::summaries`]
//!   (one batch per page), [`service::find_id`] (a `?tag=` filter by slug or name).
//! - [`routes`]: the endpoints under `/api/v1/core/tags/` (anyone lists and reads, staff write).

pub mod routes;
pub mod service;

pub use service::{Tag, TagSummary};
