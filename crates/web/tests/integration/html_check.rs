//! A strict HTML checker for the pages sipkit generates: stricter than the
//! HTML standard (which allows omitted end tags and unquoted attributes)
//! because the generator never needs those liberties, so any of them is a bug.
//!
//! Checks: a `<!DOCTYPE html>`; one `<html lang>`; a `<head>` with a charset,
//! a non-empty `<title>` and a non-empty meta description; every element
//! closed in order (void elements never closed, `/>` only for void and SVG
//! elements); attribute values quoted; no duplicate attribute; ids unique; no
//! raw `<` or bare `&` in text or attributes; no block element inside `<p>`,
//! no link inside a link, no form inside a form, `<li>` only in lists.

use std::collections::HashSet;

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];
const BLOCK: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "details",
    "div",
    "dl",
    "fieldset",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "ul",
];

/// One open element.
struct Open {
    name: String,
    line: usize,
}

/// The problems found in `html` (empty when it is valid), each with its line.
pub fn check(html: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let b = html.as_bytes();
    let newlines: Vec<usize> = html
        .bytes()
        .enumerate()
        .filter(|(_, c)| *c == b'\n')
        .map(|(i, _)| i)
        .collect();
    let line_at = |i: usize| newlines.partition_point(|n| *n < i) + 1;
    let mut i = 0;
    let doctype = "<!DOCTYPE html>";
    if html.len() < doctype.len() || !html[..doctype.len()].eq_ignore_ascii_case(doctype) {
        errs.push("line 1: the document does not start with <!DOCTYPE html>".to_owned());
    } else {
        i = doctype.len();
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    let mut html_count = 0;
    let mut title = None::<String>;
    let mut in_title = false;
    let mut description = false;
    let mut charset = false;
    let mut main_count = 0;
    let mut text_start = i;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        check_text(&html[text_start..i], line_at(text_start), &mut errs);
        if in_title {
            title = Some(html[text_start..i].trim().to_owned());
        }
        if html[i..].starts_with("<!--") {
            match html[i..].find("-->") {
                Some(e) => i += e + 3,
                None => {
                    errs.push(format!("line {}: unterminated comment", line_at(i)));
                    break;
                }
            }
            text_start = i;
            continue;
        }
        let Some(end) = tag_end(html, i) else {
            errs.push(format!("line {}: unterminated tag", line_at(i)));
            break;
        };
        let tag = &html[i + 1..end];
        let line = line_at(i);
        i = end + 1;
        text_start = i;
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim();
            match stack.pop() {
                Some(open) if open.name == name => {}
                Some(open) => {
                    errs.push(format!(
                        "line {line}: </{name}> closes <{}> opened on line {}",
                        open.name, open.line
                    ));
                    stack.push(open);
                }
                None => errs.push(format!("line {line}: </{name}> closes nothing")),
            }
            if name == "title" {
                in_title = false;
            }
            continue;
        }
        let self_closed = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name_len = tag
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(tag.len());
        let name = &tag[..name_len];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            errs.push(format!("line {line}: bad tag name {name:?}"));
            continue;
        }
        let attrs = match parse_attrs(&tag[name_len..]) {
            Ok(a) => a,
            Err(e) => {
                errs.push(format!("line {line}: <{name}>: {e}"));
                Vec::new()
            }
        };
        let attr = |n: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == n)
                .and_then(|(_, v)| v.clone())
        };
        let mut seen = HashSet::new();
        for (k, v) in &attrs {
            if !seen.insert(k.as_str()) {
                errs.push(format!("line {line}: <{name}> has {k} twice"));
            }
            if let Some(v) = v {
                check_text(v, line, &mut errs);
            }
            if k == "id" {
                let v = v.clone().unwrap_or_default();
                if v.is_empty() || !ids.insert(v.clone()) {
                    errs.push(format!("line {line}: id {v:?} is empty or not unique"));
                }
            }
        }
        let in_svg = stack.iter().any(|o| o.name == "svg");
        let parent = stack.last().map(|o| o.name.as_str()).unwrap_or("");
        // Nesting rules the generator must keep.
        if BLOCK.contains(&name) && stack.iter().any(|o| o.name == "p") {
            errs.push(format!("line {line}: <{name}> inside <p>"));
        }
        if name == "a" && stack.iter().any(|o| o.name == "a") {
            errs.push(format!("line {line}: a link inside a link"));
        }
        if name == "form" && stack.iter().any(|o| o.name == "form") {
            errs.push(format!("line {line}: a form inside a form"));
        }
        if name == "li" && !matches!(parent, "ul" | "ol") {
            errs.push(format!("line {line}: <li> inside <{parent}>"));
        }
        match name {
            "html" => {
                html_count += 1;
                if attr("lang").is_none_or(|l| l.is_empty()) {
                    errs.push(format!("line {line}: <html> has no lang"));
                }
            }
            "meta" if attr("charset").is_some() => charset = true,
            "meta" if attr("name").as_deref() == Some("description") => {
                description = attr("content").is_some_and(|c| !c.trim().is_empty());
            }
            "main" => main_count += 1,
            "title" => in_title = true,
            "img" if attr("alt").is_none() => errs.push(format!("line {line}: <img> without alt")),
            _ => {}
        }
        if VOID.contains(&name) {
            continue;
        }
        if self_closed {
            if !in_svg && name != "svg" {
                errs.push(format!("line {line}: <{name}/> is not a void element"));
            }
            continue;
        }
        if name == "script" || name == "style" {
            let close = format!("</{name}>");
            match html[i..].find(&close) {
                Some(e) => {
                    i += e + close.len();
                    text_start = i;
                }
                None => errs.push(format!("line {line}: <{name}> never closed")),
            }
            continue;
        }
        stack.push(Open {
            name: name.to_owned(),
            line,
        });
    }
    check_text(
        &html[text_start.min(html.len())..],
        line_at(text_start.min(html.len())),
        &mut errs,
    );
    for open in &stack {
        errs.push(format!("line {}: <{}> never closed", open.line, open.name));
    }
    if html_count != 1 {
        errs.push(format!("{html_count} <html> elements"));
    }
    if title.is_none_or(|t| t.is_empty()) {
        errs.push("no <title> or an empty one".to_owned());
    }
    if !description {
        errs.push("no meta description".to_owned());
    }
    if !charset {
        errs.push("no meta charset".to_owned());
    }
    if main_count != 1 {
        errs.push(format!("{main_count} <main> elements"));
    }
    errs
}

