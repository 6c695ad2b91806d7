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

diesel::joinable!(stream_connections -> video_streams (stream_id));

diesel::allow_tables_to_appear_in_same_query!(
    jobs,
    stream_connections,
    system_logs,
    users,
    video_streams
);
