//! The `[agent]` table: every sentence the user agent and its commands
//! print, in every language, Russian that is Russian, and the same
//! placeholders everywhere.

use std::collections::BTreeSet;

use sipkit_codes::{agent_keys, agent_template, agent_text, Lang};

/// The `{name}` placeholders of a template.
fn placeholders(t: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = t;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        out.insert(rest[i + 1..i + j].to_owned());
        rest = &rest[i + j + 1..];
    }
    out
}

#[test]
fn every_agent_key_is_in_every_language() {
    let en: BTreeSet<&str> = agent_keys(Lang::EN).into_iter().collect();
    assert!(en.len() >= 60, "the English table: {}", en.len());
    for lang in Lang::all() {
        let keys: BTreeSet<&str> = agent_keys(lang).into_iter().collect();
        assert_eq!(keys, en, "{lang}: the same keys as English");
        for k in &en {
            let t = agent_template(lang, k).unwrap();
            assert!(!t.trim().is_empty(), "{lang}: {k} is empty");
            assert_eq!(
                placeholders(t),
                placeholders(agent_template(Lang::EN, k).unwrap()),
                "{lang}: {k} has other placeholders than English"
            );
        }
    }
}

#[test]
fn the_russian_agent_sentences_are_russian() {
    let mut cyr = 0;
    let mut lat = 0;
    for k in agent_keys(Lang::EN) {
        let en = agent_template(Lang::EN, k).unwrap();
        let ru = agent_template(Lang::RU, k).unwrap();
        assert_ne!(en, ru, "{k}: the Russian is the English text");
        assert!(
            ru.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c)),
            "{k}: the Russian has no Cyrillic: {ru}"
        );
        // Methods, headers and RFC numbers stay Latin; count the rest.
        let mut prose = ru.to_owned();
        for p in placeholders(ru) {
            prose = prose.replace(&format!("{{{p}}}"), "");
        }
        cyr += prose
            .chars()
            .filter(|c| ('\u{400}'..='\u{4ff}').contains(c))
            .count();
        lat += prose.chars().filter(|c| c.is_ascii_alphabetic()).count();
    }
    let share = cyr as f64 / (cyr + lat) as f64;
    assert!(
        share >= 0.6,
        "the Russian table is mostly Latin: {share:.2}"
    );
}

#[test]
fn placeholders_are_filled_and_unknown_keys_fall_back_to_the_key() {
    let t = agent_text(Lang::EN, "transfer_waiting", &[("secs", "32")]);
    assert_eq!(t, "waiting up to 32 s for NOTIFY");
    assert_eq!(
        agent_text(Lang::RU, "transfer_waiting", &[("secs", "32")]),
        "жду NOTIFY не дольше 32 с"
    );
    assert_eq!(agent_text(Lang::RU, "no_such_key", &[]), "no_such_key");
}
