//! Request and response bodies of the metaverse API.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use plaza_users::Author;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

/// Largest absolute coordinate any world accepts (a world's own `bounds` is at most this).
pub const COORDINATE_MAX: f64 = 1_000_000.0;
/// Largest scale factor of an instance.
pub const SCALE_MAX: f64 = 1000.0;
/// Most users a world may admit at once.
pub const MAX_USERS_LIMIT: i32 = 10_000;
/// Longest JSON document (settings, appearance, properties, state), in bytes once serialised.
pub const JSON_MAX_BYTES: usize = 64 * 1024;

fn error(code: &'static str, message: impl Into<Cow<'static, str>>) -> ValidationError {
    ValidationError::new(code).with_message(message.into())
}

/// Text that is more than whitespace.
pub(crate) fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(error("blank", "This field may not be blank."))
    } else {
        Ok(())
    }
}

/// A JSON object of reasonable size.
pub(crate) fn json_object(value: &serde_json::Value) -> Result<(), ValidationError> {
    if !value.is_object() {
        return Err(error("type", "Expected a JSON object."));
    }
    if value.to_string().len() > JSON_MAX_BYTES {
        return Err(error(
            "length",
            format!("Ensure this object is at most {JSON_MAX_BYTES} bytes."),
        ));
    }
    Ok(())
}

/// An http(s) URL, or empty.
pub(crate) fn url_or_empty(value: &str) -> Result<(), ValidationError> {
    let v = value.trim();
    if v.is_empty() || v.starts_with("https://") || v.starts_with("http://") || v.starts_with('/') {
        Ok(())
    } else {
        Err(error("url", "Enter a valid URL (http, https, or a path)."))
    }
}

fn finite(value: f64) -> Result<(), ValidationError> {
    if !value.is_finite() {
        return Err(error("finite", "Must be a finite number."));
    }
    if value.abs() > COORDINATE_MAX {
        return Err(error(
            "range",
            format!("Ensure this value is between -{COORDINATE_MAX} and {COORDINATE_MAX}."),
        ));
    }
    Ok(())
}

/// A point or an Euler rotation (degrees): three finite numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
pub struct Vec3 {
    /// X.
    #[validate(custom(function = "finite"))]
    pub x: f64,
    /// Y.
    #[validate(custom(function = "finite"))]
    pub y: f64,
    /// Z.
    #[validate(custom(function = "finite"))]
    pub z: f64,
}

impl Vec3 {
    /// `(x, y, z)`.
    pub const fn new(x: f64, y: f64, z: f64) -> Self {
        Self { x, y, z }
    }

    /// Every component finite and within `±bound`.
    pub fn within(&self, bound: f64) -> bool {
        [self.x, self.y, self.z]
            .iter()
            .all(|v| v.is_finite() && v.abs() <= bound)
    }
}

/// Who may see and enter a world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = WorldVisibility)]
pub enum Visibility {
    /// Listed and open to every signed-in user.
    Public,
    /// Seen and entered only by those holding a permission in it (and the owner, and staff).
    Private,
    /// Listed and readable by all; entered only by those invited (holding a permission).
    Invite,
}

impl Visibility {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Invite => "invite",
        }
    }

    /// Parses a stored name (unknown names read as private: the safest).
    pub fn parse(s: &str) -> Self {
        match s {
            "public" => Self::Public,
            "invite" => Self::Invite,
            _ => Self::Private,
        }
    }
}

/// A role in one world, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorldRole {
    /// May enter (private and invite worlds).
    Visitor,
    /// May also place, move and remove object instances.
    Builder,
    /// May also manage events and read the permission list.
    Moderator,
    /// May also edit the world and grant permissions.
    Admin,
}

impl WorldRole {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visitor => "visitor",
            Self::Builder => "builder",
            Self::Moderator => "moderator",
            Self::Admin => "admin",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "visitor" => Self::Visitor,
            "builder" => Self::Builder,
            "moderator" => Self::Moderator,
            "admin" => Self::Admin,
            _ => return None,
        })
    }
}

/// A new world (POST) or all of one (PUT).
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct WorldWrite {
    /// 1–100 characters.
    #[validate(length(min = 1, max = 100), custom(function = "not_blank"))]
    pub name: String,
    /// Up to 5000 characters.
    #[serde(default)]
    #[validate(length(max = 5000))]
    pub description: String,
    /// `public` (default), `private` or `invite`.
    #[serde(default = "default_visibility")]
    pub visibility: Visibility,
    /// 1–10000 users at once (default 50).
    #[serde(default = "default_max_users")]
    #[validate(range(min = 1, max = 10000))]
    pub max_users: i32,
    /// The scene to load (http(s) URL or path), up to 500 characters.
    #[serde(default)]
    #[validate(length(max = 500), custom(function = "url_or_empty"))]
    pub scene_url: String,
    /// Free settings (a JSON object, ≤ 64 KiB).
    #[serde(default = "empty_object")]
    #[validate(custom(function = "json_object"))]
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Half the world's extent on each axis: positions must lie within ±bounds (default 1000).
    #[serde(default = "default_bounds")]
    #[validate(range(min = 1.0, max = 1000000.0))]
    pub bounds: f64,
    /// An attachment id (from `POST /api/v1/core/attachments/`) the caller may read.
    pub thumbnail: Option<i64>,
}

