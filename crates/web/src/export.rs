//! The whole site as static files that any web server can host.
//!
//! Every page is written as `<path>/index.html` (so `/en/302` works on a
//! static server, which serves `/en/302/` from the directory), the API's
//! resources as `.json` files under `/api/v1/{lang}/`, plus `sitemap.xml`,
//! `robots.txt`, the assets and a `404.html`. `/` becomes a page that picks
//! the reader's language in the browser; a comparison in the other order
//! becomes a small page that redirects to the canonical one.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use sipkit_codes::{explain, registered_codes, Lang};

use crate::site::Site;
use crate::{pages, urls};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// A file or directory could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A page that should exist did not render (a defect).
    #[error("{path} answered {status} instead of 200")]
    Page {
        /// The URL path.
        path: String,
        /// What the site answered.
        status: u16,
    },
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// One file of the export: the URL path it answers, and how to make it.
#[derive(Debug, Clone)]
enum Item {
    /// What the site answers at this path.
    Page(String),
    /// `/`: the language chooser.
    Root,
    /// The 404 page of a language, at `file`.
    NotFound(Lang, String),
    /// A comparison in the non-canonical order: a redirect stub.
    Reverse(Lang, u16, u16),
}

/// The file a URL path is written to, relative to the export directory:
/// `/en/` → `en/index.html`, `/en/302` → `en/302/index.html`,
/// `/sitemap.xml` → `sitemap.xml`.
pub fn file_for(path: &str) -> String {
    let p = path.trim_start_matches('/');
    if p.is_empty() || p.ends_with('/') {
        return format!("{p}index.html");
    }
    let last = p.rsplit('/').next().unwrap_or(p);
    if last.contains('.') {
        p.to_owned()
    } else {
        format!("{p}/index.html")
    }
}

/// Every file of the export.
fn items() -> Vec<Item> {
    let codes: Vec<u16> = registered_codes().collect();
    let mut out = vec![
        Item::Root,
        Item::Page("/sitemap.xml".into()),
        Item::Page("/robots.txt".into()),
        Item::Page("/assets/style.css".into()),
        Item::Page("/assets/search.js".into()),
        Item::Page("/assets/icon.svg".into()),
        Item::Page(urls::API_DOC.into()),
    ];
    for lang in Lang::all() {
        let file = if lang == Lang::EN {
            "404.html".to_owned()
        } else {
            format!("{}/404.html", lang.tag())
        };
        out.push(Item::NotFound(lang, file));
        out.push(Item::Page(urls::index(lang)));
        out.push(Item::Page(urls::compare_index(lang)));
        out.push(Item::Page(urls::glossary(lang)));
        out.push(Item::Page(urls::search(lang)));
        out.push(Item::Page(urls::search_index(lang)));
        out.push(Item::Page(urls::api_codes_file(lang)));
        for code in 100..=699u16 {
            out.push(Item::Page(urls::code(lang, code)));
        }
        for c in &codes {
            out.push(Item::Page(urls::api_code_file(lang, *c)));
        }
        // Every pair of registered codes, both ways.
        for (i, a) in codes.iter().enumerate() {
            for b in &codes[i + 1..] {
                out.push(Item::Page(urls::pair(lang, *a, *b)));
                out.push(Item::Reverse(lang, *a, *b));
                out.push(Item::Page(urls::api_pair_file(lang, *a, *b)));
            }
        }
        // An unregistered code's page offers the comparison with the code
        // it is treated as.
        for code in (100..=699u16).filter(|c| !codes.contains(c)) {
            if let Some(base) = explain(code, lang).ok().and_then(|e| e.treated_as) {
                out.push(Item::Page(urls::pair(lang, code, base)));
                out.push(Item::Reverse(lang, code.min(base), code.max(base)));
            }
        }
    }
    out
}

/// Writes the whole site under `dir` (created if missing; files already
/// there are overwritten, others left alone). `progress(done, total)` is
/// called after every file, from the writing threads.
pub fn export(
    site: &Site,
    dir: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ExportSummary, ExportError> {
    let items = items();
    let total = items.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let bytes = AtomicUsize::new(0);
    let made_dirs: Mutex<HashSet<PathBuf>> = Mutex::new(HashSet::new());
    let failure: Mutex<Option<ExportError>> = Mutex::new(None);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                if failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                    break;
                }
                match write_item(site, dir, item, &made_dirs) {
                    Ok(n) => {
                        bytes.fetch_add(n, Ordering::Relaxed);
                        progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                    }
                    Err(e) => {
                        if let Ok(mut f) = failure.lock() {
                            f.get_or_insert(e);
                        }
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok(ExportSummary {
        files: done.into_inner(),
        bytes: bytes.into_inner() as u64,
    })
}

fn write_item(
    site: &Site,
    dir: &Path,
    item: &Item,
    made: &Mutex<HashSet<PathBuf>>,
) -> Result<usize, ExportError> {
    let base = site.base_url();
    let (file, body): (String, Vec<u8>) = match item {
        Item::Root => ("index.html".into(), pages::root(base).into_bytes()),
        Item::NotFound(lang, file) => (file.clone(), pages::not_found(base, *lang).into_bytes()),
        Item::Reverse(lang, a, b) => {
            let path = format!("/{}/compare/{b}-vs-{a}", lang.tag());
            let html = pages::pair_redirect(base, *lang, *a, *b).ok_or(ExportError::Page {
                path: path.clone(),
                status: 404,
            })?;
            (file_for(&path), html.into_bytes())
        }
        Item::Page(path) => {
            let r = site.respond(path, None, None);
            if r.status != 200 {
                return Err(ExportError::Page {
                    path: path.clone(),
                    status: r.status,
                });
            }
            (file_for(path), r.body.to_vec())
        }
    };
    let target = dir.join(&file);
    if let Some(parent) = target.parent() {
        let known = made.lock().map(|m| m.contains(parent)).unwrap_or(false);
        if !known {
            std::fs::create_dir_all(parent).map_err(|source| ExportError::Io {
                path: parent.to_owned(),
                source,
            })?;
            if let Ok(mut m) = made.lock() {
                m.insert(parent.to_owned());
            }
        }
    }
    std::fs::write(&target, &body).map_err(|source| ExportError::Io {
        path: target.clone(),
        source,
    })?;
    Ok(body.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_directory_style_files() {
        assert_eq!(file_for("/"), "index.html");
        assert_eq!(file_for("/en/"), "en/index.html");
        assert_eq!(file_for("/en/302"), "en/302/index.html");
        assert_eq!(
            file_for("/en/compare/202-vs-302"),
            "en/compare/202-vs-302/index.html"
        );
        assert_eq!(file_for("/sitemap.xml"), "sitemap.xml");
        assert_eq!(
            file_for("/api/v1/en/codes/302.json"),
            "api/v1/en/codes/302.json"
        );
    }
}
