//! Routes, status codes, redirects, headers, the language choice and the
//! 404 page, through the HTTP router without a socket.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use sipkit_codes::{registered_codes, Lang};

use crate::util::{get, http_get, oneshot, text, BASE};

#[test]
fn root_redirects_by_accept_language() {
    for (accept, to) in [
        (Some("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"), "/ru/"),
        (Some("en-GB,en;q=0.9"), "/en/"),
        (Some("de-DE,de;q=0.9,ru;q=0.4"), "/ru/"),
        (Some("fr, de"), "/en/"),
        (Some("ru;q=0.3, en;q=0.8"), "/en/"),
        (None, "/en/"),
    ] {
        let a = http_get("/", accept);
        assert_eq!(a.status, StatusCode::FOUND, "{accept:?}");
        assert_eq!(a.header("location"), Some(to), "{accept:?}");
        assert_eq!(a.header("vary"), Some("Accept-Language"));
    }
}

#[test]
fn pages_answer_200_with_html() {
    for path in [
        "/en/",
        "/ru/",
        "/en/302",
        "/ru/302",
        "/en/299",
        "/en/100",
        "/en/699",
        "/en/compare",
        "/ru/compare",
        "/en/compare/202-vs-302",
        "/ru/compare/401-vs-407",
        "/en/search",
        "/en/search?q=moved",
    ] {
        let a = http_get(path, None);
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(
            a.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert!(
            a.header("content-security-policy")
                .is_some_and(|c| c.starts_with("default-src 'self'")),
            "{path}"
        );
        assert!(a.body.starts_with("<!DOCTYPE html>"), "{path}");
        let lang = &path[1..3];
        assert!(
            a.body.contains(&format!("<html lang=\"{lang}\">")),
            "{path}"
        );
    }
}

#[test]
fn redirects_point_to_canonical_urls() {
    for (from, status, to) in [
        ("/en", 301, "/en/"),
        ("/ru/302/", 301, "/ru/302"),
        ("/en/compare/", 301, "/en/compare"),
        ("/en/compare/302-vs-202", 301, "/en/compare/202-vs-302"),
        ("/ru/compare/603-vs-486", 301, "/ru/compare/486-vs-603"),
        ("/en/compare/302-vs-302", 301, "/en/302"),
        ("/en/compare?a=302&b=202", 303, "/en/compare/202-vs-302"),
        (
            "/ru/compare?a=moved+temporarily&b=busy+here",
            303,
            "/ru/compare/302-vs-486",
        ),
        (
            "/en/compare?a=SIP%2F2.0+486+Busy+Here&b=486",
            303,
            "/en/486",
        ),
    ] {
        let a = http_get(from, None);
        assert_eq!(a.status.as_u16(), status, "{from}");
        assert_eq!(a.header("location"), Some(to), "{from}");
    }
}

#[test]
fn a_bad_comparison_input_explains_itself_in_the_page_language() {
    let en = http_get("/en/compare?a=302&b=nonsense", None);
    assert_eq!(en.status, StatusCode::BAD_REQUEST);
    assert!(
        en.body.contains("role=\"alert\"")
            && en.body.contains("nonsense")
            && en.body.contains("is not a SIP response code")
    );
    let ru = http_get("/ru/compare?a=%3Cb%3E&b=302", None);
    assert_eq!(ru.status, StatusCode::BAD_REQUEST);
    assert!(ru.body.contains("не код ответа SIP"), "Russian error");
    assert!(
        ru.body.contains("&lt;b&gt;") && !ru.body.contains("<b>"),
        "the input is escaped"
    );
}

#[test]
fn not_found_is_a_404_page_in_the_right_language() {
    for (path, accept, lang, words) in [
        ("/ru/nothing-here", None, "ru", "Страница не найдена"),
        ("/en/nothing-here", Some("ru"), "en", "Page not found"),
        (
            "/nothing-here",
            Some("ru-RU,ru;q=0.9"),
            "ru",
            "Страница не найдена",
        ),
        ("/nothing-here", Some("en"), "en", "Page not found"),
        ("/nothing-here", None, "en", "Page not found"),
        ("/en/700", None, "en", "Page not found"),
        ("/en/099", None, "en", "Page not found"),
        ("/ru/compare/202-vs-999", None, "ru", "Страница не найдена"),
        ("/de/302", None, "en", "Page not found"),
    ] {
        let a = http_get(path, accept);
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            a.body.contains(&format!("<html lang=\"{lang}\">")),
            "{path}: {lang}"
        );
        assert!(a.body.contains(words), "{path}: {words}");
        assert!(
            a.body.contains("noindex"),
            "{path}: kept out of search engines"
        );
    }
}

