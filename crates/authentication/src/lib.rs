//! plaza-authentication
