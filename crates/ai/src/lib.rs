//! plaza-ai
