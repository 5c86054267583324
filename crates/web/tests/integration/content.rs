//! The pages say what the knowledge base says, completely, in the page's
//! language: every field of every code, every comparison, flows where the
//! meaning is a flow, and no UI string left untranslated.

use std::collections::BTreeSet;

use sipkit_codes::{compare, explain, noted_pairs, registered_codes, ui, ui_keys, Lang};

use crate::util::{cyrillic_share, get, par_map, text, visible_text};

/// The text of a page with every tag removed and entities decoded, for
/// comparing with the knowledge base's sentences (backquotes removed, as
/// the page sets them as `<code>`).
fn plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn has(page: &str, sentence: &str) -> bool {
    page.contains(&sentence.replace('`', ""))
}

const FLOWS: &[u16] = &[202, 300, 301, 302, 305, 380, 401, 407, 487, 491];

#[test]
fn every_code_page_has_every_field_of_the_knowledge_base() {
    for lang in Lang::all() {
        let l = lang.tag();
        for code in registered_codes() {
            let html = text(&get(&format!("/{l}/{code}")));
            let p = plain(&html);
            let e = explain(code, lang).unwrap();
            let ctx = format!("{l}/{code}");
            assert!(
                html.contains(&format!("<title>SIP {code} ")),
                "{ctx}: title"
            );
            assert!(has(&p, &e.title), "{ctx}: title");
            for s in [&e.summary, &e.description, &e.use_]
                .into_iter()
                .chain(&e.when)
                .chain(&e.fix)
                .chain(e.deprecation.iter())
            {
                assert!(has(&p, s), "{ctx}: missing {s:?}");
            }
            for s in &e.spec {
                assert!(
                    html.contains(&format!(
                        "<a href=\"{}\" rel=\"external\">{}</a>",
                        s.url, s.text
                    )),
                    "{ctx}: {}",
                    s.text
                );
            }
            for r in &e.related {
                assert!(
                    html.contains(&format!("href=\"/{l}/{}\"", r.code)),
                    "{ctx}: related {}",
                    r.code
                );
                let (a, b) = (code.min(r.code), code.max(r.code));
                assert!(
                    html.contains(&format!("href=\"/{l}/compare/{a}-vs-{b}\"")),
                    "{ctx}: compare with {}",
                    r.code
                );
            }
            for (a, b) in noted_pairs(lang)
                .into_iter()
                .filter(|(a, b)| *a == code || *b == code)
            {
                assert!(
                    html.contains(&format!("href=\"/{l}/compare/{a}-vs-{b}\"")),
                    "{ctx}: noted pair {a}-{b}"
                );
            }
            // Every other registered code can be compared from here.
            let pairs = html.matches(&format!("href=\"/{l}/compare/")).count();
            assert!(
                pairs >= registered_codes().count() - 1,
                "{ctx}: {pairs} compare links"
            );
            assert!(
                html.contains(&format!("action=\"/{l}/compare\"")),
                "{ctx}: compare form"
            );
            assert_eq!(
                html.contains("<section id=\"flow\">"),
                FLOWS.contains(&code),
                "{ctx}: flow"
            );
            if e.deprecated {
                assert!(
                    html.contains("class=\"deprecated\""),
                    "{ctx}: deprecation box"
                );
            }
        }
    }
}

#[test]
fn flows_are_drawn_with_the_code_highlighted_and_words_translated() {
    for code in FLOWS {
        for lang in Lang::all() {
            let html = text(&get(&format!("/{}/{code}", lang.tag())));
            let svg_start = html
                .find("<svg")
                .unwrap_or_else(|| panic!("{code}: no svg"));
            let svg = &html[svg_start..html[svg_start..].find("</svg>").unwrap() + svg_start];
            assert!(
                svg.contains("class=\"msg hl\""),
                "{code}: highlighted arrow"
            );
            assert!(
                svg.contains(&format!(">{code} ")),
                "{code}: its own status line"
            );
            assert!(
                svg.contains("role=\"img\" aria-label=\""),
                "{code}: accessible"
            );
            if lang == Lang::RU {
                let names: String = svg
                    .split("class=\"actor-name\"")
                    .skip(1)
                    .filter_map(|s| s.split_once('>').and_then(|(_, t)| t.split('<').next()))
                    .collect();
                assert!(
                    cyrillic_share(&names) > 0.8,
                    "{code}: actor names are Russian: {names}"
                );
            }
        }
    }
    let refer = text(&get("/en/202"));
    for label in [
        "REFER (Refer-To)",
        "NOTIFY (SIP/2.0 100 Trying)",
        "NOTIFY (SIP/2.0 200 OK)",
        "INVITE",
    ] {
        assert!(
            refer.contains(&format!(">{label}</text>")),
            "202 flow: {label}"
        );
    }
    let cancel = text(&get("/en/487"));
    for label in ["CANCEL", "200 OK (CANCEL)", "487 Request Terminated", "ACK"] {
        assert!(
            cancel.contains(&format!(">{label}</text>")),
            "487 flow: {label}"
        );
    }
}

