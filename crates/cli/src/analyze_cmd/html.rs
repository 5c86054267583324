//! `sipkit analyze --html`: one self-contained page — the summary, an
//! index of the calls, every call's ladder drawn by `sipkit-web`'s ladder
//! renderer, every response linked to its explanation, and SVG plots
//! (response-time distribution per method; requests and failures per
//! second). No external assets. Every call is in the page; memory does not
//! grow with their number (see [`Report`]).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;

use sipkit_capture::findings::{text, ui};
use sipkit_capture::render::{code_text, label, outcome_label, PERCENTILES};
use sipkit_capture::{Call, Kind, Summary};
use sipkit_codes::{explain, Lang};
use sipkit_web::{capture_ladder, Arrow, STYLESHEET};

use super::spill::Spill;

/// Most arrows drawn per call.
const MAX_ARROWS: usize = 300;
/// Most points of the per-second plot.
const MAX_POINTS: usize = 600;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The report, written in bounded memory: each call's section is drawn
/// as soon as the call completes and kept in a [`Spill`] (with its line of
/// the index in another), and the page is put together at the end, when
/// the summary is known: head, summary, plots, index, calls, explanations.
#[derive(Debug)]
pub struct Report {
    lang: Lang,
    calls: Spill,
    index: Spill,
    count: u64,
    /// One call's HTML (reused).
    buf: String,
}

impl Report {
    /// An empty report in `lang`.
    pub fn new(lang: Lang) -> Self {
        Report {
            lang,
            calls: Spill::new("the calls of the HTML report"),
            index: Spill::new("the index of the HTML report"),
            count: 0,
            buf: String::with_capacity(16 * 1024),
        }
    }

    /// Draws a completed call.
    pub fn add(&mut self, c: &Call) -> anyhow::Result<()> {
        self.buf.clear();
        call(&mut self.buf, c, self.lang);
        self.calls.write(self.buf.as_bytes())?;
        self.buf.clear();
        index_line(&mut self.buf, c, self.lang);
        self.index.write(self.buf.as_bytes())?;
        self.count += 1;
        Ok(())
    }

    /// Writes the whole page to `out`.
    pub fn finish(self, s: &Summary, out: &mut dyn Write) -> anyhow::Result<()> {
        let lang = self.lang;
        let mut o = String::with_capacity(64 * 1024);
        let title = ui(lang, "report_title");
        let _ = write!(
            o,
            "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{STYLESHEET}\n.plot {{ width: 100%; max-width: 44rem; height: auto; }} .plot .bar {{ fill: var(--c3); }} .plot .fail {{ stroke: var(--c5); fill: none; stroke-width: 1.5; }} .plot .req {{ stroke: var(--c2); fill: none; stroke-width: 1.5; }} .plot text {{ fill: var(--fg); font-size: 11px; }} table {{ border-collapse: collapse; }} td, th {{ padding: .15rem .6rem; text-align: left; border-bottom: 1px solid var(--line); }} main {{ padding: 1rem; max-width: 70rem; }} .error {{ color: var(--c5); }} .warning {{ color: var(--c4); }} .index summary {{ cursor: pointer; color: var(--link); }}\n</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
            lang.tag(),
            esc(title),
            esc(title)
        );
        summary(&mut o, s, lang);
        plots(&mut o, s, lang);
        let calls = esc(ui(lang, "calls"));
        let _ = writeln!(
            o,
            "<h2>{calls}</h2>\n<details class=\"index\">\n<summary>{calls}: {}</summary>\n<ol>",
            self.count
        );
        out.write_all(o.as_bytes())?;
        self.index.copy_to(out)?;
        out.write_all(b"</ol>\n</details>\n")?;
        self.calls.copy_to(out)?;
        o.clear();
        explanations(&mut o, s, lang);
        o.push_str("</main>\n</body>\n</html>\n");
        out.write_all(o.as_bytes())?;
        Ok(())
    }
}

/// A call's line in the index: a link to its section, its outcome, and
/// its findings coloured by the worst severity.
fn index_line(o: &mut String, c: &Call, lang: Lang) {
    let _ = write!(
        o,
        "<li><a href=\"#call-{}\">{}</a> {}",
        esc(&c.call_id),
        esc(&c.call_id),
        esc(outcome_label(c, lang))
    );
    if let Some(worst) = c.findings.iter().map(|f| f.id.severity()).max() {
        let _ = write!(
            o,
            " <span class=\"{}\">{}: {}</span>",
            worst.as_str(),
            esc(ui(lang, "findings")),
            c.findings.len()
        );
    }
    o.push_str("</li>\n");
}

