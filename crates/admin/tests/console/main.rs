//! Integration tests of the staff console, without a browser, on SQLite and MySQL: sign-in,
//! CSRF, and the framework's list, search, filter, edit, create, delete, bulk-action and
//! history paths over the users, posts and core domains, and every other domain's models.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod models;
mod moderation;
mod pages;
mod signin;
mod support;
