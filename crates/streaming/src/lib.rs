//! plaza-streaming
