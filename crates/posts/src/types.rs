//! Request and response bodies of the forum API.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use plaza_core::tags::TagSummary;
use plaza_users::Author;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

/// Longest title, in characters (after trimming).
pub const TITLE_MAX: u64 = 200;
/// Longest post body, in characters.
pub const CONTENT_MAX: u64 = 50_000;
/// Longest reply, in characters.
pub const REPLY_MAX: u64 = 10_000;
/// Most tags on one post.
pub const TAGS_MAX: usize = 10;

/// Text that is more than whitespace.
fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(ValidationError::new("blank")
            .with_message(Cow::Borrowed("This field may not be blank.")))
    } else {
        Ok(())
    }
}

/// A title within its limit once trimmed (titles are stored trimmed, as DRF does).
fn title_rules(value: &str) -> Result<(), ValidationError> {
    not_blank(value)?;
    if value.trim().chars().count() as u64 > TITLE_MAX {
        return Err(
            ValidationError::new("length").with_message(Cow::Owned(format!(
                "Ensure this field has no more than {TITLE_MAX} characters."
            ))),
        );
    }
    Ok(())
}

/// A new post (POST), or all of a post's text (PUT; tags unchanged when absent).
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct PostWrite {
    /// 1–200 characters (surrounding blanks are trimmed).
    #[validate(custom(function = "title_rules"))]
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// 1–50000 characters, not only blanks.
    #[validate(length(min = 1, max = 50000), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 50000)]
    pub content: String,
    /// Tag names (at most 10); tags that do not exist yet are created.
    pub tags: Option<Vec<String>>,
}

/// Some fields of a post (PATCH, and the forum's `posts/update/{id}/`).
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct PostPatch {
    /// 1–200 characters.
    #[validate(custom(function = "title_rules"))]
    pub title: Option<String>,
    /// 1–50000 characters.
    #[validate(length(min = 1, max = 50000), custom(function = "not_blank"))]
    pub content: Option<String>,
    /// Replaces the post's tags.
    pub tags: Option<Vec<String>>,
}

impl From<PostWrite> for PostPatch {
    fn from(write: PostWrite) -> Self {
        Self {
            title: Some(write.title),
            content: Some(write.content),
            tags: write.tags,
        }
    }
}

/// A new reply.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ReplyWrite {
    /// 1–10000 characters, not only blanks.
    #[validate(length(min = 1, max = 10000), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 10000)]
    pub content: String,
    /// A top-level reply of the same post this one answers (replies nest one level).
    pub parent_id: Option<i64>,
}

/// A reply's new text (PUT). The post and the reply it answers never change.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ReplyEdit {
    /// 1–10000 characters, not only blanks.
    #[validate(length(min = 1, max = 10000), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 10000)]
    pub content: String,
}

/// Maybe a reply's new text (PATCH, and the forum's `posts/reply/update/{id}/`).
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct ReplyPatch {
    /// 1–10000 characters, not only blanks.
    #[validate(length(min = 1, max = 10000), custom(function = "not_blank"))]
    pub content: Option<String>,
}

impl From<ReplyEdit> for ReplyPatch {
    fn from(edit: ReplyEdit) -> Self {
        Self {
            content: Some(edit.content),
        }
    }
}

/// Filters of the post list.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostQuery {
    /// Terms that must all appear in the title or content (whitespace or comma separated).
    pub search: Option<String>,
    /// The author's user id.
    pub author: Option<i64>,
    /// A tag's slug or name.
    pub tag: Option<String>,
    /// `created_at` (default `-created_at`), `updated_at`, `reply_count`, `view_count`, each
    /// optionally prefixed with `-`, comma separated.
    pub ordering: Option<String>,
}

/// Order of a post's replies.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReplyQuery {
    /// `created_at` (default, oldest first) or `-created_at`.
    pub ordering: Option<String>,
}

/// A post as lists show it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PostOut {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// Who wrote it.
    pub author: Author,
    /// Its tags.
    pub tags: Vec<TagSummary>,
    /// Replies (deleted ones not counted).
    pub reply_count: i64,
    /// Detail views.
    pub view_count: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last edited.
    pub updated_at: DateTime<Utc>,
}

/// A post with its replies, oldest first (at most 500 here; `{id}/replies/` pages through
/// them all).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PostDetail {
    /// The post.
    #[serde(flatten)]
    pub post: PostOut,
    /// Its replies, oldest first; a reply answering another names it in `parent_id`.
    pub replies: Vec<ReplyOut>,
}

/// A reply.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReplyOut {
    /// Id.
    pub id: i64,
    /// The post it answers.
    pub post_id: i64,
    /// The reply it answers, if any.
    pub parent_id: Option<i64>,
    /// Who wrote it; null once deleted.
    pub author: Option<Author>,
    /// Body; empty once deleted.
    pub content: String,
    /// Deleted, but kept because others answered it.
    pub is_deleted: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last edited.
    pub updated_at: DateTime<Utc>,
}
