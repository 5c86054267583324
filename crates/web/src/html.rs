//! HTML building blocks: escaping, templates from the knowledge base, and the
//! frame (head, header, footer) every page shares.

use std::fmt::Write as _;

use sipkit_codes::{ui, Lang};

use crate::urls;

/// Appends `s` to `out` with `& < > " '` escaped, safe in text and in quoted
/// attribute values alike.
pub(crate) fn push_esc(out: &mut String, s: &str) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// `s` escaped for HTML text or a quoted attribute value.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    push_esc(&mut out, s);
    out
}

/// Prose from the knowledge base as HTML: escaped, with `backquoted`
/// spans (commands, parameters, header values) set as `<code>`. An unpaired
/// backquote stays as it is.
pub(crate) fn rich(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let parts: Vec<&str> = s.split('`').collect();
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 0 {
            push_esc(&mut out, part);
        } else if i + 1 < parts.len() {
            out.push_str("<code>");
            push_esc(&mut out, part);
            out.push_str("</code>");
        } else {
            // The text after a backquote that nothing closes.
            out.push('`');
            push_esc(&mut out, part);
        }
    }
    out
}

/// Fills `{name}` placeholders of a knowledge-base template. The values are
/// plain text; escape the result, not the arguments.
pub(crate) fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (k, v) in args {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// A knowledge-base template filled and escaped, ready for HTML.
pub(crate) fn ui_fill(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    esc(&fill(ui(lang, key), args))
}

/// A knowledge-base UI string, escaped.
pub(crate) fn t(lang: Lang, key: &str) -> String {
    esc(ui(lang, key))
}

/// What a page tells the frame about itself.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) lang: Lang,
    /// The `<title>`, plain text.
    pub(crate) title: String,
    /// The meta description, plain text.
    pub(crate) description: String,
    /// This page's path in every language (for `hreflang` and the language
    /// switch); the entry for `lang` is the canonical path.
    pub(crate) alternates: Vec<(Lang, String)>,
    /// Keep out of search engines (unregistered codes, search results).
    pub(crate) noindex: bool,
    /// The same content as JSON, if the API has it.
    pub(crate) json: Option<String>,
    /// Emit no canonical link and no alternates (a redirect stub or a 404).
    pub(crate) no_canonical: bool,
}

impl Head {
    /// A head for a page that exists in every language at `path(lang)`.
    pub(crate) fn new(
        lang: Lang,
        title: String,
        description: String,
        path: impl Fn(Lang) -> String,
    ) -> Head {
        Head {
            lang,
            title,
            description,
            alternates: Lang::all().map(|l| (l, path(l))).collect(),
            noindex: false,
            json: None,
            no_canonical: false,
        }
    }
}

/// The Content-Security-Policy of every page: nothing is loaded from
/// anywhere but this site (no CDN, no web fonts, no analytics).
pub(crate) const CSP: &str =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'";

