//! The JSON API answers what its OpenAPI document promises: every path of the
//! document is called, and every answer (successes and errors) is checked
//! against the schema the document gives for its status.

use std::collections::BTreeSet;

use serde_json::Value;
use sipkit_codes::{noted_pairs, registered_codes, Lang};

use crate::util::{get, http_get, text};

/// The problems of `v` against `schema` (a subset of JSON Schema: $ref,
/// type, required, properties, additionalProperties: false, items, enum,
/// minimum, maximum).
fn validate(v: &Value, schema: &Value, doc: &Value, at: &str, errs: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix("#/")
            .map(|p| p.split('/').fold(doc, |node, key| &node[key]))
            .filter(|t| !t.is_null());
        match target {
            Some(t) => validate(v, t, doc, at, errs),
            None => errs.push(format!("{at}: unresolvable $ref {r}")),
        }
        return;
    }
    if let Some(ty) = schema.get("type") {
        let types: Vec<&str> = match ty {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !types
            .iter()
            .any(|t| *t == actual || (*t == "number" && actual == "integer"))
        {
            errs.push(format!("{at}: {actual}, expected {types:?}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(v) {
            errs.push(format!("{at}: {v} not in {allowed:?}"));
        }
    }
    if let Some(n) = v.as_f64() {
        if schema
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n < m)
        {
            errs.push(format!("{at}: {n} below the minimum"));
        }
        if schema
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n > m)
        {
            errs.push(format!("{at}: {n} above the maximum"));
        }
    }
    if let Value::Object(map) = v {
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !map.contains_key(req) {
                errs.push(format!("{at}: missing required {req}"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, val) in map {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(val, s, doc, &format!("{at}.{k}"), errs),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errs.push(format!("{at}: undocumented property {k}"));
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (v, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(item, s, doc, &format!("{at}[{i}]"), errs);
        }
    }
}

fn doc() -> Value {
    let r = get("/api/v1/openapi.json");
    assert_eq!(r.status, 200);
    serde_json::from_str(&text(&r)).expect("the OpenAPI document is JSON")
}

/// Calls `url` and checks its answer against the document's schema for
/// `template` and the status it answered with.
fn check(doc: &Value, template: &str, url: &str, expect_status: u16) -> Value {
    let a = http_get(url, None);
    assert_eq!(a.status.as_u16(), expect_status, "{url}: {}", a.body);
    assert_eq!(a.header("content-type"), Some("application/json"), "{url}");
    let body: Value =
        serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{url}: not JSON: {e}"));
    let op = &doc["paths"][template]["get"];
    assert!(!op.is_null(), "{template} is not in the document");
    let answer = &op["responses"][expect_status.to_string()];
    assert!(
        !answer.is_null(),
        "{template}: status {expect_status} is not documented"
    );
    let schema = &answer["content"]["application/json"]["schema"];
    let mut errs = Vec::new();
    validate(&body, schema, doc, url, &mut errs);
    assert!(
        errs.is_empty(),
        "{url} does not match the document:\n{}",
        errs.join("\n")
    );
    body
}

#[test]
fn the_document_is_openapi_3_1_and_its_refs_resolve() {
    let d = doc();
    assert_eq!(d["openapi"], "3.1.0");
    assert!(d["info"]["title"].is_string() && d["info"]["version"].is_string());
    let s = serde_json::to_string(&d).unwrap();
    for r in s
        .split("\"$ref\":\"")
        .skip(1)
        .filter_map(|x| x.split('"').next())
    {
        let target = r
            .strip_prefix("#/")
            .unwrap()
            .split('/')
            .fold(&d, |n, k| &n[k]);
        assert!(target.is_object(), "{r} does not resolve");
    }
    for (path, item) in d["paths"].as_object().unwrap() {
        for p in item["get"]["parameters"].as_array().unwrap() {
            if p["in"] == "path" {
                assert!(
                    path.contains(&format!("{{{}}}", p["name"].as_str().unwrap())),
                    "{path}: {}",
                    p["name"]
                );
            }
        }
    }
}

#[test]
fn every_endpoint_matches_the_document() {
    let d = doc();
    let mut called = BTreeSet::new();
    let mut call = |template: &str, url: &str, status: u16| {
        called.insert(template.to_owned());
        check(&d, template, url, status)
    };
    for lang in Lang::all() {
        let l = lang.tag();
        let list = call("/api/v1/codes", &format!("/api/v1/codes?lang={l}"), 200);
        assert_eq!(
            list["count"].as_u64(),
            Some(registered_codes().count() as u64)
        );
        assert_eq!(list["lang"], l);
        call(
            "/api/v1/{lang}/codes.json",
            &format!("/api/v1/{l}/codes.json"),
            200,
        );
        for code in registered_codes() {
            let e = call(
                "/api/v1/codes/{code}",
                &format!("/api/v1/codes/{code}?lang={l}"),
                200,
            );
            assert_eq!(e["code"], code);
            call(
                "/api/v1/{lang}/codes/{code}.json",
                &format!("/api/v1/{l}/codes/{code}.json"),
                200,
            );
        }
        let e = call(
            "/api/v1/codes/{code}",
            &format!("/api/v1/codes/299?lang={l}"),
            200,
        );
        assert_eq!(
            (e["registered"].as_bool(), e["treated_as"].as_u64()),
            (Some(false), Some(200))
        );
        let e = call(
            "/api/v1/codes/{code}",
            &format!("/api/v1/codes/moved%20temporarily?lang={l}"),
            200,
        );
        assert_eq!(e["code"], 302);
        for (a, b) in noted_pairs(lang) {
            let c = call(
                "/api/v1/compare/{a}/{b}",
                &format!("/api/v1/compare/{b}/{a}?lang={l}"),
                200,
            );
            assert_eq!(
                (c["a"]["code"].as_u64(), c["b"]["code"].as_u64()),
                (Some(b.into()), Some(a.into())),
                "the order given is kept"
            );
            assert!(c["note"].is_string());
            call(
                "/api/v1/{lang}/compare/{a}-{b}.json",
                &format!("/api/v1/{l}/compare/{a}-{b}.json"),
                200,
            );
        }
        let s = call(
            "/api/v1/search",
            &format!("/api/v1/search?q=moved&lang={l}"),
            200,
        );
        assert!(s["count"].as_u64().unwrap() >= 2);
    }
    // Errors are documented too.
    call("/api/v1/codes", "/api/v1/codes?lang=de", 400);
    call("/api/v1/codes/{code}", "/api/v1/codes/700", 404);
    call("/api/v1/codes/{code}", "/api/v1/codes/nonsense", 404);
    call(
        "/api/v1/codes/{code}",
        "/api/v1/codes/not%20acceptable",
        400,
    );
    call("/api/v1/compare/{a}/{b}", "/api/v1/compare/202/999", 404);
    call("/api/v1/search", "/api/v1/search?q=x&lang=xx", 400);
    call(
        "/api/v1/{lang}/codes/{code}.json",
        "/api/v1/en/codes/1000.json",
        404,
    );
    call(
        "/api/v1/{lang}/compare/{a}-{b}.json",
        "/api/v1/en/compare/302-202.json",
        404,
    );
    let documented: BTreeSet<String> = d["paths"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(called, documented, "every documented path is exercised");
}

#[test]
fn the_api_speaks_the_language_asked_for() {
    let ru: Value = serde_json::from_str(&text(&get("/api/v1/codes/302?lang=ru"))).unwrap();
    assert_eq!(ru["title"], "Временно перемещён");
    assert_eq!(ru["reason"], "Moved Temporarily");
    let en: Value = serde_json::from_str(&text(&get("/api/v1/codes/302"))).unwrap();
    assert_eq!(en["lang"], "en");
    let a = http_get("/api/v1/codes/302", None);
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("*"),
        "other tools may call it from a browser"
    );
}

#[test]
fn the_api_shapes_are_those_of_the_cli() {
    // One definition: the API serializes the same structures as
    // `sipkit explain --format json` and `sipkit compare --format json`.
    let e: Value = serde_json::from_str(&text(&get("/api/v1/codes/302?lang=en"))).unwrap();
    let direct = serde_json::to_value(sipkit_codes::explain(302, Lang::EN).unwrap()).unwrap();
    assert_eq!(e, direct);
    let c: Value = serde_json::from_str(&text(&get("/api/v1/compare/202/302?lang=ru"))).unwrap();
    let direct = serde_json::to_value(sipkit_codes::compare(202, 302, Lang::RU).unwrap()).unwrap();
    assert_eq!(c, direct);
}