#[test]
fn head_works_and_other_methods_are_refused() {
    let a = oneshot(
        Request::builder()
            .method(Method::HEAD)
            .uri("/en/302")
            .body(Body::empty())
            .unwrap(),
    );
    assert_eq!(a.status, StatusCode::OK);
    let a = oneshot(
        Request::builder()
            .method(Method::POST)
            .uri("/en/302")
            .body(Body::empty())
            .unwrap(),
    );
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.header("allow"), Some("GET, HEAD"));
}

#[test]
fn assets_sitemap_and_robots() {
    for (path, ct) in [
        ("/assets/style.css", "text/css; charset=utf-8"),
        ("/assets/search.js", "text/javascript; charset=utf-8"),
        ("/assets/icon.svg", "image/svg+xml"),
        ("/sitemap.xml", "application/xml; charset=utf-8"),
        ("/robots.txt", "text/plain; charset=utf-8"),
        ("/en/search-index.json", "application/json"),
    ] {
        let a = http_get(path, None);
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(a.header("content-type"), Some(ct), "{path}");
    }
    let css = http_get("/assets/style.css", None).body;
    assert!(
        !css.contains("@import") && !css.contains("url("),
        "the style sheet loads nothing"
    );
    let robots = http_get("/robots.txt", None).body;
    assert!(robots.contains(&format!("Sitemap: {BASE}/sitemap.xml")));
    let sitemap = http_get("/sitemap.xml", None).body;
    for lang in Lang::all() {
        for code in registered_codes() {
            assert!(sitemap.contains(&format!("<loc>{BASE}/{}/{code}</loc>", lang.tag())));
        }
    }
    assert!(sitemap.contains(&format!("<loc>{BASE}/ru/compare/202-vs-302</loc>")));
}

#[test]
fn pages_name_their_canonical_url_and_language_alternates() {
    let html = text(&get("/ru/302"));
    assert!(html.contains(&format!("<link rel=\"canonical\" href=\"{BASE}/ru/302\">")));
    assert!(html.contains(&format!(
        "<link rel=\"alternate\" hreflang=\"en\" href=\"{BASE}/en/302\">"
    )));
    assert!(html.contains(&format!(
        "<link rel=\"alternate\" hreflang=\"ru\" href=\"{BASE}/ru/302\">"
    )));
    assert!(html.contains(&format!(
        "<link rel=\"alternate\" hreflang=\"x-default\" href=\"{BASE}/en/302\">"
    )));
    assert!(
        html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    let pair = text(&get("/en/compare/202-vs-302"));
    assert!(pair.contains(&format!(
        "<link rel=\"canonical\" href=\"{BASE}/en/compare/202-vs-302\">"
    )));
    assert!(
        pair.contains("<title>SIP 202 Accepted vs 302 Moved Temporarily: the difference</title>")
    );
    let unregistered = text(&get("/en/299"));
    assert!(unregistered.contains("<meta name=\"robots\" content=\"noindex\">"));
}

#[test]
fn search_works_without_javascript() {
    let en = text(&get("/en/search?q=moved"));
    let first = en.find("href=\"/en/301\"").expect("301 found");
    let second = en.find("href=\"/en/302\"").expect("302 found");
    assert!(first < second, "ordered by score, then code");
    assert!(en.contains("Codes found:"));
    let ru = text(&get(
        "/ru/search?q=%D0%BF%D0%B5%D1%80%D0%B5%D0%BC%D0%B5%D1%89%D1%91%D0%BD",
    ));
    assert!(
        ru.contains("href=\"/ru/302\"") && ru.contains("Найдено кодов:"),
        "перемещён finds 302"
    );
    let by_number = text(&get("/en/search?q=486"));
    assert!(by_number.contains("href=\"/en/486\""));
    let unregistered = text(&get("/en/search?q=299"));
    assert!(
        unregistered.contains("href=\"/en/299\""),
        "an unregistered code is found by number"
    );
    let none = text(&get("/en/search?q=qqqzzz"));
    assert!(none.contains("No code matches this search."));
    let hostile = text(&get("/en/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"));
    assert!(!hostile.contains("<script>alert"), "the query is escaped");
}
