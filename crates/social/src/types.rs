//! Request and response bodies of the social API.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use plaza_users::Author;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

/// Longest feed post, in characters.
pub const POST_MAX: u64 = 10_000;
/// Longest comment, in characters.
pub const COMMENT_MAX: u64 = 2_000;
/// Longest direct message, in characters.
pub const MESSAGE_MAX: u64 = 5_000;
/// Longest friend request message, in characters.
pub const REQUEST_MESSAGE_MAX: u64 = 500;
/// Most attachments on one feed post.
pub const ATTACHMENTS_MAX: usize = 10;

/// Text that is more than whitespace.
pub(crate) fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(ValidationError::new("blank")
            .with_message(Cow::Borrowed("This field may not be blank.")))
    } else {
        Ok(())
    }
}

fn at_most_attachments(ids: &[i64]) -> Result<(), ValidationError> {
    if ids.len() > ATTACHMENTS_MAX {
        return Err(
            ValidationError::new("length").with_message(Cow::Owned(format!(
                "Ensure this field has no more than {ATTACHMENTS_MAX} elements."
            ))),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Friends, follows, blocks

/// `POST friends/requests/`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct FriendRequestWrite {
    /// Whom to ask.
    pub to_user_id: i64,
    /// A note for them (at most 500 characters).
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub message: Option<String>,
}

/// A friend request.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FriendRequestOut {
    /// Id.
    pub id: i64,
    /// Who asked.
    pub from_user: Author,
    /// Who was asked.
    pub to_user: Author,
    /// Their note.
    pub message: String,
    /// `pending`, `accepted`, `declined` or `cancelled`.
    pub status: String,
    /// Sent.
    pub created_at: DateTime<Utc>,
    /// Last answered.
    pub updated_at: DateTime<Utc>,
}

/// Which friend requests `GET friends/requests/` lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Requests others sent the caller (the default).
    #[default]
    Incoming,
    /// Requests the caller sent.
    Outgoing,
}

/// `?direction=` of the friend request list.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// `incoming` (default) or `outgoing`; pending requests only.
    pub direction: Option<Direction>,
}

/// `?user=` of the friends, followers and following lists.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Whose list (default: the caller's).
    pub user: Option<i64>,
}

/// A user in a friends, followers, following or blocks list, with when the link began.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserLink {
    /// The user.
    pub user: Author,
    /// Since when.
    pub since: DateTime<Utc>,
}

/// What a follow or block answers.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Relation {
    /// The other user.
    pub user_id: i64,
    /// The caller follows them (follow answers) / blocks them (block answers).
    pub active: bool,
    /// Their followers now (follow answers).
    pub followers_count: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Groups

/// `POST groups/`, `PUT groups/{id}/`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct GroupWrite {
    /// 1–100 characters.
    #[validate(length(min = 1, max = 100), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// At most 5000 characters.
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// Joining needs an admin's approval, and only members see its posts (default false).
    pub is_private: Option<bool>,
}

/// `PATCH groups/{id}/`.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct GroupPatch {
    /// 1–100 characters.
    #[validate(length(min = 1, max = 100), custom(function = "not_blank"))]
    pub name: Option<String>,
    /// At most 5000 characters.
    #[validate(length(max = 5000))]
    pub description: Option<String>,
    /// Private or public.
    pub is_private: Option<bool>,
}

/// Filters of the group list.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    /// Part of the name.
    pub search: Option<String>,
    /// `true`: only groups the caller is an active member of.
    pub mine: Option<bool>,
}

/// A group.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GroupOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Private: joining needs approval and only members see its posts.
    pub is_private: bool,
    /// The owner.
    pub owner: Author,
    /// Active members.
    pub member_count: i64,
    /// The caller's role (`owner`, `admin`, `member`), if a member or pending.
    pub my_role: Option<String>,
    /// The caller's membership (`active`, `pending`), if any.
    pub my_status: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last edited.
    pub updated_at: DateTime<Utc>,
}

/// `?status=` of a group's members list.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// `active` (default) or `pending` (group admins only).
    pub status: Option<String>,
}

/// A group member.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MemberOut {
    /// The user.
    pub user: Author,
    /// `owner`, `admin` or `member`.
    pub role: String,
    /// `active` or `pending`.
    pub status: String,
    /// Joined (or asked to).
    pub joined_at: DateTime<Utc>,
}

/// `PATCH groups/{id}/members/{user_id}/`: approve a pending member, change a role.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct MemberPatch {
    /// `owner` (the owner hands the group over and becomes an admin), `admin` or `member`;
    /// owner only.
    pub role: Option<String>,
    /// `active`: approves a pending member (group admins).
    pub status: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Feed

/// Who may see a feed post.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = FeedVisibility)]
pub enum Visibility {
    /// Anyone signed in.
    #[default]
    Public,
    /// The author's friends.
    Friends,
    /// The author only.
    Private,
    /// The group's members (set when `group_id` is given; public groups are readable by anyone).
    Group,
}

impl Visibility {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Friends => "friends",
            Self::Private => "private",
            Self::Group => "group",
        }
    }

    /// From storage (anything unknown reads as the most private).
    pub fn parse(s: &str) -> Self {
        match s {
            "public" => Self::Public,
            "friends" => Self::Friends,
            "group" => Self::Group,
            _ => Self::Private,
        }
    }
}

