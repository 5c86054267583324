//! The static export: every internal link resolves, every page is valid
//! HTML, nothing is loaded from elsewhere, and every code and pair is there
//! in every language.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use sipkit_codes::{registered_codes, Lang};

use crate::html_check;
use crate::util::{exported, files, par_map, site, BASE};

/// A URL found in a page: the tag it sits in, the attribute, the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Link {
    tag: String,
    attr: &'static str,
    url: String,
}

/// Every href, src and action in `html`, with the tag it belongs to.
fn links(html: &str) -> Vec<Link> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(k) = rest.find('<') {
        rest = &rest[k + 1..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        rest = &rest[end..];
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        for attr in ["href", "src", "action"] {
            let pat = format!(" {attr}=\"");
            if let Some(s) = tag.find(&pat) {
                let v = &tag[s + pat.len()..];
                if let Some(e) = v.find('"') {
                    let url = v[..e].replace("&amp;", "&");
                    out.push(Link {
                        tag: name.clone(),
                        attr,
                        url,
                    });
                }
            }
        }
    }
    out
}

/// The ids defined in `html`.
fn ids(html: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut rest = html;
    while let Some(k) = rest.find(" id=\"") {
        rest = &rest[k + 5..];
        if let Some(e) = rest.find('"') {
            out.insert(rest[..e].to_owned());
        }
    }
    out
}

/// The file a static web server sends for `path`: the file itself, or the
/// `index.html` of the directory.
fn resolve(dir: &Path, path: &str) -> Option<PathBuf> {
    let rel = path.strip_prefix('/')?;
    let candidate = dir.join(rel);
    if !rel.is_empty() && !rel.ends_with('/') && candidate.is_file() {
        return Some(candidate);
    }
    let index = candidate.join("index.html");
    index.is_file().then_some(index)
}

/// The site path of an internal URL (root-relative or under BASE), `None`
/// for an external one.
fn internal(url: &str) -> Option<&str> {
    if let Some(p) = url.strip_prefix(BASE) {
        return Some(if p.is_empty() { "/" } else { p });
    }
    if url.starts_with('/') && !url.starts_with("//") {
        return Some(url);
    }
    None
}

fn html_files() -> Vec<PathBuf> {
    files(exported())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect()
}

