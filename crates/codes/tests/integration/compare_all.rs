//! `compare` for every pair of codes, both orders, every language.

use sipkit_codes::{compare, registered_codes, Lang};

#[test]
fn every_pair_compares() {
    let codes: Vec<u16> = registered_codes().collect();
    let mut count = 0;
    for lang in Lang::all() {
        for &a in &codes {
            for &b in &codes {
                let c = compare(a, b, lang).unwrap();
                assert_eq!((c.a.code, c.b.code), (a, b));
                assert_eq!(c.same_class, a / 100 == b / 100);
                assert!(!c.differences.is_empty(), "{a}-{b}");
                assert!(!c.when_to_use.is_empty(), "{a}-{b}");
                count += 1;
            }
        }
    }
    assert_eq!(count, 75 * 75 * Lang::all().count());
}

#[test]
fn unregistered_and_out_of_range() {
    let c = compare(299, 302, Lang::EN).unwrap();
    assert!(!c.a.registered && c.b.registered);
    assert!(c.differences.iter().any(|d| d.contains("not registered")));
    assert!(compare(99, 302, Lang::EN).is_err());
    assert!(compare(302, 700, Lang::EN).is_err());
}

#[test]
fn cross_class_202_302_says_provisional_nothing_and_classes_differ() {
    let c = compare(202, 302, Lang::EN).unwrap();
    assert!(!c.same_class);
    assert!(c.relation.contains("2xx") && c.relation.contains("3xx"));
    assert!(c.differences.iter().any(|d| d.contains("deprecated")));
    let c = compare(180, 200, Lang::EN).unwrap();
    assert!(c.differences.iter().any(|d| d.contains("provisional")));
}

#[test]
fn json_shape_has_the_documented_fields() {
    let c = compare(202, 302, Lang::RU).unwrap();
    let v = serde_json::to_value(&c).unwrap();
    for k in [
        "a",
        "b",
        "same_class",
        "differences",
        "when_to_use",
        "relation",
        "note",
    ] {
        assert!(v.get(k).is_some(), "compare JSON lacks {k}");
    }
    for k in [
        "code",
        "reason",
        "class",
        "class_name",
        "registered",
        "description",
        "when",
        "fix",
        "spec",
        "related",
    ] {
        assert!(v["a"].get(k).is_some(), "explain JSON lacks {k}");
    }
}