/// `POST posts/`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct FeedPostWrite {
    /// 1–10000 characters.
    #[validate(length(min = 1, max = 10000), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 10000)]
    pub content: String,
    /// `public` (default), `friends` or `private`; ignored with `group_id` (the group decides).
    pub visibility: Option<Visibility>,
    /// Post in this group (the caller must be an active member).
    pub group_id: Option<i64>,
    /// The caller's own attachments (plaza-core), at most 10.
    #[validate(custom(function = "at_most_attachments"))]
    pub attachment_ids: Option<Vec<i64>>,
}

/// `PATCH posts/{id}/`.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
pub struct FeedPostPatch {
    /// 1–10000 characters.
    #[validate(length(min = 1, max = 10000), custom(function = "not_blank"))]
    pub content: Option<String>,
    /// `public`, `friends` or `private` (not for a group's post).
    pub visibility: Option<Visibility>,
}

/// Which posts `GET posts/` lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The caller's, their friends', followed users' and joined groups' posts they may see.
    #[default]
    Timeline,
    /// The caller's own posts.
    Mine,
    /// Public posts of everyone (not blocked).
    Public,
}

/// Filters of the feed.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// `timeline` (default), `mine` or `public`.
    pub scope: Option<Scope>,
    /// One group's posts (overrides `scope`); 404 for a private group the caller is not in.
    pub group: Option<i64>,
}

/// An attachment of a feed post.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AttachmentRef {
    /// The attachment's id (plaza-core).
    pub id: i64,
    /// Where its bytes are.
    pub url: String,
}

/// A feed post.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FeedPostOut {
    /// Id.
    pub id: i64,
    /// Who wrote it.
    pub author: Author,
    /// Body.
    pub content: String,
    /// `public`, `friends`, `private` or `group`.
    pub visibility: Visibility,
    /// The group it was posted in.
    pub group_id: Option<i64>,
    /// Attachments.
    pub attachments: Vec<AttachmentRef>,
    /// Likes.
    pub like_count: i64,
    /// Comments.
    pub comment_count: i64,
    /// The caller likes it.
    pub liked: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last edited.
    pub updated_at: DateTime<Utc>,
}

/// What a like or unlike answers.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LikeState {
    /// The post.
    pub post_id: i64,
    /// The caller likes it now.
    pub liked: bool,
    /// Likes now.
    pub like_count: i64,
}

/// `POST posts/{id}/comments/`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CommentWrite {
    /// 1–2000 characters.
    #[validate(length(min = 1, max = 2000), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 2000)]
    pub content: String,
}

/// A comment.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CommentOut {
    /// Id.
    pub id: i64,
    /// The post.
    pub post_id: i64,
    /// Who wrote it.
    pub author: Author,
    /// Body.
    pub content: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// Messages

/// `POST messages/`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct MessageWrite {
    /// To whom.
    pub recipient_id: i64,
    /// 1–5000 characters.
    #[validate(length(min = 1, max = 5000), custom(function = "not_blank"))]
    #[schema(min_length = 1, max_length = 5000)]
    pub content: String,
}

/// A direct message (`DirectMessage` in the schema; the AI domain's `MessageOut` is a chat turn).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = DirectMessage)]
pub struct MessageOut {
    /// Id.
    pub id: i64,
    /// Who sent it.
    pub sender: Author,
    /// To whom.
    pub recipient_id: i64,
    /// Body.
    pub content: String,
    /// The recipient read it.
    pub is_read: bool,
    /// When it was read.
    pub read_at: Option<DateTime<Utc>>,
    /// Sent.
    pub created_at: DateTime<Utc>,
}

/// One conversation: the partner, the last message, and what the caller has not read
/// (`DirectConversation` in the schema; the AI domain's `ConversationOut` is a chat).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = DirectConversation)]
pub struct ConversationOut {
    /// The other user.
    pub partner: Author,
    /// The latest message either way.
    pub last_message: MessageOut,
    /// Messages from the partner the caller has not read.
    pub unread_count: i64,
}

/// What marking a message read answers.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReadReceipt {
    /// Messages marked read now (this one and earlier unread ones from the same sender).
    pub marked: i64,
    /// What is still unread in this conversation.
    pub unread_count: i64,
}

// ---------------------------------------------------------------------------------------------
// Notifications

/// `?unread=` of the notification list.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// `true`: unread ones only.
    pub unread: Option<bool>,
}

/// A notification.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationOut {
    /// Id.
    pub id: i64,
    /// `friend_request`, `friend_accepted`, `new_follower`, `like`, `comment`, `message`,
    /// `group_join_request`, `forum_reply`, `event_reminder`, …
    pub kind: String,
    /// Who caused it.
    pub actor: Option<AuthorCard>,
    /// What the client shows and links (ids, a title).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// Read.
    pub is_read: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A user's card inside a notification (also read back from the bus).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AuthorCard {
    /// Id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Avatar URL path.
    pub avatar: Option<String>,
}

impl From<Author> for AuthorCard {
    fn from(a: Author) -> Self {
        Self {
            id: a.id,
            username: a.username,
            avatar: a.avatar,
        }
    }
}

/// A count of unread items.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    /// How many.
    pub count: i64,
}

/// How many items an action changed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Updated {
    /// How many.
    pub updated: i64,
}