fn default_visibility() -> Visibility {
    Visibility::Public
}
fn default_max_users() -> i32 {
    50
}
fn default_bounds() -> f64 {
    1000.0
}
pub(crate) fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// Some fields of a world (PATCH). `thumbnail: null` removes the thumbnail.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema)]
pub struct WorldPatch {
    /// 1–100 characters.
    #[validate(length(min = 1, max = 100), custom(function = "not_blank"))]
    pub name: Option<String>,
    /// Up to 5000 characters.
    #[validate(length(max = 5000))]
    pub description: Option<String>,
    /// `public`, `private` or `invite`.
    pub visibility: Option<Visibility>,
    /// 1–10000.
    #[validate(range(min = 1, max = 10000))]
    pub max_users: Option<i32>,
    /// Scene URL.
    #[validate(length(max = 500), custom(function = "url_or_empty"))]
    pub scene_url: Option<String>,
    /// Settings (a JSON object).
    #[validate(custom(function = "json_object"))]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
    /// Extent.
    #[validate(range(min = 1.0, max = 1000000.0))]
    pub bounds: Option<f64>,
    /// Attachment id, or null to remove it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub thumbnail: Option<Option<i64>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

impl From<WorldWrite> for WorldPatch {
    fn from(w: WorldWrite) -> Self {
        Self {
            name: Some(w.name),
            description: Some(w.description),
            visibility: Some(w.visibility),
            max_users: Some(w.max_users),
            scene_url: Some(w.scene_url),
            settings: Some(w.settings),
            bounds: Some(w.bounds),
            thumbnail: Some(w.thumbnail),
        }
    }
}

/// Filters of the world list.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorldQuery {
    /// Text in the name or description.
    pub search: Option<String>,
    /// The owner's user id.
    pub owner: Option<i64>,
    /// `public`, `private` or `invite`.
    pub visibility: Option<Visibility>,
    /// `created_at` (default `-created_at`), `updated_at`, `name`, `-` for descending.
    pub ordering: Option<String>,
}

/// A world.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WorldOut {
    /// Id.
    pub id: i64,
    /// Who owns it.
    pub owner: Author,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// `public`, `private` or `invite`.
    pub visibility: Visibility,
    /// Most users at once.
    pub max_users: i32,
    /// Scene URL.
    pub scene_url: String,
    /// Settings.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Positions lie within ±bounds on each axis.
    pub bounds: f64,
    /// Thumbnail attachment id.
    pub thumbnail: Option<i64>,
    /// Users in the world now (open sessions).
    pub user_count: i64,
    /// The caller's role here: `owner`, `admin`, `moderator`, `builder`, `visitor`, or null.
    pub my_role: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A permission to grant (or change).
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct PermissionWrite {
    /// The user.
    pub user_id: i64,
    /// `visitor`, `builder`, `moderator` or `admin`.
    pub role: WorldRole,
}

/// A permission held in a world.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PermissionOut {
    /// Who.
    pub user: Author,
    /// Their role.
    pub role: WorldRole,
    /// Who granted it.
    pub granted_by: Option<i64>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Entering a world.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema)]
pub struct EnterWrite {
    /// One of the caller's avatars; their default avatar when absent.
    pub avatar_id: Option<i64>,
}

/// A session: a user in a world.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SessionOut {
    /// Id.
    pub id: i64,
    /// The world.
    pub world_id: i64,
    /// Who.
    pub user: Author,
    /// The avatar they wear.
    pub avatar: Option<AvatarOut>,
    /// Last known position.
    pub position: Vec3,
    /// Last known rotation.
    pub rotation: Vec3,
    /// A presence WebSocket is open for it.
    pub connected: bool,
    /// Entered.
    pub entered_at: DateTime<Utc>,
    /// Last heartbeat.
    pub last_seen_at: DateTime<Utc>,
    /// Left (null while open).
    pub left_at: Option<DateTime<Utc>>,
}

