//! `sipkit explain`, `compare`, `codes`.

use crate::util::{sipkit, sipkit_env, snapshot, stderr, stdout};

#[test]
fn explain_302_en_snapshot() {
    let o = sipkit(&["explain", "302"]);
    assert!(o.status.success(), "{}", stderr(&o));
    snapshot("explain_302_en.txt", &stdout(&o));
}

#[test]
fn explain_302_ru_snapshot() {
    let o = sipkit(&["explain", "302", "--lang", "ru"]);
    assert!(o.status.success(), "{}", stderr(&o));
    snapshot("explain_302_ru.txt", &stdout(&o));
}

#[test]
fn compare_202_302_en_snapshot() {
    let o = sipkit(&["compare", "202", "302"]);
    assert!(o.status.success(), "{}", stderr(&o));
    snapshot("compare_202_302_en.txt", &stdout(&o));
}

#[test]
fn compare_202_302_ru_snapshot() {
    let o = sipkit(&["compare", "202", "302", "--lang", "ru"]);
    assert!(o.status.success(), "{}", stderr(&o));
    snapshot("compare_202_302_ru.txt", &stdout(&o));
}

#[test]
fn explain_302_json_snapshot() {
    let o = sipkit(&["explain", "302", "--format", "json"]);
    assert!(o.status.success());
    snapshot("explain_302_en.json", &stdout(&o));
}

#[test]
fn compare_202_302_json_ru_snapshot() {
    let o = sipkit(&["compare", "202", "302", "--format", "json", "--lang", "ru"]);
    assert!(o.status.success());
    snapshot("compare_202_302_ru.json", &stdout(&o));
}

