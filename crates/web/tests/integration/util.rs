//! Shared helpers: the site under test, requests through the router without
//! a socket, and one static export shared by the tests that read it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sipkit_web::{Reply, Site};
use tower::ServiceExt;

/// The base URL the test site names in canonical links and the sitemap.
pub const BASE: &str = "https://sipkit.example";

pub fn site() -> Site {
    Site::new(BASE)
}

/// `GET path` answered by the site directly.
pub fn get(path: &str) -> Reply {
    let (p, q) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    site().respond(p, q, None)
}

/// The body of a reply as text.
pub fn text(r: &Reply) -> String {
    String::from_utf8(r.body.to_vec()).expect("the body is UTF-8")
}

/// An answer of the HTTP router.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `req` through the router (tower's `oneshot`, no socket).
pub fn oneshot(req: Request<Body>) -> Answer {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let res = sipkit_web::router(site())
            .oneshot(req)
            .await
            .expect("the router never fails");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res
            .into_body()
            .collect()
            .await
            .expect("reading the body")
            .to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).expect("UTF-8 body"),
        }
    })
}

/// `GET uri` with optional Accept-Language, through the router.
pub fn http_get(uri: &str, accept_language: Option<&str>) -> Answer {
    let mut b = Request::builder().uri(uri);
    if let Some(l) = accept_language {
        b = b.header("accept-language", l);
    }
    oneshot(b.body(Body::empty()).expect("a request"))
}

/// The static export of the test site, written once per test run.
pub fn exported() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sipkit-web-export");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("removing the previous export");
        }
        let summary = sipkit_web::export(&site(), &dir, &|_, _| {}).expect("exporting the site");
        assert!(
            summary.files > 10_000,
            "only {} files exported",
            summary.files
        );
        dir
    })
}

/// Every file under `dir`, recursively.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("reading a directory") {
            let entry = entry.expect("a directory entry");
            let path = entry.path();
            if entry.file_type().expect("a file type").is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Runs `f` on every item, on as many threads as the machine has.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .max(1);
    let chunk = items.len().div_ceil(n).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker thread panicked"))
            .collect()
    })
}

/// The visible text of an HTML page: tags, scripts, styles, SVG and
/// preformatted blocks (wire messages) removed.
pub fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(k) = rest.find('<') {
        out.push_str(&rest[..k]);
        out.push(' ');
        rest = &rest[k..];
        let mut skipped = false;
        // Whole elements whose content is not prose.
        for (open, close) in [
            ("<head>", "</head>"),
            ("<pre", "</pre>"),
            ("<svg", "</svg>"),
            ("<code>", "</code>"),
            ("<script", "</script>"),
        ] {
            if rest.starts_with(open) {
                rest = rest
                    .find(close)
                    .map(|e| &rest[e + close.len()..])
                    .unwrap_or("");
                skipped = true;
                break;
            }
        }
        if !skipped {
            rest = rest.find('>').map(|e| &rest[e + 1..]).unwrap_or("");
        }
    }
    out.push_str(rest);
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// The share of Cyrillic among the letters of `s`.
pub fn cyrillic_share(s: &str) -> f64 {
    let cyr = s
        .chars()
        .filter(|c| ('\u{400}'..='\u{4ff}').contains(c))
        .count();
    let lat = s.chars().filter(|c| c.is_ascii_alphabetic()).count();
    if cyr + lat == 0 {
        return 0.0;
    }
    cyr as f64 / (cyr + lat) as f64
}
