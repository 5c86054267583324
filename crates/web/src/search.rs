//! Finding codes by number, reason phrase or the words of their text.
//!
//! The same index feeds the server's `/{lang}/search?q=` page, the API's
//! `/api/v1/search` and, as `/{lang}/search-index.json`, the search-as-you-type
//! script (`assets/search.js` applies the same rules in the browser).
//!
//! Rules: the query is split into words (lower case, `ё` folded to `е`);
//! every word must match. A word of digits matches the codes that start with
//! it (`30` finds 300–305, `302` scores highest for 302). Another word matches
//! a code when a word of its reason phrase or title (score 10), or else of
//! its texts (score 1), starts with it. Hits are ordered by score, then code.

use std::sync::OnceLock;

use serde::Serialize;
use sipkit_codes::{explain, registered_codes, Lang};

/// One registered code, prepared for searching.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Entry {
    /// The code.
    #[serde(rename = "c")]
    pub(crate) code: u16,
    /// Its title in the language.
    #[serde(rename = "t")]
    pub(crate) title: String,
    /// Its registered reason phrase.
    #[serde(rename = "r")]
    pub(crate) reason: String,
    /// Its one-sentence summary.
    #[serde(rename = "s")]
    pub(crate) summary: String,
    /// The words of the reason phrase, aliases and title, sorted.
    #[serde(rename = "n", serialize_with = "joined")]
    pub(crate) name_words: Vec<String>,
    /// The words of every text of the entry, sorted, without duplicates.
    #[serde(rename = "w", serialize_with = "joined")]
    pub(crate) text_words: Vec<String>,
}

fn joined<S: serde::Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.join(" "))
}

/// One search hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub(crate) code: u16,
    pub(crate) score: u32,
}

/// The words of `s`: lower case, letters and digits, `ё` folded to `е`.
pub(crate) fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.chars()
                .flat_map(char::to_lowercase)
                .map(|c| if c == 'ё' { 'е' } else { c })
                .collect()
        })
}

/// The prepared entries of `lang`, built once.
pub(crate) fn entries(lang: Lang) -> &'static [Entry] {
    static ALL: OnceLock<Vec<Vec<Entry>>> = OnceLock::new();
    let all = ALL.get_or_init(|| Lang::all().map(build).collect());
    all.get(Lang::all().position(|l| l == lang).unwrap_or(0))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn build(lang: Lang) -> Vec<Entry> {
    let mut out = Vec::new();
    for code in registered_codes() {
        // Registered codes always explain (the codes crate tests every one).
        let Ok(e) = explain(code, lang) else { continue };
        let reason = e.reason.clone().unwrap_or_default();
        let mut name_words: Vec<String> = words(&reason).chain(words(&e.title)).collect();
        if let Ok(en) = explain(code, Lang::EN) {
            name_words.extend(words(&en.title));
        }
        name_words.sort();
        name_words.dedup();
        let mut text_words: Vec<String> = [&e.summary, &e.description, &e.use_]
            .into_iter()
            .chain(e.when.iter())
            .chain(e.fix.iter())
            .chain(e.deprecation.iter())
            .flat_map(|s| words(s))
            .collect();
        text_words.sort();
        text_words.dedup();
        out.push(Entry {
            code,
            title: e.title,
            reason,
            summary: e.summary,
            name_words,
            text_words,
        });
    }
    out
}

/// Whether a sorted word list has a word starting with `prefix`.
fn has_prefix(sorted: &[String], prefix: &str) -> bool {
    let i = sorted.partition_point(|w| w.as_str() < prefix);
    sorted.get(i).is_some_and(|w| w.starts_with(prefix))
}

/// The registered codes matching `query` in `lang`, best first.
pub(crate) fn search(lang: Lang, query: &str) -> Vec<Hit> {
    let tokens: Vec<String> = words(query).collect();
    if tokens.is_empty() {
        return Vec::new();
    }
    let mut hits = Vec::new();
    'entries: for e in entries(lang) {
        let mut score = 0;
        let number = e.code.to_string();
        for tok in &tokens {
            score += if tok.bytes().all(|b| b.is_ascii_digit()) {
                if number == *tok {
                    1000
                } else if number.starts_with(tok.as_str()) {
                    50
                } else {
                    continue 'entries;
                }
            } else if has_prefix(&e.name_words, tok) {
                10
            } else if has_prefix(&e.text_words, tok) {
                1
            } else {
                continue 'entries;
            };
        }
        hits.push(Hit {
            code: e.code,
            score,
        });
    }
    hits.sort_by(|a, b| b.score.cmp(&a.score).then(a.code.cmp(&b.code)));
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(lang: Lang, q: &str) -> Vec<u16> {
        search(lang, q).iter().map(|h| h.code).collect()
    }

    #[test]
    fn number_reason_and_words() {
        assert_eq!(codes(Lang::EN, "302")[0], 302);
        let moved = codes(Lang::EN, "moved");
        assert!(
            moved.starts_with(&[301, 302]) || moved.starts_with(&[302, 301]),
            "{moved:?}"
        );
        assert!(codes(Lang::EN, "busy here").starts_with(&[486]));
        assert!(codes(Lang::EN, "30").iter().all(|c| (300..310).contains(c)));
        assert!(codes(Lang::EN, "").is_empty());
        assert!(codes(Lang::EN, "zzzzqqq").is_empty());
    }

    #[test]
    fn russian_words_and_yo() {
        let a = codes(Lang::RU, "перемещён");
        let b = codes(Lang::RU, "перемещен");
        assert_eq!(a, b);
        assert!(a.contains(&302), "{a:?}");
    }

    #[test]
    fn words_are_folded() {
        let w: Vec<String> = words("Moved TEMPORARILY, ёж-302").collect();
        assert_eq!(w, ["moved", "temporarily", "еж", "302"]);
    }
}