#[test]
fn every_pair_page_has_the_comparison() {
    let codes: Vec<u16> = registered_codes().collect();
    for lang in Lang::all() {
        let l = lang.tag();
        let pairs: Vec<(u16, u16)> = codes
            .iter()
            .enumerate()
            .flat_map(|(i, a)| codes[i + 1..].iter().map(move |b| (*a, *b)))
            .collect();
        let problems: Vec<String> = par_map(&pairs, |&(a, b)| {
            let r = get(&format!("/{l}/compare/{a}-vs-{b}"));
            if r.status != 200 {
                return Some(format!("{l} {a}-{b}: {}", r.status));
            }
            let p = plain(&text(&r));
            let c = compare(a, b, lang).unwrap();
            let mut want: Vec<&String> = vec![&c.relation];
            want.extend(&c.differences);
            want.extend(c.note.iter());
            for s in want {
                if !has(&p, s) {
                    return Some(format!("{l} {a}-{b}: missing {s:?}"));
                }
            }
            for line in c.when_to_use.lines().filter(|x| !x.trim().is_empty()) {
                if !has(&p, line) {
                    return Some(format!("{l} {a}-{b}: missing {line:?}"));
                }
            }
            for e in [&c.a, &c.b] {
                if !has(&p, &e.description) || !e.when.iter().chain(&e.fix).all(|s| has(&p, s)) {
                    return Some(format!("{l} {a}-{b}: side by side lacks {}", e.code));
                }
            }
            None
        })
        .into_iter()
        .flatten()
        .collect();
        assert!(
            problems.is_empty(),
            "{}",
            problems[..problems.len().min(10)].join("\n")
        );
    }
}

#[test]
fn the_index_lists_every_registered_code_by_class() {
    for lang in Lang::all() {
        let l = lang.tag();
        let html = text(&get(&format!("/{l}/")));
        for class in 1..=6 {
            assert!(
                html.contains(&format!("<section id=\"class-{class}\" class=\"group\">")),
                "{l}: class {class}"
            );
        }
        for code in registered_codes() {
            assert!(
                html.contains(&format!("<li><a href=\"/{l}/{code}\">")),
                "{l}: {code}"
            );
        }
        assert!(
            !html.contains(&format!("href=\"/{l}/299\"")),
            "unregistered codes stay out of the index"
        );
        assert!(
            html.contains(&format!("action=\"/{l}/search\"")) && html.contains("name=\"q\""),
            "{l}: search box"
        );
        for (a, b) in noted_pairs(lang) {
            assert!(
                html.contains(&format!("href=\"/{l}/compare/{a}-vs-{b}\"")),
                "{l}: noted {a}-{b}"
            );
        }
    }
}

