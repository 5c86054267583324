//! The HTML pages. Every sentence comes from the knowledge base
//! (`sipkit-codes`): the explanations and comparisons, and the `web_*` UI
//! strings of `data/<lang>.toml`. Functions here only arrange and escape.

use std::fmt::Write as _;

use sipkit_codes::{
    class_of, compare, explain, glossary, noted_pairs, registered_codes, terms_in, ui, Explanation,
    Lang,
};

use crate::example::example_response;
use crate::html::{esc, fill, page, rich, t, ui_fill, Head};
use crate::ladder;
use crate::search::{entries, search};
use crate::urls;

/// The CSS class that colours a code by its class.
fn cls(code: u16) -> String {
    format!("c{}", class_of(code))
}

/// A code as a coloured badge.
fn badge(code: u16) -> String {
    format!("<span class=\"code {}\">{code}</span>", cls(code))
}

/// A list item linking to a code's page with its title and summary.
fn code_item(o: &mut String, lang: Lang, code: u16, title: &str, summary: &str) {
    let _ = writeln!(
        o,
        "<li><a href=\"{}\">{} <span class=\"title\">{}</span></a> <span class=\"summary\">{}</span></li>",
        urls::code(lang, code),
        badge(code),
        esc(title),
        esc(summary)
    );
}

/// `<ul>` of bullet items, escaped.
fn bullets(o: &mut String, items: &[String]) {
    o.push_str("<ul>\n");
    for i in items {
        let _ = writeln!(o, "<li>{}</li>", rich(i));
    }
    o.push_str("</ul>\n");
}

/// The search form with the live-results hooks for `assets/search.js`.
fn search_form(o: &mut String, lang: Lang, q: &str) {
    let _ = writeln!(
        o,
        "<form class=\"search-big\" action=\"{}\" method=\"get\" role=\"search\">\n<label for=\"q\">{}</label>\n<div class=\"row\"><input type=\"search\" id=\"q\" name=\"q\" value=\"{}\" placeholder=\"{}\" autocomplete=\"off\" data-index=\"{}\" data-lang=\"{}\" data-found=\"{}\" data-none=\"{}\"> <button type=\"submit\">{}</button></div>\n</form>",
        urls::search(lang),
        t(lang, "web_search_label"),
        esc(q),
        t(lang, "web_search_placeholder"),
        urls::search_index(lang),
        lang.tag(),
        t(lang, "web_search_found"),
        t(lang, "web_search_none"),
        t(lang, "web_search_button"),
    );
}

/// The comparison form; `a` fixed (a hidden field) on a code page.
fn compare_form(o: &mut String, lang: Lang, a: Option<u16>, values: (&str, &str)) {
    let _ = write!(
        o,
        "<form class=\"compare-form\" action=\"{}\" method=\"get\">",
        urls::compare_index(lang)
    );
    match a {
        Some(a) => {
            let _ = write!(
                o,
                "<input type=\"hidden\" name=\"a\" value=\"{a}\"><label>{} <input name=\"b\" value=\"{}\" placeholder=\"202\" required size=\"12\"></label>",
                t(lang, "web_compare_any"),
                esc(values.1)
            );
        }
        None => {
            let _ = write!(
                o,
                "<label>{} <input name=\"a\" value=\"{}\" placeholder=\"202\" required size=\"12\"></label> <label>{} <input name=\"b\" value=\"{}\" placeholder=\"302\" required size=\"12\"></label>",
                t(lang, "web_compare_first"),
                esc(values.0),
                t(lang, "web_compare_second"),
                esc(values.1)
            );
        }
    }
    let _ = writeln!(
        o,
        " <button type=\"submit\">{}</button></form>",
        t(lang, "web_compare_button")
    );
}

/// The pairs with a hand-written note, as links.
fn noted_pair_links(o: &mut String, lang: Lang, only_with: Option<(u16, u16)>) -> usize {
    let mut n = 0;
    let mut list = String::new();
    for (a, b) in noted_pairs(lang) {
        if let Some((x, y)) = only_with {
            let touches = [a, b].iter().any(|c| *c == x || *c == y);
            if !touches || (a, b) == (x.min(y), x.max(y)) {
                continue;
            }
        }
        let (Ok(ea), Ok(eb)) = (explain(a, lang), explain(b, lang)) else {
            continue;
        };
        let _ = writeln!(
            list,
            "<li><a href=\"{}\">{}</a></li>",
            urls::pair(lang, a, b),
            ui_fill(
                lang,
                "web_compare_heading",
                &[("a", &ea.label()), ("b", &eb.label())]
            )
        );
        n += 1;
    }
    if n > 0 {
        let _ = write!(o, "<ul class=\"pairs\">\n{list}</ul>\n");
    }
    n
}

