//! Completeness against the IANA registry, in every language.

use sipkit_codes::{
    explain, lookup, noted_pairs, registered_codes, translated_classes, translated_codes, ui_keys,
    Lang,
};

/// The registry as shipped in testdata/ (a copy of the IANA table).
fn registry() -> Vec<(u16, String, u32)> {
    let tsv = include_str!("../../../../testdata/iana-sip-response-codes.tsv");
    tsv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let rfc = f[2]
                .trim_start_matches("RFC ")
                .parse()
                .expect("RFC number in the registry copy");
            (
                f[0].parse().expect("code in the registry copy"),
                f[1].to_owned(),
                rfc,
            )
        })
        .collect()
}

#[test]
fn every_registry_code_is_present_and_nothing_else() {
    let reg = registry();
    assert_eq!(reg.len(), 75, "the registry copy has 75 codes");
    let ours: Vec<u16> = registered_codes().collect();
    let theirs: Vec<u16> = reg.iter().map(|r| r.0).collect();
    assert_eq!(ours, theirs);
}

#[test]
fn reason_phrases_and_defining_rfcs_match_the_registry() {
    for (code, reason, rfc) in registry() {
        let e = explain(code, Lang::EN).unwrap();
        assert!(e.registered, "{code}");
        let ours = e.reason.clone().unwrap();
        if code == 202 {
            // IANA lists "Accepted (Deprecated)"; the phrase on the wire is "Accepted".
            assert_eq!(ours, "Accepted");
            assert_eq!(reason, "Accepted (Deprecated)");
            assert!(e.deprecated);
        } else {
            assert_eq!(ours, reason, "{code}");
            assert!(!e.deprecated, "{code} is not deprecated in the registry");
        }
        assert_eq!(
            e.spec[0].rfc, rfc,
            "{code}: the first spec entry is the registry's defining RFC"
        );
        // Every registry phrase finds its code, unless two codes share it.
        match lookup(&reason) {
            Err(sipkit_codes::LookupError::Ambiguous { codes, .. }) => {
                assert!(codes.contains(&code), "{reason}");
                assert_eq!(reason, "Not Acceptable", "only 406 and 606 share a phrase");
            }
            other => assert_eq!(other, Ok(code), "{reason}"),
        }
    }
}

#[test]
fn every_field_of_every_code_is_filled_in_every_language() {
    for lang in Lang::all() {
        let translated = translated_codes(lang);
        for code in registered_codes() {
            assert!(translated.contains(&code), "{code} has no text in {lang}");
            let e = explain(code, lang).unwrap();
            for (field, text) in [
                ("title", &e.title),
                ("summary", &e.summary),
                ("description", &e.description),
                ("use", &e.use_),
                ("class_name", &e.class_name),
            ] {
                assert!(!text.trim().is_empty(), "{code} {lang}: empty {field}");
            }
            assert!(
                e.when.len() >= 2,
                "{code} {lang}: fewer than two `when` items"
            );
            assert!(
                e.fix.len() >= 2,
                "{code} {lang}: fewer than two `fix` items"
            );
            assert!(
                e.when.iter().chain(&e.fix).all(|s| !s.trim().is_empty()),
                "{code} {lang}: empty item"
            );
            assert!(!e.spec.is_empty(), "{code}: no spec");
            assert_eq!(
                e.deprecation.is_some(),
                e.deprecated,
                "{code} {lang}: deprecation text iff deprecated"
            );
        }
        assert_eq!(translated_classes(lang), vec![1, 2, 3, 4, 5, 6], "{lang}");
    }
}

#[test]
fn every_language_has_every_ui_key_and_pair_note() {
    let en_keys = ui_keys(Lang::EN);
    let en_pairs = noted_pairs(Lang::EN);
    for lang in Lang::all() {
        assert_eq!(
            ui_keys(lang),
            en_keys,
            "{lang}: ui keys differ from English"
        );
        assert_eq!(
            noted_pairs(lang),
            en_pairs,
            "{lang}: pair notes differ from English"
        );
    }
}

#[test]
fn related_codes_exist_and_are_not_the_code_itself() {
    for code in registered_codes() {
        let e = explain(code, Lang::EN).unwrap();
        assert!(!e.related.is_empty(), "{code} has no related codes");
        for r in &e.related {
            assert_ne!(r.code, code, "{code} relates to itself");
            assert!(
                explain(r.code, Lang::EN).unwrap().registered,
                "{code} relates to unregistered {}",
                r.code
            );
        }
    }
}

#[test]
fn the_pairs_practitioners_confuse_have_hand_written_notes() {
    let required = [
        (202, 302),
        (301, 302),
        (302, 305),
        (300, 302),
        (401, 407),
        (401, 403),
        (404, 410),
        (404, 604),
        (410, 604),
        (480, 486),
        (480, 600),
        (480, 603),
        (486, 600),
        (486, 603),
        (600, 603),
        (408, 504),
        (500, 503),
        (481, 487),
        (488, 606),
        (420, 421),
        (422, 423),
        (404, 480),
        (486, 487),
        (180, 183),
        (200, 202),
        (603, 607),
        (607, 608),
        (408, 480),
        (403, 404),
        (415, 488),
        (301, 410),
        (491, 500),
        (181, 302),
        (482, 483),
    ];
    for lang in Lang::all() {
        let pairs = noted_pairs(lang);
        for p in required {
            assert!(pairs.contains(&p), "{lang}: no note for {}-{}", p.0, p.1);
            let c = sipkit_codes::compare(p.0, p.1, lang).unwrap();
            assert!(c.note.as_deref().is_some_and(|n| !n.trim().is_empty()));
            assert!(c.differences.len() >= 3);
        }
    }
}

