//! One code, explained.

use serde::Serialize;

use crate::facts::{Facts, Next};
use crate::kb::{class_of, facts_of, fill, kb, treated_as, ui, Lang};
use crate::lookup::LookupError;

/// Everything sipkit says about one response code in one language.
///
/// This is the JSON shape of `sipkit explain --format json` and of the web
/// API, so its field names are a public interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The code, 100..=699.
    pub code: u16,
    /// The reason phrase as registered (the text on the wire); `None` for an
    /// unregistered code.
    pub reason: Option<String>,
    /// The reason phrase in the requested language.
    pub title: String,
    /// `1xx` … `6xx`.
    pub class: String,
    /// The class name in the requested language.
    pub class_name: String,
    /// What a client does next after this code, one sentence built from
    /// the code's facts.
    pub client_action: String,
    /// Whether IANA has registered this code.
    pub registered: bool,
    /// Whether the registry marks the code deprecated (from `facts`).
    pub deprecated: bool,
    /// The structured facts behind every generated sentence; for an
    /// unregistered code, those of the code it is treated as.
    pub facts: Facts,
    /// For an unregistered code, the code a client treats it as (x00 for a
    /// final response, 183 for a provisional one: RFC 3261 §8.1.3.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub treated_as: Option<u16>,
    /// One sentence.
    pub summary: String,
    /// What the code means, precisely.
    pub description: String,
    /// Typical situations in which one sees it.
    pub when: Vec<String>,
    /// Steps that fix or avoid it.
    pub fix: Vec<String>,
    /// Who sends it and when it is the right answer.
    #[serde(rename = "use")]
    pub use_: String,
    /// What deprecation means in practice (deprecated codes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecation: Option<String>,
    /// The specification, defining RFC first.
    pub spec: Vec<SpecRef>,
    /// Codes met or confused with this one.
    pub related: Vec<RelatedCode>,
    /// The language of the texts.
    pub lang: String,
}

/// One line of a code list: the JSON shape of `sipkit codes --format json`
/// and of the web API's code list and search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeSummary {
    /// The code.
    pub code: u16,
    /// The registered reason phrase (empty for an unregistered code).
    pub reason: String,
    /// The phrase in the requested language.
    pub title: String,
    /// `1xx` … `6xx`.
    pub class: String,
    /// The class name in the requested language.
    pub class_name: String,
    /// Whether the registry marks the code deprecated.
    pub deprecated: bool,
    /// One sentence.
    pub summary: String,
}

impl From<Explanation> for CodeSummary {
    fn from(e: Explanation) -> CodeSummary {
        CodeSummary {
            code: e.code,
            reason: e.reason.unwrap_or_default(),
            title: e.title,
            class: e.class,
            class_name: e.class_name,
            deprecated: e.deprecated,
            summary: e.summary,
        }
    }
}

/// A reference to an RFC and, where known, its section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecRef {
    /// The RFC number.
    pub rfc: u32,
    /// The section, e.g. `21.3.3`.
    pub section: Option<String>,
    /// `RFC 3261 §21.3.3`.
    pub text: String,
    /// Where to read it.
    pub url: String,
}

impl SpecRef {
    pub(crate) fn new(rfc: u32, section: Option<&str>) -> SpecRef {
        let (text, url) = match section {
            Some(s) => (
                format!("RFC {rfc} §{s}"),
                format!("https://www.rfc-editor.org/rfc/rfc{rfc}#section-{s}"),
            ),
            None => (
                format!("RFC {rfc}"),
                format!("https://www.rfc-editor.org/rfc/rfc{rfc}"),
            ),
        };
        SpecRef {
            rfc,
            section: section.map(str::to_owned),
            text,
            url,
        }
    }
}

/// A related code with its phrase, so a reader needs no second look-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelatedCode {
    /// The code.
    pub code: u16,
    /// Its registered reason phrase.
    pub reason: String,
    /// Its phrase in the requested language.
    pub title: String,
}

