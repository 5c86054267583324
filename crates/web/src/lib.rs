//! The SIP response-code reference on the web: `sipkit web`.
//!
//! A page per code (every code 100–699; the registered ones in the index and
//! the sitemap) and per pair of codes, in every language sipkit speaks, a
//! search that works without JavaScript and as you type with it, a JSON API
//! under `/api/v1/` described by an OpenAPI document, and an export of the
//! whole site as static files. Every sentence on a page comes from the
//! knowledge base (`sipkit-codes`); this crate only arranges and escapes.
//! No page loads anything from elsewhere: the CSS, the script and the icon
//! are compiled in, and a Content-Security-Policy says so to the browser.
//!
//! The URLs are listed in one place (the `urls` module):
//! `/en/`, `/en/302`, `/en/compare/202-vs-302` (the other order redirects),
//! `/en/compare?a=202&b=302`, `/en/search?q=moved`, `/api/v1/codes?lang=ru`,
//! `/api/v1/codes/302?lang=ru`, `/api/v1/compare/202/302?lang=ru`,
//! `/api/v1/search?q=moved`, `/api/v1/openapi.json`, `/sitemap.xml`.
//!
//! ```
//! use sipkit_web::Site;
//!
//! let site = Site::new("http://127.0.0.1:8080");
//! let page = site.respond("/en/302", None, None);
//! assert_eq!(page.status, 200);
//! assert!(std::str::from_utf8(&page.body).unwrap().contains("Moved Temporarily"));
//!
//! let back = site.respond("/ru/compare/302-vs-202", None, None);
//! assert_eq!((back.status, back.location.as_deref()), (301, Some("/ru/compare/202-vs-302")));
//! ```
//!
//! Serving (as `sipkit web` does):
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let site = sipkit_web::Site::new("http://127.0.0.1:8080");
//! sipkit_web::serve(listener, site, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

mod api;
mod example;
mod export;
mod html;
mod ladder;
mod pages;
mod percent;
mod search;
mod site;
mod urls;

pub use example::example_response;
pub use export::{export, file_for, ExportError, ExportSummary};
pub use ladder::{capture_ladder, Arrow};

/// The site's one style sheet (system fonts, no external resources), for
/// pages built elsewhere that draw ladders the same way (`sipkit analyze --html`).
pub const STYLESHEET: &str = include_str!("assets/style.css");
pub use site::{negotiate, router, run_blocking, serve, shutdown_signal, Reply, Site};

/// The OpenAPI document of `/api/v1/`, as served at `/api/v1/openapi.json`.
pub fn openapi_document() -> String {
    api::openapi()
}

/// Every URL path of the sitemap (indexes, the compare form, every
/// registered code and every pair of them, in every language).
pub fn sitemap_paths() -> Vec<String> {
    site::indexable_paths()
}
