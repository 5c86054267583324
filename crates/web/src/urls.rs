//! Every URL of the site, defined once. Pages link with root-relative paths,
//! so the site (or its static export) must be served at the root of a host.
//!
//! | path | what |
//! |---|---|
//! | `/` | redirect to `/en/` or `/ru/` from Accept-Language |
//! | `/{lang}/` | every registered code, grouped by class, with a search box |
//! | `/{lang}/{code}` | one code (any code 100–699; unregistered ones are explained by class) |
//! | `/{lang}/compare/{a}-vs-{b}` | two codes compared, lower code first; the other order redirects |
//! | `/{lang}/compare` | the comparison form and the pairs engineers confuse |
//! | `/{lang}/glossary` | the terms the reference uses, one rendering each, with definitions |
//! | `/{lang}/search?q=moved` | search by number, reason phrase or words of the text |
//! | `/{lang}/search-index.json` | what search-as-you-type searches |
//! | `/api/v1/…` | the JSON API, described by `/api/v1/openapi.json` |
//! | `/sitemap.xml`, `/robots.txt` | for crawlers |

use sipkit_codes::Lang;

/// The OpenAPI document.
pub(crate) const API_DOC: &str = "/api/v1/openapi.json";

/// The index of a language: `/en/`.
pub(crate) fn index(lang: Lang) -> String {
    format!("/{}/", lang.tag())
}

/// A code's page: `/en/302`.
pub(crate) fn code(lang: Lang, code: u16) -> String {
    format!("/{}/{code}", lang.tag())
}

/// The canonical comparison page, lower code first: `/en/compare/202-vs-302`.
pub(crate) fn pair(lang: Lang, a: u16, b: u16) -> String {
    format!("/{}/compare/{}-vs-{}", lang.tag(), a.min(b), a.max(b))
}

/// The comparison form: `/en/compare`.
pub(crate) fn compare_index(lang: Lang) -> String {
    format!("/{}/compare", lang.tag())
}

/// The glossary: `/en/glossary`.
pub(crate) fn glossary(lang: Lang) -> String {
    format!("/{}/glossary", lang.tag())
}

/// A term of the glossary: `/en/glossary#term-notifier`.
pub(crate) fn glossary_term(lang: Lang, id: &str) -> String {
    format!("/{}/glossary#term-{id}", lang.tag())
}

/// The search page: `/en/search`.
pub(crate) fn search(lang: Lang) -> String {
    format!("/{}/search", lang.tag())
}

/// The search index for search-as-you-type: `/en/search-index.json`.
pub(crate) fn search_index(lang: Lang) -> String {
    format!("/{}/search-index.json", lang.tag())
}

/// The static JSON of the code list: `/api/v1/en/codes.json`.
pub(crate) fn api_codes_file(lang: Lang) -> String {
    format!("/api/v1/{}/codes.json", lang.tag())
}

/// The static JSON of one code: `/api/v1/en/codes/302.json`.
pub(crate) fn api_code_file(lang: Lang, code: u16) -> String {
    format!("/api/v1/{}/codes/{code}.json", lang.tag())
}

/// The static JSON of a comparison, lower code first: `/api/v1/en/compare/202-302.json`.
pub(crate) fn api_pair_file(lang: Lang, a: u16, b: u16) -> String {
    format!(
        "/api/v1/{}/compare/{}-{}.json",
        lang.tag(),
        a.min(b),
        a.max(b)
    )
}
