//! Two codes, side by side.

use serde::Serialize;

use crate::explain::{explain, next_phrase, Explanation};
use crate::facts::{DialogEffect, Facts, HeaderRule, Level, ProxyAction, Sender};
use crate::kb::{class_of, fill, ui, Lang};
use crate::lookup::LookupError;

/// A comparison of two response codes in one language: the JSON shape of
/// `sipkit compare --format json` and of the web API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// The first code, explained.
    pub a: Explanation,
    /// The second code, explained.
    pub b: Explanation,
    /// Whether both codes are of one class.
    pub same_class: bool,
    /// One sentence on the classes of the two codes.
    pub relation: String,
    /// The key differences, hand-written ones first, then those generated
    /// from the two codes' facts; each names both codes.
    pub differences: Vec<String>,
    /// For each entry of `differences`, the fact it states: `curated` for a
    /// hand-written one, else `final`, `next`, `senders`, `methods`,
    /// `dialog`, `proxy`, `header:<name>`, `deprecated`, `registered`, or
    /// `none` when the modeled facts agree.
    pub difference_facts: Vec<String>,
    /// Which one to send or expect in which situation.
    pub when_to_use: String,
    /// A hand-written note for pairs practitioners confuse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The language of the texts.
    pub lang: String,
}

/// Compares `a` and `b` in `lang`. Works for every pair of codes in
/// 100..=699, registered or not; the order of `a` and `b` is kept.
pub fn compare(a: u16, b: u16, lang: Lang) -> Result<Comparison, LookupError> {
    let ea = explain(a, lang)?;
    let eb = explain(b, lang)?;
    let (ca, cb) = (class_of(a), class_of(b));
    let same_class = ca == cb;
    let la = ea.label();
    let lb = eb.label();
    let texts = lang.data();
    let relation = if same_class {
        fill(
            ui(lang, "relation_same"),
            &[("class", &ea.class), ("class_name", &ea.class_name)],
        )
    } else {
        fill(
            ui(lang, "relation_cross"),
            &[
                ("a", &la),
                ("b", &lb),
                ("class_a", &ea.class),
                ("class_b", &eb.class),
                ("class_name_a", &ea.class_name),
                ("class_name_b", &eb.class_name),
            ],
        )
    };
    let pair = if a == b {
        None
    } else {
        texts.pair.get(&(a.min(b), a.max(b)))
    };
    let mut diffs: Vec<(String, String)> = Vec::new();
    if a == b {
        diffs.push((
            "same".into(),
            fill(ui(lang, "diff_same_code"), &[("a", &la)]),
        ));
    } else {
        let covered: &[String] = pair.map(|p| p.covers.as_slice()).unwrap_or(&[]);
        if let Some(p) = pair {
            diffs.extend(p.differences.iter().map(|d| ("curated".into(), d.clone())));
        }
        diffs.extend(
            fact_differences(&ea, &eb, &la, &lb, lang)
                .into_iter()
                .filter(|(k, _)| !covered.contains(k)),
        );
        if diffs.is_empty() {
            diffs.push((
                "none".into(),
                fill(ui(lang, "diff_none"), &[("a", &la), ("b", &lb)]),
            ));
        }
    }
    let when_to_use = match pair {
        Some(p) => p.when_to_use.clone(),
        None if a == b => use_fact(&la, &ea.facts, lang),
        None => format!(
            "{}\n{}",
            use_fact(&la, &ea.facts, lang),
            use_fact(&lb, &eb.facts, lang)
        ),
    };
    let (difference_facts, differences) = diffs.into_iter().unzip();
    Ok(Comparison {
        same_class,
        relation,
        differences,
        difference_facts,
        when_to_use,
        note: pair.map(|p| p.note.clone()),
        lang: lang.tag().to_owned(),
        a: ea,
        b: eb,
    })
}

/// "302 Moved Temporarily is sent by a redirect server or a UAS, and it
/// answers any request; after it, …": who sends a code, to what, and what
/// follows, from its facts.
fn use_fact(label: &str, f: &Facts, lang: Lang) -> String {
    fill(
        ui(lang, "use_fact"),
        &[
            ("code", label),
            ("senders", &senders(&f.senders, lang)),
            ("methods", &methods(f, lang)),
            ("next", next_phrase(f.next, lang)),
        ],
    )
}

