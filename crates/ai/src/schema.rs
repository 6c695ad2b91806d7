//! The AI domain's tables (kept by hand: `print-schema` differs per backend).
#![allow(missing_docs)]

diesel::table! {
    ai_models (id) {
        id -> BigInt,
        name -> Varchar,
        provider -> Varchar,
        upstream_model -> Varchar,
        kind -> Varchar,
        context_window -> Integer,
        input_price -> BigInt,
        output_price -> BigInt,
        is_active -> Bool,
        default_params -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ai_conversations (id) {
        id -> BigInt,
        user_id -> BigInt,
        title -> Varchar,
        model -> Nullable<Varchar>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ai_messages (id) {
        id -> BigInt,
        conversation_id -> BigInt,
        role -> Varchar,
        content -> Text,
        tokens -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ai_templates (id) {
        id -> BigInt,
        owner_id -> BigInt,
        name -> Varchar,
        description -> Varchar,
        category -> Varchar,
        template -> Text,
        variables -> Text,
        is_public -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ai_requests (id) {
        id -> BigInt,
        user_id -> BigInt,
        model -> Varchar,
        provider -> Varchar,
        endpoint -> Varchar,
        stream -> Bool,
        prompt_tokens -> Integer,
        completion_tokens -> Integer,
        tokens_estimated -> Bool,
        cost -> BigInt,
        latency_ms -> Integer,
        ttft_ms -> Nullable<Integer>,
        status -> Varchar,
        error -> Nullable<Varchar>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ai_daily_stats (id) {
        id -> BigInt,
        day -> Date,
        user_id -> BigInt,
        model -> Varchar,
        requests -> BigInt,
        errors -> BigInt,
        prompt_tokens -> BigInt,
        completion_tokens -> BigInt,
        cost -> BigInt,
        latency_ms -> BigInt,
    }
}

diesel::joinable!(ai_messages -> ai_conversations (conversation_id));
diesel::allow_tables_to_appear_in_same_query!(ai_conversations, ai_messages);
