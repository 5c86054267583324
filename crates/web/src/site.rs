//! One function answers every request: [`Site::respond`]. The HTTP server
//! ([`router`], [`serve`]) and the static export both call it, so what the
//! export writes is exactly what the server sends.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use sipkit_codes::{lookup, registered_codes, Lang};

use crate::api::{self, number};
use crate::html::CSP;
use crate::percent::decode;
use crate::{pages, urls};

/// The embedded style sheet, script and icon.
const STYLE_CSS: &str = include_str!("assets/style.css");
const SEARCH_JS: &str = include_str!("assets/search.js");
const ICON_SVG: &str = include_str!("assets/icon.svg");

/// What the site answers to one GET request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status: 200, 301, 302, 303, 400 or 404.
    pub status: u16,
    /// The Content-Type.
    pub content_type: &'static str,
    /// The body.
    pub body: Bytes,
    /// Where a redirect points (a path).
    pub location: Option<String>,
    /// Whether the answer depends on Accept-Language (`/` and 404s outside a language).
    pub vary_language: bool,
    /// Whether a cache may keep it for long (the assets).
    pub immutable: bool,
}

const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";

impl Reply {
    fn html(status: u16, body: String) -> Reply {
        Reply::new(status, HTML, Bytes::from(body))
    }

    fn new(status: u16, content_type: &'static str, body: Bytes) -> Reply {
        Reply {
            status,
            content_type,
            body,
            location: None,
            vary_language: false,
            immutable: false,
        }
    }

    fn redirect(status: u16, to: String) -> Reply {
        let body = format!("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status}</title></head><body><p><a href=\"{0}\">{0}</a></p></body></html>\n", crate::html::esc(&to));
        Reply {
            location: Some(to),
            ..Reply::html(status, body)
        }
    }

    fn json(j: api::Json) -> Reply {
        Reply::new(j.status, JSON, Bytes::from(j.body))
    }
}

/// The site: its public base URL (for canonical links and the sitemap) and
/// the pages rendered so far.
#[derive(Debug, Clone)]
pub struct Site {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base_url: String,
    /// Code pages and indexes, rendered once on first use (they never change).
    cache: Vec<OnceLock<Bytes>>,
}

/// Cache slots: per language, codes 100..=699, then the index.
const SLOTS: usize = 601;

impl Site {
    /// A site whose pages name `base_url` (`http://127.0.0.1:8080`, no
    /// trailing slash) in canonical links, `hreflang` alternates and the sitemap.
    pub fn new(base_url: &str) -> Site {
        let n = Lang::all().count() * SLOTS;
        Site {
            inner: Arc::new(Inner {
                base_url: base_url.trim_end_matches('/').to_owned(),
                cache: (0..n).map(|_| OnceLock::new()).collect(),
            }),
        }
    }