/// `/{lang}/`: every registered code by class, the search, the noted pairs.
pub(crate) fn index(base: &str, lang: Lang) -> String {
    let mut m = String::with_capacity(40_000);
    let _ = writeln!(m, "<h1>{}</h1>", t(lang, "web_index_title"));
    let _ = writeln!(m, "<p class=\"lead\">{}</p>", t(lang, "web_index_intro"));
    let count = registered_codes().count().to_string();
    let _ = writeln!(
        m,
        "<p>{}</p>",
        ui_fill(lang, "codes_total", &[("count", &count)])
    );
    search_form(&mut m, lang, "");
    m.push_str("<div id=\"live\" class=\"live\" aria-live=\"polite\" data-q=\"\"></div>\n");
    let mut classes = String::new();
    let mut groups = String::new();
    for class in 1..=6u8 {
        let codes: Vec<&crate::search::Entry> = entries(lang)
            .iter()
            .filter(|e| class_of(e.code) == class)
            .collect();
        let Some(first) = codes.first() else { continue };
        let class_name = explain(first.code, lang)
            .map(|e| e.class_name)
            .unwrap_or_default();
        let _ = write!(
            classes,
            "<a href=\"#class-{class}\"><span class=\"code c{class}\">{class}xx</span> {}</a> ",
            esc(&class_name)
        );
        let _ = writeln!(
            groups,
            "<section id=\"class-{class}\" class=\"group\">\n<h2><span class=\"code c{class}\">{class}xx</span> {}</h2>\n<ul class=\"codelist\">",
            esc(&class_name)
        );
        for e in codes {
            code_item(&mut groups, lang, e.code, &e.title, &e.summary);
        }
        groups.push_str("</ul>\n</section>\n");
    }
    let _ = writeln!(
        m,
        "<nav class=\"classes\" aria-label=\"{}\">{}</nav>",
        t(lang, "class"),
        classes.trim_end()
    );
    let _ = write!(m, "<div id=\"groups\">\n{groups}</div>\n");
    let _ = writeln!(
        m,
        "<section id=\"pairs\">\n<h2>{}</h2>",
        t(lang, "web_noted_pairs")
    );
    noted_pair_links(&mut m, lang, None);
    m.push_str("</section>\n");
    let mut head = Head::new(
        lang,
        ui(lang, "web_index_page_title").to_owned(),
        ui(lang, "web_index_description").to_owned(),
        urls::index,
    );
    head.json = Some(urls::api_codes_file(lang));
    page(base, &head, &m)
}

/// The codes a code page offers to compare with, first the related codes
/// and the codes of hand-written pairs.
fn compare_partners(e: &Explanation, lang: Lang) -> Vec<u16> {
    let mut out: Vec<u16> = e.related.iter().map(|r| r.code).collect();
    for (a, b) in noted_pairs(lang) {
        if a == e.code {
            out.push(b);
        } else if b == e.code {
            out.push(a);
        }
    }
    if let Some(base) = e.treated_as {
        out.push(base);
    }
    let mut seen = Vec::new();
    out.retain(|c| {
        *c != e.code && !seen.contains(c) && {
            seen.push(*c);
            true
        }
    });
    out
}

