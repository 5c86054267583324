//! Loading the compiled-in data once, and the language type.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::data::{self, ClassText, CodeFacts, CodeText, PairText};
use crate::explain::SpecRef;
use crate::facts::{self, Facts};
use crate::glossary::GlossaryFile;

/// A language sipkit speaks. `Lang::EN` and `Lang::RU` are built in; the list
/// is `Lang::all()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lang(u8);

impl Lang {
    /// English.
    pub const EN: Lang = Lang(0);
    /// Russian.
    pub const RU: Lang = Lang(1);

    /// Every language with a data file, in the order of `LANG_FILES`.
    pub fn all() -> impl Iterator<Item = Lang> {
        (0..data::LANG_FILES.len()).map(|i| Lang(i as u8))
    }

    /// The language for a tag such as `en`, `ru`, `ru_RU.UTF-8` or `ru-RU`.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag
            .split(['_', '-', '.', '@'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        data::LANG_FILES
            .iter()
            .position(|(t, _, _)| *t == primary)
            .map(|i| Lang(i as u8))
    }

    /// The language a user typed: a tag as [`Lang::from_tag`] reads it, or an
    /// error that lists the languages sipkit speaks (for `--lang`).
    pub fn parse(s: &str) -> Result<Lang, String> {
        Lang::from_tag(s).ok_or_else(|| Lang::unknown(s))
    }

    /// Exactly a tag such as `ru`, nothing longer (for URLs and API
    /// parameters), or the same error as [`Lang::parse`].
    pub fn parse_exact(s: &str) -> Result<Lang, String> {
        Lang::all()
            .find(|l| l.tag() == s)
            .ok_or_else(|| Lang::unknown(s))
    }

    fn unknown(s: &str) -> String {
        let known: Vec<&str> = Lang::all().map(Lang::tag).collect();
        format!(
            "unknown language {s:?}: expected one of {}",
            known.join(", ")
        )
    }

    /// The language chosen by `--lang` if given, else by the POSIX locale
    /// variables that `var` reads (the caller reads the environment: this
    /// crate does no IO).
    pub fn choose(explicit: Option<Lang>, var: impl Fn(&str) -> Option<String>) -> Lang {
        explicit.unwrap_or_else(|| {
            Lang::from_locale(
                var("LC_ALL").as_deref(),
                var("LC_MESSAGES").as_deref(),
                var("LANG").as_deref(),
            )
        })
    }

    /// The language named by the POSIX locale variables, looked up in their
    /// order of precedence (`LC_ALL`, `LC_MESSAGES`, `LANG`); English when
    /// none names a language sipkit speaks.
    pub fn from_locale(
        lc_all: Option<&str>,
        lc_messages: Option<&str>,
        lang: Option<&str>,
    ) -> Lang {
        [lc_all, lc_messages, lang]
            .into_iter()
            .flatten()
            .find(|v| !v.is_empty())
            .and_then(Lang::from_tag)
            .unwrap_or(Lang::EN)
    }

    /// The short tag: `en`, `ru`.
    pub fn tag(self) -> &'static str {
        data::LANG_FILES[self.0 as usize].0
    }

    /// The language's own name for itself: `English`, `Русский`.
    pub fn name(self) -> &'static str {
        &kb().langs[self.0 as usize].name
    }

    pub(crate) fn data(self) -> &'static LangData {
        &kb().langs[self.0 as usize]
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

pub(crate) struct Kb {
    pub(crate) facts: BTreeMap<u16, CodeFacts>,
    /// The structured facts of every registered code, class defaults applied.
    pub(crate) resolved: BTreeMap<u16, Facts>,
    pub(crate) langs: Vec<LangData>,
}

pub(crate) struct LangData {
    pub(crate) name: String,
    pub(crate) ui: BTreeMap<String, String>,
    pub(crate) class: BTreeMap<u8, ClassText>,
    pub(crate) code: BTreeMap<u16, CodeText>,
    pub(crate) pair: BTreeMap<(u16, u16), PairText>,
    pub(crate) glossary: GlossaryFile,
}

pub(crate) fn kb() -> &'static Kb {
    static KB: OnceLock<Kb> = OnceLock::new();
    KB.get_or_init(|| match load() {
        Ok(kb) => kb,
        // The data is compiled in and every file is parsed by the test suite
        // (`data_files_parse`), so a failure here is a build defect.
        Err(e) => panic!("sipkit-codes: built-in data is invalid: {e}"),
    })
}

