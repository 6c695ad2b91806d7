//! The metaverse's tables (migrations `*_metaverse_*`). Other domains' rows are referred to by
//! id only (users, attachments).
#![allow(missing_docs)]

diesel::table! {
    metaverse_worlds (id) {
        id -> BigInt,
        owner_id -> BigInt,
        name -> Varchar,
        description -> Text,
        visibility -> Varchar,
        max_users -> Integer,
        scene_url -> Varchar,
        settings -> Text,
        bounds -> Double,
        thumbnail_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    metaverse_world_permissions (id) {
        id -> BigInt,
        world_id -> BigInt,
        user_id -> BigInt,
        role -> Varchar,
        granted_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    metaverse_avatars (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Varchar,
        model_url -> Varchar,
        appearance -> Text,
        is_default -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    metaverse_sessions (id) {
        id -> BigInt,
        world_id -> BigInt,
        user_id -> BigInt,
        avatar_id -> Nullable<BigInt>,
        pos_x -> Double,
        pos_y -> Double,
        pos_z -> Double,
        rot_x -> Double,
        rot_y -> Double,
        rot_z -> Double,
        connection_id -> Nullable<Varchar>,
        instance_id -> Nullable<Varchar>,
        entered_at -> Timestamp,
        last_seen_at -> Timestamp,
        left_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    metaverse_objects (id) {
        id -> BigInt,
        creator_id -> BigInt,
        name -> Varchar,
        kind -> Varchar,
        model_url -> Varchar,
        properties -> Text,
        price -> BigInt,
        rarity -> Varchar,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    metaverse_instances (id) {
        id -> BigInt,
        world_id -> BigInt,
        object_id -> BigInt,
        placed_by -> Nullable<BigInt>,
        pos_x -> Double,
        pos_y -> Double,
        pos_z -> Double,
        rot_x -> Double,
        rot_y -> Double,
        rot_z -> Double,
        scale_x -> Double,
        scale_y -> Double,
        scale_z -> Double,
        state -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    metaverse_events (id) {
        id -> BigInt,
        world_id -> BigInt,
        organizer_id -> BigInt,
        title -> Varchar,
        description -> Text,
        start_at -> Timestamp,
        end_at -> Timestamp,
        max_participants -> Nullable<Integer>,
        participant_count -> Integer,
        reminded_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    metaverse_event_participants (event_id, user_id) {
        event_id -> BigInt,
        user_id -> BigInt,
        joined_at -> Timestamp,
    }
}

diesel::joinable!(metaverse_world_permissions -> metaverse_worlds (world_id));
diesel::joinable!(metaverse_sessions -> metaverse_worlds (world_id));
diesel::joinable!(metaverse_instances -> metaverse_worlds (world_id));
diesel::joinable!(metaverse_events -> metaverse_worlds (world_id));
diesel::joinable!(metaverse_event_participants -> metaverse_events (event_id));

diesel::allow_tables_to_appear_in_same_query!(
    metaverse_worlds,
    metaverse_world_permissions,
    metaverse_avatars,
    metaverse_sessions,
    metaverse_objects,
    metaverse_instances,
    metaverse_events,
    metaverse_event_participants,
);
