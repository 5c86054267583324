//! Terminal rendering of the reference: headed sections, wrapped text, and
//! colour only on a terminal and never with `NO_COLOR` (<https://no-color.org>).

use std::io::{self, IsTerminal, Write};

use sipkit_codes::{ui, Comparison, Explanation, GlossaryEntry, Lang};

/// Colour and width decisions, made once per run.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
    width: usize,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty;
    /// width from `COLUMNS`, else 80 (clamped to 40..=120 for readability).
    pub fn detect() -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = io::stdout().is_terminal() && !no_color;
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .unwrap_or(80)
            .clamp(40, 120);
        Style { color, width }
    }

    fn paint(&self, sgr: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{sgr}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    fn heading(&self, s: &str) -> String {
        self.paint("1", s)
    }

    /// A code number, coloured by class.
    pub fn code(&self, code: u16) -> String {
        let sgr = match code / 100 {
            1 => "36",
            2 => "32",
            3 => "34",
            4 => "33",
            5 => "31",
            _ => "35",
        };
        self.paint(&format!("1;{sgr}"), &code.to_string())
    }
}

/// Word-wraps `text` to `width` columns; the first line starts with `first`,
/// the others with `rest` (prefixes count towards the width).
///
/// The knowledge base marks code spans with backquotes; a terminal shows
/// them as plain text, so they are dropped here.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let text = text.replace('`', "");
    for paragraph in text.split('\n') {
        let mut line = if lines.is_empty() {
            first.to_owned()
        } else {
            rest.to_owned()
        };
        let mut empty = true;
        for word in paragraph.split_whitespace() {
            let len = line.chars().count();
            if !empty && len + 1 + word.chars().count() > width {
                lines.push(line);
                line = rest.to_owned();
                empty = true;
            }
            if !empty {
                line.push(' ');
            }
            line.push_str(word);
            empty = false;
        }
        lines.push(line);
    }
    lines
}

fn para(out: &mut impl Write, text: &str, style: Style) -> io::Result<()> {
    for l in wrap(text, style.width, "  ", "  ") {
        writeln!(out, "{l}")?;
    }
    Ok(())
}

fn bullets(out: &mut impl Write, items: &[String], style: Style) -> io::Result<()> {
    for item in items {
        for l in wrap(item, style.width, "  • ", "    ") {
            writeln!(out, "{l}")?;
        }
    }
    Ok(())
}

fn title_line(e: &Explanation) -> String {
    match &e.reason {
        Some(r) if *r != e.title => format!("{} ({r})", e.title),
        _ => e.title.clone(),
    }
}

/// `sipkit explain` as text.
pub fn explanation(
    out: &mut impl Write,
    e: &Explanation,
    lang: Lang,
    style: Style,
) -> io::Result<()> {
    writeln!(
        out,
        "{} {}",
        style.code(e.code),
        style.heading(&title_line(e))
    )?;
    writeln!(out, "  {} {}: {}", ui(lang, "class"), e.class, e.class_name)?;
    if !e.registered {
        writeln!(out, "  [{}]", ui(lang, "unregistered"))?;
    }
    para(out, &e.summary, style)?;
    para(out, &e.client_action, style)?;
    writeln!(out)?;
    if let Some(d) = &e.deprecation {
        writeln!(out, "{}", style.paint("1;31", ui(lang, "deprecation")))?;
        para(out, d, style)?;
        writeln!(out)?;
    }
    writeln!(out, "{}", style.heading(ui(lang, "description")))?;
    para(out, &e.description, style)?;
    writeln!(out)?;
    writeln!(out, "{}", style.heading(ui(lang, "when")))?;
    bullets(out, &e.when, style)?;
    writeln!(out)?;
    writeln!(out, "{}", style.heading(ui(lang, "fix")))?;
    bullets(out, &e.fix, style)?;
    writeln!(out)?;
    writeln!(out, "{}", style.heading(ui(lang, "use")))?;
    para(out, &e.use_, style)?;
    writeln!(out)?;
    writeln!(out, "{}", style.heading(ui(lang, "spec")))?;
    for s in &e.spec {
        writeln!(out, "  {}  <{}>", s.text, s.url)?;
    }
    if !e.related.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", style.heading(ui(lang, "related")))?;
        for r in &e.related {
            let name = if r.title != r.reason {
                format!("{} ({})", r.title, r.reason)
            } else {
                r.title.clone()
            };
            writeln!(out, "  {} {}", style.code(r.code), name)?;
        }
    }
    out.flush()
}