fn load() -> Result<Kb, String> {
    let codes: data::CodesFile =
        toml::from_str(data::CODES_TOML).map_err(|e| format!("codes.toml: {e}"))?;
    let resolved = codes
        .code
        .iter()
        .map(|c| {
            let spec = |s: &data::SpecEntry| SpecRef::new(s.rfc, s.section.as_deref());
            let defined = match (&c.defined, c.spec.first()) {
                (Some(d), _) | (None, Some(d)) => spec(d),
                (None, None) => return Err(format!("codes.toml: {} has no spec", c.code)),
            };
            let by = c.deprecated_by.iter().map(spec).collect();
            Ok((c.code, facts::resolve(c.code, &c.overrides(), defined, by)))
        })
        .collect::<Result<_, String>>()?;
    let facts = codes.code.into_iter().map(|c| (c.code, c)).collect();
    let mut langs = Vec::new();
    for (tag, text, glossary) in data::LANG_FILES {
        let glossary: GlossaryFile =
            toml::from_str(glossary).map_err(|e| format!("glossary/{tag}.toml: {e}"))?;
        let file: data::LangFile = toml::from_str(text).map_err(|e| format!("{tag}.toml: {e}"))?;
        if file.meta.lang != *tag {
            return Err(format!("{tag}.toml: meta.lang is {:?}", file.meta.lang));
        }
        let number = |k: &str| {
            k.parse::<u16>()
                .map_err(|_| format!("{tag}.toml: bad key {k:?}"))
        };
        let mut class = BTreeMap::new();
        for (k, v) in file.class {
            class.insert(number(&k)? as u8, v);
        }
        let mut code = BTreeMap::new();
        for (k, v) in file.code {
            code.insert(number(&k)?, v);
        }
        let mut pair = BTreeMap::new();
        for (k, v) in file.pair {
            let (a, b) = k
                .split_once('-')
                .ok_or_else(|| format!("{tag}.toml: pair key {k:?} is not A-B"))?;
            let (a, b) = (number(a)?, number(b)?);
            pair.insert((a.min(b), a.max(b)), v);
        }
        langs.push(LangData {
            name: file.meta.name,
            ui: file.ui,
            class,
            code,
            pair,
            glossary,
        });
    }
    Ok(Kb {
        facts,
        resolved,
        langs,
    })
}

/// The registered codes, ascending.
pub fn registered_codes() -> impl Iterator<Item = u16> {
    kb().facts.keys().copied()
}

/// The registered reason phrase of `code` (the text on the wire, RFC 3261
/// §21 and the IANA registry), or `None` for an unregistered code.
pub fn reason_phrase(code: u16) -> Option<&'static str> {
    kb().facts.get(&code).map(|f| f.reason.as_str())
}

/// The facts of `code`: its own for a registered code, those of the code a
/// client treats it as for an unregistered one (RFC 3261 §8.1.3.2).
pub fn facts_of(code: u16) -> Option<&'static Facts> {
    let kb = kb();
    kb.resolved.get(&code).or_else(|| {
        if !(100..=699).contains(&code) {
            return None;
        }
        kb.resolved.get(&treated_as(code))
    })
}

/// The code a client treats an unregistered `code` as: x00 for a final
/// response, 183 for a provisional one (RFC 3261 §8.1.3.2).
pub(crate) fn treated_as(code: u16) -> u16 {
    if class_of(code) == 1 {
        183
    } else {
        code - code % 100
    }
}

/// The class digit of a code in 100..=699 (`3` for 302).
pub fn class_of(code: u16) -> u8 {
    (code / 100) as u8
}

/// A user-interface string (a section heading, a template) in `lang`,
/// falling back to English, then to the key itself.
pub fn ui(lang: Lang, key: &str) -> &'static str {
    lang.data()
        .ui
        .get(key)
        .or_else(|| Lang::EN.data().ui.get(key))
        .map(String::as_str)
        .unwrap_or("?")
}

/// Fills `{name}` placeholders in a template.
pub(crate) fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (k, v) in args {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// The pairs of codes with a hand-written note in `lang`, each as
/// (lower, higher).
pub fn noted_pairs(lang: Lang) -> Vec<(u16, u16)> {
    lang.data().pair.keys().copied().collect()
}

/// The codes that have their own text in `lang` (others fall back to English).
pub fn translated_codes(lang: Lang) -> Vec<u16> {
    lang.data().code.keys().copied().collect()
}

/// The classes (1..=6) that have their own text in `lang`.
pub fn translated_classes(lang: Lang) -> Vec<u8> {
    lang.data().class.keys().copied().collect()
}

/// The user-interface keys defined in `lang`.
pub fn ui_keys(lang: Lang) -> Vec<&'static str> {
    lang.data().ui.keys().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrases_are_the_registered_ones() {
        assert_eq!(reason_phrase(302), Some("Moved Temporarily"));
        assert_eq!(reason_phrase(487), Some("Request Terminated"));
        assert_eq!(reason_phrase(499), None);
    }
}