/// The index of the `>` closing the tag at `start`, outside quoted values.
fn tag_end(html: &str, start: usize) -> Option<usize> {
    let mut quote = None;
    for (k, c) in html[start + 1..].char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(start + 1 + k),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

/// `name="value"` pairs; a value must be double-quoted; boolean attributes
/// have none.
fn parse_attrs(s: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let name = &rest[..n];
        if name.is_empty() || name.contains(['"', '\'', '<', '>', '/']) {
            return Err(format!("bad attribute name {name:?}"));
        }
        rest = &rest[n..];
        if let Some(r) = rest.strip_prefix('=') {
            let Some(r) = r.strip_prefix('"') else {
                return Err(format!("the value of {name} is not double-quoted"));
            };
            let Some(e) = r.find('"') else {
                return Err(format!("the value of {name} is not closed"));
            };
            out.push((name.to_owned(), Some(r[..e].to_owned())));
            rest = &r[e + 1..];
            if !rest.is_empty() && !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
                return Err(format!("no space after the value of {name}"));
            }
        } else {
            out.push((name.to_owned(), None));
        }
        rest = rest.trim_start();
    }
    Ok(out)
}

/// Text and attribute values: no `<`, and every `&` starts a character reference.
fn check_text(s: &str, line: usize, errs: &mut Vec<String>) {
    if s.contains('<') {
        errs.push(format!("line {line}: a raw < in {s:?}"));
    }
    let mut rest = s;
    while let Some(k) = rest.find('&') {
        rest = &rest[k + 1..];
        let end = rest.find(';').unwrap_or(usize::MAX);
        let ok = end != usize::MAX && end > 0 && end <= 10 && {
            let r = &rest[..end];
            r.chars().all(|c| c.is_ascii_alphanumeric()) && !r.starts_with('#')
                || r.strip_prefix('#').is_some_and(|d| {
                    d.strip_prefix('x').map_or_else(
                        || d.chars().all(|c| c.is_ascii_digit()),
                        |h| h.chars().all(|c| c.is_ascii_hexdigit()),
                    ) && !d.is_empty()
                })
        };
        if !ok {
            errs.push(format!(
                "line {line}: a bare & in {:?}",
                &s[..s.len().min(80)]
            ));
            break;
        }
    }
}

mod tests {
    use super::check;

    const GOOD: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>T</title>\n<meta name=\"description\" content=\"D\">\n</head>\n<body><main id=\"main\"><p>a &amp; b <a href=\"/x?a=1&amp;b=2\">x</a></p><ul><li>1</li></ul><svg viewBox=\"0 0 1 1\"><line x1=\"0\"/></svg><input required></main></body>\n</html>\n";

    fn errors_of(body: &str) -> Vec<String> {
        check(&GOOD.replace("<input required>", body))
    }

    #[test]
    fn a_good_page_passes() {
        assert_eq!(check(GOOD), Vec::<String>::new());
    }

    #[test]
    fn it_finds_what_is_wrong() {
        for (bad, what) in [
            ("<div>", "never closed"),
            ("<div></span>", "closes"),
            ("<p><div></div></p>", "inside <p>"),
            (
                "<a href=\"/\"><a href=\"/\">x</a></a>",
                "link inside a link",
            ),
            ("<li>x</li>", "<li> inside"),
            ("<span class=x>y</span>", "not double-quoted"),
            ("<span id=\"main\">y</span>", "not unique"),
            ("a & b", "bare &"),
            ("a &amp b", "bare &"),
            ("<span title=\"a & b\">y</span>", "bare &"),
            ("<span/>", "not a void element"),
            ("<span a=\"1\" a=\"2\">y</span>", "twice"),
            ("<img src=\"/i.png\">", "without alt"),
            ("<main></main>", "<main> elements"),
        ] {
            let errs = errors_of(bad);
            assert!(
                errs.iter().any(|e| e.contains(what)),
                "{bad:?}: expected {what:?}, got {errs:?}"
            );
        }
        assert!(check(&GOOD.replace("<title>T</title>", ""))
            .iter()
            .any(|e| e.contains("<title>")));
        assert!(check(&GOOD.replace(" lang=\"en\"", ""))
            .iter()
            .any(|e| e.contains("lang")));
        assert!(
            check(&GOOD.replace("<meta name=\"description\" content=\"D\">", ""))
                .iter()
                .any(|e| e.contains("description"))
        );
        assert!(check(&GOOD.replace("<!DOCTYPE html>", ""))
            .iter()
            .any(|e| e.contains("DOCTYPE")));
    }
}
