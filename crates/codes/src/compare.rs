//! Two codes, side by side.

use serde::Serialize;

use crate::explain::{explain, Explanation};
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
    /// The key differences, hand-written ones first, then generated ones.
    pub differences: Vec<String>,
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
    let la = label(&ea, lang);
    let lb = label(&eb, lang);
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
    let pair = texts.pair.get(&(a.min(b), a.max(b)));
    let mut differences: Vec<String> = Vec::new();
    if a == b {
        differences.push(fill(ui(lang, "diff_same_code"), &[("a", &la)]));
    } else {
        if let Some(p) = pair {
            differences.extend(p.differences.iter().cloned());
        }
        differences.extend(generated_differences(&ea, &eb, &la, &lb, lang));
    }
    let when_to_use = match pair {
        Some(p) => p.when_to_use.clone(),
        None if a == b => fill(ui(lang, "use_line"), &[("code", &la), ("use", &ea.use_)]),
        None => format!(
            "{}\n{}",
            fill(ui(lang, "use_line"), &[("code", &la), ("use", &ea.use_)]),
            fill(ui(lang, "use_line"), &[("code", &lb), ("use", &eb.use_)])
        ),
    };
    Ok(Comparison {
        same_class,
        relation,
        differences,
        when_to_use,
        note: pair.map(|p| p.note.clone()),
        lang: lang.tag().to_owned(),
        a: ea,
        b: eb,
    })
}

/// `302 Moved Temporarily` (en), `302 «Временно перемещён»` (ru).
pub(crate) fn label(e: &Explanation, lang: Lang) -> String {
    if !e.registered {
        // An unregistered code has no title of its own worth repeating.
        return e.code.to_string();
    }
    fill(
        ui(lang, "code_label"),
        &[("code", &e.code.to_string()), ("title", &e.title)],
    )
}

/// Differences that follow from the data of the two codes alone.
fn generated_differences(
    ea: &Explanation,
    eb: &Explanation,
    la: &str,
    lb: &str,
    lang: Lang,
) -> Vec<String> {
    let (ca, cb) = (class_of(ea.code), class_of(eb.code));
    let mut out = Vec::new();
    // Provisional against final (RFC 3261 §7.2).
    if (ca == 1) != (cb == 1) {
        let (p, f) = if ca == 1 { (la, lb) } else { (lb, la) };
        out.push(fill(ui(lang, "diff_provisional"), &[("p", p), ("f", f)]));
    }
    // What the client does next: a property of the class.
    if ca == cb {
        out.push(fill(
            ui(lang, "diff_same_action"),
            &[("class", &ea.class), ("action", &ea.client_action)],
        ));
    } else {
        for (l, e) in [(la, ea), (lb, eb)] {
            out.push(fill(
                ui(lang, "diff_action"),
                &[("code", l), ("action", &e.client_action)],
            ));
        }
    }
    // Registration.
    match (ea.registered, eb.registered) {
        (true, false) | (false, true) => {
            let u = if ea.registered { eb } else { ea };
            let lu = if ea.registered { lb } else { la };
            let base = u.treated_as.unwrap_or(u.code).to_string();
            out.push(fill(
                ui(lang, "diff_unregistered"),
                &[("code", lu), ("base", &base)],
            ));
        }
        _ => {}
    }
    // Deprecation (the registry marks 202).
    if ea.deprecated != eb.deprecated {
        let (d, n) = if ea.deprecated { (la, lb) } else { (lb, la) };
        out.push(fill(ui(lang, "diff_deprecated"), &[("d", d), ("n", n)]));
    }
    // Defining specifications.
    if let (Some(sa), Some(sb)) = (ea.spec.first(), eb.spec.first()) {
        if ea.registered && eb.registered {
            if sa.rfc != sb.rfc {
                out.push(fill(
                    ui(lang, "diff_spec"),
                    &[
                        ("a", la),
                        ("b", lb),
                        ("spec_a", &sa.text),
                        ("spec_b", &sb.text),
                    ],
                ));
            } else if let (Some(xa), Some(xb)) = (&sa.section, &sb.section) {
                out.push(fill(
                    ui(lang, "diff_spec_same_rfc"),
                    &[
                        ("rfc", &format!("RFC {}", sa.rfc)),
                        ("a", la),
                        ("b", lb),
                        ("sec_a", xa),
                        ("sec_b", xb),
                    ],
                ));
            }
        }
    }
    // Each registered code's own one-line meaning (an unregistered one was
    // covered above).
    for (l, e) in [(la, ea), (lb, eb)]
        .into_iter()
        .filter(|(_, e)| e.registered)
    {
        out.push(fill(
            ui(lang, "summary_line"),
            &[("code", l), ("summary", &e.summary)],
        ));
    }
    out
}
