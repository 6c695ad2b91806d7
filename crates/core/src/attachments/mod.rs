//! Attachments: files uploaded by users, streamed to `MEDIA_ROOT` and served back.
//!
//! - [`storage`]: streaming to a temporary file with the size limit enforced while reading,
//!   SHA-256 while writing, the content type sniffed from the bytes, the move into place, and
//!   streaming back.
//! - [`service`]: rows and the rules of who may see or delete what. Public attachments (the
//!   default) are readable by anyone; private ones by their owner and staff only (404 to
//!   others); only the owner or staff delete (the row first, then the file).
//! - [`routes`]: the endpoints under `/api/v1/core/attachments/`.
//! - [`user_deletion`]: a deleted account's files, removed by a job.

pub mod routes;
pub mod service;
pub mod storage;
pub mod user_deletion;

pub use service::Attachment;
