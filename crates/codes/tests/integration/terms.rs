//! One terminology per language: the glossary's banned alternates appear in
//! no text, RFC 2119 keywords are written one way, section references have
//! one style, Q.850 causes are translated, and no text carries Markdown
//! other than balanced `code` spans.

use sipkit_codes::{
    banned_in, compare, explain, glossary, noted_pairs, registered_codes, terms_in, ui, ui_keys,
    Lang,
};

/// Every sentence of `lang` with where it comes from.
fn all_texts(lang: Lang) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for code in registered_codes().chain([150, 299, 399, 431, 599, 699]) {
        let e = explain(code, lang).unwrap();
        let ctx = format!("{code}");
        for s in [
            &e.title,
            &e.summary,
            &e.description,
            &e.use_,
            &e.client_action,
        ]
        .into_iter()
        .chain(&e.when)
        .chain(&e.fix)
        .chain(e.deprecation.iter())
        {
            out.push((ctx.clone(), s.clone()));
        }
    }
    for (a, b) in noted_pairs(lang) {
        let c = compare(a, b, lang).unwrap();
        let ctx = format!("{a}-{b}");
        out.push((ctx.clone(), c.note.unwrap()));
        out.push((ctx.clone(), c.when_to_use));
        out.extend(c.differences.into_iter().map(|d| (ctx.clone(), d)));
    }
    for (a, b) in [
        (100, 183),
        (202, 489),
        (401, 503),
        (480, 604),
        (305, 380),
        (199, 410),
    ] {
        let c = compare(a, b, lang).unwrap();
        out.extend(c.differences.into_iter().map(|d| (format!("{a}-{b}"), d)));
        out.push((format!("{a}-{b}"), c.when_to_use));
    }
    for k in ui_keys(lang) {
        out.push((format!("ui.{k}"), ui(lang, k).to_owned()));
    }
    out
}

#[test]
fn every_language_has_the_same_glossary_terms() {
    let ids = |l: Lang| glossary(l).iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    for lang in Lang::all() {
        assert_eq!(ids(lang), ids(Lang::EN), "{lang}");
        for e in glossary(lang) {
            assert!(
                !e.term.is_empty() && e.definition.ends_with('.'),
                "{lang} {}",
                e.id
            );
        }
    }
}

#[test]
fn no_text_uses_a_banned_alternate_of_a_glossary_term() {
    for lang in Lang::all() {
        for (ctx, s) in all_texts(lang) {
            let found = banned_in(lang, &s);
            assert!(found.is_empty(), "{lang} {ctx}: {found:?} in {s:?}");
        }
    }
}

#[test]
fn the_glossary_terms_are_the_ones_the_texts_use() {
    // Each term with forms appears in at least one text of its language, so
    // the glossary describes the texts and not an imagined vocabulary.
    for lang in Lang::all() {
        let texts: Vec<String> = all_texts(lang).into_iter().map(|(_, s)| s).collect();
        for e in glossary(lang).iter().filter(|e| !e.id.starts_with("rfc-")) {
            assert!(
                texts.iter().any(|t| terms_in(lang, t).contains(&e)),
                "{lang}: {} ({}) appears in no text",
                e.id,
                e.term
            );
        }
    }
}

#[test]
fn rfc_2119_keywords_are_written_one_way() {
    let upper = |s: &str, words: &[&str]| {
        s.split(|c: char| !c.is_alphabetic())
            .any(|w| words.contains(&w))
    };
    for (ctx, s) in all_texts(Lang::EN) {
        assert!(
            !upper(&s, &["MUST", "SHOULD", "MAY", "REQUIRED", "RECOMMENDED"]),
            "en {ctx}: {s}"
        );
    }
    for (ctx, s) in all_texts(Lang::RU) {
        assert!(
            !upper(
                &s,
                &["ОБЯЗАН", "ДОЛЖЕН", "СЛЕДУЕТ", "МОЖЕТ", "РЕКОМЕНДУЕТСЯ"]
            ),
            "ru {ctx}: {s}"
        );
    }
}

#[test]
fn section_references_have_one_style() {
    for lang in Lang::all() {
        for (ctx, s) in all_texts(lang) {
            let lower = s.to_lowercase();
            for bad in ["§ ", "§\u{a0}"] {
                assert!(!lower.contains(bad), "{lang} {ctx}: {bad:?} in {s}");
            }
            // "RFC 3261 §8.1.3.2", never "RFC 3261, §8.1.3.2".
            for (i, _) in lower.match_indices("rfc ") {
                let rest = lower[i + 4..].trim_start_matches(|c: char| c.is_ascii_digit());
                assert!(!rest.starts_with(", §"), "{lang} {ctx}: {s}");
            }
            for w in lower.split_whitespace().collect::<Vec<_>>().windows(2) {
                let digits = w[1]
                    .trim_start_matches('(')
                    .starts_with(|c: char| c.is_ascii_digit());
                let word = w[0].trim_start_matches('(');
                assert!(
                    !(digits && (word.starts_with("раздел") || word == "section")),
                    "{lang} {ctx}: {s}"
                );
            }
        }
    }
}

#[test]
fn no_text_carries_markdown_other_than_balanced_code_spans() {
    for lang in Lang::all() {
        for (ctx, s) in all_texts(lang) {
            assert_eq!(
                s.matches('`').count() % 2,
                0,
                "{lang} {ctx}: unbalanced ` in {s}"
            );
            for bad in ["**", "](", "__", "<code>", "<b>"] {
                assert!(!s.contains(bad), "{lang} {ctx}: {bad} in {s}");
            }
        }
    }
}
