//! Every sentence sipkit shows is whole: no doubled words ("when when"), no
//! unfilled placeholders, every sentence closed.

use sipkit_codes::{compare, explain, registered_codes, Explanation, Lang};

/// The first doubled word in `s` ("the the"), ignoring case and punctuation.
pub fn doubled_word(s: &str) -> Option<String> {
    let raw: Vec<&str> = s.split_whitespace().collect();
    for w in raw.windows(2) {
        let a = w[0]
            .trim_matches(|c: char| !c.is_alphabetic())
            .to_lowercase();
        let b = w[1]
            .trim_matches(|c: char| !c.is_alphabetic())
            .to_lowercase();
        // "word. Word", "Info (Info Packages)" and "«a» a" are not doublings.
        let a_ends = w[0].ends_with(['.', ',', ';', ':', ')', '»', '"', '—']);
        let b_opens = w[1].starts_with(['(', '«', '"', '`']);
        if !a.is_empty() && a == b && !a_ends && !b_opens && a.chars().count() > 1 {
            return Some(a);
        }
    }
    None
}

pub fn check_sentence(context: &str, s: &str) {
    assert!(!s.trim().is_empty(), "{context}: empty");
    assert!(
        doubled_word(s).is_none(),
        "{context}: doubled word {:?} in {s:?}",
        doubled_word(s)
    );
    assert!(
        !s.contains('{') && !s.contains('}'),
        "{context}: unfilled placeholder in {s:?}"
    );
    assert!(!s.contains("  "), "{context}: double space in {s:?}");
    assert_eq!(s.trim(), s, "{context}: stray whitespace around {s:?}");
    let last = s
        .trim_end_matches(['»', '"', ')'])
        .chars()
        .last()
        .unwrap_or('.');
    assert!(
        matches!(last, '.' | '!' | '?' | ':'),
        "{context}: sentence not closed: {s:?}"
    );
}

fn check_explanation(e: &Explanation) {
    let ctx = format!("{} {}", e.code, e.lang);
    for (f, s) in [
        ("summary", &e.summary),
        ("description", &e.description),
        ("use", &e.use_),
    ] {
        check_sentence(&format!("{ctx} {f}"), s);
    }
    for s in e.when.iter().chain(&e.fix).chain(e.deprecation.iter()) {
        check_sentence(&ctx, s);
    }
    assert!(
        doubled_word(&e.title).is_none(),
        "{ctx}: title {:?}",
        e.title
    );
}

#[test]
fn doubled_word_detector_works() {
    assert_eq!(
        doubled_word("you see it when when a call fails"),
        Some("when".into())
    );
    assert_eq!(doubled_word("The the end."), Some("the".into()));
    assert_eq!(doubled_word("Это это ошибка."), Some("это".into()));
    assert_eq!(doubled_word("A call fails. A call retries."), None);
    assert_eq!(doubled_word("302 302"), None);
    assert_eq!(doubled_word("Info (Info Packages)."), None);
}

#[test]
fn every_explanation_is_grammatical() {
    for lang in Lang::all() {
        for code in registered_codes() {
            check_explanation(&explain(code, lang).unwrap());
        }
        // Unregistered codes of every class, built from templates.
        for code in [150, 299, 399, 431, 599, 699] {
            let e = explain(code, lang).unwrap();
            assert!(!e.registered);
            check_explanation(&e);
        }
    }
}

#[test]
fn every_generated_comparison_sentence_is_grammatical() {
    let codes: Vec<u16> = registered_codes().chain([150, 431]).collect();
    for lang in Lang::all() {
        for &a in &codes {
            for &b in &codes {
                let c = compare(a, b, lang).unwrap();
                let ctx = format!("{a}-{b} {lang}");
                check_sentence(&ctx, &c.relation);
                for d in &c.differences {
                    check_sentence(&ctx, d);
                }
                for line in c.when_to_use.lines() {
                    check_sentence(&ctx, line);
                }
                if let Some(n) = &c.note {
                    check_sentence(&ctx, n);
                }
            }
        }
    }
}