/// `a, b or c`.
fn or_list(items: &[&str], lang: Lang) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} {} {last}", init.join(", "), ui(lang, "list_or")),
    }
}

fn senders(s: &[Sender], lang: Lang) -> String {
    let names: Vec<&str> = s
        .iter()
        .map(|x| {
            ui(
                lang,
                match x {
                    Sender::Uas => "sender_uas",
                    Sender::Proxy => "sender_proxy",
                    Sender::Registrar => "sender_registrar",
                    Sender::Redirect => "sender_redirect",
                    Sender::Notifier => "sender_notifier",
                    Sender::Compositor => "sender_compositor",
                    Sender::Client => "sender_client",
                },
            )
        })
        .collect();
    or_list(&names, lang)
}

fn methods(f: &Facts, lang: Lang) -> String {
    match &f.methods {
        None => ui(lang, "methods_any").to_owned(),
        Some(m) => {
            let m: Vec<&str> = m.iter().map(String::as_str).collect();
            fill(ui(lang, "methods_only"), &[("list", &or_list(&m, lang))])
        }
    }
}

fn dialog(d: DialogEffect, lang: Lang) -> &'static str {
    ui(
        lang,
        match d {
            DialogEffect::None => "dialog_none",
            DialogEffect::Early => "dialog_early",
            DialogEffect::EndsEarly => "dialog_ends_early",
            DialogEffect::Creates => "dialog_creates",
            DialogEffect::EndsUsage => "dialog_ends_usage",
            DialogEffect::EndsDialog => "dialog_ends_dialog",
        },
    )
}

fn proxy(p: ProxyAction, lang: Lang) -> &'static str {
    ui(
        lang,
        match p {
            ProxyAction::Absorb => "proxy_absorb",
            ProxyAction::Forward => "proxy_forward",
            ProxyAction::Recurse => "proxy_recurse",
            ProxyAction::Collect => "proxy_collect",
            ProxyAction::Aggregate => "proxy_aggregate",
            ProxyAction::Replace => "proxy_replace",
            ProxyAction::CancelBranches => "proxy_cancel_branches",
        },
    )
}

/// One code's rule for header field `name`, as a clause naming the code.
fn header_clause(label: &str, name: &str, rule: Option<&HeaderRule>, lang: Lang) -> String {
    let key = match rule.map(|r| r.level) {
        Some(Level::Must) => "header_must",
        Some(Level::Should) => "header_should",
        Some(Level::May) => "header_may",
        None => "header_none",
    };
    let clause = fill(ui(lang, key), &[("code", label), ("h", name)]);
    match rule.and_then(|r| r.on.as_deref()) {
        Some(m) => fill(ui(lang, "header_on"), &[("rule", &clause), ("method", m)]),
        None => clause,
    }
}

