//! plaza-posts
