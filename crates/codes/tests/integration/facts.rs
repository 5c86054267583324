//! The per-code facts and the comparisons built from them: every generated
//! difference is a real difference of the two codes' facts, names both codes,
//! and no list states a fact twice; the corrected statements, each under the
//! name of the RFC section it rests on.

use std::collections::BTreeSet;

use sipkit_codes::{
    compare, explain, facts_of, registered_codes, DialogEffect, Explanation, Facts, Lang, Next,
    ProxyAction, Sender,
};

/// Whether fact `kind` differs between the two explanations, computed here
/// independently of the comparison code.
fn differs(kind: &str, a: &Explanation, b: &Explanation) -> bool {
    let (fa, fb) = (&a.facts, &b.facts);
    let set = |f: &Facts| f.senders.iter().copied().collect::<BTreeSet<Sender>>();
    match kind {
        "registered" => a.registered != b.registered,
        "final" => fa.final_ != fb.final_,
        "next" => fa.next != fb.next,
        "change" => fa.change.is_some() && fb.change.is_some() && fa.change != fb.change,
        "senders" => set(fa) != set(fb),
        "methods" => fa.methods != fb.methods,
        "dialog" => fa.dialog != fb.dialog,
        "proxy" => fa.proxy != fb.proxy,
        "deprecated" => fa.deprecated() != fb.deprecated(),
        h if h.starts_with("header:") => {
            let name = &h["header:".len()..];
            fa.header(name) != fb.header(name)
        }
        other => panic!("unknown fact kind {other:?}"),
    }
}

const KINDS: &[&str] = &[
    "registered",
    "final",
    "next",
    "change",
    "senders",
    "methods",
    "dialog",
    "proxy",
    "deprecated",
];

fn all_codes() -> Vec<u16> {
    registered_codes().chain([150, 299, 431, 599]).collect()
}