#[test]
fn russian_pages_are_russian() {
    let codes: Vec<u16> = registered_codes().collect();
    let mut paths: Vec<String> = vec![
        "/ru/".into(),
        "/ru/compare".into(),
        "/ru/search?q=302".into(),
        "/ru/nothing".into(),
        "/ru/299".into(),
    ];
    paths.extend(codes.iter().map(|c| format!("/ru/{c}")));
    paths.extend(
        noted_pairs(Lang::RU)
            .iter()
            .map(|(a, b)| format!("/ru/compare/{a}-vs-{b}")),
    );
    paths.extend(
        codes
            .iter()
            .step_by(7)
            .zip(codes.iter().skip(3).step_by(11))
            .filter(|(a, b)| a < b)
            .map(|(a, b)| format!("/ru/compare/{a}-vs-{b}")),
    );
    // UI strings that differ between the languages must not appear in English.
    let english: Vec<&str> = ui_keys(Lang::EN)
        .into_iter()
        .filter(|k| k.starts_with("web_") && ui(Lang::EN, k) != ui(Lang::RU, k))
        .map(|k| ui(Lang::EN, k))
        .filter(|s| s.contains(' ') && !s.contains('{'))
        .collect();
    for path in paths {
        let html = text(&get(&path));
        let visible = visible_text(&html);
        let share = cyrillic_share(&visible);
        assert!(
            share > 0.75,
            "{path}: only {:.0}% of the letters are Cyrillic",
            share * 100.0
        );
        for s in &english {
            assert!(!visible.contains(s), "{path}: English UI text {s:?}");
        }
    }
}

#[test]
fn every_ui_string_the_pages_use_exists_in_every_language() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut used = BTreeSet::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let code = std::fs::read_to_string(&path).unwrap();
            for part in code.split("\"web_").skip(1) {
                let key: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if part[key.len()..].starts_with('"') {
                    used.insert(format!("web_{key}"));
                }
            }
        }
    }
    assert!(used.len() > 40, "found only {} keys", used.len());
    for lang in Lang::all() {
        let keys = ui_keys(lang);
        for k in &used {
            assert!(keys.contains(&k.as_str()), "{lang}: no UI string {k}");
            assert!(!ui(lang, k).trim().is_empty(), "{lang}: empty {k}");
        }
    }
    let defined: BTreeSet<String> = ui_keys(Lang::EN)
        .into_iter()
        .filter(|k| k.starts_with("web_"))
        .map(str::to_owned)
        .collect();
    let unused: Vec<&String> = defined.difference(&used).collect();
    assert!(unused.is_empty(), "web UI strings no page uses: {unused:?}");
}

#[test]
fn the_glossary_page_defines_every_term_and_code_pages_link_to_it() {
    for lang in Lang::all() {
        let g = text(&get(&format!("/{}/glossary", lang.tag())));
        for e in sipkit_codes::glossary(lang) {
            assert!(
                g.contains(&format!("<dt id=\"term-{}\">", e.id)),
                "{lang}: {}",
                e.id
            );
        }
        // 488 speaks of B2BUAs and SBCs, 429 of the transferee and sipfrag.
        for (code, ids) in [
            (488, &["b2bua", "sbc"][..]),
            (429, &["transferee", "sipfrag"][..]),
        ] {
            let html = text(&get(&format!("/{}/{code}", lang.tag())));
            assert!(html.contains("<section id=\"terms\">"), "{lang} {code}");
            for id in ids {
                let href = format!("/{}/glossary#term-{id}", lang.tag());
                assert!(html.contains(&href), "{lang} {code}: no link to {href}");
            }
        }
        // A code page says what the client does next, from the code's facts.
        let e = explain(380, lang).unwrap();
        let html = text(&get(&format!("/{}/380", lang.tag())));
        assert!(html.contains(&e.client_action), "{lang} 380");
        // A comparison links the terms of its note and differences.
        let html = text(&get(&format!("/{}/compare/202-vs-302", lang.tag())));
        let href = format!("/{}/glossary#term-transferee", lang.tag());
        assert!(html.contains(&href), "{lang} 202-vs-302: no link to {href}");
        // Every page's navigation leads to the glossary.
        let index = text(&get(&format!("/{}/", lang.tag())));
        assert!(index.contains(&format!("href=\"/{}/glossary\"", lang.tag())));
    }
}

#[test]
fn no_page_shows_raw_markdown() {
    for lang in Lang::all() {
        for path in [
            "",
            "search?q=busy",
            "401",
            "100",
            "180",
            "302",
            "compare/202-vs-302",
            "compare/100-vs-180",
            "glossary",
        ] {
            let html = text(&get(&format!("/{}/{path}", lang.tag())));
            assert!(!html.contains('`'), "{lang} {path}");
        }
    }
}