#[test]
fn deprecation_of_202_speaks_of_subscribe_and_refer() {
    for lang in Lang::all() {
        let e = explain(202, lang).unwrap();
        let d = e.deprecation.expect("202 is deprecated");
        assert!(
            d.contains("SUBSCRIBE") && d.contains("REFER"),
            "{lang}: {d}"
        );
        assert!(d.contains("6665"), "{lang}: cites RFC 6665");
    }
}

/// The share of Cyrillic among the letters of `s`.
fn cyrillic_share(s: &str) -> f64 {
    let cyr = s
        .chars()
        .filter(|c| ('\u{400}'..='\u{4ff}').contains(c))
        .count();
    let lat = s.chars().filter(|c| c.is_ascii_alphabetic()).count();
    if cyr + lat == 0 {
        return 1.0;
    }
    cyr as f64 / (cyr + lat) as f64
}

#[test]
fn russian_is_russian_not_english_copied_over() {
    for code in registered_codes() {
        let en = explain(code, Lang::EN).unwrap();
        let ru = explain(code, Lang::RU).unwrap();
        let mut fields = vec![
            ("title", en.title.clone(), ru.title.clone()),
            ("summary", en.summary.clone(), ru.summary.clone()),
            (
                "description",
                en.description.clone(),
                ru.description.clone(),
            ),
            ("use", en.use_.clone(), ru.use_.clone()),
        ];
        fields.extend(
            en.when
                .iter()
                .zip(&ru.when)
                .map(|(a, b)| ("when", a.clone(), b.clone())),
        );
        fields.extend(
            en.fix
                .iter()
                .zip(&ru.fix)
                .map(|(a, b)| ("fix", a.clone(), b.clone())),
        );
        for (field, e, r) in fields {
            assert_ne!(e, r, "{code}: Russian {field} is the English text");
            assert!(
                r.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c)),
                "{code}: Russian {field} has no Cyrillic: {r}"
            );
            if field != "title" {
                // Header names, methods, commands and RFC numbers stay Latin;
                // the prose around them must not.
                assert!(
                    cyrillic_share(&r) >= 0.3,
                    "{code}: Russian {field} is mostly Latin: {r}"
                );
            }
        }
        let all = [
            ru.summary.clone(),
            ru.description.clone(),
            ru.use_.clone(),
            ru.when.join(" "),
            ru.fix.join(" "),
        ]
        .join(" ");
        assert!(
            cyrillic_share(&all) >= 0.7,
            "{code}: the Russian entry is too much Latin"
        );
    }
    for (a, b) in noted_pairs(Lang::RU) {
        let c = sipkit_codes::compare(a, b, Lang::RU).unwrap();
        let note = c.note.unwrap();
        assert!(
            cyrillic_share(&note) >= 0.5,
            "{a}-{b}: note is mostly Latin"
        );
        assert!(
            cyrillic_share(&c.when_to_use) >= 0.5,
            "{a}-{b}: when_to_use is mostly Latin"
        );
        for d in &c.differences {
            assert!(
                cyrillic_share(d) >= 0.4,
                "{a}-{b}: difference is mostly Latin: {d}"
            );
        }
    }
}

#[test]
fn language_from_locale() {
    assert_eq!(Lang::from_locale(None, None, Some("ru_RU.UTF-8")), Lang::RU);
    assert_eq!(
        Lang::from_locale(Some("en_US.UTF-8"), None, Some("ru_RU.UTF-8")),
        Lang::EN
    );
    assert_eq!(
        Lang::from_locale(Some(""), None, Some("ru_RU.UTF-8")),
        Lang::RU
    );
    assert_eq!(Lang::from_locale(None, Some("ru_UA"), Some("C")), Lang::RU);
    assert_eq!(Lang::from_locale(None, None, Some("de_DE.UTF-8")), Lang::EN);
    assert_eq!(Lang::from_locale(None, None, None), Lang::EN);
    assert_eq!(Lang::from_tag("ru"), Some(Lang::RU));
    assert_eq!(Lang::RU.tag(), "ru");
}

/// RFC 3261 §21 lists its codes in order; the defining section of every
/// RFC 3261 code must be the one that lists it.
#[test]
fn rfc3261_codes_cite_their_section_21_entry() {
    let table: &[(&str, &[u16])] = &[
        ("21.1", &[100, 180, 181, 182, 183]),
        ("21.2", &[200]),
        ("21.3", &[300, 301, 302, 305, 380]),
        (
            "21.4",
            &[
                400, 401, 402, 403, 404, 405, 406, 407, 408, 410, 413, 414, 415, 416, 420, 421,
                423, 480, 481, 482, 483, 484, 485, 486, 487, 488, 491, 493,
            ],
        ),
        ("21.5", &[500, 501, 502, 503, 504, 505, 513]),
        ("21.6", &[600, 603, 604, 606]),
    ];
    for (prefix, codes) in table {
        for (i, code) in codes.iter().enumerate() {
            let e = explain(*code, Lang::EN).unwrap();
            let first = &e.spec[0];
            assert_eq!(first.rfc, 3261, "{code}");
            let want = format!("{prefix}.{}", i + 1);
            assert_eq!(
                first.section.as_deref(),
                Some(want.as_str()),
                "{code} is defined in RFC 3261 §{want}"
            );
        }
    }
}