#[test]
fn every_generated_difference_is_a_difference_of_the_facts_and_names_both_codes() {
    let codes = all_codes();
    for lang in Lang::all() {
        for &a in &codes {
            for &b in &codes {
                if a == b {
                    continue;
                }
                let c = compare(a, b, lang).unwrap();
                assert_eq!(c.differences.len(), c.difference_facts.len());
                let (la, lb) = (c.a.label(), c.b.label());
                for (kind, text) in c.difference_facts.iter().zip(&c.differences) {
                    match kind.as_str() {
                        "curated" => {}
                        "none" => {
                            // Only when every modeled fact agrees.
                            assert!(
                                !KINDS.iter().any(|k| differs(k, &c.a, &c.b)),
                                "{a}-{b} {lang}: `none` although facts differ"
                            );
                            // MAY against nothing is no difference.
                            let strong = |f: &Facts| -> Vec<_> {
                                f.headers
                                    .iter()
                                    .filter(|h| h.level >= sipkit_codes::Level::Should)
                                    .cloned()
                                    .collect()
                            };
                            assert_eq!(strong(&c.a.facts), strong(&c.b.facts), "{a}-{b}");
                        }
                        k => {
                            assert!(differs(k, &c.a, &c.b), "{a}-{b} {lang}: {k}: {text}");
                            assert!(
                                text.contains(&la) && text.contains(&lb),
                                "{a}-{b} {lang}: does not name both codes: {text}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn a_modeled_difference_is_never_left_out() {
    let codes: Vec<u16> = registered_codes().collect();
    for &a in &codes {
        for &b in &codes {
            if a == b {
                continue;
            }
            let c = compare(a, b, Lang::EN).unwrap();
            for k in KINDS {
                if differs(k, &c.a, &c.b) {
                    // Stated by a generated bullet, or by the curated ones
                    // of a noted pair.
                    assert!(
                        c.difference_facts.iter().any(|f| f == k) || c.note.is_some(),
                        "{a}-{b}: the {k} difference is not stated"
                    );
                }
            }
        }
    }
}

#[test]
fn no_difference_says_both() {
    let codes = all_codes();
    for lang in Lang::all() {
        for &a in &codes {
            for &b in &codes {
                for d in compare(a, b, lang).unwrap().differences {
                    let words: Vec<String> = d
                        .split(|c: char| !c.is_alphanumeric())
                        .map(str::to_lowercase)
                        .collect();
                    for w in ["both", "оба", "обе", "обоих", "обоим"] {
                        assert!(!words.iter().any(|x| x == w), "{a}-{b} {lang}: {d}");
                    }
                }
            }
        }
    }
}

#[test]
fn no_list_states_a_fact_twice_or_contradicts_itself() {
    let codes = all_codes();
    for lang in Lang::all() {
        for &a in &codes {
            for &b in &codes {
                let c = compare(a, b, lang).unwrap();
                let generated: Vec<&String> = c
                    .difference_facts
                    .iter()
                    .filter(|k| *k != "curated")
                    .collect();
                let unique: BTreeSet<&&String> = generated.iter().collect();
                assert_eq!(
                    unique.len(),
                    generated.len(),
                    "{a}-{b} {lang}: {generated:?}"
                );
                let texts: BTreeSet<&String> = c.differences.iter().collect();
                assert_eq!(texts.len(), c.differences.len(), "{a}-{b}: a bullet twice");
                // A fact's sentence and its negation cannot both appear: each
                // fact has exactly one sentence, so two sentences from the
                // same fact's phrase set would show as a repeated kind above;
                // the `none` sentence excludes every other.
                if c.difference_facts.iter().any(|k| k == "none") {
                    assert_eq!(c.differences.len(), 1, "{a}-{b}");
                }
            }
        }
    }
}

#[test]
fn no_generated_sentence_restates_the_code_as_its_own_consequence() {
    // "After 200 OK, the request was OK": no generated sentence about a code
    // repeats the code's title beyond the label that names it.
    for lang in Lang::all() {
        for code in registered_codes() {
            let e = explain(code, lang).unwrap();
            let rest = e.client_action.replacen(&e.label(), "", 1);
            assert!(
                !rest.to_lowercase().contains(&e.title.to_lowercase()),
                "{code} {lang}: {}",
                e.client_action
            );
            assert!(
                !rest.contains(&code.to_string()),
                "{code} {lang}: {}",
                e.client_action
            );
        }
        for a in registered_codes() {
            for b in [200, 302, 404, 486, 503, 603] {
                let c = compare(a, b, lang).unwrap();
                let (ta, tb) = (c.a.title.to_lowercase(), c.b.title.to_lowercase());
                for (k, d) in c.difference_facts.iter().zip(&c.differences) {
                    if k == "curated" {
                        continue;
                    }
                    let rest = d.replace(&c.a.label(), "").replace(&c.b.label(), "");
                    let rest = rest.to_lowercase();
                    for t in [&ta, &tb] {
                        if t.chars().count() > 3 {
                            assert!(!rest.contains(t.as_str()), "{a}-{b} {lang}: {d}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn uncurated_when_to_use_is_built_from_facts_not_use_lines() {
    let c = compare(436, 608, Lang::EN).unwrap();
    assert!(c.note.is_none());
    assert!(!c.when_to_use.contains(&c.a.use_) && !c.when_to_use.contains(&c.b.use_));
    assert!(c.when_to_use.contains("a proxy"), "{}", c.when_to_use);
    assert_eq!(c.when_to_use.lines().count(), 2);
}

#[test]
fn unregistered_codes_take_the_facts_of_the_code_they_are_treated_as() {
    for (code, base) in [
        (150, 183),
        (299, 200),
        (399, 300),
        (431, 400),
        (599, 500),
        (699, 600),
    ] {
        assert_eq!(facts_of(code), facts_of(base), "{code}");
        assert_eq!(explain(code, Lang::EN).unwrap().treated_as, Some(base));
    }
}

/// RFC 3261 §17.1.1.2: every provisional response, 100 included, stops the
/// INVITE retransmissions; no text says otherwise.
#[test]
fn rfc3261_17_1_1_2_every_provisional_response_stops_invite_retransmissions() {
    for lang in Lang::all() {
        let e = explain(150, lang).unwrap();
        assert!(
            e.description.contains("17.1.1.2"),
            "{lang}: the 1xx class text cites §17.1.1.2"
        );
        let text = e.description.to_lowercase();
        for wrong in ["other than 100", "кроме 100"] {
            assert!(!text.contains(wrong), "{lang}: {text}");
        }
        assert!(
            text.contains("100 included") || text.contains("включая 100"),
            "{lang}"
        );
    }
    for code in registered_codes().filter(|c| c / 100 == 1) {
        let f = facts_of(code).unwrap();
        assert_eq!(f.next, Next::Wait, "{code}");
        assert!(!f.final_, "{code}");
    }
}

/// RFC 3261 §16.7 step 3: only 100 Trying is hop-by-hop.
#[test]
fn rfc3261_16_7_only_100_is_hop_by_hop() {
    for code in registered_codes() {
        let f = facts_of(code).unwrap();
        assert_eq!(f.hop_by_hop, code == 100, "{code}");
        assert_eq!(
            f.answers_invite,
            f.methods
                .as_ref()
                .is_none_or(|m| m.iter().any(|x| x == "INVITE"))
        );
    }
    assert_eq!(facts_of(503).unwrap().proxy, ProxyAction::Replace);
    for code in [401, 407] {
        assert_eq!(facts_of(code).unwrap().proxy, ProxyAction::Aggregate);
    }
}

/// RFC 3261 §21.4: a client SHOULD NOT repeat a 4xx request unchanged; the
/// class text says "should not", never "must not".
#[test]
fn rfc3261_21_4_client_should_not_repeat_a_4xx_request_unchanged() {
    let en = explain(431, Lang::EN).unwrap().description;
    assert!(en.contains("should not") && en.contains("21.4"), "{en}");
    assert!(!en.contains("must not"), "{en}");
    let ru = explain(431, Lang::RU).unwrap().description;
    assert!(ru.contains("не следует") && ru.contains("21.4"), "{ru}");
    assert!(!ru.contains("не должен"), "{ru}");
    // 408 may be repeated unchanged (§21.4.9), 491 after a delay (§14.1).
    assert_eq!(facts_of(408).unwrap().next, Next::Resend);
    assert_eq!(facts_of(491).unwrap().next, Next::Resend);
}

/// RFC 6665 §8.3.1: a notifier must not send 202; RFC 7647 §5: a REFER is
/// accepted with 200 and a 202 is treated like 200. `compare 202 302` and
/// the 202 entry say so in every language, and nothing says otherwise.
#[test]
fn rfc6665_8_3_1_and_rfc7647_5_202_is_replaced_by_200() {
    let f = facts_of(202).unwrap();
    assert!(!f.senders.contains(&Sender::Notifier));
    let by: Vec<(u32, Option<&str>)> = f
        .deprecated_by
        .iter()
        .map(|s| (s.rfc, s.section.as_deref()))
        .collect();
    assert_eq!(by, [(6665, Some("8.3.1")), (7647, Some("5"))]);
    assert_eq!(f.defined_in.rfc, 3265, "202 was defined by RFC 3265");
    for lang in Lang::all() {
        let e = explain(202, lang).unwrap();
        assert!(e.use_.contains("RFC 6665 §8.3.1") && e.use_.contains("RFC 7647 §5"));
        let must_not = if lang == Lang::EN {
            "must not send 202"
        } else {
            "не должен отправлять 202"
        };
        assert!(e.use_.contains(must_not), "{lang}: {}", e.use_);
        let c = compare(202, 302, lang).unwrap();
        let note = c.note.unwrap();
        assert!(
            note.contains("RFC 7647 §5") && note.contains("RFC 6665 §8.3.1"),
            "{note}"
        );
        let all = format!("{note} {} {}", c.when_to_use, c.differences.join(" "));
        for wrong in [
            "allows 200",
            "most interoperable",
            "допускает и 200",
            "допускает там и 200",
            "самым совместимым",
            "remains the usual answer",
        ] {
            assert!(!all.contains(wrong), "{lang}: {wrong}");
        }
        let answer_200 = if lang == Lang::EN {
            "answer 200, not 202"
        } else {
            "отвечайте 200, а не 202"
        };
        assert!(c.when_to_use.contains(answer_200), "{lang}");
    }
}

/// RFC 5057 §5.1: the responses that end the whole dialog, and those that
/// end only the usage. Per the survey: 404, 410, 416, 482, 484, 485, 502
/// and 604 destroy the dialog and every usage in it; 483 asks the agent to
/// terminate all usages of the dialog unless a retry with a higher
/// Max-Forwards succeeds; 403, 405, 408 (like a transaction timeout), 480,
/// 481 and 489 affect only the usage the request belongs to; 501 "may or may
/// not" affect the usage and never the others, so it is not modeled as
/// ending one; 603 explicitly does not end the usage.
#[test]
fn rfc5057_5_1_dialog_and_usage_terminating_responses() {
    let ends = |d: DialogEffect| -> Vec<u16> {
        registered_codes()
            .filter(|c| facts_of(*c).unwrap().dialog == d)
            .collect()
    };
    assert_eq!(
        ends(DialogEffect::EndsDialog),
        [404, 410, 416, 482, 483, 484, 485, 502, 604]
    );
    assert_eq!(
        ends(DialogEffect::EndsUsage),
        [403, 405, 408, 480, 481, 489]
    );
}

/// RFC 3261 §21.3.4 and §21.3.5: only a UAS sends 305, whose Contact names a
/// proxy; 380 puts its alternative in the body, not in Contact.
#[test]
fn rfc3261_21_3_4_and_21_3_5_305_and_380() {
    let f = facts_of(305).unwrap();
    assert_eq!(f.senders, [Sender::Uas]);
    assert_eq!(f.next, Next::ViaProxy);
    let f = facts_of(380).unwrap();
    assert_eq!(f.next, Next::Alternative);
    assert!(f.header("Contact").is_none());
}

/// The registry names the RFC that deprecated 202, not the one that defined
/// it; `defined_in` keeps them apart, and for every other code they agree.
#[test]
fn defined_in_is_the_defining_rfc_not_the_registry_reference() {
    for code in registered_codes() {
        let e = explain(code, Lang::EN).unwrap();
        if code == 202 {
            assert_ne!(e.facts.defined_in.rfc, e.spec[0].rfc);
        } else {
            assert_eq!(e.facts.defined_in, e.spec[0], "{code}");
            assert!(!e.facts.deprecated(), "{code}");
        }
    }
}