fn summary(o: &mut String, s: &Summary, lang: Lang) {
    let _ = writeln!(o, "<h2>{}</h2>\n<p>", esc(ui(lang, "summary")));
    for (k, v) in [
        ("packets", s.packets),
        ("sip_messages", s.sip_messages),
        ("retransmissions", s.retransmissions),
        ("calls", s.calls),
    ] {
        let _ = write!(o, "{}: <b>{v}</b> &nbsp; ", esc(ui(lang, k)));
    }
    let _ = writeln!(
        o,
        "</p>\n<h3>{}</h3>\n<table>\n<tr><th>{}</th><th>{}</th></tr>",
        esc(ui(lang, "requests")),
        esc(ui(lang, "method")),
        esc(ui(lang, "count"))
    );
    for (m, n) in &s.requests {
        let _ = writeln!(o, "<tr><td>{}</td><td>{n}</td></tr>", esc(m));
    }
    let _ = writeln!(
        o,
        "</table>\n<h3>{}</h3>\n<table>\n<tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        esc(ui(lang, "responses")),
        esc(ui(lang, "code")),
        esc(ui(lang, "count")),
        esc(ui(lang, "meaning"))
    );
    for (code, n) in &s.responses {
        let seen = s.reasons.get(code).map(String::as_str).unwrap_or("");
        let (reason, meaning) = code_text(*code, seen, lang);
        let _ = writeln!(
            o,
            "<tr><td><a href=\"#code-{code}\">{code} {}</a></td><td>{n}</td><td>{}</td></tr>",
            esc(&reason),
            esc(&meaning)
        );
    }
    let _ = writeln!(
        o,
        "</table>\n<h3>{}</h3>\n<table>\n<tr><th>{}</th><th>p50</th><th>p95</th><th>p99</th><th>n</th></tr>",
        esc(ui(lang, "response_times")),
        esc(ui(lang, "method"))
    );
    let row = |o: &mut String, name: &str, h: &sipkit_capture::stats::Histogram| {
        let _ = write!(o, "<tr><td>{}</td>", esc(name));
        for (_, p) in PERCENTILES {
            let v = h.percentile_ms(p).map_or("-".into(), |v| format!("{v:.1}"));
            let _ = write!(o, "<td>{v}</td>");
        }
        let _ = writeln!(o, "<td>{}</td></tr>", h.count());
    };
    for (m, h) in &s.response_time {
        row(o, m, h);
    }
    o.push_str("</table>\n");
    if s.setup_time.count() > 0 {
        let _ = writeln!(o, "<h3>{}</h3>\n<table>", esc(ui(lang, "setup_time")));
        row(o, "INVITE", &s.setup_time);
        o.push_str("</table>\n");
    }
    if !s.findings.is_empty() {
        let _ = writeln!(o, "<h3>{}</h3>\n<table>", esc(ui(lang, "finding_counts")));
        for (id, n) in &s.findings {
            let _ = writeln!(
                o,
                "<tr><td class=\"{}\">{}</td><td>{}</td><td>{n}</td></tr>",
                id.severity().as_str(),
                esc(id.severity().label(lang)),
                id.as_str()
            );
        }
        o.push_str("</table>\n");
    }
}

