//! plaza-metaverse