/// The first letter in upper case (a clause that opens a sentence).
fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// One bullet for every fact in which the two codes differ, each tagged with
/// the fact; nothing for a fact they share.
pub(crate) fn fact_differences(
    ea: &Explanation,
    eb: &Explanation,
    la: &str,
    lb: &str,
    lang: Lang,
) -> Vec<(String, String)> {
    let (fa, fb) = (&ea.facts, &eb.facts);
    let mut out: Vec<(String, String)> = Vec::new();
    // An unregistered code is handled as its base (RFC 3261 §8.1.3.2).
    if ea.registered != eb.registered {
        let (u, lu, lr) = if ea.registered {
            (eb, lb, la)
        } else {
            (ea, la, lb)
        };
        let base = u.treated_as.unwrap_or(u.code).to_string();
        out.push((
            "registered".into(),
            fill(
                ui(lang, "diff_unregistered"),
                &[("u", lu), ("r", lr), ("base", &base)],
            ),
        ));
    }
    // Provisional against final (RFC 3261 §7.2).
    if fa.final_ != fb.final_ {
        let (p, f) = if fa.final_ { (lb, la) } else { (la, lb) };
        out.push((
            "final".into(),
            fill(ui(lang, "diff_provisional"), &[("p", p), ("f", f)]),
        ));
    }
    if fa.next != fb.next {
        out.push((
            "next".into(),
            fill(
                ui(lang, "diff_next"),
                &[
                    ("a", la),
                    ("b", lb),
                    ("next_a", next_phrase(fa.next, lang)),
                    ("next_b", next_phrase(fb.next, lang)),
                ],
            ),
        ));
    }
    if let (Some(ca), Some(cb)) = (fa.change, fb.change) {
        if ca != cb {
            out.push((
                "change".into(),
                fill(
                    ui(lang, "diff_change"),
                    &[
                        ("a", la),
                        ("b", lb),
                        ("w_a", ui(lang, ca.key())),
                        ("w_b", ui(lang, cb.key())),
                    ],
                ),
            ));
        }
    }
    let sorted = |s: &[Sender]| {
        let mut v = s.to_vec();
        v.sort();
        v
    };
    if sorted(&fa.senders) != sorted(&fb.senders) {
        out.push((
            "senders".into(),
            fill(
                ui(lang, "diff_senders"),
                &[
                    ("a", la),
                    ("b", lb),
                    ("s_a", &senders(&fa.senders, lang)),
                    ("s_b", &senders(&fb.senders, lang)),
                ],
            ),
        ));
    }
    if fa.methods != fb.methods {
        out.push((
            "methods".into(),
            fill(
                ui(lang, "diff_methods"),
                &[
                    ("a", la),
                    ("b", lb),
                    ("m_a", &methods(fa, lang)),
                    ("m_b", &methods(fb, lang)),
                ],
            ),
        ));
    }
    if fa.dialog != fb.dialog {
        out.push((
            "dialog".into(),
            fill(
                ui(lang, "diff_dialog"),
                &[
                    ("a", la),
                    ("b", lb),
                    ("d_a", dialog(fa.dialog, lang)),
                    ("d_b", dialog(fb.dialog, lang)),
                ],
            ),
        ));
    }
    if fa.proxy != fb.proxy {
        out.push((
            "proxy".into(),
            fill(
                ui(lang, "diff_proxy"),
                &[
                    ("a", la),
                    ("b", lb),
                    ("p_a", proxy(fa.proxy, lang)),
                    ("p_b", proxy(fb.proxy, lang)),
                ],
            ),
        ));
    }
    // Header fields: a difference only where one of the two at least
    // should carry the field (MAY against nothing is no difference).
    let mut names: Vec<&str> = Vec::new();
    for h in fa.headers.iter().chain(&fb.headers) {
        if !names.contains(&h.name.as_str()) {
            names.push(&h.name);
        }
    }
    for name in names {
        let (ra, rb) = (fa.header(name), fb.header(name));
        let key = |r: Option<&HeaderRule>| r.map(|r| (r.level, r.on.clone()));
        let strongest = ra.iter().chain(rb.iter()).map(|r| r.level).max();
        if key(ra) != key(rb) && strongest >= Some(Level::Should) {
            out.push((
                format!("header:{name}"),
                fill(
                    ui(lang, "diff_header"),
                    &[
                        ("x", &upper_first(&header_clause(la, name, ra, lang))),
                        ("y", &header_clause(lb, name, rb, lang)),
                    ],
                ),
            ));
        }
    }
    if fa.deprecated() != fb.deprecated() {
        let (d, n, f) = if fa.deprecated() {
            (la, lb, fa)
        } else {
            (lb, la, fb)
        };
        let by: Vec<&str> = f.deprecated_by.iter().map(|s| s.text.as_str()).collect();
        out.push((
            "deprecated".into(),
            fill(
                ui(lang, "diff_deprecated"),
                &[("d", d), ("n", n), ("by", &by.join(", "))],
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-written list may take over a fact's bullet only where the two
    /// codes really differ in that fact, so a curated bullet never claims a
    /// difference the facts deny; every language covers the same facts.
    #[test]
    fn every_covered_fact_is_a_real_difference_of_the_pair() {
        for lang in Lang::all() {
            for ((a, b), p) in &lang.data().pair {
                let (ea, eb) = (explain(*a, lang).unwrap(), explain(*b, lang).unwrap());
                let kinds: Vec<String> = fact_differences(&ea, &eb, &ea.label(), &eb.label(), lang)
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect();
                for c in &p.covers {
                    assert!(
                        kinds.contains(c),
                        "{a}-{b} {lang}: covers {c}, but the facts agree"
                    );
                }
                let en = &Lang::EN.data().pair[&(*a, *b)];
                assert_eq!(p.covers, en.covers, "{a}-{b} {lang}");
            }
        }
    }
}
