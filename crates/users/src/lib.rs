//! plaza-users
