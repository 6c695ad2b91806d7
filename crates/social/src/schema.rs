//! The social domain's tables (migrations `*_social_init`). Users are referred to by id only.
#![allow(missing_docs)]

diesel::table! {
    /// Friend requests; `pending_key` is unique while a request between the pair is pending.
    social_friend_requests (id) {
        id -> BigInt,
        from_user_id -> BigInt,
        to_user_id -> BigInt,
        message -> Varchar,
        status -> Varchar,
        pending_key -> Nullable<Varchar>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Friendships, one row per direction.
    social_friendships (user_id, friend_id) {
        user_id -> BigInt,
        friend_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Who follows whom.
    social_follows (follower_id, followee_id) {
        follower_id -> BigInt,
        followee_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Who blocked whom.
    social_blocks (blocker_id, blocked_id) {
        blocker_id -> BigInt,
        blocked_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Groups.
    social_groups (id) {
        id -> BigInt,
        name -> Varchar,
        description -> Text,
        is_private -> Bool,
        owner_id -> BigInt,
        member_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Group memberships (`status` pending or active).
    social_group_members (group_id, user_id) {
        group_id -> BigInt,
        user_id -> BigInt,
        role -> Varchar,
        status -> Varchar,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Feed posts.
    social_posts (id) {
        id -> BigInt,
        author_id -> BigInt,
        content -> Text,
        visibility -> Varchar,
        group_id -> Nullable<BigInt>,
        attachment_ids -> Varchar,
        like_count -> BigInt,
        comment_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Likes of feed posts.
    social_likes (post_id, user_id) {
        post_id -> BigInt,
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Comments on feed posts.
    social_comments (id) {
        id -> BigInt,
        post_id -> BigInt,
        author_id -> BigInt,
        content -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Direct messages.
    social_messages (id) {
        id -> BigInt,
        sender_id -> BigInt,
        recipient_id -> BigInt,
        low_id -> BigInt,
        high_id -> BigInt,
        content -> Text,
        read_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// One row per participant and partner of a conversation.
    social_conversations (user_id, partner_id) {
        user_id -> BigInt,
        partner_id -> BigInt,
        last_message_id -> BigInt,
        unread_count -> BigInt,
    }
}

diesel::table! {
    /// Notifications.
    social_notifications (id) {
        id -> BigInt,
        recipient_id -> BigInt,
        actor_id -> Nullable<BigInt>,
        kind -> Varchar,
        data -> Text,
        is_read -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The home timeline kept per reader: the feed posts `reader_id`'s timeline may show
    /// (migration `*_social_home`, crate::home).
    social_home (reader_id, post_id) {
        reader_id -> BigInt,
        post_id -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    social_friend_requests,
    social_friendships,
    social_follows,
    social_blocks,
    social_groups,
    social_group_members,
    social_posts,
    social_likes,
    social_comments,
    social_messages,
    social_conversations,
    social_notifications,
    social_home,
);

diesel::joinable!(social_likes -> social_posts (post_id));
diesel::joinable!(social_home -> social_posts (post_id));
diesel::joinable!(social_comments -> social_posts (post_id));
diesel::joinable!(social_group_members -> social_groups (group_id));
