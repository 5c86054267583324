//! sipkit-web held to its issue: every page and every link of the site and
//! its static export, valid HTML, an API that matches its OpenAPI document,
//! examples the project's own parser accepts, and a real browser.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, missing_docs)]

mod api;
mod browser;
mod content;
mod examples;
mod export;
mod html_check;
mod routes;
mod server;
mod util;