#[test]
fn every_internal_link_of_the_export_resolves() {
    let dir = exported();
    let pages = html_files();
    // Links of every page, and the in-page fragments that must exist.
    let per_page = par_map(&pages, |p| {
        let html = std::fs::read_to_string(p).expect("reading a page");
        let here = ids(&html);
        let mut bad = Vec::new();
        let mut found = Vec::new();
        for l in links(&html) {
            if let Some(frag) = l.url.strip_prefix('#') {
                if !here.contains(frag) {
                    bad.push(format!("{}: #{frag} names no id on the page", p.display()));
                }
            } else {
                found.push(l);
            }
        }
        (found, bad)
    });
    let mut problems: Vec<String> = Vec::new();
    let mut unique: BTreeSet<Link> = BTreeSet::new();
    for (found, bad) in per_page {
        problems.extend(bad);
        unique.extend(found);
    }
    let mut external_hosts = BTreeSet::new();
    let mut checked: HashMap<String, Option<PathBuf>> = HashMap::new();
    let mut ids_of: HashMap<PathBuf, HashSet<String>> = HashMap::new();
    for l in &unique {
        let Some(path) = internal(&l.url) else {
            // Only plain links may leave the site; nothing is loaded from elsewhere.
            if l.tag != "a" || l.attr != "href" {
                problems.push(format!(
                    "<{} {}=\"{}\"> loads from outside the site",
                    l.tag, l.attr, l.url
                ));
            }
            let host = l
                .url
                .split("://")
                .nth(1)
                .and_then(|r| r.split('/').next())
                .unwrap_or(&l.url);
            external_hosts.insert(host.to_owned());
            continue;
        };
        let (no_frag, frag) = match path.split_once('#') {
            Some((p, f)) => (p, Some(f)),
            None => (path, None),
        };
        let file_path = no_frag.split('?').next().unwrap_or(no_frag).to_owned();
        let target = checked
            .entry(file_path.clone())
            .or_insert_with(|| resolve(dir, &file_path))
            .clone();
        let Some(target) = target else {
            problems.push(format!(
                "<{} {}=\"{}\"> does not resolve",
                l.tag, l.attr, l.url
            ));
            continue;
        };
        if let Some(frag) = frag {
            let known = ids_of
                .entry(target.clone())
                .or_insert_with(|| ids(&std::fs::read_to_string(&target).unwrap_or_default()));
            if !known.contains(frag) {
                problems.push(format!("{} has no id {frag:?}", l.url));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} broken links, first ones:\n{}",
        problems.len(),
        problems[..problems.len().min(20)].join("\n")
    );
    assert_eq!(
        external_hosts.into_iter().collect::<Vec<_>>(),
        ["www.rfc-editor.org"],
        "the only external links are to the RFCs"
    );
    assert!(
        unique.len() > 10_000,
        "only {} distinct links",
        unique.len()
    );
}

#[test]
fn every_exported_page_is_valid_html() {
    let pages = html_files();
    assert!(pages.len() > 10_000, "only {} pages", pages.len());
    let problems: Vec<String> = par_map(&pages, |p| {
        let html = std::fs::read_to_string(p).expect("reading a page");
        let errs = html_check::check(&html);
        (!errs.is_empty()).then(|| {
            format!(
                "{}:\n  {}",
                p.display(),
                errs[..errs.len().min(5)].join("\n  ")
            )
        })
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(
        problems.is_empty(),
        "{} invalid pages, first ones:\n{}",
        problems.len(),
        problems[..problems.len().min(10)].join("\n")
    );
}

#[test]
fn every_code_and_every_pair_is_exported_in_every_language() {
    let dir = exported();
    let codes: Vec<u16> = registered_codes().collect();
    for lang in Lang::all() {
        let l = lang.tag();
        for file in [
            format!("{l}/index.html"),
            format!("{l}/compare/index.html"),
            format!("{l}/search/index.html"),
        ] {
            assert!(dir.join(&file).is_file(), "{file}");
        }
        for code in 100..=699u16 {
            assert!(
                dir.join(format!("{l}/{code}/index.html")).is_file(),
                "{l}/{code}"
            );
        }
        for (i, a) in codes.iter().enumerate() {
            assert!(dir.join(format!("api/v1/{l}/codes/{a}.json")).is_file());
            for b in &codes[i + 1..] {
                assert!(
                    dir.join(format!("{l}/compare/{a}-vs-{b}/index.html"))
                        .is_file(),
                    "{l} {a}-{b}"
                );
                let reverse =
                    std::fs::read_to_string(dir.join(format!("{l}/compare/{b}-vs-{a}/index.html")))
                        .expect("the reverse stub");
                assert!(
                    reverse.contains(&format!("url=/{l}/compare/{a}-vs-{b}\"")),
                    "{l} {b}-{a} redirects"
                );
                assert!(dir
                    .join(format!("api/v1/{l}/compare/{a}-{b}.json"))
                    .is_file());
            }
        }
    }
    for f in [
        "index.html",
        "404.html",
        "ru/404.html",
        "sitemap.xml",
        "robots.txt",
        "api/v1/openapi.json",
        "assets/style.css",
        "assets/search.js",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let ru404 = std::fs::read_to_string(dir.join("ru/404.html")).unwrap();
    assert!(ru404.contains("<html lang=\"ru\">") && ru404.contains("Страница не найдена"));
}

#[test]
fn every_sitemap_entry_is_an_exported_page() {
    let dir = exported();
    let sitemap = std::fs::read_to_string(dir.join("sitemap.xml")).unwrap();
    let locs: Vec<&str> = sitemap
        .split("<loc>")
        .skip(1)
        .filter_map(|s| s.split("</loc>").next())
        .collect();
    let codes = registered_codes().count();
    // The index, the compare form, the glossary, every code, every pair.
    let per_lang = 3 + codes + codes * (codes - 1) / 2;
    assert_eq!(locs.len(), per_lang * Lang::all().count());
    for loc in locs {
        let path = loc
            .strip_prefix(BASE)
            .unwrap_or_else(|| panic!("{loc} is not under {BASE}"));
        assert!(resolve(dir, path).is_some(), "{loc} is not exported");
    }
    assert!(
        !sitemap.contains("/en/299<"),
        "unregistered codes stay out of the sitemap"
    );
}

#[test]
fn exported_files_are_what_the_server_sends() {
    let dir = exported();
    let site = site();
    let all = files(dir);
    // Every fifth file is enough to catch a mapping mistake; the stubs at /
    // and the reverse pairs and 404 pages are export-only.
    for f in all.iter().step_by(5) {
        let rel = f
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let path = match rel.strip_suffix("index.html") {
            Some("") => continue,
            Some(p) => format!("/{}", p.trim_end_matches('/')),
            None => format!("/{rel}"),
        };
        if rel.ends_with("404.html") {
            continue;
        }
        let path = if path.matches('/').count() == 1 && rel.ends_with("index.html") {
            format!("{path}/")
        } else {
            path
        };
        let r = site.respond(&path, None, None);
        if r.status == 301 {
            continue; // a reverse-order pair: a stub in the export
        }
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.body.as_ref(),
            std::fs::read(f).unwrap().as_slice(),
            "{path} differs from {}",
            f.display()
        );
    }
}

/// Debian's `tidy` (HTML Tidy 5, which knows HTML5), as a second opinion on
/// a page of each kind in each language: it must find nothing to say.
#[test]
fn tidy_has_nothing_to_say_about_a_page_of_each_kind() {
    let Some(tidy) = ["/usr/bin/tidy", "/usr/local/bin/tidy"]
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
    else {
        let msg = "this test needs Debian's tidy (run scripts/setup): not found";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("SKIPPED: {msg}");
        return;
    };
    let dir = exported();
    let mut pages = vec![
        "index.html".to_owned(),
        "404.html".to_owned(),
        "ru/404.html".to_owned(),
    ];
    for l in ["en", "ru"] {
        for p in [
            "",
            "compare/",
            "search/",
            "302/",
            "202/",
            "491/",
            "299/",
            "150/",
            "compare/202-vs-302/",
            "compare/302-vs-202/",
            "compare/401-vs-407/",
            "compare/100-vs-608/",
            "compare/200-vs-299/",
        ] {
            pages.push(format!("{l}/{p}index.html"));
        }
    }
    for p in &pages {
        let out = std::process::Command::new(tidy)
            .args(["-q", "-e", "--show-warnings", "yes", "--gnu-emacs", "yes"])
            .arg(dir.join(p))
            .output()
            .expect("running tidy");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && said.trim().is_empty(),
            "tidy on {p}:\n{said}"
        );
    }
}