/// `/{lang}/{code}`: one code, for any code in 100..=699.
pub(crate) fn code(base: &str, lang: Lang, code: u16) -> Option<String> {
    let e = explain(code, lang).ok()?;
    let class = class_of(code);
    let mut m = String::with_capacity(24_000);
    let _ = writeln!(
        m,
        "<nav class=\"crumbs\" aria-label=\"{}\"><a href=\"{}\">{}</a> › <a href=\"{}#class-{class}\">{} {}</a></nav>",
        t(lang, "web_breadcrumbs"),
        urls::index(lang),
        t(lang, "web_nav_codes"),
        urls::index(lang),
        esc(&e.class),
        esc(&e.class_name)
    );
    m.push_str("<article class=\"entry\">\n");
    let _ = writeln!(m, "<h1>{} {}</h1>", badge(code), esc(&e.title));
    if let Some(r) = e.reason.as_deref().filter(|r| *r != e.title) {
        let _ = writeln!(
            m,
            "<p class=\"wire\">{}</p>",
            ui_fill(lang, "web_wire_reason", &[("reason", r)])
        );
    }
    let _ =
        write!(
        m,
        "<p class=\"tags\"><span class=\"tag {}\">{} {}: {}</span> <span class=\"tag\">{}</span>",
        cls(code),
        t(lang, "class"),
        esc(&e.class),
        esc(&e.class_name),
        t(lang, if e.registered { "registered" } else { "unregistered" })
    );
    if e.deprecated {
        let _ = write!(
            m,
            " <span class=\"tag dep\">{}</span>",
            t(lang, "deprecation")
        );
    }
    m.push_str("</p>\n");
    let _ = writeln!(m, "<p class=\"lead\">{}</p>", rich(&e.summary));
    let _ = writeln!(m, "<p class=\"next\">{}</p>", rich(&e.client_action));
    if let Some(d) = &e.deprecation {
        let _ = writeln!(
            m,
            "<aside class=\"deprecated\">\n<h2>{}</h2>\n<p>{}</p>\n</aside>",
            t(lang, "deprecation"),
            rich(d)
        );
    }
    let _ = writeln!(
        m,
        "<section id=\"description\">\n<h2>{}</h2>\n<p>{}</p>\n</section>",
        t(lang, "description"),
        rich(&e.description)
    );
    let _ = writeln!(m, "<section id=\"when\">\n<h2>{}</h2>", t(lang, "when"));
    bullets(&mut m, &e.when);
    m.push_str("</section>\n");
    let _ = writeln!(m, "<section id=\"fix\">\n<h2>{}</h2>", t(lang, "fix"));
    bullets(&mut m, &e.fix);
    m.push_str("</section>\n");
    let _ = writeln!(
        m,
        "<section id=\"use\">\n<h2>{}</h2>\n<p>{}</p>\n</section>",
        t(lang, "use"),
        rich(&e.use_)
    );
    if let Some(f) = e.reason.as_deref().and_then(|r| ladder::flow(code, r)) {
        let _ = writeln!(m, "<section id=\"flow\">\n<h2>{}</h2>", t(lang, "web_flow"));
        m.push_str(&f.render(lang));
        m.push_str("</section>\n");
    }
    if let Some(x) = example_response(code) {
        let _ = writeln!(
            m,
            "<section id=\"example\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n<pre class=\"wire-msg\"><code>{}</code></pre>\n</section>",
            t(lang, "web_example"),
            t(lang, "web_example_note"),
            esc(x.replace("\r\n", "\n").trim_end())
        );
    }
    terms_section(&mut m, lang, &e);
    let _ = writeln!(
        m,
        "<section id=\"spec\">\n<h2>{}</h2>\n<ul>",
        t(lang, "spec")
    );
    for s in &e.spec {
        let _ = writeln!(
            m,
            "<li><a href=\"{}\" rel=\"external\">{}</a></li>",
            esc(&s.url),
            esc(&s.text)
        );
    }
    m.push_str("</ul>\n</section>\n");
    if !e.related.is_empty() {
        let _ = writeln!(
            m,
            "<section id=\"related\">\n<h2>{}</h2>\n<ul class=\"codelist\">",
            t(lang, "related")
        );
        for r in &e.related {
            let summary = explain(r.code, lang).map(|x| x.summary).unwrap_or_default();
            code_item(&mut m, lang, r.code, &r.title, &summary);
        }
        m.push_str("</ul>\n</section>\n");
    }
    let _ = writeln!(
        m,
        "<section id=\"compare\">\n<h2>{}</h2>\n<ul class=\"pairs\">",
        t(lang, "web_compare_with")
    );
    for other in compare_partners(&e, lang) {
        let Ok(eo) = explain(other, lang) else {
            continue;
        };
        let _ = writeln!(
            m,
            "<li><a href=\"{}\">{}</a></li>",
            urls::pair(lang, code, other),
            ui_fill(lang, "web_compare_with_code", &[("code", &eo.label())])
        );
    }
    m.push_str("</ul>\n");
    compare_form(&mut m, lang, Some(code), ("", ""));
    if e.registered {
        let _ = writeln!(
            m,
            "<details class=\"all-pairs\">\n<summary>{}</summary>\n<ul class=\"grid\">",
            t(lang, "web_compare_all")
        );
        for other in entries(lang).iter().filter(|x| x.code != code) {
            let _ = writeln!(
                m,
                "<li><a href=\"{}\" title=\"{}\">{} {}</a></li>",
                urls::pair(lang, code, other.code),
                esc(&other.title),
                badge(other.code),
                esc(&other.title)
            );
        }
        m.push_str("</ul>\n</details>\n");
    }
    m.push_str("</section>\n</article>\n");
    let title = ui_title(lang, "web_code_page_title", &[("code", &e.label())]);
    let mut head = Head::new(lang, title, e.summary.clone(), |l| urls::code(l, code));
    if e.registered {
        head.json = Some(urls::api_code_file(lang, code));
    } else {
        head.noindex = true;
    }
    Some(page(base, &head, &m))
}