fn plots(o: &mut String, s: &Summary, lang: Lang) {
    // Response-time distribution: one row of bars per method over a log axis.
    let _ = writeln!(
        o,
        "<h3>{}</h3>",
        esc(ui(lang, "response_time_distribution"))
    );
    for (m, h) in &s.response_time {
        let b = h.buckets_ms();
        let Some(max) = b.iter().map(|x| x.2).max() else {
            continue;
        };
        let (w, hgt) = (600.0_f64, 120.0_f64);
        // x: log10(ms) from 0.01 ms to 100 s.
        let x = |ms: f64| ((ms.max(0.01).log10() + 2.0) / 7.0 * w).clamp(0.0, w);
        let _ = write!(
            o,
            "<figure><svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"{}\">",
            hgt + 20.0,
            esc(m)
        );
        for (lo, hi, c) in &b {
            let bh = *c as f64 / max as f64 * hgt;
            let _ = write!(
                o,
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"/>",
                x(*lo),
                hgt - bh,
                (x(*hi) - x(*lo)).max(1.0)
            );
        }
        for (ms, t) in [
            (0.1, "0.1 ms"),
            (1.0, "1 ms"),
            (10.0, "10 ms"),
            (100.0, "100 ms"),
            (1000.0, "1 s"),
            (10000.0, "10 s"),
        ] {
            let _ = write!(
                o,
                "<text x=\"{:.1}\" y=\"{}\">{t}</text>",
                x(ms),
                hgt + 14.0
            );
        }
        let _ = writeln!(o, "</svg><figcaption>{}</figcaption></figure>", esc(m));
    }
    // Requests and failures per second.
    if s.per_second.is_empty() {
        return;
    }
    let step = s.per_second.len().div_ceil(MAX_POINTS).max(1);
    let points: Vec<(u64, u64)> = s
        .per_second
        .chunks(step)
        .map(|c| {
            let r: u64 = c.iter().map(|x| u64::from(x.0)).sum();
            let f: u64 = c.iter().map(|x| u64::from(x.1)).sum();
            (r / step as u64, f / step as u64)
        })
        .collect();
    let max = points
        .iter()
        .map(|p| p.0.max(p.1))
        .max()
        .unwrap_or(1)
        .max(1);
    let (w, hgt) = (600.0_f64, 150.0_f64);
    let n = points.len().max(2) as f64 - 1.0;
    let line = |sel: fn(&(u64, u64)) -> u64| -> String {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "{:.1},{:.1}",
                    i as f64 / n * w,
                    hgt - sel(p) as f64 / max as f64 * hgt
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ = writeln!(
        o,
        "<h3>{}</h3>\n<figure><svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"{}\"><polyline class=\"req\" points=\"{}\"/><polyline class=\"fail\" points=\"{}\"/><text x=\"2\" y=\"12\">{max}/s</text><text x=\"2\" y=\"{}\">0</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{} s</text></svg><figcaption>{} / <span class=\"error\">{}</span></figcaption></figure>",
        esc(ui(lang, "per_second")),
        hgt + 16.0,
        esc(ui(lang, "per_second")),
        line(|p| p.0),
        line(|p| p.1),
        hgt,
        w,
        hgt + 14.0,
        s.per_second.len(),
        esc(ui(lang, "requests")),
        esc(ui(lang, "failures"))
    );
}

fn call(o: &mut String, c: &Call, lang: Lang) {
    let _ = writeln!(
        o,
        "<section id=\"call-{}\">\n<h3>{} {}</h3>\n<p>{}: <b>{}</b> — {} → {}</p>",
        esc(&c.call_id),
        esc(ui(lang, "call")),
        esc(&c.call_id),
        esc(ui(lang, "outcome")),
        esc(text(lang, "outcome", c.outcome.as_str())),
        esc(&c.from),
        esc(&c.to)
    );
    if !c.findings.is_empty() {
        o.push_str("<ul>\n");
        for f in &c.findings {
            let _ = writeln!(
                o,
                "<li class=\"{}\">[{}] <code>{}</code> ({}): {}</li>",
                f.id.severity().as_str(),
                esc(f.id.severity().label(lang)),
                f.id.as_str(),
                esc(f.id.spec()),
                esc(&f.message(lang))
            );
        }
        o.push_str("</ul>\n");
    }
    let flagged: BTreeSet<u64> = c
        .findings
        .iter()
        .flat_map(|f| f.packets.iter().copied())
        .collect();
    let mut actors: Vec<String> = Vec::new();
    let index = |a: String, actors: &mut Vec<String>| match actors.iter().position(|x| *x == a) {
        Some(i) => i,
        None => {
            actors.push(a);
            actors.len() - 1
        }
    };
    let arrows: Vec<Arrow> = c
        .messages
        .iter()
        .take(MAX_ARROWS)
        .map(|m| {
            let from = index(m.src.to_string(), &mut actors);
            let to = index(m.dst.to_string(), &mut actors);
            let (href, bad) = match &m.kind {
                Kind::Response { status, .. } => (Some(format!("#code-{status}")), *status >= 300),
                Kind::Malformed { .. } => (None, true),
                Kind::Request { .. } => (None, false),
            };
            let t = (m.ts_ns - c.first_ns) as f64 / 1e9;
            Arrow {
                from,
                to,
                label: format!("#{} {t:.3}s {}", m.frame, label(&m.kind)),
                highlight: bad || flagged.contains(&m.frame),
                href,
            }
        })
        .collect();
    o.push_str(&capture_ladder(&actors, &arrows, &c.call_id));
    o.push_str("</section>\n");
}

fn explanations(o: &mut String, s: &Summary, lang: Lang) {
    let _ = writeln!(o, "<h2>{}</h2>", esc(ui(lang, "responses")));
    for code in s.responses.keys() {
        let Ok(e) = explain(*code, lang) else {
            continue;
        };
        let _ = writeln!(
            o,
            "<section id=\"code-{code}\">\n<h3>{code} {}</h3>\n<p><b>{}</b></p>\n<p>{}</p>\n</section>",
            esc(e.reason.as_deref().unwrap_or(&e.title)),
            esc(&e.summary),
            esc(&e.description)
        );
    }
}
