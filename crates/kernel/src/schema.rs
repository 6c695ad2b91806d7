//! Every table of every domain, kept by hand so both backends share one description
//! (`diesel print-schema` gives different types per backend). Each domain owns its tables'
//! migrations and models; they live here so that joins across domains compile.
//!
//! Conventions: ids `BigInt`; times `Timestamp` holding UTC; JSON as `Text`; money as
//! `BigInt` micro-units.

diesel::table! {
    /// Audit trail of security and admin events (kernel).
    system_logs (id) {
        id -> BigInt,
        level -> Varchar,
        module -> Varchar,
        event -> Varchar,
        message -> Text,
        user_id -> Nullable<BigInt>,
        ip_address -> Nullable<Varchar>,
        user_agent -> Nullable<Varchar>,
        request_id -> Nullable<Varchar>,
        data -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The durable job queue (kernel).
    jobs (id) {
        id -> BigInt,
        kind -> Varchar,
        payload -> Text,
        status -> Varchar,
        priority -> Integer,
        run_at -> Timestamp,
        attempts -> Integer,
        max_attempts -> Nullable<Integer>,
        unique_key -> Nullable<Varchar>,
        locked_by -> Nullable<Varchar>,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Accounts (plaza-users).
    users (id) {
        id -> BigInt,
        username -> Varchar,
        username_key -> Varchar,
        email -> Varchar,
        email_key -> Varchar,
        password -> Varchar,
        first_name -> Varchar,
        last_name -> Varchar,
        avatar -> Nullable<Varchar>,
        avatar_thumbnail -> Nullable<Varchar>,
        birthday -> Nullable<Date>,
        gender -> Varchar,
        bio -> Text,
        website -> Varchar,
        github -> Varchar,
        is_verified -> Bool,
        is_premium -> Bool,
        is_active -> Bool,
        is_staff -> Bool,
        is_superuser -> Bool,
        role -> Varchar,
        privacy_settings -> Text,
        date_joined -> Timestamp,
        last_login -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Tags shared by the forum and other domains (plaza-core). `name_key` is the lower-case
    /// name, unique; `usage_count` is kept exact in SQL by the domains that tag things.
    tags (id) {
        id -> BigInt,
        name -> Varchar,
        name_key -> Varchar,
        slug -> Varchar,
        color -> Varchar,
        description -> Text,
        usage_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Uploaded files (plaza-core); the bytes live under `MEDIA_ROOT` at `path`.
    attachments (id) {
        id -> BigInt,
        owner_id -> BigInt,
        name -> Varchar,
        content_type -> Varchar,
        size -> BigInt,
        sha256 -> Varchar,
        path -> Varchar,
        is_public -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Forum posts (plaza-posts).
    posts (id) {
        id -> BigInt,
        author_id -> BigInt,
        title -> Varchar,
        content -> Text,
        reply_count -> BigInt,
        view_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Replies to forum posts, nested one level through `parent_id` (plaza-posts).
    replies (id) {
        id -> BigInt,
        post_id -> BigInt,
        author_id -> BigInt,
        parent_id -> Nullable<BigInt>,
        content -> Text,
        is_deleted -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Which tags a forum post carries (plaza-posts).
    post_tags (post_id, tag_id) {
        post_id -> BigInt,
        tag_id -> BigInt,
    }
}

diesel::joinable!(replies -> posts (post_id));
diesel::joinable!(post_tags -> posts (post_id));

diesel::allow_tables_to_appear_in_same_query!(
    attachments,
    jobs,
    post_tags,
    posts,
    replies,
    system_logs,
    tags,
    users
);