/// Explains `code` in `lang`.
///
/// A registered code gets its full entry. A three-digit code in 100..=699
/// that IANA has not registered is explained by its class: RFC 3261 §8.1.3.2
/// tells a client to treat an unrecognized final response as the x00 code of
/// its class, and an unrecognized provisional response as 183 Session
/// Progress. Anything else is an error.
pub fn explain(code: u16, lang: Lang) -> Result<Explanation, LookupError> {
    if !(100..=699).contains(&code) {
        return Err(LookupError::OutOfRange(code.to_string()));
    }
    let kb = kb();
    let texts = lang.data();
    let class = class_of(code);
    // Every class 1..=6 and every registered code has a text in every
    // language (checked by the tests); English stands in if one is missing.
    let english = Lang::EN.data();
    let Some(class_text) = texts
        .class
        .get(&class)
        .or_else(|| english.class.get(&class))
    else {
        return Err(LookupError::OutOfRange(code.to_string()));
    };
    let class_label = format!("{class}xx");
    let facts_and_text = kb.facts.get(&code).and_then(|f| {
        Some((
            f,
            texts.code.get(&code).or_else(|| english.code.get(&code))?,
        ))
    });
    let Some((facts, t)) = facts_and_text else {
        // §8.1.3.2: an unknown final response counts as x00 of its class, an
        // unknown provisional one (other than 100) as 183 Session Progress.
        let base = treated_as(code);
        let Some(facts) = facts_of(code) else {
            return Err(LookupError::OutOfRange(code.to_string()));
        };
        let args = [
            ("code", code.to_string()),
            ("class", class_label.clone()),
            ("class_name", class_text.name.clone()),
            ("base", base.to_string()),
        ];
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut related = vec![base];
        related.retain(|c| kb.facts.contains_key(c));
        return Ok(Explanation {
            code,
            reason: None,
            title: fill(ui(lang, "unregistered_title"), &args),
            class: class_label,
            class_name: class_text.name.clone(),
            client_action: action_line(&code.to_string(), facts.next, lang),
            registered: false,
            deprecated: false,
            facts: facts.clone(),
            treated_as: Some(base),
            summary: fill(ui(lang, "unregistered_summary"), &args),
            description: format!(
                "{} {}",
                fill(ui(lang, "unregistered_description"), &args),
                class_text.summary
            ),
            when: class_text.unregistered_when.clone(),
            fix: class_text.unregistered_fix.clone(),
            use_: fill(ui(lang, "unregistered_use"), &args),
            deprecation: None,
            spec: vec![
                SpecRef::new(3261, Some("8.1.3.2")),
                SpecRef::new(3261, Some("21")),
            ],
            related: related_codes(&related, lang),
            lang: lang.tag().to_owned(),
        });
    };
    let Some(resolved) = facts_of(code) else {
        return Err(LookupError::OutOfRange(code.to_string()));
    };
    let label = fill(
        ui(lang, "code_label"),
        &[("code", &code.to_string()), ("title", &t.title)],
    );
    Ok(Explanation {
        code,
        reason: Some(facts.reason.clone()),
        title: t.title.clone(),
        class: class_label,
        class_name: class_text.name.clone(),
        client_action: action_line(&label, resolved.next, lang),
        registered: true,
        deprecated: resolved.deprecated(),
        facts: resolved.clone(),
        treated_as: None,
        summary: t.summary.clone(),
        description: t.description.clone(),
        when: t.when.clone(),
        fix: t.fix.clone(),
        use_: t.use_.clone(),
        deprecation: t.deprecation.clone(),
        spec: facts
            .spec
            .iter()
            .map(|s| SpecRef::new(s.rfc, s.section.as_deref()))
            .collect(),
        related: related_codes(&facts.related, lang),
        lang: lang.tag().to_owned(),
    })
}

/// "After 302 Moved Temporarily, the client may retry …" from the code's
/// `next` fact.
fn action_line(label: &str, next: Next, lang: Lang) -> String {
    fill(
        ui(lang, "action_line"),
        &[("code", label), ("next", next_phrase(next, lang))],
    )
}

/// The clause for what a client does next.
pub(crate) fn next_phrase(next: Next, lang: Lang) -> &'static str {
    ui(
        lang,
        match next {
            Next::Wait => "next_wait",
            Next::Done => "next_done",
            Next::Contact => "next_contact",
            Next::ViaProxy => "next_via_proxy",
            Next::Alternative => "next_alternative",
            Next::Credentials => "next_credentials",
            Next::Fix => "next_fix",
            Next::Resend => "next_resend",
            Next::Later => "next_later",
            Next::Elsewhere => "next_elsewhere",
            Next::NotElsewhere => "next_not_elsewhere",
            Next::Stop => "next_stop",
        },
    )
}

impl Explanation {
    /// `302 Moved Temporarily` (en), `302 «Временно перемещён»` (ru); the
    /// bare number for an unregistered code, whose title is not worth
    /// repeating.
    pub fn label(&self) -> String {
        if !self.registered {
            return self.code.to_string();
        }
        let lang = Lang::from_tag(&self.lang).unwrap_or(Lang::EN);
        fill(
            ui(lang, "code_label"),
            &[("code", &self.code.to_string()), ("title", &self.title)],
        )
    }
}

fn related_codes(codes: &[u16], lang: Lang) -> Vec<RelatedCode> {
    let kb = kb();
    codes
        .iter()
        .filter_map(|c| {
            let f = kb.facts.get(c)?;
            let t = lang.data().code.get(c)?;
            Some(RelatedCode {
                code: *c,
                reason: f.reason.clone(),
                title: t.title.clone(),
            })
        })
        .collect()
}