    /// The base URL pages name.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    fn cached(
        &self,
        lang: Lang,
        slot: usize,
        render: impl FnOnce() -> Option<String>,
    ) -> Option<Bytes> {
        let i = Lang::all().position(|l| l == lang).unwrap_or(0) * SLOTS + slot;
        let cell = self.inner.cache.get(i)?;
        if let Some(b) = cell.get() {
            return Some(b.clone());
        }
        let b = Bytes::from(render()?);
        Some(cell.get_or_init(|| b).clone())
    }

    /// The answer to `GET path?query` from a client whose Accept-Language
    /// header is `accept_language`. `query` is the raw query string.
    pub fn respond(&self, path: &str, query: Option<&str>, accept_language: Option<&str>) -> Reply {
        let base = self.base_url();
        let params = parse_query(query.unwrap_or(""));
        let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        match path {
            "/" => {
                let lang = negotiate(accept_language);
                return Reply {
                    vary_language: true,
                    ..Reply::redirect(302, urls::index(lang))
                };
            }
            "/sitemap.xml" => {
                return Reply::new(
                    200,
                    "application/xml; charset=utf-8",
                    Bytes::from(sitemap(base)),
                )
            }
            "/robots.txt" => {
                let body = format!("User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n");
                return Reply::new(200, "text/plain; charset=utf-8", Bytes::from(body));
            }
            "/assets/style.css" => return asset("text/css; charset=utf-8", STYLE_CSS),
            "/assets/search.js" => return asset("text/javascript; charset=utf-8", SEARCH_JS),
            "/assets/icon.svg" => return asset("image/svg+xml", ICON_SVG),
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("/api/v1/") {
            return Reply::json(api::dispatch(rest, &params));
        }
        let mut segs = path.strip_prefix('/').unwrap_or(path).splitn(2, '/');
        let tag = segs.next().unwrap_or("");
        let rest = segs.next();
        let Some(lang) = Lang::all().find(|l| l.tag() == tag) else {
            return self.not_found(negotiate(accept_language), true);
        };
        let Some(rest) = rest else {
            return Reply::redirect(301, urls::index(lang));
        };
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            [""] => match self.cached(lang, 600, || Some(pages::index(base, lang))) {
                Some(b) => Reply::new(200, HTML, b),
                None => self.not_found(lang, false),
            },
            [c] if number(c).is_some() => {
                let code = number(c).unwrap_or(100);
                match self.cached(lang, usize::from(code - 100), || {
                    pages::code(base, lang, code)
                }) {
                    Some(b) => Reply::new(200, HTML, b),
                    None => self.not_found(lang, false),
                }
            }
            [c, ""] if number(c).is_some() => Reply::redirect(301, format!("/{tag}/{c}")),
            ["compare"] => self.compare_form(lang, param("a"), param("b")),
            ["compare", ""] => Reply::redirect(301, urls::compare_index(lang)),
            ["compare", p] => self.pair(lang, p),
            ["search"] => Reply::html(
                200,
                pages::search_page(base, lang, param("q").unwrap_or("")),
            ),
            ["search-index.json"] => Reply::json(api::search_index(lang)),
            ["glossary"] => Reply::html(200, pages::glossary_page(base, lang)),
            _ => self.not_found(lang, false),
        }
    }

    /// `/{lang}/compare/{a}-vs-{b}` (or with a trailing slash).
    fn pair(&self, lang: Lang, p: &str) -> Reply {
        let Some((a, b)) = p.split_once("-vs-") else {
            return self.not_found(lang, false);
        };
        let (Some(a), Some(b)) = (number(a), number(b)) else {
            return self.not_found(lang, false);
        };
        if a == b {
            return Reply::redirect(301, urls::code(lang, a));
        }
        if a > b {
            return Reply::redirect(301, urls::pair(lang, a, b));
        }
        match pages::pair(self.base_url(), lang, a, b) {
            Some(html) => Reply::html(200, html),
            None => self.not_found(lang, false),
        }
    }

    /// `/{lang}/compare?a=&b=`: the form, or a redirect to the pair's page.
    fn compare_form(&self, lang: Lang, a: Option<&str>, b: Option<&str>) -> Reply {
        let base = self.base_url();
        let (a, b) = (a.unwrap_or("").trim(), b.unwrap_or("").trim());
        if a.is_empty() && b.is_empty() {
            return Reply::html(200, pages::compare_index(base, lang, None, ("", "")));
        }
        match (lookup(a), lookup(b)) {
            (Ok(x), Ok(y)) if x == y => Reply::redirect(303, urls::code(lang, x)),
            (Ok(x), Ok(y)) => Reply::redirect(303, urls::pair(lang, x, y)),
            (Err(_), _) => Reply::html(400, pages::compare_index(base, lang, Some(a), (a, b))),
            (_, Err(_)) => Reply::html(400, pages::compare_index(base, lang, Some(b), (a, b))),
        }
    }

    fn not_found(&self, lang: Lang, vary: bool) -> Reply {
        Reply {
            vary_language: vary,
            ..Reply::html(404, pages::not_found(self.base_url(), lang))
        }
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Reply {
    Reply {
        immutable: true,
        ..Reply::new(200, content_type, Bytes::from_static(body.as_bytes()))
    }
}

/// The language for an Accept-Language header (RFC 9110 §12.5.4): the
/// highest-weighted range that names a language sipkit speaks; English
/// when none does.
pub fn negotiate(accept_language: Option<&str>) -> Lang {
    let mut best: Option<(f32, usize, Lang)> = None;
    for (i, item) in accept_language.unwrap_or("").split(',').enumerate() {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim();
        let mut q = 1.0f32;
        for p in parts {
            if let Some(v) = p
                .trim()
                .strip_prefix("q=")
                .or_else(|| p.trim().strip_prefix("Q="))
            {
                q = v.trim().parse().unwrap_or(0.0);
            }
        }
        if q <= 0.0 || range.is_empty() || range == "*" {
            continue;
        }
        let Some(lang) = Lang::from_tag(range) else {
            continue;
        };
        // Higher weight wins; among equal weights, the earlier range.
        if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
            best = Some((q, i, lang));
        }
    }
    best.map(|(_, _, l)| l).unwrap_or(Lang::EN)
}

