//! The JSON API under `/api/v1/`, and the OpenAPI 3.1 document that
//! describes it (`/api/v1/openapi.json`).
//!
//! The shapes of one code and of a comparison are those of
//! `sipkit explain --format json` and `sipkit compare --format json`
//! (`sipkit_codes::Explanation`, `sipkit_codes::Comparison`).

use serde::Serialize;
use serde_json::{json, Value};
use sipkit_codes::{compare, explain, lookup, registered_codes, CodeSummary, Lang, LookupError};

use crate::percent::decode_segment;
use crate::search::{entries, search};
use crate::urls;

/// One line of the code list and of search results: the knowledge base's
/// summary of the code, and where to find more.
#[derive(Debug, Serialize)]
pub(crate) struct CodeItem {
    #[serde(flatten)]
    summary: CodeSummary,
    /// The code's web page.
    page: String,
    /// The code's API resource.
    api: String,
}

/// `GET /api/v1/codes`.
#[derive(Debug, Serialize)]
struct CodeList {
    lang: String,
    count: usize,
    codes: Vec<CodeItem>,
}

/// `GET /api/v1/search`.
#[derive(Debug, Serialize)]
struct SearchResults {
    lang: String,
    query: String,
    count: usize,
    results: Vec<CodeItem>,
}

/// Every error answer.
#[derive(Debug, Serialize)]
struct ApiError {
    status: u16,
    error: String,
}

/// An API answer: status and JSON text.
#[derive(Debug)]
pub(crate) struct Json {
    pub(crate) status: u16,
    pub(crate) body: String,
}

fn ok<T: Serialize>(v: &T) -> Json {
    match serde_json::to_string_pretty(v) {
        Ok(body) => Json {
            status: 200,
            body: body + "\n",
        },
        Err(e) => error(500, format!("serializing the answer: {e}")),
    }
}

fn error(status: u16, msg: String) -> Json {
    let body =
        serde_json::to_string_pretty(&ApiError { status, error: msg }).unwrap_or_default() + "\n";
    Json { status, body }
}

fn item(lang: Lang, code: u16) -> Option<CodeItem> {
    let e = explain(code, lang).ok()?;
    Some(CodeItem {
        summary: CodeSummary::from(e),
        page: urls::code(lang, code),
        api: format!("/api/v1/codes/{code}?lang={}", lang.tag()),
    })
}

/// The code list in `lang`.
pub(crate) fn codes(lang: Lang) -> Json {
    let codes: Vec<CodeItem> = registered_codes().filter_map(|c| item(lang, c)).collect();
    ok(&CodeList {
        lang: lang.tag().to_owned(),
        count: codes.len(),
        codes,
    })
}

fn resolve(input: &str) -> Result<u16, Json> {
    lookup(input).map_err(|e| match e {
        LookupError::Ambiguous { .. } => error(400, e.to_string()),
        _ => error(404, e.to_string()),
    })
}

/// One code: `input` is a number, a status line or a reason phrase.
pub(crate) fn code(lang: Lang, input: &str) -> Json {
    match resolve(input) {
        Ok(c) => match explain(c, lang) {
            Ok(e) => ok(&e),
            Err(e) => error(404, e.to_string()),
        },
        Err(j) => j,
    }
}

/// A comparison, in the order given.
pub(crate) fn pair(lang: Lang, a: &str, b: &str) -> Json {
    let (a, b) = match (resolve(a), resolve(b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(j), _) | (_, Err(j)) => return j,
    };
    match compare(a, b, lang) {
        Ok(c) => ok(&c),
        Err(e) => error(404, e.to_string()),
    }
}

/// Search results.
pub(crate) fn find(lang: Lang, q: &str) -> Json {
    let results: Vec<CodeItem> = search(lang, q)
        .iter()
        .filter_map(|h| item(lang, h.code))
        .collect();
    ok(&SearchResults {
        lang: lang.tag().to_owned(),
        query: q.to_owned(),
        count: results.len(),
        results,
    })
}