#[test]
fn explain_accepts_status_lines_and_phrases() {
    let by_number = stdout(&sipkit(&["explain", "302", "--format", "json"]));
    for input in [
        vec!["SIP/2.0 302 Moved Temporarily"],
        vec!["moved temporarily"],
        vec!["Moved", "Temporarily"],
        vec!["Временно перемещён"],
    ] {
        let mut args = vec!["explain"];
        args.extend(input.iter().copied());
        args.extend(["--format", "json"]);
        let o = sipkit(&args);
        assert!(o.status.success(), "{input:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), by_number, "{input:?}");
    }
}

#[test]
fn explain_json_fields() {
    let o = sipkit(&["explain", "202", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["code"], 202);
    assert_eq!(v["reason"], "Accepted");
    assert_eq!(v["class"], "2xx");
    assert_eq!(v["registered"], true);
    assert_eq!(v["deprecated"], true);
    for k in [
        "class_name",
        "description",
        "when",
        "fix",
        "spec",
        "related",
        "deprecation",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
}

#[test]
fn unregistered_code_is_explained_by_its_class() {
    let o = sipkit(&["explain", "431", "--format", "json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["registered"], false);
    assert_eq!(v["treated_as"], 400);
    assert!(v["description"].as_str().unwrap().contains("8.1.3.2"));
    let text = stdout(&sipkit(&["explain", "431"]));
    assert!(text.contains("Not registered with IANA"), "{text}");
    let v: serde_json::Value =
        serde_json::from_slice(&sipkit(&["explain", "150", "--format", "json"]).stdout).unwrap();
    assert_eq!(v["treated_as"], 183, "an unknown 1xx counts as 183");
}

#[test]
fn bad_codes_exit_2_with_a_message_on_stderr() {
    for bad in ["99", "700", "abc", "1000", "30x"] {
        let o = sipkit(&["explain", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(o.stdout.is_empty(), "{bad}: nothing on stdout");
        let err = stderr(&o);
        assert!(err.starts_with("sipkit: error: "), "{bad}: {err}");
    }
    let o = sipkit(&["compare", "302", "700"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("700"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(sipkit(&["explain"]).status.code(), Some(2));
    assert_eq!(
        sipkit(&["explain", "302", "--lang", "de"]).status.code(),
        Some(2)
    );
    assert_eq!(sipkit(&["codes", "--class", "7xx"]).status.code(), Some(2));
    assert_eq!(sipkit(&["compare", "302"]).status.code(), Some(2));
}

#[test]
fn language_follows_the_locale() {
    let ru = stdout(&sipkit_env(&["explain", "404"], &[("LANG", "ru_RU.UTF-8")]));
    assert!(ru.contains("Описание"), "{ru}");
    let en = stdout(&sipkit_env(
        &["explain", "404"],
        &[("LANG", "ru_RU.UTF-8"), ("LC_ALL", "C")],
    ));
    assert!(en.contains("Description"), "LC_ALL=C wins over LANG: {en}");
    let flag = stdout(&sipkit_env(
        &["explain", "404", "--lang", "en"],
        &[("LANG", "ru_RU.UTF-8")],
    ));
    assert!(flag.contains("Description"), "--lang wins over the locale");
}

#[test]
fn no_colour_when_not_a_terminal() {
    let o = sipkit_env(&["explain", "302"], &[("NO_COLOR", "")]);
    assert!(
        !stdout(&o).contains('\x1b'),
        "stdout is a pipe: no escape codes"
    );
}

#[test]
fn text_is_wrapped_to_the_width() {
    for lang in ["en", "ru"] {
        let out = stdout(&sipkit(&["explain", "487", "--lang", lang]));
        for line in out.lines().filter(|l| !l.contains("https://")) {
            assert!(line.chars().count() <= 80, "{lang}: {line:?}");
        }
    }
}

#[test]
fn codes_lists_every_code_one_line_each() {
    let o = sipkit(&["codes"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 75);
    assert!(out.lines().any(|l| l.starts_with("302  Moved Temporarily")));
    let three = stdout(&sipkit(&["codes", "--class", "3xx"]));
    let got: Vec<&str> = three.lines().map(|l| &l[..3]).collect();
    assert_eq!(got, ["300", "301", "302", "305", "380"]);
    let json: serde_json::Value =
        serde_json::from_slice(&sipkit(&["codes", "--format", "json", "--lang", "ru"]).stdout)
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 75);
    assert_eq!(json[0]["code"], 100);
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["explain", "compare", "codes", "glossary"] {
        let o = sipkit(&[sub, "--help"]);
        assert!(o.status.success(), "{sub}");
        let out = stdout(&o);
        assert!(
            out.contains("--lang") && out.contains("--format"),
            "{sub}: {out}"
        );
    }
}

#[test]
fn glossary_lists_every_term_and_defines_one_in_either_language() {
    let o = sipkit(&["glossary"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let all = stdout(&o);
    for term in ["B2BUA", "early dialog", "notifier", "transferee", "sipfrag"] {
        assert!(all.lines().any(|l| l == term), "{term} missing:\n{all}");
    }
    let o = sipkit(&["glossary", "notifier", "--lang", "ru"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ru = stdout(&o);
    assert!(ru.starts_with("уведомитель\n"), "{ru}");
    assert!(ru.contains("NOTIFY"), "{ru}");
    let o = sipkit(&["glossary", "уведомитель", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["id"], "notifier");
    assert_eq!(v[0]["term"], "notifier");
    assert!(v[0].get("banned").is_none());
    let o = sipkit(&["glossary", "no", "such", "term"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not in the glossary"));
}

#[test]
fn text_output_shows_no_raw_markdown() {
    // 401, 100 and 180 have code spans in their texts, in both languages.
    for code in ["401", "100", "180"] {
        for lang in ["en", "ru"] {
            let o = sipkit(&["explain", code, "--lang", lang]);
            assert!(o.status.success());
            assert!(!stdout(&o).contains('`'), "{code} {lang}");
            let o = sipkit(&["compare", code, "302", "--lang", lang]);
            assert!(!stdout(&o).contains('`'), "{code} {lang}");
        }
    }
}
