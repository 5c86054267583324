//! The glossary: for each language, the one rendering of every term the
//! texts use, a one-line definition, and the alternates no text may use
//! (`data/glossary/<lang>.toml`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::kb::Lang;

/// One term of the glossary in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlossaryEntry {
    /// The language-neutral key, the same in every language: `notifier`.
    pub id: String,
    /// The term as this language's texts write it: `уведомитель`.
    pub term: String,
    /// One sentence that defines it.
    pub definition: String,
    /// The word beginnings that find the term in a text.
    #[serde(default, skip_serializing)]
    pub(crate) forms: Vec<String>,
    /// The alternates no text may use (a trailing `$` also requires a word
    /// end).
    #[serde(default, skip_serializing)]
    pub(crate) banned: Vec<String>,
}

/// A glossary file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GlossaryFile {
    /// British spelling → the American one the texts use (English only).
    #[serde(default)]
    pub(crate) spelling: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) term: Vec<GlossaryEntry>,
}

/// Every term of the glossary in `lang`, in the file's order.
pub fn glossary(lang: Lang) -> &'static [GlossaryEntry] {
    &lang.data().glossary.term
}

/// The entry that `query` names, by its id or by its term in any language,
/// ignoring case: `notifier`, `уведомитель`, `B2BUA`.
pub fn glossary_entry(lang: Lang, query: &str) -> Option<&'static GlossaryEntry> {
    let q = query.trim().to_lowercase();
    let id = Lang::all().find_map(|l| {
        glossary(l)
            .iter()
            .find(|e| e.id == q || e.term.to_lowercase() == q)
            .map(|e| e.id.as_str())
    })?;
    glossary(lang).iter().find(|e| e.id == id)
}

/// The terms that `text` uses, each once, in glossary order.
pub fn terms_in(lang: Lang, text: &str) -> Vec<&'static GlossaryEntry> {
    glossary(lang)
        .iter()
        .filter(|e| e.forms.iter().any(|f| find_word(text, f).is_some()))
        .collect()
}

/// The banned alternates that `text` uses, as (term id, alternate), and, in
/// English, the British spellings it uses, as (`spelling`, word).
pub fn banned_in(lang: Lang, text: &str) -> Vec<(&'static str, &'static str)> {
    let g = &lang.data().glossary;
    let mut out = Vec::new();
    for e in &g.term {
        for b in &e.banned {
            if find_word(text, b).is_some() || find_word(text, &upper_first(b)).is_some() {
                out.push((e.id.as_str(), b.as_str()));
            }
        }
    }
    for british in g.spelling.keys() {
        let lower = text.to_lowercase();
        if find_word(&lower, british).is_some() {
            out.push(("spelling", british.as_str()));
        }
    }
    out
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The byte offset of `needle` in `text` where it starts a word; a trailing
/// `$` in `needle` also requires it to end one.
fn find_word(text: &str, needle: &str) -> Option<usize> {
    let (needle, whole) = match needle.strip_suffix('$') {
        Some(n) => (n, true),
        None => (needle, false),
    };
    if needle.is_empty() {
        return None;
    }
    let starts_word = |c: char| c.is_alphanumeric();
    let mut from = 0;
    while let Some(i) = text[from..].find(needle) {
        let at = from + i;
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        let open = !needle.starts_with(starts_word) || !before.is_some_and(starts_word);
        let close = !whole || !after.is_some_and(starts_word);
        if open && close {
            return Some(at);
        }
        from = at + needle.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_found_only_at_word_starts() {
        assert_eq!(find_word("an endpoint", "endpoint"), Some(3));
        assert_eq!(find_word("оконечная точка", "конечная точка"), None);
        assert_eq!(find_word("раннего медиапотока", "раннего медиа$"), None);
        assert_eq!(find_word("раннего медиа, а", "раннего медиа$"), Some(0));
        assert_eq!(find_word("(user busy)", "(user busy)"), Some(0));
    }

    #[test]
    fn an_entry_is_found_by_id_or_by_its_term_in_any_language() {
        let e = glossary_entry(Lang::RU, "notifier").unwrap();
        assert_eq!(e.term, "уведомитель");
        let e = glossary_entry(Lang::EN, "Уведомитель").unwrap();
        assert_eq!(e.term, "notifier");
        assert!(glossary_entry(Lang::EN, "no such term").is_none());
    }

    #[test]
    fn banned_alternates_are_reported() {
        assert_eq!(
            banned_in(Lang::RU, "Нотификатор отвечает 200."),
            [("notifier", "нотификатор")]
        );
        assert_eq!(
            banned_in(Lang::EN, "The signalling path."),
            [("spelling", "signalling")]
        );
        assert!(banned_in(Lang::RU, "Уведомитель отвечает 200.").is_empty());
    }
}
