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
        is_searchable -> Bool,
        date_joined -> Timestamp,
        last_login -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// One profile per user (plaza-users).
    user_profiles (id) {
        id -> BigInt,
        user_id -> BigInt,
        location -> Varchar,
        company -> Varchar,
        job_title -> Varchar,
        skills -> Text,
        interests -> Text,
        language -> Varchar,
        timezone -> Varchar,
        notification_settings -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Successful logins (plaza-users).
    user_login_logs (id) {
        id -> BigInt,
        user_id -> BigInt,
        ip_address -> Nullable<Varchar>,
        user_agent -> Varchar,
        method -> Varchar,
        login_at -> Timestamp,
    }
}

diesel::table! {
    /// The basic part of a user's résumé (plaza-users).
    resumes (id) {
        id -> BigInt,
        user_id -> BigInt,
        full_name -> Varchar,
        headline -> Varchar,
        summary -> Text,
        phone -> Varchar,
        email -> Varchar,
        location -> Varchar,
        website -> Varchar,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Résumé work experience (plaza-users).
    resume_work_experiences (id) {
        id -> BigInt,
        resume_id -> BigInt,
        company -> Varchar,
        position -> Varchar,
        start_date -> Date,
        end_date -> Nullable<Date>,
        description -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Résumé projects (plaza-users).
    resume_projects (id) {
        id -> BigInt,
        resume_id -> BigInt,
        name -> Varchar,
        role -> Varchar,
        start_date -> Date,
        end_date -> Nullable<Date>,
        url -> Nullable<Varchar>,
        description -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Résumé education (plaza-users).
    resume_educations (id) {
        id -> BigInt,
        resume_id -> BigInt,
        school -> Varchar,
        degree -> Varchar,
        major -> Varchar,
        start_date -> Date,
        end_date -> Nullable<Date>,
        description -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Free-form résumé sections (plaza-users).
    resume_custom_sections (id) {
        id -> BigInt,
        resume_id -> BigInt,
        title -> Varchar,
        content -> Text,
        sort_order -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Login sessions: one refresh-token family each (plaza-authentication).
    auth_sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        family -> Varchar,
        device -> Varchar,
        ip_address -> Nullable<Varchar>,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Varchar>,
    }
}

diesel::table! {
    /// Refresh tokens, stored as SHA-256 (plaza-authentication).
    refresh_tokens (id) {
        id -> BigInt,
        session_id -> BigInt,
        token_hash -> Varchar,
        jti -> Varchar,
        access_jti -> Varchar,
        access_expires_at -> Timestamp,
        ip_address -> Nullable<Varchar>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Single-use email verification and password reset tokens (plaza-authentication).
    account_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        purpose -> Varchar,
        token_hash -> Varchar,
        email -> Varchar,
        ip_address -> Nullable<Varchar>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Every login attempt (plaza-authentication).
    login_attempts (id) {
        id -> BigInt,
        username -> Varchar,
        user_id -> Nullable<BigInt>,
        ip_address -> Nullable<Varchar>,
        user_agent -> Varchar,
        success -> Bool,
        reason -> Varchar,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// TOTP secrets (plaza-authentication).
    two_factor_auth (id) {
        id -> BigInt,
        user_id -> BigInt,
        secret -> Varchar,
        is_enabled -> Bool,
        last_used_step -> Nullable<BigInt>,
        confirmed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Two-factor recovery codes, stored as SHA-256 (plaza-authentication).
    two_factor_recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Varchar,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// API keys, stored as SHA-256 (plaza-authentication).
    api_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Varchar,
        prefix -> Varchar,
        key_hash -> Varchar,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
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
    /// The number of forum posts, in 16 slots kept by triggers on `posts` (plaza-posts).
    post_totals (slot) {
        slot -> Integer,
        total -> BigInt,
    }
}

diesel::table! {
    /// Which tags a forum post carries (plaza-posts).
    post_tags (post_id, tag_id) {
        post_id -> BigInt,
        tag_id -> BigInt,
    }
}

diesel::table! {
    /// Live video streams (plaza-streaming). `id` is a UUID string.
    video_streams (id) {
        id -> Varchar,
        owner_id -> BigInt,
        title -> Varchar,
        description -> Text,
        is_public -> Bool,
        status -> Varchar,
        end_reason -> Nullable<Varchar>,
        current_peers -> Integer,
        peak_peers -> Integer,
        total_connections -> BigInt,
        frames -> BigInt,
        bytes -> BigInt,
        frames_dropped -> BigInt,
        created_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// One peer's membership of a stream (plaza-streaming).
    stream_connections (id) {
        id -> BigInt,
        stream_id -> Varchar,
        peer_id -> Varchar,
        session_id -> Varchar,
        user_id -> Nullable<BigInt>,
        is_creator -> Bool,
        instance_id -> Varchar,
        ip_address -> Nullable<Varchar>,
        joined_at -> Timestamp,
        left_at -> Nullable<Timestamp>,
        last_seen_at -> Timestamp,
        frames_sent -> BigInt,
        bytes_sent -> BigInt,
        frames_received -> BigInt,
        bytes_received -> BigInt,
        frames_dropped -> BigInt,
    }
}

diesel::joinable!(user_profiles -> users (user_id));
diesel::joinable!(user_login_logs -> users (user_id));
diesel::joinable!(resumes -> users (user_id));
diesel::joinable!(resume_work_experiences -> resumes (resume_id));
diesel::joinable!(resume_projects -> resumes (resume_id));
diesel::joinable!(resume_educations -> resumes (resume_id));
diesel::joinable!(resume_custom_sections -> resumes (resume_id));
diesel::joinable!(auth_sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> auth_sessions (session_id));
diesel::joinable!(account_tokens -> users (user_id));
diesel::joinable!(two_factor_auth -> users (user_id));
diesel::joinable!(two_factor_recovery_codes -> users (user_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(replies -> posts (post_id));
diesel::joinable!(post_tags -> posts (post_id));
diesel::joinable!(stream_connections -> video_streams (stream_id));

diesel::allow_tables_to_appear_in_same_query!(
    jobs,
    system_logs,
    users,
    user_profiles,
    user_login_logs,
    resumes,
    resume_work_experiences,
    resume_projects,
    resume_educations,
    resume_custom_sections,
    auth_sessions,
    refresh_tokens,
    account_tokens,
    login_attempts,
    two_factor_auth,
    two_factor_recovery_codes,
    api_keys,
    tags,
    attachments,
    posts,
    replies,
    post_tags,
    post_totals,
    video_streams,
    stream_connections,
);
