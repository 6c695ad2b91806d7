//! plaza-social