/// A new avatar (POST) or all of one (PUT).
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct AvatarWrite {
    /// 1–100 characters.
    #[validate(length(min = 1, max = 100), custom(function = "not_blank"))]
    pub name: String,
    /// The model (http(s) URL or path).
    #[serde(default)]
    #[validate(length(max = 500), custom(function = "url_or_empty"))]
    pub model_url: String,
    /// Free appearance (a JSON object).
    #[serde(default = "empty_object")]
    #[validate(custom(function = "json_object"))]
    #[schema(value_type = Object)]
    pub appearance: serde_json::Value,
    /// Makes it the caller's default (their first avatar always is).
    #[serde(default)]
    pub is_default: bool,
}

/// Some fields of an avatar.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema)]
pub struct AvatarPatch {
    /// 1–100 characters.
    #[validate(length(min = 1, max = 100), custom(function = "not_blank"))]
    pub name: Option<String>,
    /// Model URL.
    #[validate(length(max = 500), custom(function = "url_or_empty"))]
    pub model_url: Option<String>,
    /// Appearance.
    #[validate(custom(function = "json_object"))]
    #[schema(value_type = Option<Object>)]
    pub appearance: Option<serde_json::Value>,
    /// `true` makes it the default; `false` on the default is refused (make another one default).
    pub is_default: Option<bool>,
}

impl From<AvatarWrite> for AvatarPatch {
    fn from(w: AvatarWrite) -> Self {
        Self {
            name: Some(w.name),
            model_url: Some(w.model_url),
            appearance: Some(w.appearance),
            is_default: w.is_default.then_some(true),
        }
    }
}

/// An avatar (named `WorldAvatar` in the schema: the users domain's `AvatarOut` is the stored
/// profile picture).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = WorldAvatar)]
pub struct AvatarOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Model URL.
    pub model_url: String,
    /// Appearance.
    #[schema(value_type = Object)]
    pub appearance: serde_json::Value,
    /// The owner's default.
    pub is_default: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// How rare a catalogue object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Rarity {
    /// Common.
    Common,
    /// Uncommon.
    Uncommon,
    /// Rare.
    Rare,
    /// Epic.
    Epic,
    /// Legendary.
    Legendary,
}

impl Rarity {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Common => "common",
            Self::Uncommon => "uncommon",
            Self::Rare => "rare",
            Self::Epic => "epic",
            Self::Legendary => "legendary",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Self {
        match s {
            "uncommon" => Self::Uncommon,
            "rare" => Self::Rare,
            "epic" => Self::Epic,
            "legendary" => Self::Legendary,
            _ => Self::Common,
        }
    }
}

/// A catalogue object (POST, PUT).
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct ObjectWrite {
    /// 1–100 characters.
    #[validate(length(min = 1, max = 100), custom(function = "not_blank"))]
    pub name: String,
    /// A free category (`furniture`, `plant`, …), 1–32 characters.
    #[validate(length(min = 1, max = 32), custom(function = "not_blank"))]
    pub kind: String,
    /// The model.
    #[serde(default)]
    #[validate(length(max = 500), custom(function = "url_or_empty"))]
    pub model_url: String,
    /// Free properties (a JSON object).
    #[serde(default = "empty_object")]
    #[validate(custom(function = "json_object"))]
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
    /// Price in the smallest unit (≥ 0).
    #[serde(default)]
    #[validate(range(min = 0, max = 1_000_000_000_000_i64))]
    pub price: i64,
    /// `common` (default) … `legendary`.
    #[serde(default = "default_rarity")]
    pub rarity: Rarity,
}

fn default_rarity() -> Rarity {
    Rarity::Common
}

/// Some fields of a catalogue object.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema)]
pub struct ObjectPatch {
    /// Name.
    #[validate(length(min = 1, max = 100), custom(function = "not_blank"))]
    pub name: Option<String>,
    /// Kind.
    #[validate(length(min = 1, max = 32), custom(function = "not_blank"))]
    pub kind: Option<String>,
    /// Model URL.
    #[validate(length(max = 500), custom(function = "url_or_empty"))]
    pub model_url: Option<String>,
    /// Properties.
    #[validate(custom(function = "json_object"))]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<serde_json::Value>,
    /// Price.
    #[validate(range(min = 0, max = 1_000_000_000_000_i64))]
    pub price: Option<i64>,
    /// Rarity.
    pub rarity: Option<Rarity>,
}

impl From<ObjectWrite> for ObjectPatch {
    fn from(w: ObjectWrite) -> Self {
        Self {
            name: Some(w.name),
            kind: Some(w.kind),
            model_url: Some(w.model_url),
            properties: Some(w.properties),
            price: Some(w.price),
            rarity: Some(w.rarity),
        }
    }
}

/// Filters of the catalogue.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ObjectQuery {
    /// Text in the name.
    pub search: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Rarity.
    pub rarity: Option<Rarity>,
    /// Creator's user id.
    pub creator: Option<i64>,
    /// `created_at` (default `-created_at`), `name`, `price`.
    pub ordering: Option<String>,
}