/// The glossary terms that a code's texts use, each linked to its
/// definition.
fn terms_section(o: &mut String, lang: Lang, e: &Explanation) {
    let text = [&e.summary, &e.description, &e.use_, &e.client_action]
        .into_iter()
        .chain(&e.when)
        .chain(&e.fix)
        .chain(e.deprecation.iter())
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    terms_list(o, lang, &text);
}

/// A section linking every glossary term that `text` uses to its
/// definition; nothing when it uses none.
fn terms_list(o: &mut String, lang: Lang, text: &str) {
    let terms = terms_in(lang, text);
    if terms.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "<section id=\"terms\">\n<h2>{}</h2>\n<ul class=\"pairs\">",
        t(lang, "web_terms")
    );
    for term in terms {
        let _ = writeln!(
            o,
            "<li><a href=\"{}\" title=\"{}\">{}</a></li>",
            esc(&urls::glossary_term(lang, &term.id)),
            esc(&term.definition),
            esc(&term.term)
        );
    }
    o.push_str("</ul>\n</section>\n");
}

/// `/{lang}/glossary`: every term with its one rendering and definition.
pub(crate) fn glossary_page(base: &str, lang: Lang) -> String {
    let mut m = String::with_capacity(16_000);
    let _ = writeln!(
        m,
        "<h1>{}</h1>\n<p class=\"lead\">{}</p>\n<dl class=\"glossary\">",
        t(lang, "web_glossary_title"),
        t(lang, "web_glossary_intro")
    );
    for e in glossary(lang) {
        let _ = writeln!(
            m,
            "<dt id=\"term-{}\">{}</dt>\n<dd>{}</dd>",
            esc(&e.id),
            esc(&e.term),
            rich(&e.definition)
        );
    }
    m.push_str("</dl>\n");
    let head = Head::new(
        lang,
        ui(lang, "web_glossary_title").to_owned(),
        ui(lang, "web_glossary_intro").to_owned(),
        urls::glossary,
    );
    page(base, &head, &m)
}

/// A plain-text title from a template.
fn ui_title(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    fill(ui(lang, key), args)
}