/// Wraps `main` (HTML) into a complete document.
pub(crate) fn page(base_url: &str, head: &Head, main: &str) -> String {
    let lang = head.lang;
    let tag = lang.tag();
    let mut o = String::with_capacity(main.len() + 4096);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"{tag}\">\n<head>\n<meta charset=\"utf-8\">\n"
    );
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        o,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        esc(CSP)
    );
    // Backquotes mark code in the knowledge base's prose; plain text has none.
    let _ = writeln!(o, "<title>{}</title>", esc(&head.title.replace('`', "")));
    let _ = writeln!(
        o,
        "<meta name=\"description\" content=\"{}\">",
        esc(&head.description.replace('`', ""))
    );
    if head.noindex {
        o.push_str("<meta name=\"robots\" content=\"noindex\">\n");
    }
    if !head.no_canonical {
        if let Some((_, p)) = head.alternates.iter().find(|(l, _)| *l == lang) {
            let _ = writeln!(
                o,
                "<link rel=\"canonical\" href=\"{}{}\">",
                esc(base_url),
                esc(p)
            );
        }
        for (l, p) in &head.alternates {
            let _ = writeln!(
                o,
                "<link rel=\"alternate\" hreflang=\"{}\" href=\"{}{}\">",
                l.tag(),
                esc(base_url),
                esc(p)
            );
        }
        if let Some((_, p)) = head.alternates.iter().find(|(l, _)| *l == Lang::EN) {
            let _ = writeln!(
                o,
                "<link rel=\"alternate\" hreflang=\"x-default\" href=\"{}{}\">",
                esc(base_url),
                esc(p)
            );
        }
    }
    if let Some(j) = &head.json {
        let _ = writeln!(
            o,
            "<link rel=\"alternate\" type=\"application/json\" href=\"{}\">",
            esc(j)
        );
    }
    o.push_str("<link rel=\"stylesheet\" href=\"/assets/style.css\">\n");
    o.push_str("<link rel=\"icon\" href=\"/assets/icon.svg\" type=\"image/svg+xml\">\n");
    o.push_str("<script src=\"/assets/search.js\" defer></script>\n");
    o.push_str("</head>\n<body>\n");
    header(&mut o, head);
    o.push_str("<main id=\"main\">\n");
    o.push_str(main);
    o.push_str("</main>\n");
    let _ = writeln!(
        o,
        "<footer class=\"foot\"><p>{}</p></footer>",
        t(lang, "web_footer")
    );
    o.push_str("</body>\n</html>\n");
    o
}

/// The bar at the top: brand, navigation, search, language switch.
fn header(o: &mut String, head: &Head) {
    let lang = head.lang;
    o.push_str("<header class=\"top\">\n");
    let _ = writeln!(
        o,
        "<a class=\"brand\" href=\"{}\">sipkit</a>\n<nav class=\"nav\" aria-label=\"{}\"><a href=\"{}\">{}</a> <a href=\"{}\">{}</a> <a href=\"{}\">{}</a> <a href=\"{}\">{}</a></nav>",
        urls::index(lang),
        t(lang, "web_nav_label"),
        urls::index(lang),
        t(lang, "web_nav_codes"),
        urls::compare_index(lang),
        t(lang, "web_nav_compare"),
        urls::glossary(lang),
        t(lang, "web_nav_glossary"),
        urls::API_DOC,
        t(lang, "web_nav_api"),
    );
    let _ = writeln!(
        o,
        "<form class=\"search-top\" action=\"{}\" method=\"get\" role=\"search\"><input type=\"search\" name=\"q\" aria-label=\"{}\" placeholder=\"{}\"> <button type=\"submit\">{}</button></form>",
        urls::search(lang),
        t(lang, "web_search_label"),
        t(lang, "web_search_placeholder"),
        t(lang, "web_search_button"),
    );
    let _ = write!(
        o,
        "<nav class=\"langs\" aria-label=\"{}\">",
        t(lang, "web_language")
    );
    for l in Lang::all() {
        let path = head
            .alternates
            .iter()
            .find(|(x, _)| *x == l)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| urls::index(l));
        if l == lang {
            let _ = write!(
                o,
                "<span class=\"cur\" lang=\"{}\">{}</span>",
                l.tag(),
                esc(l.name())
            );
        } else {
            let _ = write!(
                o,
                "<a href=\"{}\" hreflang=\"{}\" lang=\"{}\" rel=\"alternate\">{}</a>",
                esc(&path),
                l.tag(),
                l.tag(),
                esc(l.name())
            );
        }
    }
    o.push_str("</nav>\n</header>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;"
        );
        assert_eq!(esc("Временно перемещён"), "Временно перемещён");
        assert_eq!(esc(""), "");
    }

    #[test]
    fn backquotes_become_code() {
        assert_eq!(rich("set `a<b` now"), "set <code>a&lt;b</code> now");
        assert_eq!(rich("`x` and `y`"), "<code>x</code> and <code>y</code>");
        assert_eq!(rich("one ` alone"), "one ` alone");
        assert_eq!(rich("`a` then ` b"), "<code>a</code> then ` b");
        assert_eq!(rich("plain"), "plain");
    }

    #[test]
    fn fills_templates() {
        assert_eq!(
            fill("{a} vs {b}", &[("a", "202"), ("b", "302")]),
            "202 vs 302"
        );
    }
}