/// A catalogue object.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ObjectOut {
    /// Id.
    pub id: i64,
    /// Who created it.
    pub creator_id: i64,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Model URL.
    pub model_url: String,
    /// Properties.
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
    /// Price.
    pub price: i64,
    /// Rarity.
    pub rarity: Rarity,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

fn one() -> Vec3 {
    Vec3::new(1.0, 1.0, 1.0)
}

/// An object placed in a world.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct InstanceWrite {
    /// A catalogue object.
    pub object_id: i64,
    /// Where (within the world's bounds).
    #[serde(default)]
    #[validate(nested)]
    pub position: Vec3,
    /// Euler angles.
    #[serde(default)]
    #[validate(nested)]
    pub rotation: Vec3,
    /// Scale factors (each in (0, 1000]; default 1).
    #[serde(default = "one")]
    #[validate(nested)]
    pub scale: Vec3,
    /// Free state (a JSON object).
    #[serde(default = "empty_object")]
    #[validate(custom(function = "json_object"))]
    #[schema(value_type = Object)]
    pub state: serde_json::Value,
}

/// Moves or changes an instance.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema)]
pub struct InstancePatch {
    /// Where.
    #[validate(nested)]
    pub position: Option<Vec3>,
    /// Euler angles.
    #[validate(nested)]
    pub rotation: Option<Vec3>,
    /// Scale factors.
    #[validate(nested)]
    pub scale: Option<Vec3>,
    /// State.
    #[validate(custom(function = "json_object"))]
    #[schema(value_type = Option<Object>)]
    pub state: Option<serde_json::Value>,
}

/// An object instance in a world.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct InstanceOut {
    /// Id.
    pub id: i64,
    /// The world.
    pub world_id: i64,
    /// The catalogue object.
    pub object_id: i64,
    /// Who placed it.
    pub placed_by: Option<i64>,
    /// Position.
    pub position: Vec3,
    /// Rotation.
    pub rotation: Vec3,
    /// Scale.
    pub scale: Vec3,
    /// State.
    #[schema(value_type = Object)]
    pub state: serde_json::Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new event (POST) or all of one (PUT).
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
pub struct EventWrite {
    /// The world it takes place in (the caller moderates it).
    pub world_id: i64,
    /// 1–200 characters.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub title: String,
    /// Up to 5000 characters.
    #[serde(default)]
    #[validate(length(max = 5000))]
    pub description: String,
    /// Start (RFC 3339).
    pub start_at: DateTime<Utc>,
    /// End, after the start.
    pub end_at: DateTime<Utc>,
    /// At most this many participants (null: no limit).
    #[validate(range(min = 1, max = 100000))]
    pub max_participants: Option<i32>,
}

/// Some fields of an event. The world never changes.
#[derive(Clone, Debug, Default, Deserialize, Validate, ToSchema)]
pub struct EventPatch {
    /// Title.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub title: Option<String>,
    /// Description.
    #[validate(length(max = 5000))]
    pub description: Option<String>,
    /// Start.
    pub start_at: Option<DateTime<Utc>>,
    /// End.
    pub end_at: Option<DateTime<Utc>>,
    /// Capacity (null: no limit); not below the participants already in.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub max_participants: Option<Option<i32>>,
}

impl EventPatch {
    /// `max_participants`, when given and not null, within 1–100000.
    pub fn check(&self) -> Result<(), plaza_kernel::ApiError> {
        if let Some(Some(n)) = self.max_participants {
            if !(1..=100_000).contains(&n) {
                return Err(plaza_kernel::ApiError::invalid_field(
                    "max_participants",
                    "Ensure this value is between 1 and 100000.",
                ));
            }
        }
        Ok(())
    }
}

impl From<EventWrite> for EventPatch {
    fn from(w: EventWrite) -> Self {
        Self {
            title: Some(w.title),
            description: Some(w.description),
            start_at: Some(w.start_at),
            end_at: Some(w.end_at),
            max_participants: Some(w.max_participants),
        }
    }
}

/// Filters of the event list.
#[derive(Debug, Default, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Events of this world.
    pub world: Option<i64>,
    /// Only events that have not ended.
    pub upcoming: Option<bool>,
    /// Text in the title.
    pub search: Option<String>,
    /// `start_at` (default), `created_at`, `-` for descending.
    pub ordering: Option<String>,
}

/// An event.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EventOut {
    /// Id.
    pub id: i64,
    /// The world.
    pub world_id: i64,
    /// Who organised it.
    pub organizer: Author,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Start.
    pub start_at: DateTime<Utc>,
    /// End.
    pub end_at: DateTime<Utc>,
    /// Capacity, or null.
    pub max_participants: Option<i32>,
    /// Participants so far.
    pub participant_count: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A participant of an event.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ParticipantOut {
    /// Who.
    pub user: Author,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
}