/// `/{lang}/compare/{a}-vs-{b}`: the comparison, `a < b`.
pub(crate) fn pair(base: &str, lang: Lang, a: u16, b: u16) -> Option<String> {
    let c = compare(a, b, lang).ok()?;
    let (la, lb) = (c.a.label(), c.b.label());
    let mut m = String::with_capacity(30_000);
    let _ = writeln!(
        m,
        "<nav class=\"crumbs\" aria-label=\"{}\"><a href=\"{}\">{}</a> › <a href=\"{}\">{}</a></nav>",
        t(lang, "web_breadcrumbs"),
        urls::index(lang),
        t(lang, "web_nav_codes"),
        urls::compare_index(lang),
        t(lang, "web_nav_compare")
    );
    m.push_str("<article class=\"comparison\">\n");
    let _ = writeln!(
        m,
        "<h1>{} {} <span class=\"vs\">↔</span> {} {}</h1>",
        badge(a),
        esc(&c.a.title),
        badge(b),
        esc(&c.b.title)
    );
    let _ = writeln!(m, "<p class=\"lead\">{}</p>", rich(&c.relation));
    if let Some(note) = &c.note {
        let _ = writeln!(
            m,
            "<section id=\"note\">\n<h2>{}</h2>\n<p>{}</p>\n</section>",
            t(lang, "note"),
            rich(note)
        );
    }
    let _ = writeln!(
        m,
        "<section id=\"differences\">\n<h2>{}</h2>",
        t(lang, "differences")
    );
    bullets(&mut m, &c.differences);
    m.push_str("</section>\n");
    let _ = writeln!(
        m,
        "<section id=\"when-to-use\">\n<h2>{}</h2>",
        t(lang, "when_to_use")
    );
    for p in c.when_to_use.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(m, "<p>{}</p>", rich(p));
    }
    m.push_str("</section>\n");
    let _ = writeln!(
        m,
        "<section id=\"side-by-side\">\n<h2>{}</h2>\n<div class=\"cols\">",
        t(lang, "side_by_side")
    );
    for e in [&c.a, &c.b] {
        let _ = writeln!(
            m,
            "<div class=\"col\">\n<h3><a href=\"{}\">{} {}</a></h3>\n<p class=\"lead\">{}</p>",
            urls::code(lang, e.code),
            badge(e.code),
            esc(&e.title),
            rich(&e.summary)
        );
        let _ = writeln!(
            m,
            "<h4>{}</h4>\n<p>{}</p>",
            t(lang, "description"),
            rich(&e.description)
        );
        let _ = writeln!(m, "<h4>{}</h4>", t(lang, "when"));
        bullets(&mut m, &e.when);
        let _ = writeln!(m, "<h4>{}</h4>", t(lang, "fix"));
        bullets(&mut m, &e.fix);
        m.push_str("</div>\n");
    }
    m.push_str("</div>\n</section>\n");
    let compared = [c.note.as_deref().unwrap_or(""), &c.when_to_use]
        .into_iter()
        .chain(c.differences.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("\n");
    terms_list(&mut m, lang, &compared);
    let mut more = String::new();
    if noted_pair_links(&mut more, lang, Some((a, b))) > 0 {
        let _ = write!(
            m,
            "<section id=\"more\">\n<h2>{}</h2>\n{more}</section>\n",
            t(lang, "web_more_pairs")
        );
    }
    m.push_str("</article>\n");
    let args = [("a", la.as_str()), ("b", lb.as_str())];
    let mut head = Head::new(
        lang,
        ui_title(lang, "web_compare_page_title", &args),
        ui_title(lang, "web_compare_description", &args),
        |l| urls::pair(l, a, b),
    );
    if c.a.registered && c.b.registered {
        head.json = Some(urls::api_pair_file(lang, a, b));
    } else {
        head.noindex = true;
    }
    Some(page(base, &head, &m))
}

/// A stub at `/{lang}/compare/{b}-vs-{a}` in the static export, sending the
/// reader to the canonical order (the server answers 301 there instead).
pub(crate) fn pair_redirect(base: &str, lang: Lang, a: u16, b: u16) -> Option<String> {
    let c = compare(a, b, lang).ok()?;
    let args = [("a", c.a.label()), ("b", c.b.label())];
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let target = urls::pair(lang, a, b);
    let title = ui_title(lang, "web_compare_page_title", &args);
    let head = Head::new(
        lang,
        title.clone(),
        ui_title(lang, "web_compare_description", &args),
        |l| urls::pair(l, a, b),
    );
    let main = format!(
        "<h1>{}</h1>\n<p>{} <a href=\"{}\">{}</a></p>\n",
        esc(&title),
        t(lang, "web_redirect_text"),
        esc(&target),
        ui_fill(lang, "web_compare_heading", &args)
    );
    let mut html = page(base, &head, &main);
    let refresh = format!(
        "<meta http-equiv=\"refresh\" content=\"0; url={}\">\n",
        esc(&target)
    );
    if let Some(i) = html.find("<title>") {
        html.insert_str(i, &refresh);
    }
    Some(html)
}

/// `/{lang}/compare`: the form, an error if the last input was no code, and
/// the pairs engineers confuse.
pub(crate) fn compare_index(
    base: &str,
    lang: Lang,
    error: Option<&str>,
    values: (&str, &str),
) -> String {
    let mut m = String::with_capacity(8_000);
    let _ = writeln!(m, "<h1>{}</h1>", t(lang, "web_compare_index_title"));
    let _ = writeln!(
        m,
        "<p class=\"lead\">{}</p>",
        t(lang, "web_compare_index_intro")
    );
    if let Some(input) = error {
        let _ = writeln!(
            m,
            "<p class=\"error\" role=\"alert\">{}</p>",
            ui_fill(lang, "web_compare_error", &[("input", input)])
        );
    }
    compare_form(&mut m, lang, None, values);
    let _ = writeln!(
        m,
        "<section id=\"pairs\">\n<h2>{}</h2>",
        t(lang, "web_noted_pairs")
    );
    noted_pair_links(&mut m, lang, None);
    m.push_str("</section>\n");
    let mut head = Head::new(
        lang,
        ui(lang, "web_compare_index_title").to_owned(),
        ui(lang, "web_compare_index_intro").to_owned(),
        urls::compare_index,
    );
    head.noindex = error.is_some();
    page(base, &head, &m)
}