/// `sipkit glossary` as text: each term in bold, its definition below.
pub fn glossary(out: &mut impl Write, entries: &[&GlossaryEntry], style: Style) -> io::Result<()> {
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", style.heading(&e.term))?;
        para(out, &e.definition, style)?;
    }
    out.flush()
}

/// Two blocks of lines next to each other, the left one padded.
fn columns(out: &mut impl Write, left: &[String], right: &[String], col: usize) -> io::Result<()> {
    for i in 0..left.len().max(right.len()) {
        let l = left.get(i).map(String::as_str).unwrap_or("");
        let r = right.get(i).map(String::as_str).unwrap_or("");
        let pad = col.saturating_sub(l.chars().count());
        let line = format!("{l}{}   {r}", " ".repeat(pad));
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn wrapped_items(items: &[String], width: usize) -> Vec<String> {
    items
        .iter()
        .flat_map(|i| wrap(i, width, "• ", "  "))
        .collect()
}

/// `sipkit compare` as text.
pub fn comparison(
    out: &mut impl Write,
    c: &Comparison,
    lang: Lang,
    style: Style,
) -> io::Result<()> {
    let heading = format!(
        "{}: {} {}  ↔  {} {}",
        ui(lang, "comparison"),
        c.a.code,
        title_line(&c.a),
        c.b.code,
        title_line(&c.b)
    );
    for l in wrap(&heading, style.width, "", "  ") {
        writeln!(out, "{}", style.heading(&l))?;
    }
    para(out, &c.relation, style)?;
    writeln!(out)?;
    if let Some(note) = &c.note {
        writeln!(out, "{}", style.heading(ui(lang, "note")))?;
        para(out, note, style)?;
        writeln!(out)?;
    }
    writeln!(out, "{}", style.heading(ui(lang, "differences")))?;
    bullets(out, &c.differences, style)?;
    writeln!(out)?;
    writeln!(out, "{}", style.heading(ui(lang, "when_to_use")))?;
    para(out, &c.when_to_use, style)?;
    writeln!(out)?;
    writeln!(out, "{}", style.heading(ui(lang, "side_by_side")))?;
    let col = (style.width.saturating_sub(3)) / 2;
    let head = |e: &Explanation| wrap(&format!("{} {}", e.code, title_line(e)), col, "", "");
    columns(out, &head(&c.a), &head(&c.b), col)?;
    type Section<'f> = (&'static str, Box<dyn Fn(&Explanation) -> Vec<String> + 'f>);
    let sections: [Section<'_>; 3] = [
        (
            "description",
            Box::new(|e: &Explanation| wrap(&e.description, col, "", "")),
        ),
        (
            "when",
            Box::new(|e: &Explanation| wrapped_items(&e.when, col)),
        ),
        (
            "fix",
            Box::new(|e: &Explanation| wrapped_items(&e.fix, col)),
        ),
    ];
    for (key, lines) in sections {
        writeln!(out)?;
        let h = ui(lang, key);
        columns(
            out,
            &[style.heading(h)],
            &[style.heading(h)],
            col + (style.heading(h).len() - h.len()),
        )?;
        columns(out, &lines(&c.a), &lines(&c.b), col)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_respects_width_and_prefixes() {
        let lines = wrap("one two three four five six", 12, "- ", "  ");
        assert_eq!(lines, ["- one two", "  three four", "  five six"]);
        assert!(lines.iter().all(|l| l.chars().count() <= 12));
    }

    #[test]
    fn wrap_keeps_a_long_word_whole() {
        assert_eq!(wrap("abcdefghijklmnop", 5, "", ""), ["abcdefghijklmnop"]);
    }

    #[test]
    fn wrap_counts_characters_not_bytes() {
        let lines = wrap("Временно перемещён", 10, "", "");
        assert_eq!(lines, ["Временно", "перемещён"]);
    }

    #[test]
    fn wrap_shows_code_spans_as_plain_text() {
        assert_eq!(
            wrap("set `fr_inv_timer` higher", 80, "", ""),
            ["set fr_inv_timer higher"]
        );
    }

    #[test]
    fn wrap_keeps_paragraphs() {
        assert_eq!(wrap("a\nb", 80, "", ""), ["a", "b"]);
    }
}