/// Splits and percent-decodes a query string (`+` is a space).
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Every page worth indexing, in every language.
fn sitemap(base: &str) -> String {
    let mut o = String::with_capacity(1_200_000);
    o.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for path in indexable_paths() {
        let _ = writeln!(
            o,
            "<url><loc>{}{}</loc></url>",
            crate::html::esc(base),
            path
        );
    }
    o.push_str("</urlset>\n");
    o
}

/// The pages in the sitemap: indexes, the compare form, every registered
/// code and every pair of registered codes, in every language.
pub(crate) fn indexable_paths() -> Vec<String> {
    let codes: Vec<u16> = registered_codes().collect();
    let mut out = Vec::new();
    for lang in Lang::all() {
        out.push(urls::index(lang));
        out.push(urls::compare_index(lang));
        out.push(urls::glossary(lang));
        out.extend(codes.iter().map(|c| urls::code(lang, *c)));
        for (i, a) in codes.iter().enumerate() {
            for b in &codes[i + 1..] {
                out.push(urls::pair(lang, *a, *b));
            }
        }
    }
    out
}

/// The HTTP router: every GET and HEAD goes to [`Site::respond`].
pub fn router(site: Site) -> Router {
    Router::new().fallback(handle).with_state(site)
}

async fn handle(State(site): State<Site>, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = (StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n").into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let reply = site.respond(req.uri().path(), req.uri().query(), accept);
    into_response(reply)
}

fn into_response(reply: Reply) -> Response {
    let mut r = Response::new(Body::from(reply.body));
    *r.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let cache = if reply.immutable {
        "public, max-age=86400"
    } else {
        "public, max-age=300"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if reply.content_type == JSON {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    if reply.vary_language {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    }
    if let Some(loc) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LOCATION, loc);
    }
    r
}

/// Serves the site on `listener` until `shutdown` completes, then finishes
/// the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    site: Site,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(site))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves the site on `listen` from a runtime of its own until Ctrl-C or
/// SIGTERM, then finishes the requests in flight and returns. `ready` is
/// called once the socket is bound, with the bound address (port 0 picks a
/// free port) and the base URL pages will name: `base_url`, or
/// `http://ADDR` when `None`.
pub fn run_blocking(
    listen: std::net::SocketAddr,
    base_url: Option<&str>,
    ready: impl FnOnce(std::net::SocketAddr, &str),
) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let base = base_url
            .map(str::to_owned)
            .unwrap_or_else(|| format!("http://{addr}"));
        let site = Site::new(&base);
        ready(addr, site.base_url());
        serve(listener, site, shutdown_signal()).await
    })
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        // An error here means no signal handler could be installed; then only
        // SIGTERM (or killing the process) stops the server.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_known_language() {
        assert_eq!(
            negotiate(Some("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7")),
            Lang::RU
        );
        assert_eq!(negotiate(Some("en-US,en;q=0.9,ru;q=0.8")), Lang::EN);
        assert_eq!(negotiate(Some("de-DE,de;q=0.9,ru;q=0.5")), Lang::RU);
        assert_eq!(negotiate(Some("de, fr")), Lang::EN);
        assert_eq!(negotiate(Some("ru;q=0, en")), Lang::EN);
        assert_eq!(negotiate(Some("en;q=0.5, ru;q=0.6")), Lang::RU);
        assert_eq!(negotiate(Some("*")), Lang::EN);
        assert_eq!(negotiate(None), Lang::EN);
        assert_eq!(negotiate(Some(";;,,q=")), Lang::EN);
    }

    #[test]
    fn queries_are_decoded() {
        assert_eq!(
            parse_query("q=moved+temporarily&lang=ru&x=%D0%B0%2"),
            vec![
                ("q".to_owned(), "moved temporarily".to_owned()),
                ("lang".to_owned(), "ru".to_owned()),
                ("x".to_owned(), "а%2".to_owned())
            ]
        );
        assert_eq!(decode("%"), "%");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%41"), "A");
    }
}