/// The search-as-you-type index of `lang` (not part of the versioned API).
pub(crate) fn search_index(lang: Lang) -> Json {
    match serde_json::to_string(entries(lang)) {
        Ok(body) => Json { status: 200, body },
        Err(e) => error(500, e.to_string()),
    }
}

/// An answer to a request under `/api/v1/`; `rest` is the path after it.
pub(crate) fn dispatch(rest: &str, query: &[(String, String)]) -> Json {
    let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let lang = match param("lang") {
        None | Some("") => Lang::EN,
        Some(tag) => match Lang::parse_exact(tag) {
            Ok(l) => l,
            Err(e) => return error(400, e),
        },
    };
    let segs: Vec<&str> = rest.split('/').collect();
    match segs.as_slice() {
        ["openapi.json"] => Json {
            status: 200,
            body: openapi(),
        },
        ["codes"] => codes(lang),
        ["codes", c] if !c.is_empty() => code(lang, &decode_segment(c)),
        ["compare", a, b] if !a.is_empty() && !b.is_empty() => {
            pair(lang, &decode_segment(a), &decode_segment(b))
        }
        ["search"] => find(lang, param("q").unwrap_or("")),
        // The static files the export writes, served by the server too.
        [tag, rest @ ..] if Lang::all().any(|l| l.tag() == *tag) => {
            let lang = Lang::from_tag(tag).unwrap_or(Lang::EN);
            match rest {
                ["codes.json"] => codes(lang),
                ["codes", f] => match f.strip_suffix(".json").and_then(number) {
                    Some(c) => code(lang, &c.to_string()),
                    None => not_found(),
                },
                ["compare", f] => match f.strip_suffix(".json").and_then(|s| s.split_once('-')) {
                    Some((a, b)) => match (number(a), number(b)) {
                        (Some(a), Some(b)) if a < b => pair(lang, &a.to_string(), &b.to_string()),
                        _ => not_found(),
                    },
                    None => not_found(),
                },
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}

/// A three-digit code 100..=699 written as such.
pub(crate) fn number(s: &str) -> Option<u16> {
    let n: u16 = s.parse().ok()?;
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) && (100..=699).contains(&n)).then_some(n)
}

fn not_found() -> Json {
    error(
        404,
        "no such API resource: see /api/v1/openapi.json".to_owned(),
    )
}

fn lang_param() -> Value {
    let tags: Vec<&str> = Lang::all().map(Lang::tag).collect();
    json!({
        "name": "lang", "in": "query", "required": false,
        "description": "Language of the texts.",
        "schema": { "type": "string", "enum": tags, "default": "en" }
    })
}

fn lang_path() -> Value {
    let tags: Vec<&str> = Lang::all().map(Lang::tag).collect();
    json!({
        "name": "lang", "in": "path", "required": true,
        "description": "Language of the texts.",
        "schema": { "type": "string", "enum": tags }
    })
}

fn answer(schema: &str, description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
    })
}

fn errors(extra: &[&str]) -> Value {
    let mut m = serde_json::Map::new();
    for code in extra {
        let what = match *code {
            "400" => "An unknown language or an ambiguous reason phrase.",
            _ => "Not a response code, or no such resource.",
        };
        m.insert((*code).to_owned(), answer("Error", what));
    }
    Value::Object(m)
}

fn with(mut base: Value, more: Value) -> Value {
    if let (Some(b), Value::Object(m)) = (base.as_object_mut(), more) {
        b.extend(m);
    }
    base
}

fn string() -> Value {
    json!({ "type": "string" })
}

fn strings() -> Value {
    json!({ "type": "array", "items": { "type": "string" } })
}

fn object(required: &[&str], props: Value) -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": required, "properties": props })
}