/// `/{lang}/search?q=`: the results rendered on the server (the script
/// updates them as the reader types).
pub(crate) fn search_page(base: &str, lang: Lang, q: &str) -> String {
    let q = q.trim();
    let mut m = String::with_capacity(16_000);
    let _ = writeln!(m, "<h1>{}</h1>", t(lang, "web_search"));
    search_form(&mut m, lang, q);
    let _ = writeln!(
        m,
        "<div id=\"live\" class=\"live\" aria-live=\"polite\" data-q=\"{}\">",
        esc(q)
    );
    if q.is_empty() {
        let _ = writeln!(m, "<p class=\"hint\">{}</p>", t(lang, "web_search_hint"));
    } else {
        let hits = search(lang, q);
        let mut items = String::new();
        let mut n = hits.len();
        // A code number IANA has not registered still has a page.
        if let Ok(num) = q.parse::<u16>() {
            if q.len() == 3 && (100..=699).contains(&num) && !hits.iter().any(|h| h.code == num) {
                if let Ok(e) = explain(num, lang) {
                    code_item(&mut items, lang, num, &e.title, &e.summary);
                    n += 1;
                }
            }
        }
        for h in &hits {
            if let Some(e) = entries(lang).iter().find(|e| e.code == h.code) {
                code_item(&mut items, lang, e.code, &e.title, &e.summary);
            }
        }
        if n == 0 {
            let _ = writeln!(m, "<p class=\"count\">{}</p>", t(lang, "web_search_none"));
        } else {
            let _ = writeln!(
                m,
                "<p class=\"count\">{}</p>",
                ui_fill(lang, "web_search_found", &[("count", &n.to_string())])
            );
            let _ = write!(m, "<ol class=\"codelist results\">\n{items}</ol>\n");
        }
    }
    m.push_str("</div>\n");
    let mut head = Head::new(
        lang,
        if q.is_empty() {
            ui(lang, "web_search").to_owned()
        } else {
            ui_title(lang, "web_search_title", &[("q", q)])
        },
        ui(lang, "web_search_hint").to_owned(),
        urls::search,
    );
    head.noindex = !q.is_empty();
    page(base, &head, &m)
}

/// The 404 page in `lang`.
pub(crate) fn not_found(base: &str, lang: Lang) -> String {
    let mut m = String::with_capacity(4_000);
    let _ = writeln!(
        m,
        "<h1>{}</h1>\n<p class=\"lead\">{}</p>",
        t(lang, "web_404_title"),
        t(lang, "web_404_text")
    );
    let _ = writeln!(
        m,
        "<p><a href=\"{}\">{}</a></p>",
        urls::index(lang),
        t(lang, "web_404_home")
    );
    search_form(&mut m, lang, "");
    m.push_str("<div id=\"live\" class=\"live\" aria-live=\"polite\" data-q=\"\"></div>\n");
    let mut head = Head::new(
        lang,
        ui(lang, "web_404_title").to_owned(),
        ui(lang, "web_404_text").to_owned(),
        urls::index,
    );
    head.noindex = true;
    head.no_canonical = true;
    page(base, &head, &m)
}

/// `/` in the static export, where no server reads Accept-Language: the
/// script picks the reader's language, and links let anyone choose.
pub(crate) fn root(base: &str) -> String {
    let lang = Lang::EN;
    let mut m = String::new();
    let _ = writeln!(
        m,
        "<h1>{}</h1>\n<ul class=\"pairs\" id=\"choose-lang\">",
        t(lang, "web_index_title")
    );
    for l in Lang::all() {
        let _ = writeln!(
            m,
            "<li><a href=\"{}\" hreflang=\"{}\" lang=\"{}\">{}: {}</a></li>",
            urls::index(l),
            l.tag(),
            l.tag(),
            esc(l.name()),
            t(l, "web_index_title")
        );
    }
    m.push_str("</ul>\n");
    let mut head = Head::new(
        lang,
        ui(lang, "web_index_page_title").to_owned(),
        ui(lang, "web_index_description").to_owned(),
        urls::index,
    );
    head.no_canonical = true;
    page(base, &head, &m)
}