/// The OpenAPI 3.1 document of the API.
pub(crate) fn openapi() -> String {
    let code_param = json!({
        "name": "code", "in": "path", "required": true,
        "description": "A code (302), a status line (SIP/2.0 302 Moved Temporarily) or a reason phrase (moved temporarily), URL-encoded.",
        "schema": { "type": "string" }
    });
    let doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "sipkit SIP response-code reference API",
            "version": "1.0.0",
            "description": "Every SIP response code explained, and any two codes compared, in English and Russian. The texts are the ones `sipkit explain` and `sipkit compare` print."
        },
        "servers": [{ "url": "/" }],
        "paths": {
            "/api/v1/codes": { "get": {
                "operationId": "listCodes", "summary": "Every registered code, ascending.",
                "parameters": [lang_param()],
                "responses": with(json!({ "200": answer("CodeList", "The registered codes.") }), errors(&["400"]))
            }},
            "/api/v1/codes/{code}": { "get": {
                "operationId": "getCode", "summary": "One code explained; an unregistered code in 100-699 is explained by its class.",
                "parameters": [code_param.clone(), lang_param()],
                "responses": with(json!({ "200": answer("Explanation", "The code explained.") }), errors(&["400", "404"]))
            }},
            "/api/v1/compare/{a}/{b}": { "get": {
                "operationId": "compareCodes", "summary": "Two codes compared, in the order given.",
                "parameters": [
                    with(code_param.clone(), json!({ "name": "a" })),
                    with(code_param.clone(), json!({ "name": "b" })),
                    lang_param()
                ],
                "responses": with(json!({ "200": answer("Comparison", "The comparison.") }), errors(&["400", "404"]))
            }},
            "/api/v1/search": { "get": {
                "operationId": "searchCodes", "summary": "Codes matching a number, a reason phrase or words of their texts, best first.",
                "parameters": [
                    { "name": "q", "in": "query", "required": true, "description": "What to look for.", "schema": { "type": "string" } },
                    lang_param()
                ],
                "responses": with(json!({ "200": answer("SearchResults", "The matching codes.") }), errors(&["400"]))
            }},
            "/api/v1/{lang}/codes.json": { "get": {
                "operationId": "listCodesFile", "summary": "The code list as a static file (the static export has these files).",
                "parameters": [lang_path()],
                "responses": with(json!({ "200": answer("CodeList", "The registered codes.") }), errors(&["404"]))
            }},
            "/api/v1/{lang}/codes/{code}.json": { "get": {
                "operationId": "getCodeFile", "summary": "One code as a static file; code is three digits.",
                "parameters": [lang_path(), { "name": "code", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 100, "maximum": 699 } }],
                "responses": with(json!({ "200": answer("Explanation", "The code explained.") }), errors(&["404"]))
            }},
            "/api/v1/{lang}/compare/{a}-{b}.json": { "get": {
                "operationId": "compareCodesFile", "summary": "A comparison as a static file, lower code first.",
                "parameters": [
                    lang_path(),
                    { "name": "a", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 100, "maximum": 699 } },
                    { "name": "b", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 100, "maximum": 699 } }
                ],
                "responses": with(json!({ "200": answer("Comparison", "The comparison.") }), errors(&["404"]))
            }}
        },
        "components": { "schemas": {
            "Error": object(&["status", "error"], json!({
                "status": { "type": "integer" },
                "error": { "type": "string", "description": "What was wrong, in English." }
            })),
            "CodeSummary": object(
                &["code", "reason", "title", "class", "class_name", "deprecated", "summary", "page", "api"],
                json!({
                    "code": { "type": "integer", "minimum": 100, "maximum": 699 },
                    "reason": { "type": "string", "description": "The registered reason phrase." },
                    "title": { "type": "string", "description": "The phrase in the requested language." },
                    "class": { "type": "string", "description": "1xx to 6xx." },
                    "class_name": string(),
                    "deprecated": { "type": "boolean" },
                    "summary": string(),
                    "page": { "type": "string", "description": "The code's web page (a path)." },
                    "api": { "type": "string", "description": "The code's API resource (a path)." }
                })
            ),
            "CodeList": object(&["lang", "count", "codes"], json!({
                "lang": string(),
                "count": { "type": "integer" },
                "codes": { "type": "array", "items": { "$ref": "#/components/schemas/CodeSummary" } }
            })),
            "SearchResults": object(&["lang", "query", "count", "results"], json!({
                "lang": string(),
                "query": string(),
                "count": { "type": "integer" },
                "results": { "type": "array", "items": { "$ref": "#/components/schemas/CodeSummary" } }
            })),
            "SpecRef": object(&["rfc", "section", "text", "url"], json!({
                "rfc": { "type": "integer" },
                "section": { "type": ["string", "null"] },
                "text": { "type": "string", "description": "RFC 3261 §21.3.3" },
                "url": { "type": "string" }
            })),
            "RelatedCode": object(&["code", "reason", "title"], json!({
                "code": { "type": "integer" },
                "reason": string(),
                "title": string()
            })),
            "Explanation": object(
                &["code", "reason", "title", "class", "class_name", "client_action", "registered", "deprecated",
                  "facts", "summary", "description", "when", "fix", "use", "spec", "related", "lang"],
                json!({
                    "code": { "type": "integer", "minimum": 100, "maximum": 699 },
                    "reason": { "type": ["string", "null"], "description": "The registered reason phrase; null for an unregistered code." },
                    "title": string(),
                    "class": string(),
                    "class_name": string(),
                    "client_action": string(),
                    "registered": { "type": "boolean" },
                    "deprecated": { "type": "boolean" },
                    "facts": { "$ref": "#/components/schemas/Facts" },
                    "treated_as": { "type": "integer", "description": "For an unregistered code, the code a client treats it as (RFC 3261 §8.1.3.2)." },
                    "summary": string(),
                    "description": string(),
                    "when": strings(),
                    "fix": strings(),
                    "use": string(),
                    "deprecation": string(),
                    "spec": { "type": "array", "items": { "$ref": "#/components/schemas/SpecRef" } },
                    "related": { "type": "array", "items": { "$ref": "#/components/schemas/RelatedCode" } },
                    "lang": string()
                })
            ),
            "HeaderRule": object(&["name", "level"], json!({
                "name": string(),
                "level": { "enum": ["must", "should", "may"] },
                "on": { "type": "string", "description": "The method the rule is limited to." }
            })),
            "Facts": object(
                &["final", "next", "senders", "methods", "answers_invite", "dialog", "proxy", "hop_by_hop", "retryable", "headers", "defined_in", "deprecated_by"],
                json!({
                    "final": { "type": "boolean" },
                    "change": { "type": "string", "description": "What the client changes before sending the request again." },
                    "next": { "enum": ["wait", "done", "contact", "via_proxy", "alternative", "credentials", "fix", "resend", "later", "elsewhere", "not_elsewhere", "stop"] },
                    "senders": { "type": "array", "items": { "enum": ["uas", "proxy", "registrar", "redirect", "notifier", "compositor", "client"] } },
                    "methods": { "type": ["array", "null"], "items": { "type": "string" }, "description": "The methods the code answers; null for any request." },
                    "answers_invite": { "type": "boolean" },
                    "hop_by_hop": { "type": "boolean" },
                    "retryable": { "type": "boolean" },
                    "dialog": { "enum": ["none", "early", "ends_early", "creates", "ends_usage", "ends_dialog"] },
                    "proxy": { "enum": ["absorb", "forward", "recurse", "collect", "aggregate", "replace", "cancel_branches"] },
                    "headers": { "type": "array", "items": { "$ref": "#/components/schemas/HeaderRule" } },
                    "defined_in": { "$ref": "#/components/schemas/SpecRef" },
                    "deprecated_by": { "type": "array", "items": { "$ref": "#/components/schemas/SpecRef" } }
                })
            ),
            "Comparison": object(
                &["a", "b", "same_class", "relation", "differences", "difference_facts", "when_to_use", "lang"],
                json!({
                    "a": { "$ref": "#/components/schemas/Explanation" },
                    "b": { "$ref": "#/components/schemas/Explanation" },
                    "same_class": { "type": "boolean" },
                    "relation": string(),
                    "differences": strings(),
                    "difference_facts": strings(),
                    "when_to_use": string(),
                    "note": string(),
                    "lang": string()
                })
            )
        }}
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
